"""Decontamination against the params-selected benchmarks: missing sources are errors unless skipped."""

import json

import pytest

from soda.cleaning import clean
from soda.io import InputError

CFG = {"benchmarks": ["heldout", "mbpp"], "paths": {"mbpp": "/nonexistent/mbpp.json"}, "skip_missing": [],
       "threshold": 0.7, "containment_threshold": None, "ngram": 5, "num_perm": 128}


@pytest.fixture
def heldout(tmp_path):
    path = tmp_path / "heldout.jsonl"
    row = {"id": "h1", "question": "Write a function add_seven(x) that returns x plus seven for any integer x given.",
           "tests": "assert add_seven(1) == 8", "reference": "def add_seven(x):\n    return x + 7\n"}
    path.write_text(json.dumps(row) + "\n")
    return str(path)


def test_a_source_that_cannot_be_loaded_is_an_error_naming_it(heldout):
    with pytest.raises(InputError, match="decontaminate.benchmarks: mbpp"):
        clean([{"id": "q", "question": "anything at all here"}], CFG, heldout)


def test_skipped_sources_are_reported_and_copies_are_removed(heldout):
    questions = [{"id": "copy", "question": "Write a function add_seven(x) that returns x plus seven for any integer x given."},
                 {"id": "other", "question": "Reverse the words of a sentence and join them with single spaces please."}]
    result = clean(questions, {**CFG, "skip_missing": ["mbpp"]}, heldout)
    assert [q["id"] for q in result.clean] == ["other"]
    assert result.removed[0]["question_id"] == "copy" and result.removed[0]["task_id"] == "h1"
    assert "mbpp" in result.counts["skipped_benchmarks"]
