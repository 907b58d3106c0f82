"""fcl-train: fault-aware contrastive learning (paper eq. 2, the DPO objective) on
correct-vs-faulty pairs; the policy starts from the CSL model, the reference is the CSL
model, frozen. `fcl_train.enabled: false` (the ablation) hands the CSL model on unchanged."""

from __future__ import annotations

import shutil

from soda.io import InputError, atomic_path, read_jsonl, require_keys
from soda.params import FclTrain
from soda.stage import In, Out, StageConfig, scratch_dir


class Config(StageConfig):
    seed: int
    fcl_train: FclTrain


def run(cfg: Config, *, cycle: str, model: In, data: In, out: Out) -> dict:
    rows = read_jsonl(data)
    if not cfg.fcl_train.enabled:
        with atomic_path(out) as tmp:
            shutil.copytree(model, tmp)
        return {"enabled": 0, "pairs": len(rows)}
    if not rows:
        raise InputError(f"{data}: the FCL set is empty (set fcl_train.enabled: false to skip FCL)")
    from soda.train import ROW_KEYS, train_fcl

    require_keys(rows, ROW_KEYS["fcl"], str(data))

    return train_fcl(str(model), rows, out, {**cfg.section("fcl_train"), "seed": cfg.seed},
                     scratch_dir("fcl-train", cycle))
