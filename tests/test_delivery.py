"""teacher-generate's logic with the real reference teacher and sandbox on a small world."""

from pathlib import Path

import pytest

from sandbox.cache import result_cache
from soda.io import InputError, read_jsonl, write_jsonl
from soda.params import Params, load_params
from soda.teacher_generate import deliver_file, split_order
from soda.world import make_world
from soda.world.teacher import ReferenceTeacher

ROOT = Path(__file__).resolve().parents[1]
PARAMS = Params.model_validate(load_params(ROOT / "params.yaml"))
OUTS = ("teacher.jsonl", "csl.jsonl", "fcl.jsonl")


def deliver(teacher, questions: list[dict], folder: Path, cache=None) -> tuple[list, list, list, dict]:
    """(teacher, CSL, FCL rows, counts) of teacher-generate's entry point on `questions`, with
    params.yaml's settings and a quarter of the questions to FCL."""
    folder.mkdir(parents=True, exist_ok=True)
    write_jsonl(folder / "questions.jsonl", questions)
    outs = tuple(str(folder / name) for name in OUTS)
    counts = deliver_file(teacher, str(folder / "questions.jsonl"), outs, fcl_fraction=0.25, seed=0,
                          timeout_s=PARAMS.teacher_generate.timeout_s, cache=cache,
                          student_prompt=PARAMS.generation.student_prompt)
    return *(read_jsonl(p) for p in outs), counts


def test_split_is_80_20_deterministic_and_disjoint():
    ids = [f"q{i:03d}" for i in range(50)]
    csl, fcl = split_order(ids, 0.2, seed=0)
    assert len(csl) == 40 and len(fcl) == 10 and sorted(csl + fcl) == list(range(50))
    reverse = split_order(list(reversed(ids)), 0.2, seed=0)  # the same questions, whatever the file's order
    assert [[ids[49 - i] for i in part] for part in reverse] == [[ids[i] for i in part] for part in (csl, fcl)]
    assert split_order(ids, 0.2, seed=1) != (csl, fcl)


@pytest.fixture(scope="module")
def delivered(tmp_path_factory):
    seed, _ = make_world(20, 2, seed=3)
    return seed, deliver(ReferenceTeacher(seed=0), seed, tmp_path_factory.mktemp("delivered"))


def test_deliver_builds_training_sets_from_verified_solutions(delivered):
    questions, (rows, csl, fcl, counts) = delivered
    assert len(rows) == len(questions) == counts["questions"]
    by_id = {q["id"]: q for q in questions}
    for r in csl:
        assert r["prompt"].startswith("### Question\n") and r["prompt"].endswith("### Solution\n")
        assert r["completion"] == by_id[r["id"]]["reference"]
    for r in fcl:
        assert r["chosen"] != r["rejected"] and r["fault_type"] in ("syntax", "logical", "type", "name", "timeout")
    assert counts["csl"] + counts["fcl"] + counts.get("dropped", 0) == len(questions)


def test_deliver_drops_a_faulty_solution_that_passes(delivered, tmp_path):
    questions, _ = delivered

    class LazyFaults(ReferenceTeacher):
        def fault(self, qs):  # "faulty" = the correct solution: must be dropped, not trained on
            return [{"code": q["reference"], "raw": q["reference"], "fault_type": "logical", "dropped": None} for q in qs]

    rows, csl, fcl, counts = deliver(LazyFaults(seed=0), questions, tmp_path)
    assert fcl == [] and counts["dropped_fcl"] == 5
    assert {r["dropped"] for r in rows if r["split"] == "fcl"} == {"faulty solution passes its tests"}


def test_a_rerun_with_a_cache_dir_takes_the_verdicts_from_the_cache(delivered, tmp_path):
    import sqlite3

    questions, _ = delivered

    class Unverified(ReferenceTeacher):  # as an LLM teacher: nothing verified by the teacher itself
        def solve(self, qs):
            return [{**r, "verified": False} for r in super().solve(qs)]

    first = deliver(Unverified(seed=0), questions, tmp_path / "first", result_cache(tmp_path))
    kept = sqlite3.connect(tmp_path / "runs.sqlite3").execute("SELECT COUNT(*) FROM results").fetchone()[0]
    assert kept == len(questions)  # every correct solution's run

    import sandbox

    def no_runs(jobs, **kw):
        assert all(kw["cache"].get(job) is not None for job in jobs), "a cached verdict was run again"
        return [kw["cache"].get(job) for job in jobs]

    original, sandbox.execute_many = sandbox.execute_many, no_runs
    try:
        again = deliver(Unverified(seed=0), questions, tmp_path / "again", result_cache(tmp_path))
    finally:
        sandbox.execute_many = original
    assert again == first


def test_the_reference_teacher_verifies_a_fault_once_per_cache(delivered, tmp_path):
    from soda.teacher import make_teacher

    questions, _ = delivered
    runtime = PARAMS.runtime.model_copy(update={"cache_dir": str(tmp_path)})
    first = make_teacher(PARAMS.teacher, runtime, model_dir=tmp_path, seed=0).fault(questions)
    teacher = make_teacher(PARAMS.teacher, runtime, model_dir=tmp_path, seed=0)

    def no_runs(jobs, **kw):
        assert all(kw["cache"].get(job) is not None for job in jobs), "a verified fault was run again"
        return [kw["cache"].get(job) for job in jobs]

    import soda.world.teacher as world_teacher

    original, world_teacher.execute_many = world_teacher.execute_many, no_runs
    try:
        again = teacher.fault(questions)
    finally:
        world_teacher.execute_many = original
    assert again == first and any(r["fault_type"] == "timeout" for r in first)


def test_a_queued_experiment_shares_the_workspace_caches_and_mlflow_store(tmp_path, monkeypatch):
    from soda.params import workspace_path
    from soda.tracking import tracking_uri

    copy = tmp_path / ".dvc" / "tmp" / "exps" / "tmpab12cd"  # where `dvc exp run --queue` runs a stage
    copy.mkdir(parents=True)
    monkeypatch.setenv("DVC_ROOT", str(copy))
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    assert workspace_path(".soda/cache") == tmp_path / ".soda/cache"
    assert PARAMS.runtime.model_copy(update={"cache_dir": ".soda/cache"}).cache_path == tmp_path / ".soda/cache"
    assert tracking_uri() == f"sqlite:///{tmp_path / 'mlflow.db'}"
    assert workspace_path("/abs/cache") == Path("/abs/cache")
    monkeypatch.setenv("DVC_ROOT", str(tmp_path))  # `dvc repro` in the workspace itself
    assert workspace_path("x") == tmp_path / "x"


def test_deliver_file_streams_in_chunks_to_the_same_rows(delivered, tmp_path, monkeypatch):
    import soda.teacher_generate

    questions, rows = delivered
    monkeypatch.setattr(soda.teacher_generate, "CHUNK", 3)  # chunks that straddle the CSL/FCL boundary
    assert deliver(ReferenceTeacher(seed=0), questions, tmp_path / "chunked") == rows

    class Useless(ReferenceTeacher):
        def solve(self, qs):
            return [{"code": None, "raw": "", "dropped": "no_code"} for _ in qs]

    with pytest.raises(InputError, match="no usable CSL example"):
        deliver(Useless(seed=0), questions, tmp_path / "useless")
    assert not any((tmp_path / "useless" / name).exists() for name in OUTS)
    (tmp_path / "empty.jsonl").write_text("\n")
    fresh = tuple(str(tmp_path / "empty" / name) for name in OUTS)
    with pytest.raises(InputError, match="empty.jsonl: the question set is empty"):
        deliver_file(ReferenceTeacher(seed=0), str(tmp_path / "empty.jsonl"), fresh, fcl_fraction=0.25, seed=0,
                     timeout_s=PARAMS.teacher_generate.timeout_s, cache=None,
                     student_prompt=PARAMS.generation.student_prompt)
