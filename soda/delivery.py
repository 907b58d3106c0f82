"""Correct-and-fault knowledge delivery (the teacher-generate stage's logic).

The teacher writes a correct solution (prompt A) for every question and a faulty one
(prompt B) for the FCL share. Each solution is checked by execution where the question has
tests: a "correct" solution that fails and a "faulty" one that passes are dropped and
counted (the paper keeps them; we do not). With a cache dir, those verdicts are kept in
`<cache_dir>/runs.sqlite3` (sandbox.ResultCache), so that a re-run stage, whose teacher calls
come from the call cache, does not execute them again either.

A question without `lang` takes the language of the teacher's correct solution
(soda.extract.question_lang): its faulty solution is asked for and extracted in that language,
and the rows record it. Code in a language the sandbox cannot run is not executed.
"""

from __future__ import annotations

import random
from collections import Counter

from soda.extract import RUNNABLE, question_lang
from soda.prompts import student_prompt as render_student
from soda.teacher import result_cache


def split(questions: list[dict], fcl_fraction: float, seed: int) -> tuple[list[dict], list[dict]]:
    """80/20 by default: a seeded shuffle, the first share to FCL, the rest to CSL."""
    order = sorted(questions, key=lambda q: q["id"])
    random.Random(seed).shuffle(order)
    n_fcl = round(len(order) * fcl_fraction)
    return order[n_fcl:], order[:n_fcl]


def _execute(results: list[dict], questions: list[dict], timeout_s: float, cache) -> list:
    """Sandbox results of each teacher output against its question's tests (None where there
    are no tests, no code, or the teacher already verified it: a timeout fault costs its limit)."""
    from sandbox import Job, execute_many

    codes = [r.get("code") for r in results]
    idx = [i for i, (r, q) in enumerate(zip(results, questions)) if r.get("code") and q.get("tests")
           and q["lang"] in RUNNABLE and not r.get("verified")]
    results = execute_many([Job(code=codes[i], tests=questions[i]["tests"], lang=questions[i]["lang"],
                                timeout_s=timeout_s) for i in idx], cache=cache)
    out = [None] * len(codes)
    for i, r in zip(idx, results):
        out[i] = r
    return out


def deliver(teacher, questions: list[dict], *, fcl_fraction: float, seed: int, timeout_s: float = 2.0,
            cache_dir: str | None = None, student_prompt: str = "compact") -> tuple[list[dict], list[dict], list[dict], dict]:
    """Returns (teacher rows, CSL rows, FCL rows, counts); schemas in docs/data.md. The training
    rows show each question in the `student_prompt` style (soda.prompts.student_prompt)."""
    csl_q, fcl_q = split(questions, fcl_fraction, seed)
    solved = teacher.solve(csl_q + fcl_q)
    ordered = [{**q, "lang": question_lang(q, sol.get("raw"))} for q, sol in zip(csl_q + fcl_q, solved)]
    fcl_q = ordered[len(csl_q):]
    faulty = teacher.fault(fcl_q)
    cache = result_cache(cache_dir)
    correct_runs = _execute(solved, ordered, timeout_s, cache)
    faulty_runs = _execute(faulty, fcl_q, timeout_s, cache)

    counts: Counter = Counter()
    rows, csl_rows, fcl_rows = [], [], []
    for i, (q, sol) in enumerate(zip(ordered, solved)):
        is_fcl = i >= len(csl_q)
        fault = faulty[i - len(csl_q)] if is_fcl else None
        dropped = sol.get("dropped")
        if not dropped and correct_runs[i] is not None and not correct_runs[i].passed:
            dropped = f"correct solution fails its tests ({correct_runs[i].status})"
        if not dropped and is_fcl:
            fault_run = faulty_runs[i - len(csl_q)]
            if fault.get("dropped"):
                dropped = f"faulty: {fault['dropped']}"
            elif fault_run is not None and fault_run.passed:
                dropped = "faulty solution passes its tests"
        counts["dropped" if dropped else "kept"] += 1
        if dropped:
            counts[f"dropped_{'fcl' if is_fcl else 'csl'}"] += 1
        rows.append({
            "id": f"{q['id']}", "question_id": q["id"], "split": "fcl" if is_fcl else "csl", "lang": q["lang"],
            "correct": sol.get("code"), "faulty": fault.get("code") if fault else None,
            "fault_type": fault.get("fault_type") if fault else None, "dropped": dropped,
        })
        if dropped:
            continue
        prompt = render_student(q["question"], student_prompt)
        if is_fcl:
            counts[f"fault_{fault.get('fault_type') or 'unknown'}"] += 1
            fcl_rows.append({"id": q["id"], "prompt": prompt, "chosen": sol["code"], "rejected": fault["code"],
                             "fault_type": fault.get("fault_type")})
        else:
            csl_rows.append({"id": q["id"], "prompt": prompt, "completion": sol["code"]})
    counts.update(questions=len(questions), csl=len(csl_rows), fcl=len(fcl_rows))
    counts.update(f"lang_{r['lang'] or 'unknown'}" for r in rows if not r["dropped"])
    return rows, csl_rows, fcl_rows, dict(sorted(counts.items()))
