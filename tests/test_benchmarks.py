"""Benchmark loading, post-processing and program building (no execution here)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from soda.benchmarks import build_program, item_views, load_benchmark, postprocess
from soda.io import InputError, write_jsonl

SHARED = Path(__file__).resolve().parents[1] / ".." / "shared" / "benchmarks"


def needs_shared(test):
    return pytest.mark.shared(pytest.mark.skipif(not SHARED.exists(), reason="../shared reference data absent")(test))
KEYS = {"benchmark", "task_id", "prompt", "question", "statement", "solution", "tests", "lang", "entry_point", "stop",
        "protocol"}


def heldout_file(tmp_path, rows=None):
    rows = rows or [{"id": "h-1", "question": "Add two numbers.", "entry_point": "add",
                     "tests": "assert add(1, 2) == 3\n", "reference": "def add(a, b):\n    return a + b\n"}]
    path = tmp_path / "heldout.jsonl"
    write_jsonl(path, rows)
    return path


def test_heldout_items_use_the_student_prompt(tmp_path):
    (item,) = load_benchmark("heldout", str(heldout_file(tmp_path)), style="compact")
    assert set(item) == KEYS
    assert item["task_id"] == "h-1" and item["lang"] == "python" and item["protocol"] == "instruction"
    assert "Add two numbers." in item["prompt"] and item["prompt"].endswith("### Solution\n")
    assert item["question"] == item["statement"] == "Add two numbers."


def test_heldout_row_without_tests_names_the_id(tmp_path):
    path = heldout_file(tmp_path, [{"id": "h-9", "question": "q", "tests": None}])
    with pytest.raises(InputError, match="h-9"):
        load_benchmark("heldout", str(path), style="compact")


def test_missing_sources_name_the_benchmark_and_path(tmp_path):
    with pytest.raises(InputError, match="heldout"):
        load_benchmark("heldout", style="compact")
    with pytest.raises(InputError, match=r"mbpp.*nowhere\.json"):
        load_benchmark("mbpp", str(tmp_path / "nowhere.json"), style="compact")
    with pytest.raises(InputError, match="multipl-e-c"):
        load_benchmark("multipl-e-c")
    with pytest.raises(InputError, match="unknown benchmark 'multipl-e-cobol'"):
        load_benchmark("multipl-e-cobol")


def test_humaneval_has_164_problems_with_check_call():
    items = load_benchmark("humaneval")
    assert len(items) == 164 and len({i["task_id"] for i in items}) == 164
    assert all(i["tests"].rstrip().endswith(f"check({i['entry_point']})") for i in items)


def test_humaneval_statements_are_the_docstring_prose_up_to_the_examples():
    items = load_benchmark("humaneval")
    assert items[0]["statement"] == ("Check if in given list of numbers, are any two numbers closer to each other "
                                     "than given threshold.")
    assert items[115]["statement"].startswith("You are given a rectangular grid of wells.")  # docstring after an import
    assert items[115]["statement"].endswith("Output the number of times you need to lower the buckets.")
    assert items[10]["statement"].startswith("Find the shortest palindrome")  # the entry point's, not a helper's
    assert all(i["statement"] and ">>>" not in i["statement"] for i in items)


def test_item_views_are_the_texts_a_question_could_copy():
    item = load_benchmark("humaneval")[0]
    views = item_views(item)
    assert list(views) == ["statement", "prompt", "solution", "whole"]
    assert views["prompt"] == item["prompt"] and views["solution"] == item["solution"]
    assert views["whole"] == "\n".join((item["prompt"], item["solution"], item["tests"]))


def test_python_continuation_is_cut_at_the_next_top_level_statement():
    item = load_benchmark("humaneval")[0]
    body = "    return True\n"
    assert postprocess(item, body + "\n\ndef extra():\n    pass\nprint(1)") == body + "\n"
    code, tests = build_program(item, body)
    assert code == item["prompt"] + body and tests == item["tests"]


def test_restated_signature_keeps_the_prompt_imports():
    item = load_benchmark("humaneval")[0]  # has_close_elements, prompt imports List
    whole = "from typing import List\n\ndef has_close_elements(numbers, threshold):\n    return False\n\ndef junk():\n    pass\n"
    cut = postprocess(item, whole)
    assert cut.endswith("return False\n") and "junk" not in cut
    code, _ = build_program(item, cut)
    assert code.startswith("from typing import List") and code.count("def has_close_elements") == 1


def test_instruction_completion_drops_fences_and_trailing_usage(tmp_path):
    (item,) = load_benchmark("heldout", str(heldout_file(tmp_path)), style="compact")
    raw = "```python\ndef add(a, b):\n    return a + b\n\ndef helper():\n    return 0\n```\nprint(add(1, 2))"
    assert postprocess(item, raw) == "def add(a, b):\n    return a + b\n\ndef helper():\n    return 0"


@needs_shared
def test_mbpp_test_split_from_local_file():
    items = load_benchmark("mbpp", str(SHARED / "mbpp" / "sanitized-mbpp.json"), style="compact")
    assert len(items) == 257 and all(i["entry_point"] for i in items)
    every = load_benchmark("mbpp", str(SHARED / "mbpp" / "sanitized-mbpp.json"), style="compact", split="all")
    assert len(every) == 427
    first = next(i for i in items if i["task_id"] == "MBPP/11")
    assert first["statement"] == "Write a python function to remove first and last occurrence of a given character from the string."
    assert first["question"].startswith(first["statement"] + "\nYour code should pass these tests:\nassert ")


@needs_shared
@pytest.mark.parametrize("lang", ["java", "js", "cpp", "go"])
def test_humaneval_x_canonical_survives_postprocessing(lang):
    items = load_benchmark(f"multipl-e-{lang}", str(SHARED / "humaneval-x" / f"humaneval_{lang}.jsonl.gz"))
    assert len(items) == 164 and all(i["entry_point"] and i["protocol"] == "braces" for i in items)
    for item in items:
        cut = postprocess(item, item["solution"] + "\nint main() { return 1; }\n")
        assert item["solution"].startswith(cut.rstrip()), item["task_id"]
        code, _ = build_program(item, cut)
        if lang == "java":  # the class the prompt opened is closed again
            assert code.rstrip().endswith("}\n}")
    assert items[0]["statement"].startswith("Check if in given ") and items[0]["statement"].endswith(" given threshold.")

def test_braces_cut_after_the_function_ignores_braces_in_strings_and_comments():
    item = {"task_id": "t", "protocol": "braces", "stop": ["\n```"], "lang": "cpp", "entry_point": "f",
            "prompt": "// f(x) {\nint f(int x){\n", "tests": "int main(){ return f(1) != 2; }\n"}
    body = '    const char *s = "}"; /* } */ // }\n    return x + 1;\n}\nint main(){}\n'
    cut = postprocess(item, body)
    assert cut.endswith("return x + 1;\n}") and "main" not in cut


MULTIPLE_JS = {
    "name": "HumanEval_53_add", "language": "js",
    "prompt": "//Add two numbers x and y\nfunction add(x, y){\n",
    "tests": "const assert = require('node:assert');\n\nfunction test() {\n  let candidate = add;\n"
             "  assert.deepEqual(candidate(0, 1),1);\n}\n\ntest();",
    "stop_tokens": ["\nfunction ", "\n/*", "\n//", "\nconsole.log"],
}


def test_multipl_e_rows_from_a_local_file_use_their_stop_tokens(tmp_path):
    path = tmp_path / "humaneval-js.jsonl"
    write_jsonl(path, [MULTIPLE_JS])
    (item,) = load_benchmark("multipl-e-js", str(path))
    assert item["task_id"] == "multipl-e-js/HumanEval_53_add" and item["protocol"] == "continuation"
    assert item["statement"] == "Add two numbers x and y"
    cut = postprocess(item, "  return x + y;\n}\n\nfunction extra(){}\nconsole.log(add(1, 2));")
    assert cut == "  return x + y;\n}\n"
    code, tests = build_program(item, cut)
    assert code == MULTIPLE_JS["prompt"] + cut and tests == MULTIPLE_JS["tests"]


def test_multipl_e_row_without_tests_is_named(tmp_path):
    path = tmp_path / "rows.json"
    path.write_text(json.dumps([{k: v for k, v in MULTIPLE_JS.items() if k != "tests"}]))
    with pytest.raises(InputError, match="HumanEval_53_add.*'tests'"):
        load_benchmark("multipl-e-ts", str(path))


def test_unreachable_hub_names_the_benchmark(tmp_path):
    # Offline mode and an empty cache: `datasets` must fail at once, and the error name the source.
    env = dict(os.environ, HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1", HF_HOME=str(tmp_path))
    code = ("from soda.benchmarks import load_benchmark\nfrom soda.io import InputError\n"
            "try:\n    load_benchmark('mbpp', style='compact')\nexcept InputError as e:\n    print(e)\n")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True).stdout
    assert out.startswith("benchmark mbpp: cannot load google-research-datasets/mbpp")


def test_continuation_that_repeats_the_function_later_is_still_a_continuation():
    item = load_benchmark("humaneval")[0]
    body = "    return True\n\ndef has_close_elements(numbers, threshold):\n    return False\n"
    assert postprocess(item, body) == "    return True\n"
