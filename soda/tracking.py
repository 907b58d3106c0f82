"""MLflow tracking shared by every stage.

One MLflow run per stage execution, tagged so that a metric leads back to the exact
artifacts: git commit, stage, cycle, DVC experiment name, and the DVC md5 of each output
(computed the way DVC computes it, so it equals the hash dvc.lock records for the run).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import subprocess
import tempfile
from pathlib import Path
from typing import Iterator

from soda.params import workspace_path

# MLflow's telemetry sets and removes an environment variable from a thread of its own while
# its REST client copies os.environ: a logging call then fails with KeyError
# '_MLFLOW_TELEMETRY_SESSION_ID' (it ended a queued experiment's teacher-generate@c3 on
# 2026-12-02). soda logs to a local store and sends nothing elsewhere: telemetry is off unless
# the user sets the variable.
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")

# The prompt files are hashed here, not through soda.prompts: this module changes no output and
# is exempt from the stages' deps (soda/deps.py), so it must not import modules that do.
PROMPT_DIR = Path(__file__).parent / "prompts"


def prompts_sha256() -> str:
    """One hash of every prompt file (all sets): which texts the stage could have used."""
    h = hashlib.sha256()
    for path in sorted(p for p in PROMPT_DIR.rglob("*") if p.is_file()):
        h.update(str(path.relative_to(PROMPT_DIR)).encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()[:16]


def tracking_uri(configured: str | None = None) -> str:
    """MLFLOW_TRACKING_URI, else params' runtime.mlflow.tracking_uri, else an sqlite file at the repo root.

    `dvc exp run --temp/--queue` runs in a copy under .dvc/tmp/exps: the default store is
    resolved to the original repository so that every experiment logs into one place.
    """
    if os.environ.get("MLFLOW_TRACKING_URI"):
        return os.environ["MLFLOW_TRACKING_URI"]
    if configured:
        return configured
    return f"sqlite:///{workspace_path('mlflow.db')}"


def dvc_md5(path: str | os.PathLike) -> str:
    """The md5 DVC records for an output (files: content md5; directories: the .dir hash)."""
    from dvc.fs import LocalFileSystem
    from dvc_data.hashfile.build import build
    from dvc_data.hashfile.db import HashFileDB

    fs = LocalFileSystem()
    with tempfile.TemporaryDirectory() as tmp:
        _, _, obj = build(HashFileDB(fs, tmp), os.fspath(path), fs, "md5", dry_run=True)
    return obj.hash_info.value


def git_commit() -> str | None:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, check=True)
        return out.stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None


def flatten(d: dict, prefix: str = "") -> dict:
    flat = {}
    for key, value in d.items():
        name = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(value, dict) and value:
            flat.update(flatten(value, name))
        else:
            flat[name] = value
    return flat


def _store_lock(uri: str):
    """An inter-process lock on a local sqlite store while it is created or a run begins.

    Two stages starting together on a fresh store (`dvc queue start -j 2` without `soda
    experiments`' server) both create its tables and both fail (alembic: "table ... already
    exists"; measured: 4 processes, every trial). Other stores need none."""
    from filelock import FileLock

    if not uri.startswith("sqlite:///"):
        return contextlib.nullcontext()
    return FileLock(uri.removeprefix("sqlite:///") + ".lock")


@contextlib.contextmanager
def stage_run(params: dict, stage: str, *, cycle: str | None = None, sections: tuple[str, ...] = (),
              outs: tuple[str, ...] = ()) -> Iterator[object]:
    """An MLflow run for one stage; logs the stage's params sections, a hash of the prompt files,
    and output hashes on success.

    Under `accelerate launch` only the main process (RANK 0) logs: the others get no run.
    """
    import mlflow

    if int(os.environ.get("RANK", "0")) != 0:
        yield None
        return

    uri = tracking_uri(params["runtime"]["mlflow"]["tracking_uri"])
    mlflow.set_tracking_uri(uri)
    run_tags = {
        "soda.stage": stage,
        "soda.cycle": cycle or "",
        "soda.dvc_exp_name": os.environ.get("DVC_EXP_NAME", ""),
        "soda.dvc_exp_baseline_rev": os.environ.get("DVC_EXP_BASELINE_REV", ""),
        "mlflow.source.git.commit": git_commit() or "",
        "soda.prompts_sha256": prompts_sha256(),
    }
    name = f"{stage}@{cycle}" if cycle else stage
    with _store_lock(uri):
        mlflow.set_experiment(params["runtime"]["mlflow"]["experiment"])
        run = mlflow.start_run(run_name=name, tags=run_tags)
    with run:
        logged = {}
        for section in sections:
            value = params.get(section)
            logged.update(flatten(value, section) if isinstance(value, dict) else {section: value})
        if logged:
            mlflow.log_params({k: str(v)[:6000] for k, v in logged.items()})
        yield run
        for out in outs:
            if Path(out).exists():
                mlflow.set_tag(f"soda.out.{out}", dvc_md5(out))


def log_metrics(metrics: dict, prefix: str = "", step: int | None = None) -> None:
    """Log the numeric leaves of a (nested) metrics dict to the active run."""
    import mlflow

    numeric = {k: float(v) for k, v in flatten(metrics, prefix).items()
               if isinstance(v, (int, float)) and not isinstance(v, bool)}
    if numeric and mlflow.active_run():
        mlflow.log_metrics({k.replace("@", "_at_"): v for k, v in numeric.items()}, step=step)
