"""evolve: sample questions by level (easy:medium:hard), the teacher writes new questions
from them (prompt D; easy ones inspire harder questions); new questions are decontaminated
and, with the old ones (accumulate) or alone (replace), become the next cycle's questions."""

from __future__ import annotations

import sys
from pathlib import Path

from soda.decontaminate import clean
from soda.decontaminate import write_report
from soda.evolve import check_levels, dedupe, sample
from soda.io import InputError, write_jsonl
from soda.params import Decontaminate, Evolve, Teacher
from soda.io import read_rows, with_teacher_langs
from stages import In, Out, StageConfig
from soda.teacher import make_teacher, teacher_counters
from soda.tracking import log_metrics


class Config(StageConfig):
    seed: int
    teacher: Teacher
    evolve: Evolve
    decontaminate: Decontaminate


def run(cfg: Config, *, cycle: str, questions: In, teacher: In, feedback: In, heldout: In, benchmarks: In,
        teacher_model_dir: In, evolved_out: Out, questions_out: Out, report_jsonl: Out, report_csv: Out) -> dict:
    ev = cfg.evolve
    rows = read_rows(questions, "question", ("id", "question"))
    feedback_rows = check_levels(read_rows(feedback, "feedback", ("id", "level")), feedback)
    metrics: dict = {"enabled": int(ev.enabled)}
    new: list[dict] = []
    if ev.enabled:
        picks, counts = sample(rows, feedback_rows, ratio=list(ev.ratio), num_new=ev.num_new,
                               classification=ev.classification, seed=cfg.seed)
        metrics.update(counts)
        if not picks:
            print(f"evolve@{cycle}: warning: no question of {len(feedback_rows)} has a level to sample from "
                  "(every one unclassified): no new question", file=sys.stderr)
        # A question sampled k times is shown to the teacher k times, each with its own id; its
        # language (its teacher's, for a seed question without one) passes to its new questions.
        parents = with_teacher_langs([q for q, _, _ in picks], teacher)
        shown = [{**q, "id": f"{q['id']}~{cycle}.{i}"} for i, q in enumerate(parents)]
        teacher = make_teacher(cfg.teacher, cfg.runtime, model_dir=teacher_model_dir, seed=cfg.seed)
        made = teacher.evolve(shown, [harder for _, harder, _ in picks])
        metrics["dropped_by_teacher"] = sum(1 for m in made if m.get("dropped"))
        for i, ((parent, _, level), m) in enumerate(zip(picks, made)):
            if not m.get("dropped"):
                new.append({**m, "id": f"{cycle}-{i:05d}", "origin": "evolved", "parent": parent["id"],
                            "parent_level": level})
        new, metrics["duplicates"] = dedupe(new, rows)
        log_metrics(teacher_counters(teacher), "teacher")
    result = clean(new, cfg.decontaminate, heldout, benchmarks) if new else None
    kept = result.clean if result else []
    metrics["new_questions"] = len(kept)
    metrics["decontaminated"] = len(result.removed) if result else 0
    following = (rows + kept) if ev.mode == "accumulate" or not ev.enabled else kept
    if not following:
        raise InputError(f"evolve@{cycle}: no question left for the next cycle (evolve.mode: replace)")
    metrics["next_questions"] = len(following)
    write_jsonl(evolved_out, new)
    write_jsonl(questions_out, following)
    if result:
        write_report(result, report_jsonl, report_csv)
    else:
        write_jsonl(report_jsonl, [])
        Path(report_csv).write_text("")
    return metrics
