"""score_generations end to end through the real sandbox: canonical solutions pass, wrong ones
fail, pass@10 and model score plumbing, determinism."""

from pathlib import Path

import pytest

from sandbox import execute
from soda.benchmarks import load_benchmark
from soda.evaluate import model_metrics, pass_at_k, score_generations
from soda.io import dumps, write_jsonl

SHARED = Path(__file__).resolve().parents[1] / ".." / "shared" / "benchmarks"


def needs_shared(test):
    return pytest.mark.shared(pytest.mark.skipif(not SHARED.exists(), reason="../shared reference data absent")(test))


def failures(rows):
    return [(r["task_id"], r["status"], r["error_class"], r["failed_test"]) for r in rows if not r["passed"]]


@pytest.fixture(scope="module")
def humaneval():
    return load_benchmark("humaneval")


def test_canonical_humaneval_passes_and_wrong_fails(humaneval):
    rows, metrics = score_generations(humaneval, {i["task_id"]: [i["solution"]] for i in humaneval})
    assert failures(rows) == []
    assert metrics["humaneval"]["pass@1"] == 1.0 and metrics["humaneval"]["n_tasks"] == 164
    # Wrong on purpose: the right function shape, a constant answer.
    rows, metrics = score_generations(humaneval, {i["task_id"]: ["    return None\n"] for i in humaneval})
    assert metrics["humaneval"]["pass@1"] == 0.0
    assert rows[0]["error_class"] == "AssertionError" and rows[0]["failed_test"].startswith("assert candidate(")


def test_same_generations_give_byte_identical_metrics(humaneval):
    items = humaneval[:20]
    gens = {i["task_id"]: [i["solution"], "    return 1\n", i["solution"]] for i in items}
    first = score_generations(items, gens)
    second = score_generations(items, gens)
    assert dumps(model_metrics("m", first[1])) == dumps(model_metrics("m", second[1]))
    assert [dumps(r) for r in first[0]] == [dumps(r) for r in second[0]]


def test_pass_at_10_from_samples_and_model_score_from_greedy(tmp_path):
    path = tmp_path / "heldout.jsonl"
    write_jsonl(path, [{"id": "h-1", "question": "Double x.", "tests": "assert double(2) == 4\n"},
                       {"id": "h-2", "question": "Negate x.", "tests": "assert neg(2) == -2\n"}])
    items = load_benchmark("heldout", str(path), style="compact")
    right = {"h-1": "def double(x):\n    return 2 * x\n", "h-2": "def neg(x):\n    return -x\n"}
    wrong = "def double(x):\n    return x\n"
    gens = {"h-1": [wrong] + [right["h-1"]] * 3 + [wrong] * 9,   # greedy wrong, 3 of 12 samples right
            "h-2": [right["h-2"]] + [wrong] * 10}                # greedy right, no sample right
    rows, metrics = score_generations(items, gens, scores={"h-1": 2.0, "h-2": 5.5})
    m = metrics["heldout"]
    assert m["pass@1"] == 0.5 and m["n_samples"] == 10
    assert m["pass@10"] == round((pass_at_k(12, 3, 10) + 0.0) / 2, 6)
    assert m["model_score"] == 3.75
    assert [r["score"] for r in rows if r["task_id"] == "h-2"] == [5.5] + [None] * 10


@needs_shared
def test_canonical_mbpp_all_splits():
    items = load_benchmark("mbpp", str(SHARED / "mbpp" / "sanitized-mbpp.json"), style="compact", split="all")
    rows, metrics = score_generations(items, {i["task_id"]: [i["solution"]] for i in items})
    # The message lists every canonical solution that fails, with its status and error.
    assert failures(rows) == [], failures(rows)
    assert metrics["mbpp"]["pass@1"] == 1.0


def sandbox_runs(lang):
    probe = {"java": "public class Main { public static void main(String[] a) {} }", "js": "let x = 1;",
             "cpp": "int main() { return 0; }", "go": "package main\nfunc main() {}\n"}[lang]
    return execute(probe, lang).status == "pass"


# HumanEval-X canonical solutions that fail here, and why (the JS dataset bugs were hidden by
# console.assert, which only prints on failure until the harness makes it throw).
KNOWN_BAD = {
    "JavaScript/112": "dataset bug: returns a boolean where the tests expect [string, boolean]",
    "JavaScript/155": "dataset bug: evenOddCount(0) gives [0, 0], the tests expect [1, 0]",
    "JavaScript/162": "needs the npm package js-md5",
    "CPP/22": "needs boost/any.hpp",
    "CPP/137": "needs boost/any.hpp",
    "CPP/162": "needs OpenSSL's libcrypto (MD5) at link time",
    "Go/72": "the solution's helper function comes after it and is cut with the rest of the completion",
    "Go/95": "dataset bug: the solution checks only the first two keys in Go's random map order, so it fails at random",
}


@pytest.mark.slow  # minutes: 656 compilations
@needs_shared
@pytest.mark.parametrize("lang", ["java", "js", "cpp", "go"])
def test_canonical_humaneval_x_passes_and_wrong_fails(lang):
    if not sandbox_runs(lang):
        pytest.skip(f"the sandbox cannot run {lang} here")
    items = load_benchmark(f"multipl-e-{lang}", str(SHARED / "humaneval-x" / f"humaneval_{lang}.jsonl.gz"))
    rows, metrics = score_generations(items, {i["task_id"]: [i["solution"]] for i in items})
    # Those needing a library may pass where it is installed: only unexplained failures count.
    assert {r["task_id"] for r in rows if not r["passed"]} <= set(KNOWN_BAD), failures(rows)
    # An empty body that still closes the function: compiles or not, it must never pass.
    rows, metrics = score_generations(items[:10], {i["task_id"]: ["}\n"] for i in items[:10]})
    assert metrics[f"multipl-e-{lang}"]["pass@1"] == 0.0


# Rows in MultiPL-E's own format (as `datasets` or a local file gives them), written out here.
MULTIPLE_ROWS = {
    "ts": {"name": "HumanEval_53_add", "language": "ts",
           "prompt": "//Add two numbers x and y\nfunction add(x: number, y: number): number {\n",
           "tests": "declare var require: any;\nconst assert = require('node:assert');\nfunction test() {\n"
                    "  let candidate = add;\n  assert.deepEqual(candidate(0, 1),1);\n  assert.deepEqual(candidate(5, 7),12);\n}\n\ntest();",
           "stop_tokens": ["\nfunction ", "\n/*", "\n//", "\nclass"]},
    "java": {"name": "HumanEval_53_add", "language": "java",
             "prompt": "import java.util.*;\n\nclass Problem {\n    // Add two numbers x and y\n"
                       "    public static long add(long x, long y) {\n",
             "tests": "    }\n    public static void main(String[] args) {\n"
                      "    assert(add((0l), (1l)) == (1l));\n    assert(add((5l), (7l)) == (12l));\n    }\n\n}\n",
             "stop_tokens": ["\n    }\n"]},
}


@pytest.mark.parametrize("lang", sorted(MULTIPLE_ROWS))
def test_multipl_e_format_rows_run(tmp_path, lang):
    path = tmp_path / f"humaneval-{lang}.jsonl"
    write_jsonl(path, [MULTIPLE_ROWS[lang]])
    items = load_benchmark(f"multipl-e-{lang}", str(path))
    task = items[0]["task_id"]
    right, wrong = {"ts": ("  return x + y;\n}\n", "  return x - y;\n}\n"),
                    "java": ("        return x + y;\n    }\n", "        return x - y;\n    }\n")}[lang]
    rows, metrics = score_generations(items, {task: [right + "\nfunction extra() {}\n", wrong]})
    assert [r["passed"] for r in rows] == [True, False], failures(rows)
