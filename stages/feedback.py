"""feedback: the student answers the cycle's questions; the sandbox executes each answer
(Pass/Fail) and the scoring model scores it (0-6); each question is classified easy, medium
or hard (rule in soda/feedback.py).

The scorer is trained once, on annotations of one student's answers; what it scores here are
later students' answers. `feedback.scorer_audit` answers, a seeded sample, are annotated by
the teacher as well, and the scorer's agreement with them is the metric `scorer_agreement`:
the scorer measured where it is used.

`feedback.scorer_update` (beyond the paper, which trains the scorer once; 0 = the paper): the
teacher annotates that many of this cycle's answers, a seeded sample apart from the audited
ones, and a copy of the scorer is fine-tuned on them (score_train's recipe, from models/scorer)
before it scores: a scorer that follows the student, whose answers pass more from cycle to
cycle than the answers it was trained on (docs/results.md, 2026-12-07). It costs that many
prompt-C calls per cycle; the fine-tuned copy lives in the stage's scratch space only."""

from __future__ import annotations

import random
import shutil
from pathlib import Path

from sandbox.cache import result_cache
from soda.feedback import LEVELS, classify, execute, summarize
from soda.io import InputError, write_jsonl
from soda.params import Feedback, Generation, Launch, ScoreTrain, Student, Teacher, TrainShared
from soda.io import read_rows, with_teacher_langs
from stages import In, Out, StageConfig


class Config(StageConfig):
    seed: int
    student: Student  # chat_template (the scorer's too)
    generation: Generation
    feedback: Feedback
    teacher: Teacher
    train: TrainShared  # completed into score_train (soda.params.resolve)
    score_train: ScoreTrain  # the recipe of feedback.scorer_update's fine-tuning
    launch: Launch  # ... and how it runs


def run(cfg: Config, *, cycle: str, questions: In, teacher: In, student: In, scorer: In, teacher_model_dir: In,
        out: Out) -> dict:
    fb, gen = cfg.feedback, cfg.generation
    if not fb.execution and not fb.scoring:
        raise InputError("params: feedback.execution and feedback.scoring are both false; "
                         "to sample questions without feedback set evolve.classification: false")
    rows = with_teacher_langs(read_rows(questions, "question", ("id", "question")), teacher)
    if fb.max_questions is not None and len(rows) > fb.max_questions:
        # Feedback costs a generation and a scoring per question: a fixed sample bounds it.
        rows = random.Random(f"{cfg.seed}:{cycle}").sample(sorted(rows, key=lambda q: q["id"]), fb.max_questions)
    from soda.student import answer, score

    answers = [a[0] for a in answer(str(student), rows, gen, cfg.runtime, seed=cfg.seed,
                                    chat_template=cfg.student.chat_template)]
    off = {"lang": None, "passed": None, "status": None, "error_class": None}
    verdicts = execute(rows, answers, fb.timeout_s, result_cache(cfg.runtime.cache_path), fb.execution_mode) if fb.execution else [off] * len(rows)
    audited = audit_sample(cfg, cycle, len(rows)) if fb.scoring and fb.scorer_audit else []
    taught = update_sample(cfg, cycle, len(rows), audited) if fb.scoring and fb.scorer_update else []
    notes = annotate(cfg, teacher_model_dir, rows, answers, sorted([*audited, *taught]))
    scorer_path, update = str(scorer), None
    if taught:
        scorer_path, update = update_scorer(cfg, cycle, rows, answers, scorer_path, {i: notes[i] for i in taught})
    scores = (score(scorer_path, rows, answers, gen, cfg.runtime, seed=cfg.seed, chat_template=cfg.student.chat_template)
              if fb.scoring else [None] * len(rows))
    if update is not None:
        shutil.rmtree(scorer_path)
    out_rows = []
    for q, a, v, s in zip(rows, answers, verdicts, scores):
        value = s.score if s is not None else None
        out_rows.append({"id": q["id"], "answer": a, **v, "score": value, "level": classify(v["passed"], value, fb)})
    metrics = summarize(out_rows)
    if update is not None:
        metrics["scorer_update"] = update
    if audited:
        metrics["scorer_agreement"] = audit(cfg, out_rows, {i: notes[i] for i in audited})
    write_jsonl(out, out_rows)
    return metrics


def audit_sample(cfg: Config, cycle: str, n_rows: int) -> list[int]:
    """The answers (indices) the teacher annotates to measure the scorer: feedback.scorer_audit, seeded."""
    return sorted(random.Random(f"{cfg.seed}:{cycle}:audit").sample(range(n_rows), min(cfg.feedback.scorer_audit, n_rows)))


def update_sample(cfg: Config, cycle: str, n_rows: int, audited: list[int]) -> list[int]:
    """The answers (indices) the scorer is fine-tuned on: feedback.scorer_update, seeded, none of
    the audited ones (else the audit would measure the scorer on what it was just taught)."""
    rest = sorted(set(range(n_rows)) - set(audited))
    if not rest:
        raise InputError(f"feedback.scorer_update: nothing to fine-tune on: 0 answers besides the "
                         f"{len(audited)} audited (feedback.scorer_audit)")
    return sorted(random.Random(f"{cfg.seed}:{cycle}:scorer-update").sample(rest, min(cfg.feedback.scorer_update, len(rest))))


def annotate(cfg: Config, teacher_model_dir: Path, rows: list[dict], answers: list[str], picked: list[int]) -> dict[int, dict]:
    """The teacher's prompt-C annotations of the picked answers, by index. One call for the audit
    and the update together: one teacher, its counters logged once."""
    if not picked:
        return {}
    from soda.teacher import make_teacher, teacher_counters
    from soda.tracking import log_metrics

    teacher = make_teacher(cfg.teacher, cfg.runtime, model_dir=teacher_model_dir, seed=cfg.seed)
    notes = teacher.annotate([rows[i] for i in picked], [answers[i] for i in picked])
    log_metrics(teacher_counters(teacher), "teacher")
    return dict(zip(picked, notes))


def audit(cfg: Config, out_rows: list[dict], notes: dict[int, dict]) -> dict:
    """The scorer's agreement with the teacher's annotations `notes` (by answer index), and the
    levels those answers get from the scorer and would get from the teacher's own scores
    (`oracle_levels`): what a perfect scorer would change, given the execution verdicts."""
    from soda.scoring import agreement

    kept = [(out_rows[i], n["score"]) for i, n in notes.items() if n.get("score") is not None]
    levels = {level: 0 for level in (*LEVELS, "unclassified")}
    oracle = dict(levels)
    for row, truth in kept:
        levels[row["level"]] += 1
        oracle[classify(row["passed"], truth, cfg.feedback)] += 1
    return {**agreement([r["score"] for r, _ in kept], [g for _, g in kept]), "levels": levels, "oracle_levels": oracle}


def update_scorer(cfg: Config, cycle: str, rows: list[dict], answers: list[str], scorer: str,
                  notes: dict[int, dict]) -> tuple[str, dict]:
    """(the fine-tuned copy's path, metrics): the scorer fine-tuned on the teacher's annotations
    `notes` (by answer index) of this cycle's answers, in the scorer's own format and head."""
    from collections import Counter

    from soda.scoring import round_score
    from soda.student import scorer_card, scorer_example
    from soda.train import scratch_dir, train_scorer

    fmt, head = scorer_card(scorer)
    examples, counts = [], Counter()
    for i, note in notes.items():
        if note.get("score") is None:
            continue  # the teacher's annotation did not parse: nothing to learn from
        example = scorer_example(rows[i]["question"], answers[i], note["text"], fmt)
        examples.append(example if head == "generative" else {"prompt": example["prompt"], "score": note["score"]})
        counts[round_score(note["score"])] += 1
    if not examples:
        raise InputError(f"feedback.scorer_update: nothing to fine-tune on: none of the {len(notes)} "
                         "annotations has a score")
    scratch = Path(scratch_dir("feedback", cycle))
    out = scratch / "scorer"
    metrics = train_scorer(scorer, examples, out, cfg.score_train, cfg.seed, scratch, head, fmt,
                           cfg.student.chat_template, cfg.launch)
    return str(out), {**metrics, "annotations": len(examples),
                      "annotation_scores": {str(k): counts[k] for k in sorted(counts)}}
