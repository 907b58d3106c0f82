import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
# The commands tests run (dvc, and the `python -m stages` that dvc.yaml runs) come from the
# environment running the tests, as after `. .venv/bin/activate`, whatever else is on PATH.
os.environ["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"


@pytest.fixture
def params() -> dict:
    """The committed params.yaml, a fresh copy for each test to change."""
    return yaml.safe_load((ROOT / "params.yaml").read_text())


@pytest.fixture
def shared() -> Path:
    """../shared beside the checkout (reference data); tests that need it skip cleanly without it."""
    path = ROOT.parent / "shared"
    if not path.is_dir():
        pytest.skip("needs ../shared")
    return path


@pytest.fixture(autouse=True)
def _fresh_mlflow_state():
    """MLflow keeps the tracking URI and active experiment in module globals (and exports the
    experiment id to the environment): a test that points MLflow at its own temporary store
    must not leave the next test pointing there."""
    yield
    fluent = sys.modules.get("mlflow.tracking.fluent")
    if fluent is not None:
        while fluent.active_run():
            fluent.end_run()
        fluent._active_experiment_id = None
        os.environ.pop("MLFLOW_EXPERIMENT_ID", None)  # mlflow.set_experiment exports it for subprocesses
        sys.modules["mlflow"].set_tracking_uri(None)


def connection(**change):
    """The committed params.yaml's runtime.generation (soda.params.Connection), with `change`."""
    from soda.params import Connection

    return Connection(**{**yaml.safe_load((ROOT / "params.yaml").read_text())["runtime"]["generation"], **change})


def merge(base: dict, change: dict) -> dict:
    """params with `change` applied key by key (a `cycles` mapping is replaced whole)."""
    out = dict(base)
    for key, value in change.items():
        out[key] = merge(base[key] or {}, value) if isinstance(value, dict) and key != "cycles" else value
    return out


def sh(*cmd, cwd, env=None, check=True) -> subprocess.CompletedProcess:
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    if check and proc.returncode != 0:
        raise AssertionError(f"{' '.join(map(str, cmd))} failed ({proc.returncode}):\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}")
    return proc


def dvc_repo(path: Path, params: dict, remote: Path) -> tuple[Path, dict]:
    """A git + DVC repository at `path` holding the tracked files of this checkout and `params`
    as params.yaml (committed); returns it with the environment to run dvc in."""
    files = sh("git", "ls-files", cwd=ROOT).stdout.split()
    for f in files:
        if (ROOT / f).is_file():
            (path / f).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / f, path / f)
    (path / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    env = {**os.environ, "PYTHONPATH": str(path), "MLFLOW_TRACKING_URI": f"sqlite:///{path / 'mlflow.db'}"}
    env.pop("DVC_ROOT", None)
    sh("git", "init", "-q", cwd=path)
    sh("dvc", "remote", "add", "-f", "-d", "local", str(remote), cwd=path)
    sh("git", "add", "-A", cwd=path)
    sh("git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "init", cwd=path)
    return path, env
