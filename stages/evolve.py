"""evolve: sample questions by level (easy:medium:hard), the teacher writes new questions
from them (prompt D; easy ones inspire harder questions); new questions are decontaminated
and, with the old ones (accumulate) or alone (replace), become the next cycle's questions."""

from __future__ import annotations

from pathlib import Path

from soda.cleaning import clean
from soda.evolve import dedupe, sample
from soda.io import InputError, read_jsonl, write_jsonl
from soda.prompts import prompt_hashes
from soda.teacher import make_teacher, teacher_counters
from soda.tracking import log_metrics, stage_run
from stages._common import parser, read_rows, run, setup, write_metrics


def main(argv: list[str] | None = None) -> int:
    p = parser(__doc__)
    p.add_argument("--cycle", required=True)
    p.add_argument("--questions", required=True)
    p.add_argument("--feedback", required=True)
    p.add_argument("--heldout", required=True)
    p.add_argument("--out-dir", required=True)
    p.add_argument("--metrics", required=True)
    args = p.parse_args(argv)
    params = setup(args)
    cfg = params["evolve"]
    questions, feedback = read_rows(args.questions, "question"), read_jsonl(args.feedback)
    out = Path(args.out_dir)
    paths = {name: str(out / name) for name in ("evolved.jsonl", "questions.jsonl", "decontamination.jsonl",
                                                 "decontamination.csv")}
    with stage_run(params, "evolve", cycle=args.cycle, sections=("evolve", "teacher"), outs=tuple(paths.values()),
                   tags=prompt_hashes("evolve", prompt_set=params["teacher"]["prompts"])):
        from soda.decontam import write_report

        metrics: dict = {"enabled": int(cfg["enabled"])}
        new: list[dict] = []
        if cfg["enabled"]:
            picks, counts = sample(questions, feedback, ratio=cfg["ratio"], num_new=cfg["num_new"],
                                   classification=cfg["classification"], seed=params["seed"])
            metrics.update(counts)
            # A question sampled k times is shown to the teacher k times, each with its own id.
            shown = [{**q, "id": f"{q['id']}~{args.cycle}.{i}"} for i, (q, _, _) in enumerate(picks)]
            teacher = make_teacher(params["teacher"], seed=params["seed"], cache_dir=params["generation"]["cache_dir"])
            made = teacher.evolve(shown, [harder for _, harder, _ in picks])
            metrics["dropped_by_teacher"] = sum(1 for m in made if m.get("dropped"))
            for i, ((parent, _, level), m) in enumerate(zip(picks, made)):
                if not m.get("dropped"):
                    new.append({**m, "id": f"{args.cycle}-{i:05d}", "origin": "evolved", "parent": parent["id"],
                                "parent_level": level})
            new, metrics["duplicates"] = dedupe(new, questions)
            log_metrics(teacher_counters(teacher), "teacher")
        result = clean(new, params["decontaminate"], args.heldout) if new else None
        kept = result.clean if result else []
        metrics["new_questions"] = len(kept)
        metrics["decontaminated"] = len(result.removed) if result else 0
        following = (questions + kept) if cfg["mode"] == "accumulate" or not cfg["enabled"] else kept
        if not following:
            raise InputError(f"evolve@{args.cycle}: no question left for the next cycle (evolve.mode: replace)")
        metrics["next_questions"] = len(following)
        write_jsonl(paths["evolved.jsonl"], new)
        write_jsonl(paths["questions.jsonl"], following)
        if result:
            write_report(result, paths["decontamination.jsonl"], paths["decontamination.csv"])
        else:
            write_jsonl(paths["decontamination.jsonl"], [])
            Path(paths["decontamination.csv"]).write_text("")
        write_metrics(args.metrics, metrics)
        log_metrics(metrics, "evolve")
    print(f"evolve@{args.cycle}: {metrics}")
    return 0


if __name__ == "__main__":
    run(main)
