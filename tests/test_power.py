import json

import numpy as np
import pytest
from scipy import stats

from soda.io import InputError
from soda.tools.power import Effect, estimate, main, p_values, power, required, simulate

FIVE_POINTS = Effect(delta=0.05, discordant=0.2)


def no_fcl_grid():
    """The README grid's full SODA (a) vs no FCL (b): per seed, tasks won by a only and by b only
    (pass@1 20/18/18 % vs 40/37/46 %, 87 discordant pairs of 300, 10 favouring full SODA)."""
    rows = []
    for seed, (a_only, b_only) in enumerate([(3, 23), (3, 22), (4, 32)]):
        outcomes = [(1, 0)] * a_only + [(0, 1)] * b_only + [(1, 1)] * 17 + [(0, 0)] * (83 - a_only - b_only)
        rows += [{"seed": seed, "task": f"t{i}", "a": a, "b": b} for i, (a, b) in enumerate(outcomes)]
    return rows


def test_simulated_pairs_match_the_mcnemar_formula():
    """One seed, no seed effect: the simulation's sample size for McNemar's exact test is the
    normal-approximation formula's (~626 pairs), a little above it as the exact test is conservative."""
    n = required(FIVE_POINTS, range(1, 2), test="pairs", sims=2000)[1]
    assert 626 <= n <= 626 * 1.12
    # Connor (1987): pairs McNemar's test needs, normal approximation
    za, zb = stats.norm.ppf(1 - 0.05 / 2), stats.norm.ppf(0.8)
    d, delta = FIVE_POINTS.discordant, FIVE_POINTS.delta
    assert round((za * np.sqrt(d) + zb * np.sqrt(d - delta**2)) ** 2 / delta**2) == 626


def test_simulated_pairs_favour_a_by_delta():
    wins_a, wins_b = simulate(1000, 3, FIVE_POINTS, 400, np.random.default_rng(1))
    diff = (wins_a - wins_b).mean() / 1000
    disc = (wins_a + wins_b).mean() / 1000
    assert abs(diff - 0.05) < 0.003 and abs(disc - 0.2) < 0.003


def test_pooled_pairs_test_is_too_liberal_under_a_seed_effect():
    """No true difference but seeds that differ: the pooled test rejects far more often than alpha,
    the seed-level t-test at about alpha."""
    null = Effect(delta=0.0, discordant=0.2, sigma_seed=0.04)
    assert power(300, 3, null, test="pairs", sims=2000) > 0.2  # 0.28
    assert power(300, 3, null, test="seeds", sims=2000) < 0.07


def test_seed_test_needs_fewer_tasks_with_more_seeds_and_more_with_a_seed_effect():
    flat = required(FIVE_POINTS, range(4, 7), sims=1000)
    noisy = required(Effect(0.05, 0.2, sigma_seed=0.02), range(4, 7), sims=1000)
    assert flat[4] > flat[5] > flat[6]
    assert all(noisy[k] > flat[k] for k in flat)
    assert required(FIVE_POINTS, range(1, 2))[1] is None  # one seed: no seed-level test


def test_estimate_from_per_task_outcomes():
    effect, seen = estimate(no_fcl_grid())
    assert seen["pairs"] == 300 and seen["discordant_pairs"] == 87
    assert effect.discordant == pytest.approx(0.29)
    assert effect.delta == pytest.approx(-67 / 300)
    # per-seed differences -20, -19, -28 points: no more spread than the tasks' binomial noise
    assert effect.sigma_seed < 0.01  # 0.7 points
    # seeds whose differences disagree far beyond task noise: a seed effect
    rows = [{"seed": s, "task": i, "a": int(i < 10 * (s % 2) * 4), "b": 0} for s in range(4) for i in range(100)]
    assert estimate(rows)[0].sigma_seed > 0.15
    assert estimate(no_fcl_grid(), delta=0.05)[0].delta == 0.05


def test_p_values_of_a_real_grid():
    rows = no_fcl_grid()
    wins_a = np.array([[sum(r["a"] > r["b"] for r in rows if r["seed"] == s) for s in range(3)]])
    wins_b = np.array([[sum(r["b"] > r["a"] for r in rows if r["seed"] == s) for s in range(3)]])
    # 6e-14 over the 300 pairs (the README's Wilcoxon: 7e-13); 0.016 over the 3 seeds
    assert p_values(wins_a, wins_b, 100, "pairs")[0] < 1e-12
    assert 0.01 < p_values(wins_a, wins_b, 100, "seeds")[0] < 0.02


def test_cli_prints_one_json_line(tmp_path, capsys):
    path = tmp_path / "outcomes.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in no_fcl_grid()))
    assert main(["--outcomes", str(path), "--seeds", "3-4", "--sims", "500", "--test", "pairs"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["delta"] == 0.05 and out["discordant"] == 0.29 and set(out["tasks_per_seed"]) == {"3", "4"}
    assert out["observed"]["discordant_pairs"] == 87


def test_bad_input(tmp_path):
    with pytest.raises(InputError, match="--seeds"):
        main(["--seeds", "three"])
    with pytest.raises(InputError, match="row 1: missing key 'b'"):
        estimate([{"seed": 0, "task": 1, "a": 1, "b": 0}, {"seed": 0, "task": 2, "a": 1}])
    with pytest.raises(InputError, match="delta"):
        power(100, 3, Effect(delta=0.3, discordant=0.2))
