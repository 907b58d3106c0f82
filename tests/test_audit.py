"""`soda audit` against a real DVC repository and local remote in a temp dir."""

import os
import subprocess

import pytest

from soda.tools.audit import audit
from soda.io import InputError


def sh(*cmd, cwd):
    subprocess.run(cmd, cwd=cwd, check=True, capture_output=True, text=True)


@pytest.fixture
def repo(tmp_path, monkeypatch):
    repo, remote = tmp_path / "repo", tmp_path / "remote"
    repo.mkdir()
    monkeypatch.delenv("DVC_ROOT", raising=False)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    (repo / "in.txt").write_text("hello\n")
    (repo / "dvc.yaml").write_text(
        "stages:\n  make:\n    cmd: mkdir -p out && cp in.txt out/a.txt && echo x > out/b.txt\n"
        "    deps: [in.txt]\n    outs: [out]\n")
    sh("git", "init", "-q", cwd=repo)
    sh("dvc", "init", "-q", cwd=repo)
    sh("dvc", "remote", "add", "-d", "r", str(remote), cwd=repo)
    sh("dvc", "repro", "-q", cwd=repo)
    sh("git", "add", "-A", cwd=repo)
    sh("git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "run", cwd=repo)
    return repo


def test_audit_pulls_and_verifies_a_git_revision(repo, tmp_path):
    sh("dvc", "push", "-q", cwd=repo)
    report = audit("HEAD", tmp_path / "audit", repo)
    assert report["verified"], report
    assert (tmp_path / "audit" / "out" / "a.txt").read_text() == "hello\n"
    assert report["outputs"]["out"].endswith(".dir")


def test_audit_of_an_mlflow_run_checks_its_logged_hashes(repo, tmp_path):
    import mlflow

    from soda.tracking import dvc_md5

    sh("dvc", "push", "-q", cwd=repo)
    commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True, text=True).stdout.strip()
    mlflow.set_tracking_uri(os.environ["MLFLOW_TRACKING_URI"])
    with mlflow.start_run(tags={"mlflow.source.git.commit": commit, "soda.out.out": dvc_md5(repo / "out")}) as run:
        pass
    assert audit(run.info.run_id, tmp_path / "audit", repo)["verified"]
    with mlflow.start_run(tags={"mlflow.source.git.commit": commit, "soda.out.out": "0" * 32 + ".dir"}) as bad:
        pass
    report = audit(bad.info.run_id, tmp_path / "audit2", repo)
    assert not report["verified"] and "MLflow run logged" in report["problems"][0]


def test_audit_finds_a_run_in_the_store_params_yaml_names(repo, tmp_path, monkeypatch):
    import mlflow

    store = f"sqlite:///{tmp_path / 'team.db'}"
    (repo / "params.yaml").write_text(f"runtime:\n  mlflow:\n    tracking_uri: {store}\n")
    sh("git", "add", "params.yaml", cwd=repo)
    sh("git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "store", cwd=repo)
    sh("dvc", "push", "-q", cwd=repo)
    commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True, text=True).stdout.strip()
    monkeypatch.delenv("MLFLOW_TRACKING_URI")
    mlflow.set_tracking_uri(store)
    with mlflow.start_run(tags={"mlflow.source.git.commit": commit}) as run:
        pass
    mlflow.set_tracking_uri(None)
    report = audit(run.info.run_id, tmp_path / "audit", repo)
    assert report["kind"] == "mlflow run" and report["verified"], report


def test_audit_reports_artifacts_missing_from_the_remote(repo, tmp_path):
    report = audit("HEAD", tmp_path / "audit", repo)  # nothing pushed
    assert not report["verified"] and report["problems"] == ["out: missing from the remote"]


def test_unknown_reference_is_a_clear_error(repo, tmp_path):
    with pytest.raises(InputError, match="neither an MLflow run id"):
        audit("no-such-experiment", tmp_path / "audit", repo)
