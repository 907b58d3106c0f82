"""fcl-train: fault-aware contrastive learning (paper eq. 2, the DPO objective) on
correct-vs-faulty pairs; the policy starts from the CSL model, the reference is the CSL
model, frozen. `fcl_train.enabled: false` (the ablation) hands the CSL model on unchanged."""

from __future__ import annotations

import shutil

from soda.io import InputError, atomic_path, read_jsonl
from soda.tracking import log_metrics, stage_run
from stages._common import parser, run, scratch_dir, setup, write_metrics


def main(argv: list[str] | None = None) -> int:
    p = parser(__doc__)
    p.add_argument("--cycle", required=True)
    p.add_argument("--model", required=True, help="the CSL model: policy start and frozen reference")
    p.add_argument("--data", required=True, help="FCL rows: prompt, chosen, rejected")
    p.add_argument("--out", required=True)
    p.add_argument("--metrics", required=True)
    args = p.parse_args(argv)
    params = setup(args)
    cfg = {**params["fcl_train"], "seed": params["seed"]}
    rows = read_jsonl(args.data)
    with stage_run(params, "fcl-train", cycle=args.cycle, sections=("fcl_train",), outs=(args.out,)):
        if not cfg.pop("enabled"):
            with atomic_path(args.out) as tmp:
                shutil.copytree(args.model, tmp)
            metrics = {"enabled": 0, "pairs": len(rows)}
        else:
            if not rows:
                raise InputError(f"{args.data}: the FCL set is empty (set fcl_train.enabled: false to skip FCL)")
            from soda.train import train_fcl

            metrics = train_fcl(args.model, rows, args.out, cfg, scratch_dir("fcl-train", args.cycle))
        write_metrics(args.metrics, metrics)
        log_metrics(metrics, "fcl_train")
    print(f"fcl-train@{args.cycle}: {metrics}")
    return 0


if __name__ == "__main__":
    run(main)
