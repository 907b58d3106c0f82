"""csl-train: correctness-aware supervised learning (paper eq. 1): fine-tune the student on
the teacher's correct solutions, loss on the solution tokens only."""

from __future__ import annotations

from soda.params import Student, Train, TrainShared
from soda.io import read_rows
from soda.train import scratch_dir
from stages import In, Out, StageConfig


class Config(StageConfig):
    seed: int
    student: Student  # chat_template
    train: TrainShared  # completed into csl_train (soda.params.resolve)
    csl_train: Train


def run(cfg: Config, *, cycle: str, model: In, data: In, out: Out) -> dict:
    from soda.train import ROW_KEYS, train_csl

    rows = read_rows(data, "CSL", ROW_KEYS["csl"])
    return train_csl(str(model), rows, out, cfg.csl_train, cfg.seed, scratch_dir("csl-train", cycle),
                     cfg.student.chat_template)
