import os
import sys
from pathlib import Path

import pytest
import yaml

from soda.tools.e2e import dvc_repo, merge, sh  # noqa: F401 (the tests' helpers, shared with scripts/gpu_check.py)

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


def processes_of(uids: set[int]) -> list[int]:
    """Live processes owned by any of `uids`."""
    found = []
    for name in os.listdir("/proc"):
        try:
            st = os.stat(f"/proc/{name}")
        except OSError:
            continue
        if name.isdigit() and st.st_uid in uids:
            found.append(int(name))
    return found


def started(size: int):
    """A sandbox pool of `size` slots (the test skips where the sandbox can't start); once
    closed, no process of its uids may be left."""
    from sandbox import Pool, SandboxUnavailable  # noqa: PLC0415 - only the sandbox's tests start one

    try:
        p = Pool(size)
    except SandboxUnavailable as e:
        pytest.skip(str(e))
    yield p
    uids = set(p.uids)
    p.close()
    assert processes_of(uids) == []


@pytest.fixture(scope="module")
def pool():
    yield from started(2)


@pytest.fixture(scope="module")
def one_slot():
    yield from started(1)


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
