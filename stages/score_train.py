"""score-train (once): the teacher annotates solutions with prompt C (the 6-point rubric),
then the scoring model is fine-tuned on the annotations; agreement with held-out
annotations is reported as exact agreement and Cohen's kappa."""

from __future__ import annotations

import random
from pathlib import Path

from soda.annotate import collect, split_heldout
from soda.io import InputError, read_json, write_json, write_jsonl
from soda.prompts import prompt_hashes
from soda.teacher import make_teacher, teacher_counters
from soda.tracking import log_metrics, stage_run
from stages._common import parser, read_rows, run, scratch_dir, setup, write_metrics


def main(argv: list[str] | None = None) -> int:
    p = parser(__doc__)
    p.add_argument("--questions", required=True)
    p.add_argument("--student", required=True, help="the base student, whose answers are annotated too")
    p.add_argument("--scorer-init", required=True)
    p.add_argument("--annotations-out", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--metrics", required=True)
    args = p.parse_args(argv)
    params = setup(args)
    cfg = {**params["score_train"], "seed": params["seed"]}
    gen = params["generation"]
    questions = read_rows(args.questions, "question")
    questions = sorted(questions, key=lambda q: q["id"])
    random.Random(params["seed"]).shuffle(questions)
    questions = questions[: cfg.pop("num_questions")]
    heldout_fraction, fmt, head = cfg.pop("heldout_fraction"), cfg.pop("format"), cfg.pop("head")
    with stage_run(params, "score-train", sections=("teacher", "score_train"), outs=(args.annotations_out, args.out),
                   tags=prompt_hashes("correct", "faulty", "scoring")):
        from soda.scoring import agreement
        from soda.student import answer, score, scorer_example
        from soda.train import train_scorer

        teacher = make_teacher(params["teacher"], seed=params["seed"], cache_dir=gen["cache_dir"])
        student_answers = [a[0] for a in answer(args.student, questions, gen, seed=params["seed"])]
        rows = collect(teacher, questions, student_answers)
        train, held = split_heldout(rows, heldout_fraction, params["seed"])
        if not train:
            raise InputError("score-train: no annotation to train on")
        examples = [scorer_example(r["question"], r["code"], r["completion"], fmt) for r in train]
        if head != "generative":  # a score head learns the annotated score, not the annotation's text
            examples = [{"prompt": e["prompt"], "score": r["score"]} for e, r in zip(examples, train)]
        metrics = train_scorer(args.scorer_init, examples, args.out, cfg, scratch_dir("score-train"), head)
        card_path = Path(args.out) / "card.json"
        write_json(card_path, {**read_json(card_path), "scoring_format": fmt})
        if held:
            pred = score(args.out, [{"question": r["question"]} for r in held], [r["code"] for r in held], gen,
                         seed=params["seed"])
            metrics["agreement"] = agreement([p.score for p in pred], [r["score"] for r in held])
        metrics["annotations"] = {"train": len(train), "heldout": len(held),
                                  **{s: sum(r["source"] == s for r in rows) for s in sorted({r["source"] for r in rows})}}
        write_jsonl(args.annotations_out, rows)
        write_metrics(args.metrics, metrics)
        log_metrics(metrics, "score_train")
        log_metrics(teacher_counters(teacher), "teacher")
    print(f"score-train: {metrics}")
    return 0


if __name__ == "__main__":
    run(main)
