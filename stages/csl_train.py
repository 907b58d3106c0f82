"""csl-train: correctness-aware supervised learning (paper eq. 1): fine-tune the student on
the teacher's correct solutions, loss on the solution tokens only."""

from __future__ import annotations

from soda.tracking import log_metrics, stage_run
from stages._common import parser, read_rows, run, scratch_dir, setup, write_metrics


def main(argv: list[str] | None = None) -> int:
    p = parser(__doc__)
    p.add_argument("--cycle", required=True)
    p.add_argument("--model", required=True, help="the student to start from")
    p.add_argument("--data", required=True, help="CSL rows: prompt, completion")
    p.add_argument("--out", required=True)
    p.add_argument("--metrics", required=True)
    args = p.parse_args(argv)
    params = setup(args)
    rows = read_rows(args.data, "CSL")
    cfg = {**params["csl_train"], "seed": params["seed"]}
    with stage_run(params, "csl-train", cycle=args.cycle, sections=("csl_train",), outs=(args.out,)):
        from soda.train import train_csl

        metrics = train_csl(args.model, rows, args.out, cfg, scratch_dir("csl-train", args.cycle))
        write_metrics(args.metrics, metrics)
        log_metrics(metrics, "csl_train")
    print(f"csl-train@{args.cycle}: {metrics}")
    return 0


if __name__ == "__main__":
    run(main)
