"""End to end: `dvc repro` in a temporary git + DVC repository on small params."""

import json
import os
import random
import re
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from conftest import dvc_repo, merge, sh

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.slow

SMALL = {
    "world": {"seed_size": 48, "heldout_size": 16},
    # Checkpoints every 2 of ~10 steps: a kill -9 has something to resume from.
    "score_train": {"num_questions": 16, "epochs": 1, "batch_size": 4, "save_steps": 2, "logging_steps": 1},
    "csl_train": {"epochs": 1, "batch_size": 4, "save_steps": 2, "logging_steps": 1},
    "fcl_train": {"epochs": 1, "batch_size": 2, "save_steps": 2, "logging_steps": 1},
    "evolve": {"num_new": 12},
    "evaluate": {"models": ["base", "c1", "c2"], "n_samples": 2},
    "generation": {"max_new_tokens": 48},
    "cycles": {"c1": {"prev": "base"}, "c2": {"prev": "c1"}},
}


@pytest.fixture(scope="module")
def repo(tmp_path_factory):
    params = merge(yaml.safe_load((ROOT / "params.yaml").read_text()), SMALL)
    repo, env = dvc_repo(tmp_path_factory.mktemp("soda-e2e"), params, tmp_path_factory.mktemp("remote"))
    first = sh("dvc", "repro", cwd=repo, env=env)
    return repo, env, first


def test_repro_writes_every_output_and_metric(repo):
    repo, _, _ = repo
    for cycle in ("c1", "c2"):
        for f in ("teacher.jsonl", "csl.jsonl", "fcl.jsonl", "feedback.jsonl", "questions.jsonl"):
            assert (repo / "data" / cycle / f).exists(), f
        assert (repo / "models" / cycle / "student" / "model.safetensors").exists()
    feedback = [json.loads(l) for l in (repo / "data/c1/feedback.jsonl").read_text().splitlines()]
    assert feedback and {r["level"] for r in feedback} <= {"easy", "medium", "hard", "unclassified"}
    for model in ("base", "c1", "c2"):
        metrics = json.loads((repo / "metrics/evaluate" / f"{model}.json").read_text())
        heldout = metrics["benchmarks"]["heldout"]
        # pass@10 needs n >= 10 samples: with the small params' 2 it is null, never made up
        assert heldout["n_tasks"] == 16 and 0.0 <= heldout["pass@1"] <= 1.0 and heldout["pass@10"] is None
    csl = [json.loads(l) for l in (repo / "data/c1/csl.jsonl").read_text().splitlines()]
    assert csl and all(set(r) >= {"prompt", "completion"} for r in csl)


def test_second_repro_runs_nothing(repo):
    repo, env, _ = repo
    out = sh("dvc", "repro", cwd=repo, env=env).stdout
    assert "Running stage" not in out


def test_mlflow_runs_are_tagged_with_output_hashes(repo):
    repo, env, _ = repo
    code = (
        "import mlflow, json;"
        "runs = mlflow.search_runs(experiment_names=['soda'], output_format='list');"
        "print(json.dumps([{'tags': r.data.tags, 'metrics': r.data.metrics} for r in runs]))"
    )
    runs = json.loads(sh(sys.executable, "-c", code, cwd=repo, env=env).stdout)
    stages = {r["tags"]["soda.stage"] for r in runs}
    assert {"decontaminate", "teacher-generate", "csl-train", "fcl-train", "feedback", "evolve", "evaluate"} <= stages
    lock = yaml.safe_load((repo / "dvc.lock").read_text())
    csl = next(r for r in runs if r["tags"]["soda.stage"] == "csl-train" and r["tags"]["soda.cycle"] == "c1")
    locked = next(o["md5"] for o in lock["stages"]["csl-train@c1"]["outs"] if o["path"] == "models/c1/csl")
    assert csl["tags"]["soda.out.models/c1/csl"] == locked


def test_changing_an_evolve_param_reruns_only_evolve_and_dependents(repo):
    repo, env, _ = repo
    path = repo / "params.yaml"
    original = path.read_text()
    params = yaml.safe_load(original)
    params["evolve"]["num_new"] = 10
    path.write_text(yaml.safe_dump(params, sort_keys=False))
    try:
        out = sh("dvc", "repro", cwd=repo, env=env).stdout
    finally:
        path.write_text(original)
        sh("dvc", "repro", cwd=repo, env=env)  # back to the committed params (from the run-cache)
    ran = {line.split("'")[1] for line in out.splitlines() if line.startswith("Running stage")}
    assert {"evolve@c1", "evolve@c2", "teacher-generate@c2", "csl-train@c2", "evaluate@c2"} <= ran
    assert not ran & {"world", "init-models", "decontaminate", "score-train", "teacher-generate@c1", "csl-train@c1",
                      "fcl-train@c1", "feedback@c1", "evaluate@base", "evaluate@c1"}


def test_dvc_exp_run_with_a_param_and_exp_show_lists_its_metrics(repo):
    repo, env, _ = repo
    run = sh("dvc", "exp", "run", "-n", "e2e-topp", "-S", "evaluate.top_p=0.9", cwd=repo, env=env)
    ran = {line.split("'")[1] for line in run.stdout.splitlines() if line.startswith("Running stage")}
    assert ran and all(s.startswith("evaluate@") or s == "report" for s in ran), ran
    shown = json.loads(sh("dvc", "exp", "show", "--json", cwd=repo, env=env).stdout)
    names = json.dumps(shown)
    assert "e2e-topp" in names and "metrics/evaluate/c2.json" in names
    code = (
        "import mlflow, json;"
        "runs = mlflow.search_runs(experiment_names=['soda'], output_format='list');"
        "print(json.dumps(sorted({r.data.tags.get('soda.dvc_exp_name', '') for r in runs})))"
    )
    assert "e2e-topp" in json.loads(sh(sys.executable, "-c", code, cwd=repo, env=env).stdout)


def test_changing_a_module_makes_exactly_its_importers_stale(repo):
    """dvc status after appending a comment to one module lists exactly the stages whose import
    closure holds it (soda/tools/deps.py), and nothing else."""
    from soda.tools.deps import closure, stage_module

    repo, env, _ = repo
    lock = yaml.safe_load((repo / "dvc.lock").read_text())["stages"]
    for module in ("soda/feedback.py", "soda/train.py", "soda/decontaminate.py", "sandbox/langs.py", "soda/evolve.py"):
        path = repo / module
        original = path.read_text()
        path.write_text(original + "\n# touched\n")
        try:
            status = json.loads(sh("dvc", "status", "--json", cwd=repo, env=env).stdout)
        finally:
            path.write_text(original)
        expected = {s for s in lock if module in closure(stage_module(s.split("@")[0]))}
        assert set(status) == expected, (module, sorted(status), sorted(expected))


def test_exp_show_lists_every_training_setting(repo):
    repo, env, _ = repo
    shown = sh("dvc", "exp", "show", "--csv", cwd=repo, env=env).stdout.splitlines()[0].split(",")
    # what the four trainers share is shown once, under train; each stage's own keys under its section
    for key in ("scheduler", "warmup_ratio", "weight_decay", "grad_accum", "max_length"):
        assert f"train.{key}" in shown, f"train.{key}"
    for section in ("csl_train", "fcl_train", "score_train", "pretrain"):
        for key in ("batch_size", "lr", "epochs"):
            assert f"{section}.{key}" in shown, f"{section}.{key}"
    assert "fcl_train.beta" in shown


# Each killed once, in the order they run (score-train annotates the cycle-1 student's answers),
# at a random point: a training stage after a random step (StepLog's "<kind> step i/n" lines),
# teacher-generate once it has stored a random share of the sandbox verdicts it stores in an
# uninterrupted run (in c2: c1's are all stored before, by teacher-generate@c1).
KILLS = {"csl-train@c1": "csl", "fcl-train@c1": "fcl", "score-train": "scorer", "teacher-generate@c2": None}
VERDICTS = Path(".soda") / "cache" / "runs.sqlite3"


def sqlite_count(path: Path) -> int:
    if not path.exists():
        return 0
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5) as db:
            return db.execute("SELECT COUNT(*) FROM results").fetchone()[0]
    except sqlite3.OperationalError:  # the table is not created yet
        return 0


def finished_runs(repo: Path, env: dict, stage: str, cycle: str) -> list[dict]:
    """Metrics of the stage's MLflow runs that finished, oldest first."""
    code = ("import mlflow, json, sys; runs = mlflow.search_runs(experiment_names=['soda'], output_format='list',"
            " order_by=['attributes.start_time ASC']);"
            "print(json.dumps([r.data.metrics for r in runs if r.data.tags.get('soda.stage') == sys.argv[1]"
            " and r.data.tags.get('soda.cycle') == sys.argv[2] and r.info.status == 'FINISHED']))")
    return json.loads(sh(sys.executable, "-c", code, stage, cycle, cwd=repo, env=env).stdout)


def repro_killed_in(repo: Path, env: dict, stage: str, kind: str | None, rng: random.Random, stores: int) -> tuple[str, int]:
    """`dvc repro` of the killed stages, SIGKILLed (dvc, the stage, its sandbox: the whole
    process group) inside `stage`; returns where, and for teacher-generate how many verdicts it
    had stored (of the `stores` an uninterrupted run stores)."""
    proc = subprocess.Popen(["dvc", "repro", *KILLS], cwd=repo, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)
    where, stored = None, 0
    try:
        for line in proc.stdout:
            if kind is None and line.startswith(f"Running stage '{stage}'"):
                before, target = sqlite_count(repo / VERDICTS), rng.randint(1, stores - 1)
                deadline = time.monotonic() + 120
                while stored < target and time.monotonic() < deadline:
                    time.sleep(0.01)
                    stored = sqlite_count(repo / VERDICTS) - before
                where = f"{stage} with {stored} of {stores} verdicts stored" if stored >= target else None
                break
            match = kind and re.search(rf"\b{kind} step (\d+)/(\d+)", line)
            if match and int(match[1]) >= rng.randint(2, max(2, int(match[2]) - 1)):
                where = f"{stage} after step {match[1]}/{match[2]}"
                break
        assert where, f"the run was not killed in {stage}"
    finally:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:  # the run had ended
            pass
        proc.wait()
    return where, stored


def test_kill_9_in_each_stage_then_repro_gives_the_uninterrupted_dvc_lock(repo, tmp_path_factory):
    """kill -9 of score-train, teacher-generate, csl-train and fcl-train, each at a random point,
    then `dvc repro`: the same dvc.lock entries (every output's hash) as the uninterrupted run,
    and no sandbox verdict of teacher-generate run twice."""
    straight, straight_env, _ = repo
    stores = finished_runs(straight, straight_env, "teacher-generate", "c2")[0]["sandbox.stored"]
    assert stores >= 2
    params = merge(yaml.safe_load((ROOT / "params.yaml").read_text()), SMALL)
    killed, env = dvc_repo(tmp_path_factory.mktemp("soda-killed"), params, tmp_path_factory.mktemp("remote-killed"))
    seed = random.randrange(1 << 30)
    rng, wheres, stored_before_kill = random.Random(seed), [], 0
    for stage, kind in KILLS.items():
        where, stored = repro_killed_in(killed, env, stage, kind, rng, int(stores))
        wheres.append(where)
        stored_before_kill += stored
    sh("dvc", "repro", *KILLS, cwd=killed, env=env)
    why = f"killed in: {wheres} (seed {seed})"
    want = yaml.safe_load((straight / "dvc.lock").read_text())["stages"]
    got = yaml.safe_load((killed / "dvc.lock").read_text())["stages"]
    assert set(got) == {"world", "init-models", "decontaminate", "teacher-generate@c1", "feedback@c1", "evolve@c1",
                        *KILLS}, why
    for name, entry in got.items():
        assert entry == want[name], (name, why)
    # Verdicts are committed as they complete: the re-run reuses those stored before the kill
    # and stores only the others.
    resumed = finished_runs(killed, env, "teacher-generate", "c2")
    assert len(resumed) == 1, why
    assert resumed[0]["sandbox.stored"] == stores - stored_before_kill, (resumed, why)
    assert resumed[0]["sandbox.cache_hits"] >= stored_before_kill > 0, (resumed, why)
