"""Bad input to a stage: a clear error naming the key or path, exit 2, and no output written."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
OUTS = ("--teacher-out", "d/teacher.jsonl", "--csl-out", "d/csl.jsonl", "--fcl-out", "d/fcl.jsonl")


def run_stage(module, *args, params=None, cwd):
    path = cwd / "params.yaml"
    path.write_text(yaml.safe_dump(params or yaml.safe_load((ROOT / "params.yaml").read_text())))
    return subprocess.run([sys.executable, "-m", "soda.stage", module, "--params", str(path), *args], cwd=cwd,
                          capture_output=True, text=True, env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
                          timeout=300)


@pytest.fixture
def work(tmp_path):
    rows = [{"id": "q1", "prompt": "### Question\nx\n### Solution\n", "completion": "def f():\n    return 1\n"}]
    (tmp_path / "csl.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (tmp_path / "empty.jsonl").write_text("")
    return tmp_path


def test_unknown_param_key_names_it(work):
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    params["csl_train"]["learning_rate"] = 0.1
    out = run_stage("csl-train", "--cycle", "c1", "--model", "m", "--data", "csl.jsonl", "--out", "o", "--metrics",
                    "m.json", params=params, cwd=work)
    assert out.returncode == 2 and "unknown key csl_train.learning_rate" in out.stderr


def test_missing_model_path_names_it_and_writes_nothing(work):
    out = run_stage("csl-train", "--cycle", "c1", "--model", "no/such/model", "--data", "csl.jsonl", "--out",
                    "models/out", "--metrics", "m.json", cwd=work)
    assert out.returncode == 2 and "no/such/model" in out.stderr
    assert not (work / "models").exists() and not (work / "m.json").exists()


def test_missing_input_file_and_empty_question_set(work):
    out = run_stage("teacher-generate", "--cycle", "c1", "--questions", "nope.jsonl", *OUTS, "--metrics",
                    "m.json", cwd=work)
    assert out.returncode == 2 and "nope.jsonl: file not found" in out.stderr
    out = run_stage("teacher-generate", "--cycle", "c1", "--questions", "empty.jsonl", *OUTS, "--metrics",
                    "m.json", cwd=work)
    assert out.returncode == 2 and "empty.jsonl: the question set is empty" in out.stderr
    assert not (work / "d").exists()


def test_bad_cycle_chain_and_ratio(work):
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    params["cycles"]["c2"]["prev"] = "c0"
    out = run_stage("world", "--seed-out", "s", "--heldout-out", "h", "--pretrain-out", "p", "--metrics", "w.json", params=params, cwd=work)
    assert out.returncode == 2 and "cycles.c2.prev names 'c0'" in out.stderr
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    params["evolve"]["ratio"] = [1, 1]
    out = run_stage("world", "--seed-out", "s", "--heldout-out", "h", "--pretrain-out", "p", "--metrics", "w.json", params=params, cwd=work)
    assert out.returncode == 2 and "evolve.ratio" in out.stderr
    assert not (work / "s").exists()
