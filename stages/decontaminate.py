"""decontaminate: drop seed questions whose 5-gram Jaccard similarity (or containment) to a
benchmark item reaches the threshold, with a report of what was removed and why."""

from __future__ import annotations

from soda.cleaning import clean
from soda.io import InputError, write_jsonl
from soda.tracking import log_metrics, stage_run
from stages._common import parser, run, setup, write_metrics


def main(argv: list[str] | None = None) -> int:
    p = parser(__doc__)
    p.add_argument("--questions", required=True)
    p.add_argument("--heldout", required=True, help="the held-out set (benchmark 'heldout')")
    p.add_argument("--out", required=True)
    p.add_argument("--report", required=True, help="report path without extension (.jsonl and .csv)")
    p.add_argument("--metrics", required=True)
    args = p.parse_args(argv)
    params = setup(args)
    from soda.decontam import read_questions

    # Non-UTF-8 bytes in a question are repaired and counted by decontaminate, not fatal.
    questions = read_questions(args.questions)
    if not questions:
        raise InputError(f"{args.questions}: the question set is empty")
    outs = (args.out, f"{args.report}.jsonl", f"{args.report}.csv")
    with stage_run(params, "decontaminate", sections=("decontaminate",), outs=outs):
        from soda.decontam import write_report

        result = clean(questions, params["decontaminate"], args.heldout)
        if not result.clean:
            raise InputError(f"{args.questions}: every question was removed by decontamination")
        write_report(result, f"{args.report}.jsonl", f"{args.report}.csv")
        write_jsonl(args.out, result.clean)
        write_metrics(args.metrics, result.counts)
        log_metrics(result.counts, "decontaminate")
    print(f"decontaminate: kept {len(result.clean)}/{len(questions)}, removed {len(result.removed)}")
    return 0


if __name__ == "__main__":
    run(main)
