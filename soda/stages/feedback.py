"""feedback: the student answers the cycle's questions; the sandbox executes each answer
(Pass/Fail) and the scoring model scores it (0-6); each question is classified easy, medium
or hard (rule in soda/feedback.py).

The scorer is trained once, on annotations of one student's answers; what it scores here are
later students' answers. `feedback.scorer_audit` answers, a seeded sample, are annotated by
the teacher as well, and the scorer's agreement with them is the metric `scorer_agreement`:
the scorer measured where it is used."""

from __future__ import annotations

import random

from soda.feedback import classify, execute, summarize
from soda.io import InputError, write_jsonl
from soda.params import Feedback, Generation, Teacher
from soda.stage import In, Out, StageConfig, read_rows, with_teacher_langs
from soda.verdicts import result_cache


class Config(StageConfig):
    seed: int
    generation: Generation
    feedback: Feedback
    teacher: Teacher


def run(cfg: Config, *, cycle: str, questions: In, teacher: In, student: In, scorer: In, out: Out) -> dict:
    fb, gen = cfg.feedback, cfg.section("generation")
    if not fb.execution and not fb.scoring:
        raise InputError("params: feedback.execution and feedback.scoring are both false; "
                         "to sample questions without feedback set evolve.classification: false")
    rows = with_teacher_langs(read_rows(questions, "question", ("id", "question")), teacher)
    if fb.max_questions is not None and len(rows) > fb.max_questions:
        # Feedback costs a generation and a scoring per question: a fixed sample bounds it.
        rows = random.Random(f"{cfg.seed}:{cycle}").sample(sorted(rows, key=lambda q: q["id"]), fb.max_questions)
    from soda.student import answer, score

    answers = [a[0] for a in answer(str(student), rows, gen, seed=cfg.seed)]
    off = {"lang": None, "passed": None, "status": None, "error_class": None}
    verdicts = execute(rows, answers, fb.timeout_s, result_cache(gen["cache_dir"])) if fb.execution else [off] * len(rows)
    scores = score(str(scorer), rows, answers, gen, seed=cfg.seed) if fb.scoring else [None] * len(rows)
    classify_cfg = cfg.section("feedback")
    out_rows = []
    for q, a, v, s in zip(rows, answers, verdicts, scores):
        value = s.score if s is not None else None
        out_rows.append({"id": q["id"], "answer": a, **v, "score": value, "level": classify(v["passed"], value, classify_cfg)})
    metrics = summarize(out_rows)
    if fb.scoring and fb.scorer_audit:
        metrics["scorer_agreement"] = audit(cfg, cycle, rows, answers, [s.score for s in scores])
    write_jsonl(out, out_rows)
    return metrics


def audit(cfg: Config, cycle: str, rows: list[dict], answers: list[str], scores: list) -> dict:
    from soda.scoring import agreement
    from soda.teacher import make_teacher, teacher_counters
    from soda.tracking import log_metrics

    n = min(cfg.feedback.scorer_audit, len(rows))
    picked = sorted(random.Random(f"{cfg.seed}:{cycle}:audit").sample(range(len(rows)), n))
    teacher = make_teacher(cfg.section("teacher"), seed=cfg.seed, cache_dir=cfg.generation.cache_dir)
    notes = teacher.annotate([rows[i] for i in picked], [answers[i] for i in picked])
    log_metrics(teacher_counters(teacher), "teacher")
    kept = [(scores[i], n["score"]) for i, n in zip(picked, notes) if n.get("score") is not None]
    return agreement([p for p, _ in kept], [g for _, g in kept])
