"""`soda variants`: a grid's experiments in a real DVC repo, compared across seeds."""

import json
import subprocess

import pytest

from soda.io import InputError
from soda.tools.power import estimate
from soda.tools.variants import main as variants_main

# The fake evaluation: `full` passes tasks 0..9+seed of 20, `no-fcl` tasks 0..4, whatever the seed.
EVALUATE = '''
import json, os, yaml
p = yaml.safe_load(open("params.yaml"))
n = (10 + p["seed"]) if p["fcl_train"]["enabled"] else 5
os.makedirs("metrics/evaluate", exist_ok=True)
os.makedirs("data/evaluate/c1", exist_ok=True)
with open("data/evaluate/c1/results.jsonl", "w") as f:
    for t in range(20):
        for s in (0, 1):  # greedy and one sample; only the greedy one is pass@1
            f.write(json.dumps({"benchmark": "heldout", "task_id": f"t{t}", "sample": s, "passed": t < n or s == 1}) + "\\n")
json.dump({"agreement": {"kappa": 0.5 + p["seed"] / 10}, "annotation_scores": {"0": 7 + p["seed"], "1": 3, "6": 1}},
          open("metrics/score-train.json", "w"))
os.makedirs("metrics/c1", exist_ok=True)  # the scorer audited in c1's feedback
json.dump({"scorer_agreement": {"kappa": 0.2 + p["seed"] / 10}}, open("metrics/c1/feedback.json", "w"))
for model, rate in (("base", 0.1), ("c1", n / 20)):
    m = {"pass@1": rate, "pass@10": None, "model_score": 1.0}
    json.dump({"model": model, "benchmarks": {"heldout": m}, "average": m}, open(f"metrics/evaluate/{model}.json", "w"))
'''


def sh(*cmd, cwd):
    return subprocess.run(cmd, cwd=cwd, check=True, capture_output=True, text=True).stdout


@pytest.fixture(scope="module")
def repo(tmp_path_factory):
    repo = tmp_path_factory.mktemp("grid")
    (repo / "evaluate.py").write_text(EVALUATE)
    (repo / "params.yaml").write_text("seed: 0\nfcl_train:\n  enabled: true\n")
    (repo / "dvc.yaml").write_text(
        "stages:\n  evaluate:\n    cmd: python evaluate.py\n    deps: [evaluate.py]\n    params: [seed, fcl_train]\n"
        "    outs: [data/evaluate/c1/results.jsonl]\n"
        "    metrics:\n      - metrics/score-train.json: {cache: false}\n      - metrics/c1/feedback.json: {cache: false}\n      - metrics/evaluate/base.json: {cache: false}\n      - metrics/evaluate/c1.json: {cache: false}\n")
    (repo / "grid.yaml").write_text("seeds: [0, 1]\nvariants:\n  full: {}\n  no-fcl: {fcl_train.enabled: false}\n")
    sh("git", "init", "-q", cwd=repo)
    sh("dvc", "init", "-q", cwd=repo)
    sh("git", "add", "-A", cwd=repo)
    sh("git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "grid", cwd=repo)
    for name, sets in (("full-s0", ["seed=0"]), ("full-s1", ["seed=1"]),
                       ("no-fcl-s0", ["seed=0", "fcl_train.enabled=false"]),
                       ("no-fcl-s1", ["seed=1", "fcl_train.enabled=false"])):
        sh("dvc", "exp", "run", "-q", "-n", name, *[a for s in sets for a in ("-S", s)], cwd=repo)
    return repo


def test_variants_mean_sd_wilcoxon_and_figures(repo, monkeypatch):
    monkeypatch.chdir(repo)
    assert variants_main(["grid.yaml", "--out", "reports/v"]) == 0
    rows = {r["variant"]: r for r in json.loads((repo / "reports" / "v.json").read_text())}
    assert rows["full"]["pass@1"] == pytest.approx([0.525, 0.0353553], abs=1e-6)   # 10/20 and 11/20
    assert rows["no-fcl"]["pass@1"] == pytest.approx([0.25, 0.0])
    assert rows["full"]["pass@1_by_cycle"]["base"][0] == pytest.approx(0.1)
    w = rows["no-fcl"]["wilcoxon"]
    # seed 0 differs on tasks 5..9, seed 1 on 5..10: eleven pairs, all won by full; the greedy pass only
    assert (w["pairs"], w["differing"], w["reference_wins"]) == (40, 11, 11)
    assert w["p"] < 0.01 and rows["full"]["wilcoxon"] is None
    # no-fcl - full over the 40 pairs (11 lost, 29 equal), with its t interval
    assert w["difference"] == pytest.approx(-0.275)
    assert w["ci95"] == pytest.approx([-0.4196, -0.1304], abs=1e-4)
    md = (repo / "reports" / "v.md").read_text()
    assert "| full | 0,1 | 52.5 ± 3.5 |" in md and "| no-fcl | 0,1 | 25.0 ± 0.0 |" in md
    assert "| -27.5 [-42.0, -13.0] | 11 of 40 (11) | 0.00" in md and md.count("| 0: 0.50, 1: 0.60 |") == 2
    # the seed-level test: -25 and -30 points, t = -11 on 1 degree of freedom
    assert w["seed_test"]["per_seed"] == {"0": -0.25, "1": -0.3}
    assert w["seed_test"]["p"] == pytest.approx(0.0577, abs=1e-4) and "| -25.0 / -30.0; 0.0577 |" in md
    # what the scorer learnt from, per seed: D_seed's scores (a rubric it does not span caps kappa)
    assert rows["full"]["annotation_scores_by_seed"] == {"0": {"0": 7, "1": 3, "6": 1}, "1": {"0": 8, "1": 3, "6": 1}}
    assert md.count("| 0: 0×7 1×3 6×1; 1: 0×8 1×3 6×1 |") == 2
    # the scorer's kappa in the loop, by cycle, over seeds (base has no feedback)
    assert rows["full"]["scorer_kappa_in_loop"] == {"c1": pytest.approx([0.25, 0.0707107], abs=1e-6)}
    assert md.count("| c1: 0.25 ± 0.07 |") == 2
    # the same pairs, for `soda power --outcomes`: seed 1 differs by 6 of 20 tasks, seed 0 by 5
    pairs = [json.loads(line) for line in (repo / "reports" / "v-outcomes-no-fcl.jsonl").read_text().splitlines()]
    assert len(pairs) == 40 and {"seed": 1, "task": "heldout/t10", "a": 1, "b": 0} in pairs
    effect, observed = estimate(pairs)
    assert observed["per_seed_delta"] == [0.25, 0.3] and effect.discordant == pytest.approx(11 / 40)
    assert not (repo / "reports" / "v-outcomes-full.jsonl").exists()
    for fig in ("v-fig5.png", "v-fig6.png"):
        assert (repo / "reports" / fig).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_variants_pair_with_another_reference_when_asked(repo, tmp_path, monkeypatch):
    """--reference: every variant paired with the named one (the same pairs, the other sign)."""
    monkeypatch.chdir(repo)
    assert variants_main(["grid.yaml", "--out", str(tmp_path / "r"), "--reference", "no-fcl"]) == 0
    rows = {r["variant"]: r for r in json.loads((tmp_path / "r.json").read_text())}
    w = rows["full"]["wilcoxon"]
    assert rows["no-fcl"]["wilcoxon"] is None and (w["pairs"], w["differing"], w["reference_wins"]) == (40, 11, 0)
    assert w["difference"] == pytest.approx(0.275) and (tmp_path / "r-outcomes-full.jsonl").exists()
    assert "pass@1 - no-fcl" in (tmp_path / "r.md").read_text()
    with pytest.raises(InputError, match="--reference 'nope': not a variant"):
        variants_main(["grid.yaml", "--out", str(tmp_path / "bad"), "--reference", "nope"])
    assert not (tmp_path / "bad.md").exists()


def test_variants_read_the_seeds_asked_for(repo, tmp_path, monkeypatch):
    """--seeds: other seeds than the grid file's (those added with `soda experiments queue --seeds`)."""
    monkeypatch.chdir(repo)
    (tmp_path / "one.yaml").write_text("seeds: [0]\nvariants:\n  full: {}\n  no-fcl: {fcl_train.enabled: false}\n")
    assert variants_main([str(tmp_path / "one.yaml"), "--out", str(tmp_path / "one")]) == 0
    rows = {r["variant"]: r for r in json.loads((tmp_path / "one.json").read_text())}
    assert rows["full"]["seeds"] == [0] and rows["no-fcl"]["wilcoxon"]["seed_test"]["p"] is None  # one seed: no test
    assert variants_main([str(tmp_path / "one.yaml"), "--out", str(tmp_path / "both"), "--seeds", "0,1"]) == 0
    rows = {r["variant"]: r for r in json.loads((tmp_path / "both.json").read_text())}
    assert rows["full"]["seeds"] == [0, 1] and rows["no-fcl"]["wilcoxon"]["pairs"] == 40
    with pytest.raises(InputError, match="for its variants and seeds 7"):
        variants_main([str(tmp_path / "one.yaml"), "--out", str(tmp_path / "none"), "--seeds", "7"])


def test_variants_without_experiments_is_an_error(repo, tmp_path, monkeypatch):
    monkeypatch.chdir(repo)
    (tmp_path / "other.yaml").write_text("seeds: [5]\nvariants:\n  full: {}\n")
    with pytest.raises(InputError, match="no finished experiment"):
        variants_main([str(tmp_path / "other.yaml"), "--out", str(tmp_path / "v")])
    assert not (tmp_path / "v.md").exists()


def test_compare_plain_checkouts_pairs_by_seed_and_task(repo, tmp_path, capsys):
    # One checkout per arm and seed, each evaluated in its own working tree (no dvc exp).
    dirs = {}
    for arm, enabled in (("full", "true"), ("no-fcl", "false")):
        for seed in (0, 1):
            d = dirs[arm, seed] = tmp_path / f"{arm}-{seed}"
            d.mkdir()
            (d / "params.yaml").write_text(f"seed: {seed}\nfcl_train:\n  enabled: {enabled}\n")
            sh("python", str(repo / "evaluate.py"), cwd=d)
    assert variants_main(["compare", "--reference", str(dirs["full", 1]), str(dirs["full", 0]),
                          "--other", str(dirs["no-fcl", 0]), str(dirs["no-fcl", 1]), "--model", "c1"]) == 0
    out = json.loads(capsys.readouterr().out)
    # full passes 10 + seed of 20 tasks, no-fcl 5: 11 of 40 pairs differ, all to full.
    assert out["seeds"] == [0, 1] and out["pass1_reference"] == {"0": 0.5, "1": 0.55}
    assert out["pass1_other"] == {"0": 0.25, "1": 0.25}
    assert (out["pairs"], out["differing"], out["reference_wins"]) == (40, 11, 11)
    assert out["difference"] == pytest.approx(-11 / 40) and out["ci95"][1] < 0 and out["p"] < 0.01
    with pytest.raises(InputError, match="seeds differ"):
        variants_main(["compare", "--reference", str(dirs["full", 0]), "--other", str(dirs["no-fcl", 1]), "--model", "c1"])
    (dirs["no-fcl", 0] / "data/evaluate/c1/results.jsonl").write_text("")
    with pytest.raises(InputError, match="no greedy result"):
        variants_main(["compare", "--reference", str(dirs["full", 0]), "--other", str(dirs["no-fcl", 0]), "--model", "c1"])
    with pytest.raises(InputError, match="c3/results.jsonl: not found"):
        variants_main(["compare", "--reference", str(dirs["full", 0]), "--other", str(dirs["no-fcl", 0])])
