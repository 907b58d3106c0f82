"""Bad input to a stage: one line naming the key, file or row, exit 2, outputs untouched.

Each case of issue 18's "bad input that is not refused" list runs the real stage command
(`python -m soda.stage`) over outputs that already exist, and checks they are unchanged.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
OUTS = ("--teacher-out", "d/teacher.jsonl", "--csl-out", "d/csl.jsonl", "--fcl-out", "d/fcl.jsonl")
OLD = "an output of an earlier run\n"
QUESTIONS = [{"id": f"q{i}", "question": f"Write f{i}(x) returning x + {i}."} for i in range(3)]
FEEDBACK = [{"id": f"q{i}", "answer": "", "passed": False, "status": "fail", "error_class": None, "score": 1,
             "level": "hard"} for i in range(3)]
EVOLVE_OUTS = {"--evolved-out": "d/evolved.jsonl", "--questions-out": "d/next.jsonl",
               "--report-jsonl": "d/report.jsonl", "--report-csv": "d/report.csv", "--metrics": "m.json"}


def params(**changes):
    """params.yaml with `section.key: value` changes."""
    p = yaml.safe_load((ROOT / "params.yaml").read_text())
    for key, value in changes.items():
        section, name = key.split("__")
        p[section][name] = value
    return p


def run_stage(module, *args, params=None, cwd):
    path = cwd / "params.yaml"
    path.write_text(yaml.safe_dump(params or yaml.safe_load((ROOT / "params.yaml").read_text())))
    return subprocess.run([sys.executable, "-m", "stages", module, "--params", str(path), *args], cwd=cwd,
                          capture_output=True, text=True, env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
                          timeout=300)


def write_rows(path: Path, rows: list[dict]) -> str:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path.name


def existing(cwd: Path, *paths: str) -> None:
    """Outputs of an earlier run, which a refused run must leave as they are."""
    for p in paths:
        (cwd / p).parent.mkdir(parents=True, exist_ok=True)
        (cwd / p).write_text(OLD)


def refused(out, cwd: Path, outputs, *named: str) -> None:
    lines = out.stderr.strip().splitlines()
    assert out.returncode == 2 and len(lines) == 1 and lines[0].startswith("error: "), out.stderr[-3000:]
    for text in named:
        assert text in lines[0], (text, lines[0])
    for p in outputs:
        assert (cwd / p).read_text() == OLD, p


@pytest.fixture
def work(tmp_path):
    rows = [{"id": "q1", "prompt": "### Question\nx\n### Solution\n", "completion": "def f():\n    return 1\n"}]
    write_rows(tmp_path / "csl.jsonl", rows)
    (tmp_path / "empty.jsonl").write_text("")
    write_rows(tmp_path / "questions.jsonl", QUESTIONS)
    write_rows(tmp_path / "heldout.jsonl", [])
    return tmp_path


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    """A real tiny model directory."""
    from soda.modeling import build_tokenizer, init_model, save_model

    path = tmp_path_factory.mktemp("model") / "student"
    tok = build_tokenizer([q["question"] for q in QUESTIONS], vocab_size=300)
    save_model(init_model(tok, hidden_size=16, num_layers=1, num_heads=2, intermediate_size=32), tok, path, {})
    return path


def evolve(work, feedback: str, p=None):
    existing(work, *EVOLVE_OUTS.values())
    args = [a for kv in EVOLVE_OUTS.items() for a in kv]
    return run_stage("evolve", "--cycle", "c1", "--questions", "questions.jsonl", "--teacher", "questions.jsonl",
                     "--feedback", feedback,
                     "--heldout", "heldout.jsonl", "--benchmarks", ".", "--teacher-model-dir", ".", *args, params=p, cwd=work)


def train(work, stage: str, model, data: str, p=None):
    existing(work, "models/out/model.safetensors", "m.json")
    fcl = ["--questions", "questions.jsonl", "--teacher", "questions.jsonl"] if stage == "fcl-train" else []
    return run_stage(stage, "--cycle", "c1", "--model", str(model), "--data", data, *fcl, "--out", "models/out",
                     "--metrics", "m.json", params=p, cwd=work)


TRAIN_OUTS = ("models/out/model.safetensors", "m.json")


# ----------------------------------------------------------------------------- issue 18's list


def test_empty_feedback_is_refused_not_written_over_evolve_outputs(work):
    out = evolve(work, "empty.jsonl")
    refused(out, work, EVOLVE_OUTS.values(), "empty.jsonl", "feedback set is empty")


@pytest.mark.parametrize("ratio", [[float("inf"), 0, 0], [0, float("inf"), 1]])
def test_infinite_evolve_ratio(work, ratio):
    out = evolve(work, write_rows(work / "feedback.jsonl", FEEDBACK), params(evolve__ratio=ratio))
    refused(out, work, EVOLVE_OUTS.values(), "evolve.ratio", "finite")


def test_negative_num_new(work):
    out = evolve(work, write_rows(work / "feedback.jsonl", FEEDBACK), params(evolve__num_new=-5))
    refused(out, work, EVOLVE_OUTS.values(), "evolve.num_new")


def test_feedback_row_without_level(work):
    rows = [FEEDBACK[0], {k: v for k, v in FEEDBACK[1].items() if k != "level"}, FEEDBACK[2]]
    out = evolve(work, write_rows(work / "feedback.jsonl", rows))
    refused(out, work, EVOLVE_OUTS.values(), "feedback.jsonl", "row 2", "'q1'", "'level'")


def test_feedback_row_with_an_unknown_level(work):
    out = evolve(work, write_rows(work / "feedback.jsonl", [FEEDBACK[0], {**FEEDBACK[1], "level": "hrad"}]))
    refused(out, work, EVOLVE_OUTS.values(), "feedback.jsonl", "row 2", "'hrad'")


def test_truncated_model_weights_name_the_file(work, model, tmp_path):
    import shutil

    broken = tmp_path / "broken"
    shutil.copytree(model, broken)
    weights = broken / "model.safetensors"
    os.truncate(weights, weights.stat().st_size - 100)
    out = train(work, "csl-train", broken, "csl.jsonl")
    refused(out, work, TRAIN_OUTS, f"{weights}: not a complete safetensors file")


def test_feedback_timeout_zero(work, model):
    existing(work, "d/feedback.jsonl", "m.json")
    out = run_stage("feedback", "--cycle", "c1", "--questions", "questions.jsonl", "--teacher", "questions.jsonl",
                    "--student", str(model),
                    "--scorer", str(model), "--teacher-model-dir", ".", "--out", "d/feedback.jsonl", "--metrics", "m.json",
                    params=params(feedback__timeout_s=0), cwd=work)
    refused(out, work, ("d/feedback.jsonl", "m.json"), "feedback.timeout_s")


@pytest.mark.parametrize("path", ["models/c1/student", "no_such_model"])
def test_missing_model_dir_is_not_found_not_a_hub_id(work, path):
    out = train(work, "csl-train", path, "csl.jsonl")
    refused(out, work, TRAIN_OUTS, f"{path}: not found")


def test_fcl_row_without_rejected(work, model):
    rows = [{"id": "p1", "prompt": "### Question\nx\n", "chosen": "a", "rejected": "b"},
            {"id": "p2", "prompt": "### Question\ny\n", "chosen": "a"}]
    out = train(work, "fcl-train", model, write_rows(work / "fcl.jsonl", rows))
    refused(out, work, TRAIN_OUTS, "fcl.jsonl", "row 2", "'p2'", "'rejected'")


# ----------------------------------------------------------------------------- other inputs


def test_unknown_param_key_names_it(work, model):
    out = train(work, "csl-train", model, "csl.jsonl", params(csl_train__learning_rate=0.1))
    refused(out, work, TRAIN_OUTS, "unknown key csl_train.learning_rate")


def test_csl_row_without_completion(work, model):
    out = train(work, "csl-train", model, write_rows(work / "bad.jsonl", [{"id": "x", "prompt": "p"}]))
    refused(out, work, TRAIN_OUTS, "bad.jsonl", "row 1", "'completion'")


def test_question_row_without_question(work):
    existing(work, "d/teacher.jsonl", "d/csl.jsonl", "d/fcl.jsonl", "m.json")
    out = run_stage("teacher-generate", "--cycle", "c1", "--questions",
                    write_rows(work / "q.jsonl", [QUESTIONS[0], {"id": "q9"}]), "--teacher-model-dir", ".", *OUTS, "--metrics", "m.json", cwd=work)
    refused(out, work, ("d/teacher.jsonl", "m.json"), "q.jsonl", "row 2", "'question'")


def test_missing_input_file_and_empty_question_set(work):
    existing(work, "d/teacher.jsonl", "d/csl.jsonl", "d/fcl.jsonl", "m.json")
    out = run_stage("teacher-generate", "--cycle", "c1", "--questions", "nope.jsonl", "--teacher-model-dir", ".", *OUTS, "--metrics",
                    "m.json", cwd=work)
    refused(out, work, ("d/teacher.jsonl", "m.json"), "nope.jsonl: not found")
    out = run_stage("teacher-generate", "--cycle", "c1", "--questions", "empty.jsonl", "--teacher-model-dir", ".", *OUTS, "--metrics",
                    "m.json", cwd=work)
    refused(out, work, ("d/teacher.jsonl", "m.json"), "empty.jsonl: the question set is empty")


def test_bad_cycle_chain_and_ratio(work):
    p = yaml.safe_load((ROOT / "params.yaml").read_text())
    p["cycles"]["c2"]["prev"] = "c0"
    world = ("--seed-dir", ".", "--seed-out", "s", "--heldout-out", "h", "--pretrain-out", "p", "--metrics", "w.json")
    existing(work, "s", "w.json")
    refused(run_stage("world", *world, params=p, cwd=work), work, ("s", "w.json"), "cycles.c2.prev names 'c0'")
    refused(run_stage("world", *world, params=params(evolve__ratio=[1, 1]), cwd=work), work, ("s", "w.json"),
            "evolve.ratio")
