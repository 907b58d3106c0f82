"""Power of a paired comparison of two variants' held-out pass@1, before the grid is run.

Two variants A and B are evaluated on the same n held-out tasks in each of k seeds (each seed
draws its own world, held-out set included). Per (seed, task) the greedy outcomes form a pair;
only discordant pairs (one passes, the other not) carry the difference. The model:

- a pair is discordant with probability `discordant` (d);
- in seed s the pass-rate difference is delta + u_s, with u_s ~ N(0, sigma_seed): the seed's
  own deviation (training randomness) beyond the luck of which tasks were drawn, which the
  binomial sampling of tasks already gives. Among discordant pairs A wins with probability
  (1 + (delta + u_s) / d) / 2.

Two tests, two-sided at `alpha`:
- `pairs`: McNemar's exact test on the discordant pairs pooled over seeds (what `soda report`'s
  Wilcoxon over (seed, task) pairs amounts to for 0/1 outcomes). It treats every pair as
  independent: right when sigma_seed = 0, too many false positives otherwise.
- `seeds`: a one-sample t-test of the k per-seed differences: seeds as the random effect,
  right whatever sigma_seed, but k - 1 degrees of freedom.

Power is estimated by simulation (`power`); `estimate` reads the model's parameters from real
per-task outcomes, `required` finds the fewest tasks per seed for each number of seeds.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

from soda.io import InputError

TESTS = ("pairs", "seeds")


@dataclass(frozen=True)
class Effect:
    delta: float  # expected pass-rate difference A - B (0.05 = 5 points)
    discordant: float  # probability that a (seed, task) pair is discordant
    sigma_seed: float = 0.0  # sd of the seed's own deviation of the difference


def _check(effect: Effect) -> None:
    if not 0 < effect.discordant <= 1:
        raise InputError(f"discordant: {effect.discordant!r} must be in (0, 1]")
    if not abs(effect.delta) <= effect.discordant:
        raise InputError(f"delta: |{effect.delta!r}| cannot exceed the discordant rate {effect.discordant!r}")
    if effect.sigma_seed < 0:
        raise InputError(f"sigma_seed: {effect.sigma_seed!r} must be >= 0")


def simulate(n_tasks: int, n_seeds: int, effect: Effect, sims: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(A-only wins, B-only wins) per simulated grid and seed: two (sims, n_seeds) arrays."""
    _check(effect)
    d = effect.discordant
    shift = effect.delta + rng.normal(0.0, effect.sigma_seed, size=(sims, n_seeds))
    p_a = np.clip((d + shift) / 2, 0.0, d)
    wins_a = rng.binomial(n_tasks, p_a)
    # B's wins among the remaining pairs, given A's: d - p_a of the total, out of 1 - p_a
    wins_b = rng.binomial(n_tasks - wins_a, np.where(p_a < 1, (d - p_a) / np.maximum(1 - p_a, 1e-12), 0.0))
    return wins_a, wins_b


def p_values(wins_a: np.ndarray, wins_b: np.ndarray, n_tasks: int, test: str) -> np.ndarray:
    """Two-sided p-value of each simulated (or real) grid, rows of per-seed win counts."""
    if test == "pairs":
        a, b = wins_a.sum(axis=1), wins_b.sum(axis=1)
        m = a + b
        # McNemar's exact test: the smaller count under Binomial(m, 1/2), doubled
        p = np.minimum(1.0, 2 * stats.binom.cdf(np.minimum(a, b), m, 0.5))
        return np.where(m > 0, p, 1.0)
    if test == "seeds":
        if wins_a.shape[1] < 2:
            raise InputError("seeds: the seed-level test needs at least 2 seeds")
        return seed_t_p((wins_a - wins_b) / n_tasks)
    raise InputError(f"test: {test!r}; expected one of {TESTS}")


def seed_t_p(diffs: np.ndarray) -> np.ndarray:
    """Two-sided p of a one-sample t-test of each row of per-seed differences against 0 (seed as a
    random effect; >= 2 seeds per row)."""
    sd = diffs.std(axis=-1, ddof=1)
    t = diffs.mean(axis=-1) / np.where(sd > 0, sd / np.sqrt(diffs.shape[-1]), np.inf)
    p = 2 * stats.t.sf(np.abs(t), df=diffs.shape[-1] - 1)
    # all seeds equal and non-zero: the t statistic is infinite
    return np.where((sd == 0) & (diffs.mean(axis=-1) != 0), 0.0, p)


def power(n_tasks: int, n_seeds: int, effect: Effect, *, test: str = "seeds", alpha: float = 0.05,
          sims: int = 4000, seed: int = 0) -> float:
    """Share of simulated grids in which `test` rejects A = B at `alpha`."""
    if n_tasks < 1 or n_seeds < 1:
        raise InputError(f"n_tasks {n_tasks} and n_seeds {n_seeds} must be >= 1")
    wins_a, wins_b = simulate(n_tasks, n_seeds, effect, sims, np.random.default_rng(seed))
    return float((p_values(wins_a, wins_b, n_tasks, test) < alpha).mean())


def required(effect: Effect, seeds: range, *, test: str = "seeds", target: float = 0.8, alpha: float = 0.05,
             max_tasks: int = 5000, sims: int = 4000, seed: int = 0) -> dict[int, int | None]:
    """For each number of seeds, the fewest tasks per seed with power >= target (None: not within max_tasks)."""
    out = {}
    for k in seeds:
        if test == "seeds" and k < 2:
            out[k] = None
            continue
        lo, hi = 1, max_tasks
        if power(hi, k, effect, test=test, alpha=alpha, sims=sims, seed=seed) < target:
            out[k] = None
            continue
        while lo < hi:  # power grows with n (up to simulation noise, which the fixed seed holds still)
            mid = (lo + hi) // 2
            if power(mid, k, effect, test=test, alpha=alpha, sims=sims, seed=seed) >= target:
                hi = mid
            else:
                lo = mid + 1
        out[k] = lo
    return out


def estimate(rows: list[dict], delta: float | None = None) -> tuple[Effect, dict]:
    """The model's parameters from real outcomes: rows {seed, task, a, b} with a, b the two variants'
    pass (bool or 0/1) on that task. sigma_seed is the spread of the per-seed differences beyond
    what task sampling gives (method of moments, floored at 0; needs >= 2 seeds, else 0).
    `delta` replaces the observed difference (to ask about an effect of another size)."""
    if not rows:
        raise InputError("outcomes: no (seed, task) pair")
    by_seed: dict = {}
    for i, r in enumerate(rows):
        try:
            a, b = int(bool(r["a"])), int(bool(r["b"]))
            by_seed.setdefault(r["seed"], {})[r["task"]] = (a, b)
        except KeyError as e:
            raise InputError(f"outcomes row {i}: missing key {e.args[0]!r} (expected seed, task, a, b)") from None
    diffs, within, n_disc, n = [], [], 0, 0
    for pairs in by_seed.values():
        x = np.array([a - b for a, b in pairs.values()], dtype=float)
        disc = float(np.mean(x != 0))
        diffs.append(x.mean())
        within.append((disc - x.mean() ** 2) / len(x))  # variance of a seed's mean difference from its tasks
        n_disc += int(np.sum(x != 0))
        n += len(x)
    diffs = np.array(diffs)
    sigma2 = max(0.0, float(diffs.var(ddof=1) - np.mean(within))) if len(diffs) > 1 else 0.0
    observed = float(diffs.mean())
    effect = Effect(delta=observed if delta is None else delta, discordant=n_disc / n, sigma_seed=float(np.sqrt(sigma2)))
    return effect, {"seeds": len(by_seed), "pairs": n, "discordant_pairs": n_disc, "observed_delta": observed,
                    "per_seed_delta": [round(float(v), 4) for v in diffs]}


def main(argv: list[str] | None = None) -> int:
    """`soda power`: tasks per seed needed for each number of seeds, as one JSON line."""
    import argparse
    import json

    from soda.io import read_jsonl

    p = argparse.ArgumentParser(prog="soda power", description=__doc__.split("\n\n")[0])
    p.add_argument("--outcomes", help="JSONL of real outcomes {seed, task, a, b}: d and sigma_seed come from them")
    p.add_argument("--delta", type=float, default=0.05, help="difference to detect (default 0.05: 5 points)")
    p.add_argument("--discordant", type=float, default=0.2, help="discordant-pair rate when no --outcomes")
    p.add_argument("--sigma-seed", type=float, default=0.0, help="seed-level sd of the difference when no --outcomes")
    p.add_argument("--test", choices=TESTS, default="seeds")
    p.add_argument("--seeds", default="2-10", help="numbers of seeds to size, e.g. 3-8")
    p.add_argument("--alpha", type=float, default=0.05)
    p.add_argument("--power", type=float, default=0.8)
    p.add_argument("--sims", type=int, default=4000)
    args = p.parse_args(argv)
    try:
        lo, _, hi = args.seeds.partition("-")
        seeds = range(int(lo), int(hi or lo) + 1)
    except ValueError:
        raise InputError(f"--seeds: {args.seeds!r} is not N or N-M") from None
    if args.outcomes:
        effect, observed = estimate(read_jsonl(args.outcomes), args.delta)
    else:
        effect, observed = Effect(args.delta, args.discordant, args.sigma_seed), None
    need = required(effect, seeds, test=args.test, target=args.power, alpha=args.alpha, sims=args.sims)
    print(json.dumps({"test": args.test, "delta": effect.delta, "discordant": round(effect.discordant, 4),
                      "sigma_seed": round(effect.sigma_seed, 4), "alpha": args.alpha, "power": args.power,
                      "observed": observed, "tasks_per_seed": {str(k): v for k, v in need.items()}}))
    return 0
