"""Decontamination against the params-selected benchmarks (the path the `decontaminate` and
`evolve` stages take): missing sources are errors unless skipped; copies of HumanEval and MBPP
statements are removed however they are pasted."""

import json
import subprocess
from pathlib import Path

import pytest
import yaml

from soda.decontaminate import clean
from soda.io import InputError, read_jsonl
from soda.params import Decontaminate
from stages import command

ROOT = Path(__file__).resolve().parent.parent
BENCHMARKS = ROOT.parent / "shared" / "benchmarks"  # the benchmarks/ folder `paths` are relative to
MBPP = BENCHMARKS / "mbpp" / "sanitized-mbpp.json"
CFG = Decontaminate(benchmarks=["heldout", "mbpp"], paths={"mbpp": "nonexistent/mbpp.json"}, skip_missing=[],
                    threshold=0.7, containment_threshold=0.8, ngram=5, num_perm=128)
needs_mbpp = pytest.mark.skipif(not MBPP.exists(), reason="../shared reference data absent")


@pytest.fixture
def heldout(tmp_path):
    path = tmp_path / "heldout.jsonl"
    row = {"id": "h1", "question": "Write a function add_seven(x) that returns x plus seven for any integer x given.",
           "tests": "assert add_seven(1) == 8", "reference": "def add_seven(x):\n    return x + 7\n"}
    path.write_text(json.dumps(row) + "\n")
    return str(path)


def test_a_source_that_cannot_be_loaded_is_an_error_naming_it(heldout):
    with pytest.raises(InputError, match="decontaminate.benchmarks: mbpp"):
        clean([{"id": "q", "question": "anything at all here"}], CFG, heldout, str(BENCHMARKS))


def test_skipped_sources_are_reported_and_copies_are_removed(heldout):
    questions = [{"id": "copy", "question": "Write a function add_seven(x) that returns x plus seven for any integer x given."},
                 {"id": "other", "question": "Reverse the words of a sentence and join them with single spaces please."}]
    result = clean(questions, CFG.model_copy(update={"skip_missing": ["mbpp"]}), heldout, str(BENCHMARKS))
    assert [q["id"] for q in result.clean] == ["other"]
    assert result.removed[0]["question_id"] == "copy" and result.removed[0]["task_id"] == "h1"
    assert "mbpp" in result.counts["skipped_benchmarks"]


# Statements as a person would copy them: MBPP's text (read from the raw file below) and
# HumanEval docstrings' prose, written out here.
HUMANEVAL = {
    "HumanEval/0": "Check if in given list of numbers, are any two numbers closer to each other than given threshold.",
    "HumanEval/12": "Out of list of strings, return the longest one. Return the first one in case of multiple strings "
                    "of the same length. Return None in case the input list is empty.",
    "HumanEval/23": "Return length of given string",
    "HumanEval/98": "Given a string s, count the number of uppercase vowels in even indices.",
    "HumanEval/115": "You are given a rectangular grid of wells. Each row represents a single well, and each 1 in a "
                     "row represents a single unit of water. Each well has a corresponding bucket that can be used to "
                     "extract water from it, and all buckets have the same capacity. Your task is to use the buckets "
                     "to empty the wells. Output the number of times you need to lower the buckets.",
}
UNRELATED = [
    "Write a function that parses an ISO 8601 timestamp with a time zone offset and returns it in UTC.",
    "Implement an LRU cache class with get and put methods that both run in constant time.",
    "Given the root of a binary tree, return the zigzag level order traversal of its node values.",
    "Write a Python script that reads a CSV file of sales and prints the total revenue per region, sorted.",
    "Explain the difference between a process and a thread, then write a function that counts words "
    "in a list of files using a thread pool.",
    "Write a function to find the shared elements of three sorted lists without using sets.",
    "Sort a list",
]
REQUEST = ("Hi! I'm preparing exercises for the Python course I teach to first-year students and I need a "
           "well-tested reference answer for this one: {}. Please use type hints, write a docstring, handle "
           "invalid input with a clear exception and explain the time complexity in one short paragraph.")


def fullwidth(text: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)


def zero_width(text: str) -> str:
    return " ".join(w[:2] + "\u200b" + w[2:] for w in text.split(" "))


def copies() -> dict[str, tuple[str, str]]:
    """question id -> (question, task id it copies)."""
    mbpp = {f"MBPP/{r['task_id']}": r for r in json.loads(MBPP.read_text()) if r["task_id"] in (11, 57, 123, 300, 479)}
    statements = {**HUMANEVAL, **{task: r["prompt"] for task, r in mbpp.items()}}
    out = {}
    for task, text in statements.items():
        out[f"verbatim {task}"] = (text, task)
        out[f"embedded {task}"] = (REQUEST.format(text.rstrip(".")), task)
        out[f"fullwidth {task}"] = (fullwidth(text), task)
        out[f"zero-width {task}"] = (REQUEST.format(zero_width(text)), task)
    for task, r in mbpp.items():
        out[f"with tests {task}"] = (r["prompt"] + "\n" + "\n".join(r["test_list"]), task)
    return out


@needs_mbpp
def test_copies_of_humaneval_and_mbpp_statements_are_removed(heldout):
    planted = copies()
    questions = [{"id": qid, "question": text} for qid, (text, _) in planted.items()]
    questions += [{"id": f"unrelated {n}", "question": text} for n, text in enumerate(UNRELATED)]
    cfg = CFG.model_copy(update={"benchmarks": ["heldout", "humaneval", "mbpp"],
                                 "paths": {"mbpp": "mbpp/sanitized-mbpp.json"}})
    result = clean(questions, cfg, heldout, str(BENCHMARKS))
    assert [q["id"] for q in result.clean] == [f"unrelated {n}" for n in range(len(UNRELATED))]
    removed = {r["question_id"]: r for r in result.removed}
    assert {qid: removed[qid]["task_id"] for qid in planted} == {qid: task for qid, (_, task) in planted.items()}
    for r in result.removed:
        assert r["view"] in ("statement", "prompt") and (r["containment"] >= 0.8 or r["jaccard"] >= 0.7)
    assert removed["verbatim MBPP/57"]["jaccard"] == 1.0 and removed["verbatim MBPP/57"]["view"] == "statement"
    assert removed["with tests MBPP/57"]["view"] == "prompt"  # MBPP's own prompt shows the asserts
    embedded = removed["embedded HumanEval/0"]
    assert (embedded["reason"], embedded["containment"]) == ("containment", 1.0) and embedded["jaccard"] < 0.5
    assert result.counts["items_by_benchmark"] == {"heldout": 1, "humaneval": 164, "mbpp": 257}

    paper = clean(questions, cfg.model_copy(update={"containment_threshold": None}), heldout, str(BENCHMARKS))
    kept = {q["id"] for q in paper.clean}
    assert "embedded HumanEval/0" in kept and "verbatim HumanEval/0" not in kept


@needs_mbpp
def test_decontaminate_stage_writes_the_clean_set_and_report(tmp_path, heldout):
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    # The MBPP file where params paths point: benchmarks/ of the workspace (which dvc.yaml tracks).
    (tmp_path / "benchmarks").mkdir()
    (tmp_path / "benchmarks" / "mbpp.json").symlink_to(MBPP)
    params["decontaminate"].update(benchmarks=["heldout", "humaneval", "mbpp"], paths={"mbpp": "mbpp.json"})
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    # Every kind of copy of HumanEval and MBPP statements, and unrelated questions, as a user's seed.
    planted = copies()
    seed = [{"id": qid, "question": text} for qid, (text, _) in planted.items()]
    seed += [{"id": f"unrelated {n}", "question": text} for n, text in enumerate(UNRELATED)]
    (tmp_path / "seed.jsonl").write_text("".join(json.dumps(r) + "\n" for r in seed))
    cmd = command("decontaminate", "params.yaml", questions="seed.jsonl", heldout=heldout, benchmarks="benchmarks",
                  out="base/questions.jsonl",
                  report_jsonl="base/decontamination.jsonl", report_csv="base/decontamination.csv",
                  metrics="metrics.json")
    env = {"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin", "MLFLOW_TRACKING_URI": f"sqlite:///{tmp_path / 'mlflow.db'}"}
    out = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, env=env, timeout=600)
    assert out.returncode == 0, out.stderr
    assert [q["id"] for q in read_jsonl(tmp_path / "base/questions.jsonl")] == [f"unrelated {n}" for n in range(len(UNRELATED))]
    rows = read_jsonl(tmp_path / "base/decontamination.jsonl")
    removed = {r["question_id"]: r for r in rows if r["action"] == "removed"}
    assert {qid: removed[qid]["task_id"] for qid in planted} == {qid: task for qid, (_, task) in planted.items()}
    # kept with a note: a question too short for a 5-gram ("Sort a list"), an item without one (a one-line solution)
    assert {r["reason"] for r in rows if r["action"] != "removed"} == {"no_ngrams", "item_no_ngrams"}
    row = removed["embedded HumanEval/12"]
    assert (row["benchmark"], row["view"], row["reason"]) == ("humaneval", "statement", "containment")
    assert row["containment"] == 1.0 and 0 < row["jaccard"] < 0.7
    assert all(r["view"] and r["jaccard"] is not None and r["containment"] is not None for r in removed.values())
    header = (tmp_path / "base/decontamination.csv").read_text().splitlines()[0]
    assert header == "question_id,action,reason,benchmark,task_id,view,jaccard,containment,span"
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["removed"] == len(planted) and metrics["items"] == 422
