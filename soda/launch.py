"""Training in several processes from a stage's own command (params `launch`), so that dvc.yaml
runs `python -m stages STAGE ...` whatever the number of processes.

Only the training is launched: what a stage does around it (teacher calls, generation, sandbox
runs, its metrics and MLflow run) stays in the stage's one process and is done once. The stage
writes the job (rows, settings, where to publish) into the run's scratch dir and runs
`accelerate launch ... -m soda.launch JOB`; every rank trains (soda/train.py's prepare and
finish), rank 0 publishes the model, logs the steps into the stage's MLflow run and writes the
metrics back for the stage.
"""

from __future__ import annotations

import ctypes
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

from soda import params
from soda.io import InputError, read_json, read_jsonl, write_json, write_jsonl
from soda.params import Launch, Train


def launched(launch: Launch | None) -> bool:
    """Whether a training runs under `accelerate launch`: asked for, and not already one rank of a launch."""
    if launch is None or "RANK" in os.environ:
        return False
    return launch.num_processes > 1 or launch.accelerate_config is not None


def free_port() -> int:
    """A port for the ranks' rendezvous: torchrun's fixed default would clash between stages run at once."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def command(launch: Launch, job: Path) -> list[str]:
    args = [sys.executable, "-m", "accelerate.commands.launch", "--num_processes", str(launch.num_processes),
            "--num_machines", "1", "--main_process_port", str(free_port())]
    if launch.accelerate_config is not None:
        args += ["--config_file", launch.accelerate_config]
    else:
        # --multi_gpu is DDP: NCCL on GPUs, gloo on a CPU-only machine (`--cpu` would run one process).
        # Mixed precision follows the params' bf16 (TrainingArguments), not the launcher.
        args += ["--multi_gpu", "--mixed_precision", "no", "--dynamo_backend", "no"]
    return [*args, "-m", "soda.launch", str(job)]


_prctl = ctypes.CDLL(None, use_errno=True).prctl if sys.platform == "linux" else None


def _die_with_stage():
    """The launcher gets SIGTERM when the stage dies (even by SIGKILL), and stops its ranks:
    a killed stage leaves no rank training on, racing the re-run for the checkpoints."""
    _prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def run(kind: str, base_path: str, rows: list[dict], out_dir, cfg: Train, seed: int, scratch_dir, head: str,
        scoring_format: str | None, chat_template: str, launch: Launch) -> dict:
    """Train under `accelerate launch` and wait; the metrics are rank 0's."""
    import mlflow

    config = launch.accelerate_config
    if config is not None and not Path(config).is_file():
        raise InputError(f"launch.accelerate_config: {config}: not found")
    Path(scratch_dir).mkdir(parents=True, exist_ok=True)
    for left in Path(scratch_dir).glob("launch-*"):  # a killed run's job (its checkpoints stay for the resume)
        shutil.rmtree(left, ignore_errors=True)
    with tempfile.TemporaryDirectory(dir=scratch_dir, prefix="launch-") as tmp:
        job = Path(tmp) / "job.json"
        write_jsonl(Path(tmp) / "rows.jsonl", rows)
        # the typed settings travel as their class (a soda.params Train) and its fields
        write_json(job, {"kind": kind, "base": base_path, "rows": str(Path(tmp) / "rows.jsonl"), "out": str(out_dir),
                         "settings": type(cfg).__name__, "cfg": cfg.model_dump(mode="json"), "seed": seed,
                         "scratch_dir": str(scratch_dir), "head": head, "scoring_format": scoring_format,
                         "chat_template": chat_template,
                         "metrics": str(Path(tmp) / "metrics.json"), "error": str(Path(tmp) / "error.json")})
        env = dict(os.environ)
        if (active := mlflow.active_run()) is not None:  # MLflow's own variables: rank 0 logs into the stage's run
            env.update(MLFLOW_TRACKING_URI=mlflow.get_tracking_uri(), MLFLOW_RUN_ID=active.info.run_id)
        # the ranks' output on stderr: stdout is the stage's report
        done = subprocess.run(command(launch, job), env=env, stdout=sys.stderr,
                              preexec_fn=_die_with_stage if _prctl else None)
        if (Path(tmp) / "error.json").exists():
            raise InputError(read_json(Path(tmp) / "error.json"))
        if done.returncode != 0:
            raise RuntimeError(f"{kind} training under accelerate launch failed (exit {done.returncode}); "
                               "the ranks' errors are above")
        return read_json(Path(tmp) / "metrics.json")


def settings(job: dict) -> Train:
    """The job's training settings, typed again (and checked again) as the stage had them."""
    cls = getattr(params, job["settings"])
    if not (isinstance(cls, type) and issubclass(cls, Train)):
        raise ValueError(f"launch job: {job['settings']!r} is not a training section")
    return cls.model_validate_json(json.dumps(job["cfg"]))


def work(job_path: str) -> None:
    """One rank's part: the same training as in one process."""
    from soda.train import finish, prepare

    job = read_json(job_path)
    try:
        prepared = prepare(job["kind"], job["base"], read_jsonl(job["rows"]), settings(job), job["seed"],
                           job["scratch_dir"], job["head"], job["scoring_format"], job["chat_template"])
    except InputError as e:
        # the stage reports bad input (one line, exit 2); every rank writes it, as the launcher
        # stops the others when the first fails
        write_json(job["error"], str(e))
        sys.exit(1)
    metrics = finish(prepared, job["out"])
    if prepared.trainer.is_world_process_zero():
        write_json(job["metrics"], metrics)


if __name__ == "__main__":
    work(sys.argv[1])
