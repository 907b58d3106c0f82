"""fcl-train: fault-aware contrastive learning (paper eq. 2, the DPO objective) on
correct-vs-faulty pairs; the policy starts from the CSL model, the reference is the CSL
model, frozen. `fcl_train.enabled: false` (the ablation) hands the CSL model on unchanged.

`fcl_train.rejected`: `teacher` trains on the teacher's injected faults (the paper); `student`
on the CSL model's own failing answers to the same questions, sampled and run in the sandbox
(on-policy; beyond the paper); `both` on the two sets of pairs."""

from __future__ import annotations

import shutil

from soda.io import InputError, atomic_path, read_jsonl, require_keys
from soda.params import FclTrain, Generation, Student, TrainShared
from soda.io import read_rows, with_teacher_langs
from soda.train import scratch_dir
from stages import In, Out, StageConfig


class Config(StageConfig):
    seed: int
    student: Student  # chat_template
    generation: Generation  # rejected student/both: how the CSL model answers
    train: TrainShared  # completed into fcl_train (soda.params.resolve)
    fcl_train: FclTrain


def run(cfg: Config, *, cycle: str, model: In, data: In, questions: In, teacher: In, out: Out) -> dict:
    rows = read_jsonl(data)
    if not cfg.fcl_train.enabled:
        with atomic_path(out) as tmp:
            shutil.copytree(model, tmp)
        return {"enabled": 0, "pairs": len(rows)}
    if not rows:
        raise InputError(f"{data}: the FCL set is empty (set fcl_train.enabled: false to skip FCL)")
    from soda.train import ROW_KEYS, train_fcl

    require_keys(rows, ROW_KEYS["fcl"], str(data))
    counts = {}
    if cfg.fcl_train.rejected != "teacher":
        rows, counts = student_rejected(cfg, rows, str(model), data, questions, teacher)
    metrics = train_fcl(str(model), rows, out, cfg.fcl_train, cfg.seed, scratch_dir("fcl-train", cycle),
                        cfg.student.chat_template)
    return {**metrics, **{f"on_policy_{k}": v for k, v in counts.items()}}


def student_rejected(cfg: Config, rows: list[dict], model: str, data, questions, teacher) -> tuple[list[dict], dict]:
    """The FCL pairs with the CSL model's own failing answers as rejected solutions."""
    from soda.teacher_generate import on_policy_pairs
    from soda.feedback import execute
    from soda.student import answer
    from sandbox.cache import result_cache

    fc = cfg.fcl_train
    by_id = {q["id"]: q for q in with_teacher_langs(read_rows(questions, "question", ("id", "question")), teacher)}
    missing = next((r["id"] for r in rows if r["id"] not in by_id), None)
    if missing is not None:
        raise InputError(f"{data}: pair {missing!r} has no question in {questions}")
    asked = [by_id[r["id"]] for r in rows]
    n = fc.student_samples
    samples = answer(model, asked, cfg.generation, cfg.runtime, n=n, temperature=fc.student_temperature, seed=cfg.seed,
                     chat_template=cfg.student.chat_template)
    runs = execute([q for q in asked for _ in range(n)], [a for per_q in samples for a in per_q], fc.student_timeout_s,
                   result_cache(cfg.runtime.cache_path))
    pairs, counts = on_policy_pairs(rows, samples, [runs[i * n:(i + 1) * n] for i in range(len(rows))],
                                    keep_teacher=fc.rejected == "both")
    if not pairs:
        raise InputError(f"{data}: fcl_train.rejected: {fc.rejected}: none of the CSL model's {n} answers to any of "
                         f"the {len(rows)} questions failed its tests (or could be run): no pair to train on")
    return pairs, counts
