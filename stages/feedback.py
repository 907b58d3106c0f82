"""feedback: the student answers the cycle's questions; the sandbox executes each answer
(Pass/Fail) and the scoring model scores it (0-6); each question is classified easy, medium
or hard (rule in soda/feedback.py)."""

from __future__ import annotations

import random

from soda.feedback import classify, execute, summarize
from soda.io import InputError, write_jsonl
from soda.prompts import prompt_hashes
from soda.tracking import log_metrics, stage_run
from stages._common import parser, read_rows, run, setup, write_metrics


def main(argv: list[str] | None = None) -> int:
    p = parser(__doc__)
    p.add_argument("--cycle", required=True)
    p.add_argument("--questions", required=True)
    p.add_argument("--student", required=True)
    p.add_argument("--scorer", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--metrics", required=True)
    args = p.parse_args(argv)
    params = setup(args)
    cfg, gen = params["feedback"], params["generation"]
    if not cfg["execution"] and not cfg["scoring"]:
        raise InputError("params: feedback.execution and feedback.scoring are both false; "
                         "to sample questions without feedback set evolve.classification: false")
    questions = read_rows(args.questions, "question")
    if cfg["max_questions"] is not None and len(questions) > cfg["max_questions"]:
        # Feedback costs a generation and a scoring per question: a fixed sample bounds it.
        questions = random.Random(f"{params['seed']}:{args.cycle}").sample(
            sorted(questions, key=lambda q: q["id"]), cfg["max_questions"])
    with stage_run(params, "feedback", cycle=args.cycle, sections=("feedback", "generation"), outs=(args.out,),
                   tags=prompt_hashes("scoring", "student", student=gen["student_prompt"])):
        from soda.student import answer, score

        answers = [a[0] for a in answer(args.student, questions, gen, seed=params["seed"])]
        off = {"lang": None, "passed": None, "status": None, "error_class": None}
        verdicts = execute(questions, answers, cfg["timeout_s"]) if cfg["execution"] else [off] * len(questions)
        scores = score(args.scorer, questions, answers, gen, seed=params["seed"]) if cfg["scoring"] else [None] * len(questions)
        rows = []
        for q, a, v, s in zip(questions, answers, verdicts, scores):
            value = s.score if s is not None else None
            rows.append({"id": q["id"], "answer": a, **v, "score": value, "level": classify(v["passed"], value, cfg)})
        metrics = summarize(rows)
        write_jsonl(args.out, rows)
        write_metrics(args.metrics, metrics)
        log_metrics(metrics, "feedback")
    print(f"feedback@{args.cycle}: {metrics}")
    return 0


if __name__ == "__main__":
    run(main)
