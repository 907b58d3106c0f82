"""The embedded world: families, make_world, evolve, faults, judge and the reference teacher."""

from __future__ import annotations

import ast
import json
import random

import pytest

from sandbox import Job, Result, execute_many
from soda.io import InputError
from soda.scoring import parse_score
from soda.world import FAMILIES, evolve_task, inject_fault, judge, make_world
from soda.world.family import build, split_tests
from soda.world.faults import FAULT_TYPES, fault_candidates, verified
from soda.world.judge import judge_jobs
from soda.world.teacher import ReferenceTeacher

KEYS = {"id", "question", "entry_point", "reference", "tests", "family", "tier", "spec", "lang", "origin", "parent"}


def test_at_least_40_families_with_three_tiers():
    assert len(FAMILIES) >= 40
    assert all(set(f.tiers) >= {1, 2, 3} for f in FAMILIES.values())


def test_function_names_tell_families_apart():
    # A function name is a cue to the family for the student: never shared across families.
    owners: dict[str, set] = {}
    for name in FAMILIES:
        for tier in FAMILIES[name].tiers:
            for i in range(25):
                owners.setdefault(build(name, tier, random.Random(f"{name}:{tier}:{i}"))["entry_point"], set()).add(name)
    assert {fn: fams for fn, fams in owners.items() if len(fams) > 1} == {}


@pytest.mark.parametrize("name", sorted(FAMILIES))
def test_family_references_pass_their_tests(name):
    tasks = [build(name, tier, random.Random(f"{name}:{tier}:{i}")) for tier in FAMILIES[name].tiers for i in range(4)]
    for t in tasks:
        fn = ast.parse(t["reference"]).body
        assert len(fn) == 1 and fn[0].name == t["entry_point"], t["reference"]
        assert 2 <= len(t["reference"].strip().splitlines()) <= 12, t["reference"]
        assert len(t["question"].split()) <= 60, t["question"]
        main, edge = split_tests(t["tests"])
        assert main.count("assert ") >= 2 and edge.count("assert ") >= 1, t["tests"]
        json.dumps(t["spec"])
        namespace: dict = {}
        exec(t["reference"] + "\n" + t["tests"], namespace)  # our own trusted code
    # Same family and tier, different draws: wording and parameters vary.
    assert len({t["question"] for t in tasks}) >= len(tasks) - 2


def test_references_pass_in_the_sandbox():
    pool, _ = make_world(len(FAMILIES), 0, seed=3)
    results = execute_many([Job(t["reference"], tests=t["tests"], timeout_s=5) for t in pool])
    assert [(t["family"], r.status) for t, r in zip(pool, results) if not r.passed] == []


def test_make_world_is_deterministic_and_disjoint():
    pool, held = make_world(120, 60, seed=1)
    assert (pool, held) == make_world(120, 60, seed=1)
    assert make_world(120, 60, seed=2)[0] != pool
    assert len(pool) == 120 and len(held) == 60
    assert pool[0]["id"] == "seed-00000" and held[0]["id"] == "heldout-00000"
    assert all(set(t) == KEYS and t["lang"] == "python" for t in pool + held)
    assert {t["origin"] for t in pool} == {"seed"} and {t["origin"] for t in held} == {"heldout"}
    specs = lambda rows: {json.dumps([t["family"], t["tier"], t["spec"]], sort_keys=True) for t in rows}  # noqa: E731
    assert not specs(pool) & specs(held)
    assert not {t["question"] for t in pool} & {t["question"] for t in held}
    # The seed pool leans easy, the held-out set is balanced.
    tiers = [t["tier"] for t in pool]
    assert tiers.count(1) > tiers.count(3)
    # The held-out draw does not depend on the seed pool's size.
    assert make_world(10, 60, seed=1)[1] == held


def test_make_world_restricts_families_and_tiers():
    pool, held = make_world(20, 10, seed=0, tiers=(1,), families=["arith", "list_sum"])
    assert {t["family"] for t in pool + held} == {"arith", "list_sum"}
    assert {t["tier"] for t in pool + held} == {1}
    with pytest.raises(KeyError):
        make_world(1, 1, families=["no_such_family"])


def test_evolve_harder_raises_the_tier_and_keeps_the_family():
    rng = random.Random(0)
    for name in FAMILIES:
        t = {**build(name, 1, rng), "id": "seed-00001"}
        new = evolve_task(t, True, rng, "evo-1")
        assert (new["family"], new["tier"], new["origin"], new["parent"], new["id"]) == (name, 2, "evolved", "seed-00001", "evo-1")
        same = evolve_task(t, False, rng, "evo-2")
        assert same["tier"] == 1 and same["spec"] != t["spec"]
        top = {**build(name, 3, rng), "id": "x"}
        assert evolve_task(top, True, rng, "evo-3")["tier"] == 3


def _sample(n: int, seed: int = 0) -> list[dict]:
    return make_world(n, 0, seed=seed)[0]


@pytest.fixture(scope="module")
def faulted():
    """Eight tasks and, per fault type, the teacher's verified faults for them."""
    tasks = _sample(8, seed=5)
    return tasks, {ft: ReferenceTeacher(fault_types=(ft,), timeout_s=0.5).fault(tasks) for ft in FAULT_TYPES}


@pytest.mark.parametrize("fault_type", FAULT_TYPES)
def test_injected_faults_fail_as_their_type_says(faulted, fault_type):
    tasks, outs = faulted
    out = outs[fault_type]
    pairs = [(r, t) for r, t in zip(out, tasks) if r["dropped"] is None]
    assert len(pairs) >= len(tasks) - 1, [r["dropped"] for r in out]
    assert all(r["fault_type"] == fault_type and r["code"] != t["reference"] and r["raw"].startswith("```python")
               for r, t in pairs)
    # Re-executed independently, each verified fault still fails its way (timeouts were
    # verified the same way by the teacher and cost their full limit, so they are not rerun).
    if fault_type != "timeout":
        results = execute_many([Job(r["code"], tests=t["tests"], timeout_s=0.5) for r, t in pairs])
        assert all(verified(fault_type, res) for res in results)


def test_inject_fault_edits_one_place():
    task = build("list_filter", 2, random.Random(0))
    for fault_type in FAULT_TYPES:
        code = inject_fault(task, fault_type, random.Random(1))
        assert code != task["reference"]
        assert code in fault_candidates(task["reference"], fault_type)
    with pytest.raises(ValueError):
        fault_candidates(task["reference"], "cosmic-ray")


def test_judge_ranks_the_reference_above_every_fault(faulted):
    tasks, outs = faulted
    teacher = ReferenceTeacher(timeout_s=0.5)
    for i, t in enumerate(tasks[:4]):
        faults = {ft: outs[ft][i]["code"] for ft in FAULT_TYPES if outs[ft][i]["code"]}
        codes = [t["reference"], *faults.values()]
        scored = teacher.annotate([t] * len(codes), codes)
        ref = scored[0]
        assert ref["score"] == 6.0, ref["text"]
        assert ref["text"].startswith("Code Analysis:") and "\nScore:\nRule 1. Basic Functionality: 2\n" in ref["text"]
        assert ref["text"].rstrip().endswith("Rule 5. Coding Practices: 1")
        assert t["question"] in ref["prompt"] and t["reference"] in ref["prompt"]
        for ft, s in zip(faults, scored[1:]):
            # A crash or a hang on the core cases keeps at most the documentation point and
            # the half point of edge cases that happen to pass.
            assert s["score"] <= {"logical": 3.5}.get(ft, 2.0), (ft, s["text"])
        if "syntax" in faults:
            assert scored[1 + list(faults).index("syntax")]["score"] == 0.0


def test_judge_grades_partial_solutions():
    t = build("list_extreme", 2, random.Random(3))  # empty list -> a default value
    undocumented = t["reference"].replace(t["reference"].splitlines()[1] + "\n", "")
    no_edge = f"def {t['entry_point']}({t['spec']['args'][0]}):\n    return {t['spec']['kind']}({t['spec']['args'][0]})\n"
    codes = [t["reference"], undocumented, no_edge, "def other():\n    return 1\n"]
    results = execute_many([job for c in codes for job in judge_jobs(t, c, 2.0)])
    scores = [judge(t, c, results[2 * i: 2 * i + 2])[1] for i, c in enumerate(codes)]
    assert scores[0] == 6.0 and scores[1] == 5.5
    assert 2 < scores[2] < 5, judge(t, no_edge, results[4:6])[0]
    assert scores[3] <= 1
    # The project's score parser reads the judge's texts back to the same scores.
    texts = [judge(t, c, results[2 * i: 2 * i + 2])[0] for i, c in enumerate(codes)]
    assert [parse_score(x).score for x in texts] == scores
    # A sandbox failure says nothing about the code: blank rules, no score.
    broken = Result("sandbox-error", reason="pool died")
    text, score = judge(t, t["reference"], [broken, broken])
    assert score is None and parse_score(text).score is None and text.endswith("Rule 5. Coding Practices:")
    # A single Result of the full tests is accepted too.
    whole = execute_many([Job(t["reference"], tests=t["tests"])])[0]
    assert judge(t, t["reference"], whole)[1] == 6.0


def test_reference_teacher_end_to_end():
    tasks = _sample(5, seed=11)
    teacher = ReferenceTeacher(seed=3, timeout_s=0.5)
    solved = teacher.solve(tasks)
    assert [s["code"] for s in solved] == [t["reference"] for t in tasks]
    assert all(s["raw"] == f"```python\n{t['reference']}```" and s["dropped"] is None for s, t in zip(solved, tasks))
    faulty = teacher.fault(tasks)
    assert faulty == ReferenceTeacher(seed=3, timeout_s=0.5).fault(tasks)  # stable per question id
    assert all(f["fault_type"] in FAULT_TYPES for f in faulty if f["dropped"] is None)
    notes = teacher.annotate(tasks, [f["code"] or t["reference"] for f, t in zip(faulty, tasks)])
    assert all(0 <= n["score"] <= 6 and n["text"].startswith("Code Analysis:") for n in notes)
    evolved = teacher.evolve(tasks, [True, False, True, False, True])
    assert evolved == teacher.evolve(tasks, [True, False, True, False, True])
    assert len({e["id"] for e in evolved}) == 5
    for e, t, h in zip(evolved, tasks, [True, False, True, False, True]):
        assert e["parent"] == t["id"] and e["origin"] == "evolved" and e["family"] == t["family"]
        assert e["tier"] == (min(t["tier"] + 1, 3) if h else t["tier"])


def test_reference_teacher_rejects_questions_from_elsewhere():
    with pytest.raises(InputError, match="HumanEval/0"):
        ReferenceTeacher().solve([{"id": "HumanEval/0", "question": "def f(): ..."}])
    with pytest.raises(InputError, match="fault_types"):
        ReferenceTeacher(fault_types=("cosmic-ray",))
