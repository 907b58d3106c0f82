"""evaluate: pass@1 (greedy), pass@10 (n samples at temperature T, top-p; unbiased
estimator) and model score (the scoring model's score of the greedy solution) of one model
on the benchmarks selected in params."""

from __future__ import annotations

from pathlib import Path

from soda.io import write_json, write_jsonl
from soda.prompts import prompt_hashes
from soda.tracking import log_metrics, stage_run
from stages._common import parser, run, setup


def generate(student: str, items: list[dict], cfg: dict, gen: dict, seed: int) -> dict[str, list[str]]:
    """task id -> [greedy completion, n sampled completions], generated per benchmark (own stop sequences)."""
    from soda.student import backend_for

    backend = backend_for(student, gen)
    out: dict[str, list[str]] = {}
    for bench in sorted({it["benchmark"] for it in items}):
        group = [it for it in items if it["benchmark"] == bench]
        prompts, stop = [it["prompt"] for it in group], group[0]["stop"]
        greedy = backend.generate(prompts, n=1, temperature=0.0, max_new_tokens=gen["max_new_tokens"], stop=stop,
                                  seed=seed)
        sampled = backend.generate(prompts, n=cfg["n_samples"], temperature=cfg["temperature"], top_p=cfg["top_p"],
                                   max_new_tokens=gen["max_new_tokens"], stop=stop, seed=seed) if cfg["n_samples"] else [[]] * len(group)
        for it, g, s in zip(group, greedy, sampled):
            out[it["task_id"]] = g + s
    return out


def main(argv: list[str] | None = None) -> int:
    p = parser(__doc__)
    p.add_argument("--model-name", required=True, help="base or a cycle name")
    p.add_argument("--student", required=True)
    p.add_argument("--scorer", required=True)
    p.add_argument("--heldout", required=True)
    p.add_argument("--out-dir", required=True)
    p.add_argument("--metrics", required=True)
    args = p.parse_args(argv)
    params = setup(args)
    cfg, gen = params["evaluate"], params["generation"]
    results_path = str(Path(args.out_dir) / "results.jsonl")
    from soda.benchmarks import load_selected

    items, skipped = load_selected(cfg, args.heldout, "evaluate", gen["student_prompt"])
    for name, reason in skipped.items():
        print(f"evaluate: skipping {name}: {reason}")
    with stage_run(params, "evaluate", cycle=args.model_name, sections=("evaluate", "generation"),
                   outs=(results_path,), tags=prompt_hashes("student", "scoring", student=gen["student_prompt"])):
        from soda.benchmarks import postprocess
        from soda.evaluate import model_metrics, score_generations
        from soda.student import score

        generations = generate(args.student, items, cfg, gen, params["seed"])
        firsts = [postprocess(it, generations[it["task_id"]][0]) for it in items]
        parsed = score(args.scorer, [{"question": it["question"]} for it in items], firsts, gen,
                       seed=params["seed"])
        scores = {it["task_id"]: s.score for it, s in zip(items, parsed) if s.score is not None}
        rows, per_bench = score_generations(items, generations, scores=scores, timeout_s=cfg["timeout_s"])
        metrics = model_metrics(args.model_name, per_bench)
        metrics["unscored"] = len(items) - len(scores)
        write_jsonl(results_path, rows)
        write_json(args.metrics, metrics)
        log_metrics(metrics, "evaluate")
    avg = metrics["average"]
    print(f"evaluate@{args.model_name}: pass@1 {avg['pass@1']} pass@10 {avg['pass@10']} model score {avg['model_score']}")
    return 0


if __name__ == "__main__":
    run(main)
