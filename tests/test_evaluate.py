"""pass@k against brute force, and the checks on generations and samples files."""

import itertools
import json

import pytest

from soda.evaluate import check_generations, metrics_from_rows, model_metrics, pass_at_k, read_samples
from soda.io import InputError


def brute_force(n, c, k):
    # Fraction of all k-subsets of n samples (the first c correct) holding a correct one.
    subsets = list(itertools.combinations(range(n), k))
    return sum(any(i < c for i in s) for s in subsets) / len(subsets)


@pytest.mark.parametrize("n", range(1, 13))
def test_pass_at_k_matches_brute_force(n):
    for c in range(n + 1):
        for k in range(1, n + 1):
            assert pass_at_k(n, c, k) == pytest.approx(brute_force(n, c, k), abs=1e-12)


def test_pass_at_k_rejects_impossible_counts():
    with pytest.raises(ValueError):
        pass_at_k(5, 6, 1)
    with pytest.raises(ValueError):
        pass_at_k(5, 2, 10)


ITEMS = [{"benchmark": "b", "task_id": "t1"}, {"benchmark": "b", "task_id": "t2"}]


def test_unknown_and_missing_task_ids_are_named():
    with pytest.raises(InputError, match="'t3'"):
        check_generations(ITEMS, {"t1": ["x"], "t2": ["y"], "t3": ["z"]})
    with pytest.raises(InputError, match="'t2'"):
        check_generations(ITEMS, {"t1": ["x"]})
    with pytest.raises(InputError, match="'t2'"):
        check_generations(ITEMS, {"t1": ["x"], "t2": []})
    with pytest.raises(InputError, match="'t2'.*list"):
        check_generations(ITEMS, {"t1": ["x"], "t2": "def f(): pass"})


def test_read_samples_orders_by_sample_index(tmp_path):
    path = tmp_path / "samples.jsonl"
    rows = [{"task_id": "t1", "sample": 1, "completion": "b"}, {"task_id": "t1", "sample": 0, "completion": "a"},
            {"task_id": "t2", "sample": 0, "completion": "c"}]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    assert read_samples(path) == {"t1": ["a", "b"], "t2": ["c"]}


@pytest.mark.parametrize("text, where", [
    ('{"task_id": "t1", "completion": "a"}\n{not json\n', ":2:"),
    ('{"task_id": "t1", "completion": "a"}\n\n{"task_id": "t1"}\n', ":3:"),
    ('{"task_id": "t1", "sample": 0, "completion": "a"}\n{"task_id": "t1", "sample": 0, "completion": "b"}\n', ":2:"),
    ('{"task_id": "t1", "sample": 0, "completion": "a"}\n{"task_id": "t1", "sample": 2, "completion": "b"}\n', "'t1'"),
])
def test_bad_samples_file_names_the_line_or_task(tmp_path, text, where):
    path = tmp_path / "samples.jsonl"
    path.write_text(text)
    with pytest.raises(InputError, match=where):
        read_samples(path)


def test_average_only_over_complete_columns():
    m = model_metrics("base", {"a": {"pass@1": 0.5, "pass@10": 1.0, "model_score": None},
                               "b": {"pass@1": 0.25, "pass@10": 0.5, "model_score": 3.0}})
    assert m["average"] == {"pass@1": 0.375, "pass@10": 0.75, "model_score": None}


def test_model_score_averages_the_scored_tasks_and_counts_them():
    rows = [{"benchmark": "b", "task_id": t, "sample": 0, "passed": p, "status": "pass" if p else "fail", "score": s}
            for t, p, s in (("t1", True, 6.0), ("t2", False, None), ("t3", False, 3.0))]
    m = metrics_from_rows(rows)["b"]
    assert m["model_score"] == 4.5 and m["n_scored"] == 2 and m["n_tasks"] == 3
    assert m["pass@1"] == round(1 / 3, 6) and m["pass@10"] is None and m["status"] == {"fail": 2, "pass": 1}
