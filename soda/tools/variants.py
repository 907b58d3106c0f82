"""`soda variants GRID`: the grid's variants side by side, as the paper's RQ2/RQ3.

The experiments of `soda experiments queue GRID` are named `<variant>-s<seed>`. For each
variant of the grid file this reads, from `dvc exp show --json`, every seed's evaluation
metrics per cycle, and from the DVC cache the last cycle's per-task results
(`data/evaluate/<model>/results.jsonl` at the experiment's commit), then writes:

- `<out>.md`: per variant, mean ± sd over seeds of pass@1, pass@10 and the model score of
  its last cycle, pass@1 per cycle, its paired difference in pass@1 to the grid's reference
  variant with a 95 % confidence interval, and a Wilcoxon signed-rank test against the
  reference variant (the one without overrides: full SODA; `--reference VARIANT` for another,
  e.g. to ask what a change does on top of a variant). The pairs are (seed, benchmark
  task): the reference's greedy pass vs the variant's on the same task under the same seed;
  pairs that agree carry no sign and are dropped (zero_method "wilcox"). Next to it, each
  seed's difference and a t-test over seeds, which does not assume the difference is the same
  in every seed's world. `--seeds 2,3,5` reads other seeds than the grid's.
- `<out>-fig5.png`: the ablations and baselines (every variant that is not a ratio), mean
  ± sd pass@1 with each seed's value, like the paper's Fig. 5.
- `<out>-fig6.png`: pass@1 per cycle of every variant (left) and the easy:medium:hard
  ratios (right; variants that only set evolve.ratio), like the paper's Fig. 6.
- `<out>-outcomes-<variant>.jsonl`: those pairs, {seed, task, a: reference, b: variant}, the
  input of `soda power --outcomes` (the seed-level spread the pooled test assumes away).

`soda variants compare --reference DIR... --other DIR... [--model c3 ...]`: the same paired test
between plain checkouts after `dvc repro` (one per seed and arm, e.g. clones that share a prefix
of the pipeline), read from their working trees; one JSON line per model.
"""

from __future__ import annotations

import io
import json
import re
import statistics
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from soda.io import InputError, atomic_path
from soda.report import experiment_metrics, model_order

NAME = re.compile(r"(?P<variant>.+)-s(?P<seed>\d+)")


@dataclass
class Run:
    variant: str
    seed: int
    rev: str
    models: dict[str, dict]                     # model -> metrics/evaluate/<model>.json
    tasks: dict[tuple, bool] = field(default_factory=dict)  # (benchmark, task_id) -> greedy pass, last cycle
    kappa: float | None = None                  # the scorer's agreement with held-out annotations
    loop_kappa: dict[str, float] = field(default_factory=dict)  # cycle -> its agreement on feedback's answers
    annotation_scores: dict[str, int] | None = None  # integer score -> annotations (what the scorer learns from)

    @property
    def last(self) -> str:
        return max(self.models, key=model_order)


def greedy_passes(repo: Path, rev: str, model: str) -> dict[tuple, bool]:
    """(benchmark, task_id) -> pass of the greedy completion, from the results at `rev`."""
    import dvc.api

    path = f"data/evaluate/{model}/results.jsonl"
    try:
        text = dvc.api.read(path, repo=str(repo), rev=rev)
    except Exception as e:  # noqa: BLE001 - dvc raises many kinds; all mean "not available"
        raise InputError(f"{path} at {rev[:7]}: not in the DVC cache or remote ({type(e).__name__}); "
                         "run `dvc pull` or re-run the experiment") from None
    return parse_passes(text)


def parse_passes(text: str) -> dict[tuple, bool]:
    """(benchmark, task_id) -> pass of the greedy completion (sample 0), from results.jsonl's text."""
    rows = (json.loads(line) for line in text.splitlines() if line.strip())
    return {(r["benchmark"], r["task_id"]): bool(r["passed"]) for r in rows if r["sample"] == 0}


def committed_metric(repo: Path, rev: str, path: str, *keys: str):
    """A metric committed with the experiment (metrics files are git-tracked), None where absent."""
    proc = subprocess.run(["git", "show", f"{rev}:{path}"], cwd=repo, capture_output=True, text=True)
    if proc.returncode != 0:
        return None  # e.g. a grid whose pipeline has no scorer
    value = json.loads(proc.stdout)
    for key in keys:
        value = (value or {}).get(key)
    return value


def load_runs(repo: Path, variants: dict[str, dict], seeds: list[int]) -> list[Run]:
    """The grid's finished runs (one per variant and seed: a name listed twice counts once)."""
    runs: dict[tuple, Run] = {}
    for name, rev, models in experiment_metrics(repo, "metrics/evaluate", all_commits=True):
        m = NAME.fullmatch(name or "")
        if not m or m["variant"] not in variants or int(m["seed"]) not in seeds:
            continue
        key = (m["variant"], int(m["seed"]))
        if key not in runs:
            runs[key] = Run(m["variant"], int(m["seed"]), rev, models)
    for run in runs.values():
        run.tasks = greedy_passes(repo, run.rev, run.last)
        # Cohen's kappa of the scorer against held-out annotations, and against the teacher's
        # annotations of a sample of what it scored in each cycle's feedback (feedback.scorer_audit)
        run.kappa = committed_metric(repo, run.rev, "metrics/score-train.json", "agreement", "kappa")
        # a D_seed that does not span the rubric caps the kappa any scorer can reach (docs/results.md)
        run.annotation_scores = committed_metric(repo, run.rev, "metrics/score-train.json", "annotation_scores")
        for cycle in run.models:
            k = committed_metric(repo, run.rev, f"metrics/{cycle}/feedback.json", "scorer_agreement", "kappa")
            if k is not None:
                run.loop_kappa[cycle] = k
    return sorted(runs.values(), key=lambda r: (list(variants).index(r.variant), r.seed))


def average(run: Run, model: str, key: str) -> float | None:
    return (run.models.get(model, {}).get("average") or {}).get(key)


def mean_sd(values: list[float]) -> tuple[float | None, float | None]:
    if not values:
        return None, None
    return statistics.fmean(values), (statistics.stdev(values) if len(values) > 1 else None)


def paired_difference(other: list[float], reference: list[float]) -> dict:
    """Mean of other - reference over the pairs, with its 95 % t confidence interval."""
    from scipy.stats import t as student_t

    d = [a - b for a, b in zip(other, reference)]
    if len(d) < 2:
        return {"difference": statistics.fmean(d) if d else None, "ci95": None}
    mean, se = statistics.fmean(d), statistics.stdev(d) / len(d) ** 0.5
    half = float(student_t.ppf(0.975, len(d) - 1)) * se
    return {"difference": mean, "ci95": [mean - half, mean + half]}


def outcomes(reference: list[Run], other: list[Run]) -> list[dict]:
    """The greedy passes paired by (seed, task): rows {seed, task, a: reference, b: other}, the
    input of `soda power --outcomes` (which re-estimates the seed-level spread from them)."""
    by_seed = {r.seed: r for r in other}
    return [{"seed": ref.seed, "task": "/".join(task), "a": int(ref.tasks[task]), "b": int(theirs[task])}
            for ref in reference if ref.seed in by_seed
            for theirs in [by_seed[ref.seed].tasks]
            for task in sorted(set(ref.tasks) & set(theirs))]


def wilcoxon(reference: list[Run], other: list[Run]) -> dict:
    """Signed-rank test of the reference's greedy passes vs the other's, paired by (seed, task)."""
    from scipy.stats import wilcoxon as scipy_wilcoxon

    rows = outcomes(reference, other)
    x, y = [float(r["a"]) for r in rows], [float(r["b"]) for r in rows]
    differing = sum(a != b for a, b in zip(x, y))
    out = {"pairs": len(x), "differing": differing, "reference_wins": sum(a > b for a, b in zip(x, y)),
           "statistic": None, "p": None, **paired_difference(y, x)}
    if differing:
        res = scipy_wilcoxon(x, y, zero_method="wilcox")
        out.update(statistic=float(res.statistic), p=float(res.pvalue))
    elif x:
        out["p"] = 1.0  # identical on every pair
    return {**out, "seed_test": seed_test(rows)}


def seed_test(rows: list[dict]) -> dict:
    """The per-seed differences in greedy pass@1 (other - reference) and a one-sample t-test over
    them: seed as a random effect. The pooled Wilcoxon over (seed, task) pairs assumes the
    difference does not vary from world to world; when it does (docs/results.md, "power
    analysis"), its p is too small and this test is the one that holds."""
    import numpy as np

    from soda.tools.power import seed_t_p

    by_seed: dict[int, list[int]] = {}
    for r in rows:
        by_seed.setdefault(r["seed"], []).append(r["b"] - r["a"])
    diffs = {seed: statistics.fmean(d) for seed, d in sorted(by_seed.items())}
    return {"per_seed": diffs, "p": float(seed_t_p(np.array(list(diffs.values())))) if len(diffs) > 1 else None}


def default_reference(variants: dict[str, dict]) -> str | None:
    """The variant every other is paired with: the one without overrides (full SODA)."""
    return next((v for v, o in variants.items() if not o), None)


def summarise(runs: list[Run], variants: dict[str, dict], reference: str | None) -> list[dict]:
    ref_runs = [r for r in runs if r.variant == reference]
    rows = []
    for variant, overrides in variants.items():
        mine = [r for r in runs if r.variant == variant]
        if not mine:
            continue
        cycles = sorted({m for r in mine for m in r.models}, key=model_order)
        row = {"variant": variant, "overrides": overrides, "seeds": [r.seed for r in mine],
               "last": sorted({r.last for r in mine}, key=model_order)}
        for key in ("pass@1", "pass@10", "model_score"):
            row[key] = mean_sd([v for r in mine if (v := average(r, r.last, key)) is not None])
            row[f"{key}_by_seed"] = {r.seed: average(r, r.last, key) for r in mine}
        row["scorer_kappa_by_seed"] = {r.seed: r.kappa for r in mine}
        row["annotation_scores_by_seed"] = {r.seed: r.annotation_scores for r in mine}
        row["scorer_kappa_in_loop"] = {c: mean_sd([r.loop_kappa[c] for r in mine if c in r.loop_kappa])
                                       for c in cycles if any(c in r.loop_kappa for r in mine)}
        row["pass@1_by_cycle"] = {c: mean_sd([v for r in mine if (v := average(r, c, "pass@1")) is not None])
                                  for c in cycles}
        row["wilcoxon"] = wilcoxon(ref_runs, mine) if ref_runs and variant != reference else None
        rows.append(row)
    return rows


def pct(ms: tuple, digits: int = 1) -> str:
    mean, sd = ms
    if mean is None:
        return "–"
    return f"{100 * mean:.{digits}f}" + (f" ± {100 * sd:.{digits}f}" if sd is not None else "")


def markdown(rows: list[dict], reference: str | None) -> str:
    cycles = sorted({c for r in rows for c in r["pass@1_by_cycle"]}, key=model_order)
    head = (["variant", "seeds", "pass@1 (%)", "pass@10 (%)", "model score"] + [f"pass@1 {c}" for c in cycles]
            + [f"pass@1 - {reference} (points, 95 % CI)", f"Wilcoxon vs {reference}: pairs differing (ref. better)",
               "p", "per-seed differences (points); seed-level t p", "scorer κ by seed", "annotated scores by seed (score×count)", "scorer κ in the loop, by cycle"])
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        w = r["wilcoxon"]
        score = r["model_score"]
        cells = [r["variant"], ",".join(map(str, r["seeds"])), pct(r["pass@1"]), pct(r["pass@10"]),
                 "–" if score[0] is None else f"{score[0]:.2f}" + (f" ± {score[1]:.2f}" if score[1] is not None else "")]
        cells += [pct(r["pass@1_by_cycle"].get(c, (None, None))) for c in cycles]
        cells += (["", "reference", "", ""] if w is None else
                  [_difference(w), f"{w['differing']} of {w['pairs']} ({w['reference_wins']})",
                   "–" if w["p"] is None else f"{w['p']:.3g}", _seed_test(w["seed_test"])])
        cells.append(", ".join(f"{seed}: " + ("–" if k is None else f"{k:.2f}")
                               for seed, k in r["scorer_kappa_by_seed"].items()))
        cells.append("; ".join(f"{seed}: " + ("–" if not counts else " ".join(f"{s}×{n}" for s, n in counts.items()))
                               for seed, counts in r["annotation_scores_by_seed"].items()))
        cells.append(", ".join(f"{c}: {m:.2f}" + (f" ± {sd:.2f}" if sd is not None else "")
                               for c, (m, sd) in r["scorer_kappa_in_loop"].items()) or "–")
        lines.append("| " + " | ".join(cells) + " |")
    notes = ["", "Last cycle's held-out metrics, mean ± sd over seeds. The difference to the reference and the "
             "Wilcoxon signed-rank test are on the greedy pass (pass@1) per task, paired by (seed, task); the "
             "test drops agreeing pairs, the difference's interval (t, over all pairs) keeps them. Both assume the "
             "difference is the same in every seed's world; the seed-level t-test over the per-seed differences "
             "does not, and is the one to trust when those differences spread (`soda power --outcomes`). Scorer κ: "
             "Cohen's kappa of each seed's scoring model against its held-out annotations (metrics/score-train.json), "
             "next to the teacher's annotated scores it was trained and tested on (rounded as kappa counts them); "
             "in the loop: against the teacher's annotations of a sample of the answers it scored in each cycle's "
             "feedback (feedback.scorer_audit; metrics/<cycle>/feedback.json), mean ± sd over seeds."]
    return "\n".join(lines + notes)


def _seed_test(t: dict) -> str:
    diffs = " / ".join(f"{100 * d:+.1f}" for d in t["per_seed"].values())
    return f"{diffs}; " + ("–" if t["p"] is None else f"{t['p']:.3g}")


def _difference(w: dict) -> str:
    if w["difference"] is None:
        return "–"
    ci = "" if w["ci95"] is None else f" [{100 * w['ci95'][0]:+.1f}, {100 * w['ci95'][1]:+.1f}]"
    return f"{100 * w['difference']:+.1f}{ci}"


def _png(fig) -> bytes:
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buf, format="png", dpi=100, metadata={"Software": None})
    plt.close(fig)
    return buf.getvalue()


def _bars(ax, rows: list[dict], title: str) -> None:
    names = [r["variant"] for r in rows]
    means = [100 * (r["pass@1"][0] or 0) for r in rows]
    sds = [100 * (r["pass@1"][1] or 0) for r in rows]
    ax.bar(range(len(rows)), means, yerr=sds, capsize=4, color="#8fb3d9")
    for i, r in enumerate(rows):
        seeds = [100 * v for v in r["pass@1_by_seed"].values() if v is not None]
        ax.plot([i] * len(seeds), seeds, "k.", alpha=0.6)
    ax.set_xticks(range(len(rows)), names, rotation=30, ha="right")
    ax.set_ylabel("held-out pass@1 (%)")
    ax.set_title(title)
    ax.grid(axis="y", alpha=0.3)


def figures(rows: list[dict], variants: dict[str, dict], reference: str | None) -> tuple[bytes, bytes]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ratio = [r for r in rows if set(variants[r["variant"]]) == {"evolve.ratio"}]
    reference = [r for r in rows if r["variant"] == reference]
    fig5, ax = plt.subplots(figsize=(8, 4))
    _bars(ax, [r for r in rows if r not in ratio], "ablations and baselines (last cycle)")
    png5 = _png(fig5)

    fig6, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
    for r in rows:
        cycles = list(r["pass@1_by_cycle"])
        means = [100 * (r["pass@1_by_cycle"][c][0] or 0) for c in cycles]
        left.plot(range(len(cycles)), means, marker="o", label=r["variant"], lw=2.5 if r in reference else 1)
        left.set_xticks(range(len(cycles)), cycles)
    left.set_xlabel("model (cycle)")
    left.set_ylabel("held-out pass@1 (%)")
    left.set_title("pass@1 per cycle (mean over seeds)")
    left.grid(alpha=0.3)
    left.legend(fontsize=7)
    _bars(right, reference + ratio, "easy:medium:hard ratio (first bar: the reference variant)")
    return png5, _png(fig6)


def write(repo: Path, grid: str, out: str, reference: str | None = None, seeds: list[int] | None = None) -> str:
    """Read the grid's experiments (of `seeds`, default the grid's), write the table and figures;
    return the Markdown."""
    from soda.tools.experiments import load_grid

    grid_seeds, variants, _ = load_grid(grid)
    seeds = seeds or grid_seeds
    if reference is not None and reference not in variants:
        raise InputError(f"--reference {reference!r}: not a variant of {grid} ({', '.join(variants)})")
    reference = reference or default_reference(variants)
    runs = load_runs(repo, variants, seeds)
    if not runs:
        raise InputError(f"{grid}: no finished experiment named <variant>-s<seed> for its variants and seeds "
                         f"{','.join(map(str, seeds))} (queue them with `soda experiments queue`)")
    rows = summarise(runs, variants, reference)
    text = markdown(rows, reference)
    png5, png6 = figures(rows, variants, reference)
    files = {".md": (text + "\n").encode(), "-fig5.png": png5, "-fig6.png": png6,
             ".json": (json.dumps(rows, indent=1, default=str) + "\n").encode()}
    ref_runs = [r for r in runs if r.variant == reference]
    for variant in {r.variant for r in runs} - {reference}:
        pairs = outcomes(ref_runs, [r for r in runs if r.variant == variant])
        if pairs:
            files[f"-outcomes-{variant}.jsonl"] = "".join(json.dumps(r) + "\n" for r in pairs).encode()
    base = Path(out)
    for suffix, data in files.items():
        with atomic_path(base.parent / (base.name + suffix)) as tmp:
            tmp.write_bytes(data)
    return text


def checkout_run(path: Path, model: str) -> Run:
    """A plain checkout's greedy passes for `model`, from its working tree; its seed from its params."""
    import yaml

    results, params = path / "data" / "evaluate" / model / "results.jsonl", path / "params.yaml"
    if not results.exists():
        raise InputError(f"{results}: not found (run `dvc repro evaluate@{model}` in {path})")
    seed = (yaml.safe_load(params.read_text()) or {}).get("seed") if params.exists() else None
    if not isinstance(seed, int):
        raise InputError(f"{params}: no integer `seed`")
    tasks = parse_passes(results.read_text())
    if not tasks:
        raise InputError(f"{results}: no greedy result (sample 0)")
    return Run(str(path), seed, "", {}, tasks)


def compare(reference: list[Path], other: list[Path], model: str) -> dict:
    """The other checkouts' greedy pass@1 against the reference ones', paired by (seed, task)."""
    ref, oth = [checkout_run(d, model) for d in reference], [checkout_run(d, model) for d in other]
    for side in (ref, oth):
        seeds = [r.seed for r in side]
        if len(set(seeds)) != len(seeds):
            raise InputError(f"two checkouts of one arm have the same seed: {[r.variant for r in side]}")
    if {r.seed for r in ref} != {r.seed for r in oth}:
        raise InputError(f"the arms' seeds differ: reference {sorted(r.seed for r in ref)}, "
                         f"other {sorted(r.seed for r in oth)}")
    pass1 = {name: {r.seed: sum(r.tasks.values()) / len(r.tasks) for r in side} for name, side in (("reference", ref), ("other", oth))}
    return {"model": model, "seeds": sorted(r.seed for r in ref), "pass1_reference": pass1["reference"],
            "pass1_other": pass1["other"], **wilcoxon(ref, oth)}


def main(argv: list[str]) -> int:
    import argparse

    from soda.tools.experiments import seed_list

    if argv[:1] == ["compare"]:
        p = argparse.ArgumentParser(prog="soda variants compare", description=compare.__doc__)
        p.add_argument("--reference", nargs="+", type=Path, required=True, help="checkouts, one per seed")
        p.add_argument("--other", nargs="+", type=Path, required=True, help="checkouts, one per seed")
        p.add_argument("--model", nargs="+", default=["c3"], help="evaluated models (data/evaluate/<model>)")
        args = p.parse_args(argv[1:])
        for model in args.model:
            print(json.dumps(compare(args.reference, args.other, model)))
        return 0
    p = argparse.ArgumentParser(prog="soda variants", description=__doc__.splitlines()[0])
    p.add_argument("grid", help="the grid file the experiments were queued from (soda experiments queue)")
    p.add_argument("--out", default="reports/variants",
                   help="writes OUT.md, OUT.json, OUT-fig5/6.png, OUT-outcomes-<variant>.jsonl")
    p.add_argument("--reference", help="the variant the others are paired with (default: the one without overrides)")
    p.add_argument("--seeds", type=seed_list, default=None,
                   help="comma-separated seeds instead of the grid's (e.g. those added with `soda experiments queue --seeds`)")
    args = p.parse_args(argv)
    print(write(Path.cwd(), args.grid, args.out, args.reference, args.seeds))
    return 0
