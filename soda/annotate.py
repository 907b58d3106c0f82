"""Annotation data for the scoring model (the score-train stage's logic).

For a sample of questions, three solutions are annotated by the teacher with prompt C:
the teacher's correct one, its faulty one and the base student's, so that the scorer sees
the whole range of the rubric.
"""

from __future__ import annotations

import random


def collect(teacher, questions: list[dict], student_answers: list[str]) -> list[dict]:
    solved = teacher.solve(questions)
    faulty = teacher.fault(questions)
    jobs = []
    for q, s, f, a in zip(questions, solved, faulty, student_answers):
        for source, code in (("teacher-correct", s.get("code")), ("teacher-faulty", f.get("code")), ("student", a)):
            if code:
                jobs.append((q, source, code))
    notes = teacher.annotate([q for q, _, _ in jobs], [c for _, _, c in jobs])
    rows = []
    for (q, source, code), note in zip(jobs, notes):
        if note.get("score") is None:
            continue  # the teacher's own annotation did not parse: nothing to learn from
        rows.append({"id": f"{q['id']}:{source}", "question_id": q["id"], "source": source, "question": q["question"],
                     "code": code, "prompt": note["prompt"], "completion": note["text"], "score": note["score"]})
    return rows


def split_heldout(rows: list[dict], fraction: float, seed: int) -> tuple[list[dict], list[dict]]:
    """Held-out annotations by question, so that no question is in both parts."""
    qids = sorted({r["question_id"] for r in rows})
    random.Random(seed).shuffle(qids)
    held = set(qids[: round(len(qids) * fraction)])
    return [r for r in rows if r["question_id"] not in held], [r for r in rows if r["question_id"] in held]
