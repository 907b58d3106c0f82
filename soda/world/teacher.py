"""ReferenceTeacher: the offline teacher of the embedded world (soda.teacher.Teacher).

- solve (prompt A): the task's reference solution;
- fault (prompt B): the reference with one injected fault, verified by execution to fail as
  its type says; the type is drawn per question from a stream seeded by the question id;
- annotate (prompt C): the rubric judge's text and score, from two sandbox runs per code;
- evolve (prompt D): a new task of the same family, one tier up when `harder`.

It only knows its own world: a question without family/spec/tests raises InputError.
"""

from __future__ import annotations

import hashlib
import random

from sandbox import Job, execute_many

from soda.io import InputError
from soda.prompts import render
from soda.teacher import FAULT_TYPES
from soda.world.faults import fault_candidates, verified
from soda.world.generate import evolve_task
from soda.world.judge import judge, judge_jobs

WORLD_KEYS = ("family", "tier", "spec", "reference", "tests", "entry_point")
# Verification rounds per question: the drawn type's candidates first, then the other types.
MAX_TRIES = 8
PER_TYPE = 3


class ReferenceTeacher:
    def __init__(self, *, seed: int = 0, fault_types=FAULT_TYPES, timeout_s: float = 2.0, cache=None):
        unknown = [t for t in fault_types if t not in FAULT_TYPES]
        if unknown or not fault_types:
            raise InputError(f"teacher fault_types: {list(fault_types)} must be a non-empty subset of {FAULT_TYPES}")
        self.seed = seed
        self.fault_types = tuple(fault_types)
        self.timeout_s = timeout_s
        self.cache = cache  # a sandbox.ResultCache: a fault verified once is not run again (a later cycle, a variant)

    def _check(self, questions: list[dict]) -> None:
        for q in questions:
            missing = [k for k in WORLD_KEYS if q.get(k) is None]
            if missing:
                raise InputError(f"question {q.get('id')!r} has no world metadata ({', '.join(missing)} missing): "
                                 "the reference teacher only answers questions of the embedded world")

    def solve(self, questions: list[dict]) -> list[dict]:
        self._check(questions)
        # The world's references pass their tests by construction (tests/test_world.py).
        return [{"code": q["reference"], "raw": f"```python\n{q['reference']}```", "dropped": None, "verified": True}
                for q in questions]

    def _plan(self, q: dict) -> list[tuple[str, str]]:
        """(fault type, code) candidates in the order they will be tried."""
        rng = random.Random(f"{self.seed}:{q['id']}:fault")
        first = rng.choice(self.fault_types)
        rest = [t for t in self.fault_types if t != first]
        rng.shuffle(rest)
        plan = []
        for t in [first, *rest]:
            cands = fault_candidates(q["reference"], t)
            rng.shuffle(cands)
            plan += [(t, c) for c in cands[:PER_TYPE]]
        return plan[:MAX_TRIES]

    def fault(self, questions: list[dict]) -> list[dict]:
        self._check(questions)
        plans = [self._plan(q) for q in questions]
        out: list[dict | None] = [None] * len(questions)
        tries = [0] * len(questions)
        # One sandbox batch per round: every question still unverified tries its next candidate.
        while True:
            pending = [i for i, r in enumerate(out) if r is None and tries[i] < len(plans[i])]
            if not pending:
                break
            picks = [plans[i][tries[i]] for i in pending]
            results = execute_many([Job(code, tests=questions[i]["tests"], timeout_s=self.timeout_s)
                                    for i, (_, code) in zip(pending, picks)], cache=self.cache)
            for i, (ftype, code), res in zip(pending, picks, results):
                tries[i] += 1
                if verified(ftype, res):
                    out[i] = {"code": code, "raw": f"```python\n{code}```", "fault_type": ftype, "dropped": None,
                              "verified": True}
        return [r or {"code": None, "raw": "", "fault_type": None,
                      "dropped": f"no injected fault of {'/'.join(self.fault_types)} verified "
                                 f"({len(plans[i])} candidates tried)"}
                for i, r in enumerate(out)]

    def annotate(self, questions: list[dict], codes: list[str]) -> list[dict]:
        self._check(questions)
        if len(questions) != len(codes):
            raise ValueError(f"annotate: {len(questions)} questions but {len(codes)} codes")
        jobs = [job for q, code in zip(questions, codes) for job in judge_jobs(q, code, self.timeout_s)]
        results = execute_many(jobs, cache=self.cache)
        out = []
        for n, (q, code) in enumerate(zip(questions, codes)):
            text, score = judge(q, code, results[2 * n: 2 * n + 2])
            out.append({"prompt": render("scoring", question=q["question"], code=code), "text": text, "score": score})
        return out

    def evolve(self, questions: list[dict], harder: list[bool]) -> list[dict]:
        self._check(questions)
        if len(questions) != len(harder):
            raise ValueError(f"evolve: {len(questions)} questions but {len(harder)} harder flags")
        seen: dict[str, int] = {}
        out = []
        for q, h in zip(questions, harder):
            # Deterministic in (seed, parent id, direction, repeat): the same call gives the same tasks.
            key = f"{self.seed}:{q['id']}:{bool(h)}:{seen.get(q['id'], 0)}"
            seen[q["id"]] = seen.get(q["id"], 0) + 1
            new_id = "evo-" + hashlib.sha256(key.encode()).hexdigest()[:12]
            out.append(evolve_task(q, bool(h), random.Random(key), new_id))
        return out
