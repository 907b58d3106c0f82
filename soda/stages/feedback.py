"""feedback: the student answers the cycle's questions; the sandbox executes each answer
(Pass/Fail) and the scoring model scores it (0-6); each question is classified easy, medium
or hard (rule in soda/feedback.py)."""

from __future__ import annotations

import random

from soda.feedback import classify, summarize
from soda.io import InputError, write_jsonl
from soda.params import Feedback, Generation
from soda.stage import In, Out, StageConfig, read_rows

PROMPTS = ("scoring", "student")


class Config(StageConfig):
    seed: int
    generation: Generation
    feedback: Feedback


def run(cfg: Config, *, cycle: str, questions: In, student: In, scorer: In, out: Out) -> dict:
    fb, gen = cfg.feedback, cfg.section("generation")
    if not fb.execution and not fb.scoring:
        raise InputError("params: feedback.execution and feedback.scoring are both false; "
                         "to sample questions without feedback set evolve.classification: false")
    rows = read_rows(questions, "question", ("id", "question"))
    if fb.max_questions is not None and len(rows) > fb.max_questions:
        # Feedback costs a generation and a scoring per question: a fixed sample bounds it.
        rows = random.Random(f"{cfg.seed}:{cycle}").sample(sorted(rows, key=lambda q: q["id"]), fb.max_questions)
    from soda.student import answer, score

    answers = [a[0] for a in answer(str(student), rows, gen, seed=cfg.seed)]
    results = [None] * len(rows)
    if fb.execution:
        from sandbox import Job, execute_many

        results = execute_many([
            Job(code=a, lang=q.get("lang", "python"), tests=q.get("tests"), timeout_s=fb.timeout_s,
                mode="tests" if q.get("tests") else "runs")
            for q, a in zip(rows, answers)])
    scores = score(str(scorer), rows, answers, gen, seed=cfg.seed) if fb.scoring else [None] * len(rows)
    classify_cfg = cfg.section("feedback")
    out_rows = []
    for q, a, r, s in zip(rows, answers, results, scores):
        passed = r.passed if r is not None else None
        value = s.score if s is not None else None
        out_rows.append({"id": q["id"], "answer": a, "passed": passed, "status": r.status if r else None,
                         "error_class": r.error_class if r else None, "score": value,
                         "level": classify(passed, value, classify_cfg)})
    write_jsonl(out, out_rows)
    return summarize(out_rows)
