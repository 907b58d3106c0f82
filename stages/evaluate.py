"""evaluate: pass@1 (greedy), pass@10 (n samples at temperature T, top-p; unbiased
estimator) and model score (the scoring model's score of the greedy solution) of one model
on the benchmarks selected in params."""

from __future__ import annotations

from soda.benchmarks import load_selected, postprocess
from soda.evaluate import model_metrics, score_generations
from soda.io import write_jsonl
from soda.params import Evaluate, Generation, Runtime, Student
from stages import In, Out, StageConfig


class Config(StageConfig):
    seed: int
    student: Student  # chat_template (the scorer's too)
    generation: Generation
    evaluate: Evaluate


def generate(student: str, items: list[dict], ev: Evaluate, gen: Generation, runtime: Runtime,
             seed: int, chat_template: str) -> dict[str, list[str]]:
    """task id -> [greedy completion, n sampled completions], generated per benchmark (own stop sequences)."""
    from soda.student import backend_for

    backend = backend_for(student, gen, runtime, chat_template)
    out: dict[str, list[str]] = {}
    for bench in sorted({it["benchmark"] for it in items}):
        group = [it for it in items if it["benchmark"] == bench]
        prompts, stop = [it["prompt"] for it in group], group[0]["stop"]
        # An instruction is the student's prompt (a chat model's user message); a code prompt is continued as text.
        chat = group[0]["protocol"] == "instruction"
        greedy = backend.generate(prompts, n=1, temperature=0.0, max_new_tokens=gen.max_new_tokens, stop=stop,
                                  seed=seed, chat=chat)
        sampled = backend.generate(prompts, n=ev.n_samples, temperature=ev.temperature, top_p=ev.top_p,
                                   max_new_tokens=gen.max_new_tokens, stop=stop, seed=seed,
                                   chat=chat) if ev.n_samples else [[]] * len(group)
        for it, g, s in zip(group, greedy, sampled):
            out[it["task_id"]] = g + s
    return out


def run(cfg: Config, *, model_name: str, student: In, scorer: In, heldout: In, benchmarks: In, results_out: Out) -> dict:
    from soda.student import score

    ev, gen = cfg.evaluate, cfg.generation
    items, skipped = load_selected(ev, str(heldout), "evaluate", gen.student_prompt, benchmarks)
    for name, reason in skipped.items():
        print(f"evaluate: skipping {name}: {reason}")
    generations = generate(str(student), items, ev, gen, cfg.runtime, cfg.seed, cfg.student.chat_template)
    firsts = [postprocess(it, generations[it["task_id"]][0]) for it in items]
    parsed = score(str(scorer), [{"question": it["question"]} for it in items], firsts, gen, cfg.runtime, seed=cfg.seed,
                   chat_template=cfg.student.chat_template)
    scores = {it["task_id"]: s.score for it, s in zip(items, parsed) if s.score is not None}
    rows, per_bench = score_generations(items, generations, scores=scores, timeout_s=ev.timeout_s)
    metrics = model_metrics(model_name, per_bench)
    metrics["unscored"] = len(items) - len(scores)
    write_jsonl(results_out, rows)
    return metrics
