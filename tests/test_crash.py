"""Crash anywhere, same bytes: `kill -9` of a training stage at a random step, then the same
command again, publishes the model an uninterrupted run publishes, byte for byte."""

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent

QUESTIONS = [f"Write a function add_{i}(x) that returns x plus {i}." for i in range(16)]
CORRECT = [f"def add_{i}(x):\n    return x + {i}\n" for i in range(16)]
FAULTY = [f"def add_{i}(x):\n    return x - {i}\n" for i in range(16)]
ROWS = {
    "csl-train": [{"id": f"q{i}", "prompt": f"### Question\n{q}\n### Solution\n", "completion": c}
                  for i, (q, c) in enumerate(zip(QUESTIONS, CORRECT))],
    "fcl-train": [{"id": f"q{i}", "prompt": f"### Question\n{q}\n### Solution\n", "chosen": c, "rejected": f}
                  for i, (q, c, f) in enumerate(zip(QUESTIONS, CORRECT, FAULTY))],
}
# 16 rows in batches of 2 accumulated by 2: 4 steps an epoch, 48 in all, a checkpoint every 3.
# The kill comes by step 12: a step takes ~20 ms here, so 36+ steps and the publishing (~2 s)
# are left as margin for a slow reader (with 12 steps a run on an idle box could finish first).
TRAIN = {"epochs": 12, "batch_size": 2, "grad_accum": 2, "save_steps": 3, "logging_steps": 1, "lr": 0.01,
         "max_length": 128}


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    from soda.modeling import build_tokenizer, init_model, save_model

    path = tmp_path_factory.mktemp("base") / "model"
    tok = build_tokenizer([r["prompt"] + r["completion"] for r in ROWS["csl-train"]] + FAULTY, vocab_size=320)
    save_model(init_model(tok, hidden_size=32, num_layers=2, num_heads=2, intermediate_size=64), tok, path, {})
    return path


def workdir(path: Path, stage: str) -> Path:
    path.mkdir()
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    params[stage.replace("-", "_")].update(TRAIN)
    (path / "params.yaml").write_text(yaml.safe_dump(params))
    (path / "data.jsonl").write_text("".join(json.dumps(r) + "\n" for r in ROWS[stage]))
    # fcl-train's questions and teacher rows (read only for on-policy rejected solutions)
    (path / "questions.jsonl").write_text("".join(json.dumps({"id": f"q{i}", "question": q}) + "\n"
                                                  for i, q in enumerate(QUESTIONS)))
    (path / "teacher.jsonl").write_text("".join(json.dumps({"id": f"q{i}", "lang": "python"}) + "\n" for i in range(16)))
    return path


def command(stage: str, base: Path) -> list[str]:
    fcl = ["--questions", "questions.jsonl", "--teacher", "teacher.jsonl"] if stage == "fcl-train" else []
    return [sys.executable, "-m", "stages", stage, "--cycle", "c1", "--model", str(base), "--data", "data.jsonl",
            *fcl, "--out", "models/out", "--metrics", "metrics.json"]


def run(stage: str, base: Path, cwd: Path) -> str:
    """The stage's report on stdout (the metrics with how the run went: where it resumed from)."""
    done = subprocess.run(command(stage, base), cwd=cwd, env={**os.environ, "PYTHONPATH": str(ROOT)},
                          capture_output=True, text=True, timeout=1200)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def kill_at_random_step(stage: str, base: Path, cwd: Path, rng: random.Random) -> int:
    """Start the stage, SIGKILL it a random moment after a random step past the first
    checkpoint (StepLog prints each step on stderr); return that step."""
    step = rng.randint(TRAIN["save_steps"] + 1, 12)
    proc = subprocess.Popen(command(stage, base), cwd=cwd, env={**os.environ, "PYTHONPATH": str(ROOT)},
                            stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
    try:
        for line in proc.stderr:
            if f" step {step}/" in line:
                break
        else:
            pytest.fail(f"the stage ended before step {step}")
        time.sleep(rng.uniform(0, 0.1))  # now and then inside a checkpoint's save
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait()
    assert proc.returncode == -signal.SIGKILL
    return step


@pytest.mark.slow
@pytest.mark.parametrize("stage", ["csl-train", "fcl-train"])
def test_kill_9_then_rerun_publishes_the_same_bytes(base, tmp_path, stage):
    straight = run(stage, base, workdir(tmp_path / "straight", stage))
    seed = random.randrange(1 << 30)
    killed = workdir(tmp_path / "killed", stage)
    step = kill_at_random_step(stage, base, killed, random.Random(seed))
    assert not (killed / "models" / "out").exists() and not (killed / "metrics.json").exists()
    resumed = run(stage, base, killed)
    where = f"killed after step {step} (seed {seed})"
    assert "'resumed_from': 'checkpoint-" in resumed and "'resumed_from': None" in straight, where
    files = sorted(p.name for p in (tmp_path / "straight" / "models" / "out").iterdir())
    assert files == sorted(p.name for p in (killed / "models" / "out").iterdir())
    for name in files:
        assert (tmp_path / "straight" / "models" / "out" / name).read_bytes() == (killed / "models" / "out" / name).read_bytes(), (name, where)
    # The metrics file is an output too (dvc.lock hashes it): timing and resuming stay out of it.
    assert (tmp_path / "straight" / "metrics.json").read_bytes() == (killed / "metrics.json").read_bytes(), where
