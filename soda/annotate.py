"""Annotation data for the scoring model (the score-train stage's logic).

For a sample of questions, the teacher annotates solutions with prompt C: the student's own
answers (the paper's D_seed = {(x, y_s)}, §3.3.1) and, as an option beyond the paper, the
teacher's correct and faulty solutions (prompts A and B), which span the whole rubric.
"""

from __future__ import annotations

import random


def collect(teacher, questions: list[dict], student_answers: list[list[str]], sources: list[str]) -> list[dict]:
    """Annotated rows, per question: the requested teacher solutions, then each student answer
    (`student_answers[i]`: the answers to question i; their rows are `student-0`, `student-1`, ...)."""
    per_source = {"teacher-correct": teacher.solve(questions) if "teacher-correct" in sources else None,
                  "teacher-faulty": teacher.fault(questions) if "teacher-faulty" in sources else None}
    jobs = []
    for i, q in enumerate(questions):
        for source in ("teacher-correct", "teacher-faulty"):
            if source in sources and per_source[source][i].get("code"):
                jobs.append((q, source, source, per_source[source][i]["code"]))
        if "student" in sources:  # empty answers too: feedback scores them as well
            jobs += [(q, "student", f"student-{k}", a) for k, a in enumerate(student_answers[i])]
    notes = teacher.annotate([job[0] for job in jobs], [job[3] for job in jobs])
    rows = []
    for (q, source, name, code), note in zip(jobs, notes):
        if note.get("score") is None:
            continue  # the teacher's own annotation did not parse: nothing to learn from
        rows.append({"id": f"{q['id']}:{name}", "question_id": q["id"], "source": source, "question": q["question"],
                     "code": code, "prompt": note["prompt"], "completion": note["text"], "score": note["score"]})
    return rows


def sample_questions(rows: list[dict], n: int, seed: int) -> list[dict]:
    """The n questions whose answers are annotated: a uniform sample of the seed questions, as
    the paper's ("15K ... from the student model's 110K outputs"). Its own random stream: a
    plain Random(seed) shuffle of the sorted ids is the delivery split's (soda.delivery), which
    made D_seed exactly the FCL questions the student never learnt by CSL."""
    rows = sorted(rows, key=lambda q: q["id"])
    random.Random(f"{seed}:score-train").shuffle(rows)
    return rows[:n]


def split_heldout(rows: list[dict], fraction: float, seed: int) -> tuple[list[dict], list[dict]]:
    """Held-out annotations by question, so that no question is in both parts; drawn apart from
    the delivery split too (else, with every question annotated, held-out = the FCL questions)."""
    qids = sorted({r["question_id"] for r in rows})
    random.Random(f"{seed}:scorer-heldout").shuffle(qids)
    held = set(qids[: round(len(qids) * fraction)])
    return [r for r in rows if r["question_id"] not in held], [r for r in rows if r["question_id"] in held]
