"""teacher-generate: correct (prompt A) and faulty (prompt B) solutions, split into the
CSL set (80%) and the FCL set (20%, correct-vs-faulty pairs)."""

from __future__ import annotations

from pathlib import Path

from soda.delivery import deliver
from soda.io import InputError, write_jsonl
from soda.prompts import prompt_hashes
from soda.teacher import make_teacher, teacher_counters
from soda.tracking import log_metrics, stage_run
from stages._common import parser, read_rows, run, setup, write_metrics


def main(argv: list[str] | None = None) -> int:
    p = parser(__doc__)
    p.add_argument("--cycle", required=True)
    p.add_argument("--questions", required=True)
    p.add_argument("--out-dir", required=True)
    p.add_argument("--metrics", required=True)
    args = p.parse_args(argv)
    params = setup(args)
    questions = read_rows(args.questions, "question")
    out = Path(args.out_dir)
    outs = tuple(str(out / f) for f in ("teacher.jsonl", "csl.jsonl", "fcl.jsonl"))
    with stage_run(params, "teacher-generate", cycle=args.cycle, sections=("teacher", "teacher_generate"),
                   outs=outs, tags=prompt_hashes("correct", "faulty", "student", prompt_set=params["teacher"]["prompts"],
                                                 student=params["generation"]["student_prompt"])):
        teacher = make_teacher(params["teacher"], seed=params["seed"], cache_dir=params["generation"]["cache_dir"])
        rows, csl, fcl, counts = deliver(teacher, questions, fcl_fraction=params["teacher_generate"]["fcl_fraction"],
                                         seed=params["seed"], cache_dir=params["generation"]["cache_dir"],
                                         student_prompt=params["generation"]["student_prompt"])
        if not csl:
            raise InputError(f"{args.questions}: no usable CSL example after teacher generation ({counts})")
        for path, data in zip(outs, (rows, csl, fcl)):
            write_jsonl(path, data)
        write_metrics(args.metrics, counts)
        log_metrics(counts, "teacher_generate")
        log_metrics(teacher_counters(teacher), "teacher")
    print(f"teacher-generate@{args.cycle}: {counts}")
    return 0


if __name__ == "__main__":
    run(main)
