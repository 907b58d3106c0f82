import os
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent


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
