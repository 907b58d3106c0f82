"""teacher-generate: correct (prompt A) and faulty (prompt B) solutions, split into the
CSL set (80%) and the FCL set (20%, correct-vs-faulty pairs)."""

from __future__ import annotations

from sandbox.cache import result_cache
from soda.teacher_generate import deliver_file
from soda.params import Generation, Teacher, TeacherGenerate
from stages import In, Out, StageConfig
from soda.teacher import make_teacher, teacher_counters
from soda.tracking import log_metrics


class Config(StageConfig):
    seed: int
    teacher: Teacher
    generation: Generation  # student_prompt: how the training rows show each question
    teacher_generate: TeacherGenerate


def run(cfg: Config, *, cycle: str, questions: In, teacher_model_dir: In, teacher_out: Out, csl_out: Out,
        fcl_out: Out) -> dict:
    # One store of sandbox verdicts for the stage: the faults delivery runs and those the
    # reference teacher verifies, so that the counters logged below cover both.
    verdicts = result_cache(cfg.runtime.cache_path)
    teacher = make_teacher(cfg.teacher, cfg.runtime, model_dir=teacher_model_dir, seed=cfg.seed, verdicts=verdicts)
    # Streamed: read, call and write a chunk at a time (memory does not grow with the questions).
    counts = deliver_file(teacher, str(questions), (str(teacher_out), str(csl_out), str(fcl_out)),
                          fcl_fraction=cfg.teacher_generate.fcl_fraction, seed=cfg.seed,
                          timeout_s=cfg.teacher_generate.timeout_s, cache=verdicts,
                          student_prompt=cfg.generation.student_prompt)
    # To MLflow, not to the metrics file (which dvc.lock hashes): a resumed run reuses more.
    log_metrics(teacher_counters(teacher), "teacher")
    if verdicts:
        log_metrics({"cache_hits": verdicts.hits, "stored": verdicts.stored}, "sandbox")
    return counts
