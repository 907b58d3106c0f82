"""Sharing results through the remotes (issue 34): after `dvc exp run`, the workspace holds the
experiment's outputs, so `dvc push` (and `--run-cache`) alone leaves the committed baseline's off
the DVC remote. The commands README gives: `git push`, `dvc push -a` (the outputs of every
branch's dvc.lock, the baseline's included) and `dvc exp push origin EXP`; a fresh clone then
pulls the baseline with `dvc pull`, and the experiment with `dvc exp pull` + `dvc exp apply` or
`soda audit EXP`. Run on the world stage in a real git + DVC repository with local remotes."""

import json
from pathlib import Path

import pytest
import yaml

from conftest import dvc_repo, merge, sh
from soda.tools.audit import audit

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.slow


def seed_size(repo: Path) -> int:
    return json.loads((repo / "metrics/world.json").read_text())["seed"]


def test_a_fresh_clone_pulls_the_baseline_and_an_experiment(tmp_path):
    params = merge(yaml.safe_load((ROOT / "params.yaml").read_text()),
                   {"world": {"seed_size": 20, "heldout_size": 4, "pretrain_size": 0}})
    (tmp_path / "repo").mkdir()
    repo, env = dvc_repo(tmp_path / "repo", params, tmp_path / "dvc-remote")
    sh("git", "init", "-q", "--bare", str(tmp_path / "origin.git"), cwd=tmp_path)
    sh("git", "remote", "add", "origin", str(tmp_path / "origin.git"), cwd=repo)
    git_id = {**env, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t",
              "GIT_COMMITTER_EMAIL": "t@t"}
    # A pipeline of the world stage alone: every stage in it runs, as in a finished `dvc repro`,
    # so the commands run as README gives them, without targets.
    pipeline = yaml.safe_load((repo / "dvc.yaml").read_text())
    pipeline["stages"] = {"world": pipeline["stages"]["world"]}
    (repo / "dvc.yaml").write_text(yaml.safe_dump(pipeline, sort_keys=False))
    sh("dvc", "repro", cwd=repo, env=env)
    sh("git", "add", "-A", cwd=repo)
    sh("git", "commit", "-qm", "baseline", cwd=repo, env=git_id)
    sh("dvc", "exp", "run", "-n", "seed21", "-S", "world.seed_size=21", cwd=repo, env=git_id)
    assert seed_size(repo) == 21  # the workspace now holds the experiment's outputs

    sh("git", "push", "-q", "origin", "HEAD", cwd=repo, env=git_id)
    sh("dvc", "push", "-a", cwd=repo, env=env)
    sh("dvc", "exp", "push", "origin", "seed21", cwd=repo, env=git_id)

    clone = tmp_path / "clone"
    sh("git", "clone", "-q", str(tmp_path / "origin.git"), str(clone), cwd=tmp_path)
    sh("dvc", "pull", cwd=clone, env=env)
    assert seed_size(clone) == 20 and len((clone / "data/world/seed.jsonl").read_text().splitlines()) == 20
    assert "up to date" in sh("dvc", "status", cwd=clone, env=env).stdout
    sh("dvc", "exp", "pull", "origin", "seed21", cwd=clone, env=git_id)
    report = audit("seed21", tmp_path / "audit", clone)
    assert report["verified"], report
    sh("dvc", "exp", "apply", "seed21", cwd=clone, env=git_id)
    assert len((clone / "data/world/seed.jsonl").read_text().splitlines()) == 21
