"""Multi-process training from `dvc repro` (params `launch`, soda/launch.py): csl-train and
fcl-train in 2 processes, DDP over gloo on CPU, through the dvc.yaml command."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
import yaml

from conftest import dvc_repo, merge, sh
from soda.io import InputError
from soda.launch import command, launched, settings
from soda.params import FclTrain, Launch, Pretrain, ScoreTrain, Train, validate
from test_crash import base, workdir, command as stage_command  # noqa: F401 (base: a fixture)

ROOT = Path(__file__).resolve().parent.parent

# Up to fcl-train@c1 on a tiny student, no pretraining (init-models trains nothing, so launches nothing).
# CSL: ~35 rows in batches of 2 on each of 2 processes, 3 epochs: ~27 steps, a checkpoint every 3.
SMALL = {
    "world": {"seed_size": 48, "heldout_size": 8, "pretrain_size": 0},
    "student": {"vocab_size": 512, "hidden_size": 32, "num_layers": 2, "num_heads": 2, "intermediate_size": 64},
    "pretrain": {"epochs": 0},
    "csl_train": {"epochs": 3, "batch_size": 2, "save_steps": 3, "logging_steps": 1},
    "fcl_train": {"epochs": 1, "batch_size": 2, "save_steps": 2, "logging_steps": 1},
    "launch": {"num_processes": 2},
    "cycles": {"c1": {"prev": "base"}},
    "evaluate": {"models": ["base", "c1"]},
}
STAGES = ("csl-train@c1", "fcl-train@c1")


def test_the_launch_command():
    one, two = Launch(num_processes=1, accelerate_config=None), Launch(num_processes=2, accelerate_config=None)
    fsdp = Launch(num_processes=8, accelerate_config="soda/configs/accelerate_fsdp.yaml")
    assert not launched(one) and not launched(None) and launched(two)
    assert launched(Launch(num_processes=1, accelerate_config="soda/configs/accelerate_fsdp.yaml"))
    ddp = command(two, Path("job.json"))
    # --multi_gpu, not --cpu: on a CPU-only machine it is DDP over gloo; --cpu runs one process
    assert ddp[1:3] == ["-m", "accelerate.commands.launch"] and "--multi_gpu" in ddp and "--cpu" not in ddp
    assert ddp[ddp.index("--num_processes") + 1] == "2" and ddp[-3:] == ["-m", "soda.launch", "job.json"]
    sharded = command(fsdp, Path("job.json"))
    assert sharded[sharded.index("--config_file") + 1] == "soda/configs/accelerate_fsdp.yaml"
    assert "--multi_gpu" not in sharded


def test_an_accelerate_config_is_one_of_the_training_stages_deps():
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    for path in ("accelerate_fsdp.yaml", "/tmp/accelerate_fsdp.yaml", "soda/configs/paper.yaml"):
        with pytest.raises(InputError, match="^params: launch.accelerate_config: .* soda/configs/accelerate_"):
            validate(merge(params, {"launch": {"accelerate_config": path}}))
    from soda.tools.deps import code_deps

    for stage in ("init-models", "score-train", "csl-train", "fcl-train", "feedback"):
        assert {f"soda/configs/accelerate_{k}.yaml" for k in ("ddp", "fsdp", "zero3")} <= set(code_deps(stage))


def test_the_ranks_get_the_stages_typed_settings():
    """The job carries a training section as its class and fields: each rank validates it again."""
    params = validate(merge(yaml.safe_load((ROOT / "params.yaml").read_text()),
                            {"train": {"lora": {"r": 4, "alpha": 8, "dropout": 0.0, "target_modules": ["q_proj"]}}}))
    for name, cls in (("pretrain", Pretrain), ("csl_train", Train), ("fcl_train", FclTrain),
                      ("score_train", ScoreTrain)):
        cfg = cls.model_validate(params[name])
        job = json.loads(json.dumps({"settings": type(cfg).__name__, "cfg": cfg.model_dump(mode="json")}))
        again = settings(job)
        assert type(again) is cls and again == cfg


@pytest.mark.slow
def test_bad_input_found_in_the_ranks_is_the_stages_one_line_error(base, tmp_path):
    cwd = workdir(tmp_path / "w", "csl-train")
    params = yaml.safe_load((cwd / "params.yaml").read_text())
    params["csl_train"]["max_length"] = 2  # every prompt is longer: found when the ranks tokenise
    params["launch"]["num_processes"] = 2
    (cwd / "params.yaml").write_text(yaml.safe_dump(params))
    done = subprocess.run(stage_command("csl-train", base), cwd=cwd, capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=600)
    assert done.returncode == 2 and done.stderr.splitlines()[-1].startswith("error: 16 of 16 examples have a prompt of "
                                                                         "max_length=2 tokens"), done.stderr[-3000:]
    assert not (cwd / "models").exists() and not (cwd / "metrics.json").exists()


def mlflow_runs(repo: Path, env: dict) -> list[dict]:
    code = ("import mlflow, json; c = mlflow.MlflowClient();"
            "runs = mlflow.search_runs(experiment_names=['soda'], output_format='list', order_by=['attributes.start_time ASC']);"
            "print(json.dumps([{'name': r.info.run_name, 'status': r.info.status, 'params': r.data.params,"
            " 'metrics': r.data.metrics, 'loss_steps': [m.step for k in ('csl/loss', 'fcl/loss')"
            " for m in c.get_metric_history(r.info.run_id, k)]} for r in runs]))")
    return json.loads(sh(sys.executable, "-c", code, cwd=repo, env=env).stdout)


@pytest.fixture(scope="module")
def repo(tmp_path_factory):
    params = merge(yaml.safe_load((ROOT / "params.yaml").read_text()), SMALL)
    repo, env = dvc_repo(tmp_path_factory.mktemp("soda-launch"), params, tmp_path_factory.mktemp("remote"))
    done = sh("dvc", "repro", *STAGES, cwd=repo, env=env)
    return repo, env, done.stdout + done.stderr


@pytest.mark.slow
def test_csl_and_fcl_train_in_two_processes_through_dvc_repro(repo):
    repo, env, log = repo
    for kind in ("csl", "fcl"):  # every rank trains
        for rank in (0, 1):
            assert f"{kind} rank {rank} of 2: steps 1-" in log, (kind, rank, log[-3000:])
    for stage in STAGES:
        name, cycle = stage.split("@")
        assert json.loads((repo / "metrics" / cycle / f"{name}.json").read_text())["world_size"] == 2
        run = next(r for r in mlflow_runs(repo, env) if r["name"] == stage)
        assert run["status"] == "FINISHED" and run["params"]["launch.num_processes"] == "2"
        assert run["metrics"][f"{name.replace('-', '_')}.world_size"] == 2
        # rank 0 logged every step into the stage's run, once
        assert run["loss_steps"] == list(range(1, int(run["metrics"][f"{name.replace('-', '_')}.steps"]) + 1))
    from soda.modeling import load_model

    for path in ("models/c1/csl", "models/c1/student"):
        model, tokenizer = load_model(str(repo / path))
        assert model.num_parameters() > 0 and tokenizer.eos_token_id is not None
    assert json.loads((repo / "models/c1/student/card.json").read_text())["metrics"]["world_size"] == 2
    assert json.loads(sh("dvc", "status", "--json", *STAGES, cwd=repo, env=env).stdout) == {}


def launched_ranks(repo: Path) -> list[psutil.Process]:
    """The live processes of a launch in this repository (the launcher and its ranks)."""
    found = []
    for p in psutil.process_iter(["cmdline", "status"]):
        cmd = " ".join(p.info["cmdline"] or [])
        if p.info["status"] != psutil.STATUS_ZOMBIE and "soda.launch" in cmd and str(repo) in cmd:
            found.append(p)
    return found


@pytest.mark.slow
def test_kill_9_of_the_stage_in_two_processes_then_repro_resumes_to_the_same_bytes(repo):
    """SIGKILL of csl-train's own process (not its ranks) after a checkpoint: the ranks stop with
    it, and the stage run again resumes from the checkpoint and publishes the bytes of the
    uninterrupted 2-process run (fcl-train, downstream, stays up to date)."""
    repo, env, _ = repo
    lock = yaml.safe_load((repo / "dvc.lock").read_text())["stages"]
    dvc = subprocess.Popen(["dvc", "repro", "-f", "-s", "csl-train@c1"], cwd=repo, env=env, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True)
    try:
        for line in dvc.stdout:
            if " step 7/" in line:  # past the checkpoint of step 6
                break
        else:
            pytest.fail("csl-train ended before step 7")
        stage = next(p for p in psutil.Process(dvc.pid).children(recursive=True)
                     if p.cmdline()[1:4] == ["-m", "stages", "csl-train"])
        stage.send_signal(signal.SIGKILL)
    finally:
        dvc.wait(timeout=120)
    assert dvc.returncode != 0 and not (repo / "models/c1/csl").exists()
    deadline = time.monotonic() + 60
    while launched_ranks(repo):
        assert time.monotonic() < deadline, "the ranks outlived the killed stage"
        time.sleep(0.5)
    # forced again: the cache holds the first run's output, which a plain repro would check out
    assert list((repo / ".soda" / "scratch").rglob("launch-*"))  # the killed run's job
    done = sh("dvc", "repro", "-f", "-s", "csl-train@c1", cwd=repo, env=env)
    assert "'resumed_from': 'checkpoint-" in done.stdout, done.stdout[-3000:]
    assert not list((repo / ".soda" / "scratch").rglob("launch-*"))
    assert yaml.safe_load((repo / "dvc.lock").read_text())["stages"] == lock
    assert json.loads(sh("dvc", "status", "--json", *STAGES, cwd=repo, env=env).stdout) == {}
