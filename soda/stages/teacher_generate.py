"""teacher-generate: correct (prompt A) and faulty (prompt B) solutions, split into the
CSL set (80%) and the FCL set (20%, correct-vs-faulty pairs)."""

from __future__ import annotations

from soda.delivery import deliver
from soda.io import InputError, write_jsonl
from soda.params import Generation, Teacher, TeacherGenerate
from soda.stage import In, Out, StageConfig, read_rows
from soda.teacher import make_teacher, teacher_counters
from soda.tracking import log_metrics

PROMPTS = ("correct", "faulty", "student")


class Config(StageConfig):
    seed: int
    teacher: Teacher
    generation: Generation  # cache_dir only: where calls and verdicts are cached (changes no output)
    teacher_generate: TeacherGenerate


def run(cfg: Config, *, cycle: str, questions: In, teacher_out: Out, csl_out: Out, fcl_out: Out) -> dict:
    rows = read_rows(questions, "question", ("id", "question"))
    cache_dir = cfg.generation.cache_dir
    teacher = make_teacher(cfg.section("teacher"), seed=cfg.seed, cache_dir=cache_dir)
    delivered, csl, fcl, counts = deliver(teacher, rows, fcl_fraction=cfg.teacher_generate.fcl_fraction,
                                          seed=cfg.seed, cache_dir=cache_dir)
    if not csl:
        raise InputError(f"{questions}: no usable CSL example after teacher generation ({counts})")
    for path, data in ((teacher_out, delivered), (csl_out, csl), (fcl_out, fcl)):
        write_jsonl(path, data)
    log_metrics(teacher_counters(teacher), "teacher")
    return counts
