"""The user's own inputs (issue 34): a seed file in data/seed/ and local models in
models/init/{student,scorer}/ are DVC dependencies of exactly the stages that read them, in a real
git + DVC repository: after `dvc repro` of the cheap stages, editing one makes `dvc status` report
its reader and nothing else. A model linked file by file (`cp -rs`) is hashed through its
symlinks, one added with `dvc add` through its .dvc file; a symlinked model directory, which DVC
does not look into, is refused."""

import contextlib
import json
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from conftest import dvc_repo, merge, sh
from soda.io import InputError
from soda.params import input_path, model_source

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.slow

QUESTIONS = [{"id": f"q{i}", "question": f"Write f{i}(x) returning x + {i}."} for i in range(6)]
TINY = {"vocab_size": 300, "hidden_size": 16, "num_layers": 1, "num_heads": 2, "intermediate_size": 32,
        "max_position": 64}
SMALL = {
    "world": {"source": "data/seed/seed.jsonl", "heldout_size": 0, "pretrain_size": 0},
    "student": {"init": "models/init/student/tiny", **TINY},
    "scorer": {"init": "models/init/scorer/tiny"},
    "pretrain": {"epochs": 0},
    "decontaminate": {"skip_missing": ["heldout"]},  # a user seed brings no held-out set
    "cycles": {"c1": {"prev": "base"}},
    "evaluate": {"models": ["base"]},
}


def tiny_model(path: Path) -> None:
    from soda.modeling import build_tokenizer, init_model, save_model

    tok = build_tokenizer([q["question"] for q in QUESTIONS] * 4, TINY["vocab_size"])
    model = init_model(tok, hidden_size=16, num_layers=1, num_heads=2, intermediate_size=32, max_position=64, seed=0)
    save_model(model, tok, path, {"role": "test"})


def stale(repo: Path, env: dict) -> set[str]:
    return set(json.loads(sh("dvc", "status", "--json", cwd=repo, env=env).stdout))


@pytest.fixture(scope="module")
def repo(tmp_path_factory):
    params = merge(yaml.safe_load((ROOT / "params.yaml").read_text()), SMALL)
    repo, env = dvc_repo(tmp_path_factory.mktemp("inputs"), params, tmp_path_factory.mktemp("remote"))
    (repo / "data/seed/seed.jsonl").write_text("".join(json.dumps(q) + "\n" for q in QUESTIONS))
    # The student: a big model elsewhere, linked file by file (models/init/README.md)
    elsewhere = tmp_path_factory.mktemp("elsewhere") / "tiny"
    tiny_model(elsewhere)
    sh("cp", "-rs", str(elsewhere), str(repo / "models/init/student/tiny"), cwd=repo)
    # The scorer: copied and tracked by DVC
    shutil.copytree(elsewhere, repo / "models/init/scorer/tiny")
    sh("dvc", "add", "-q", "models/init/scorer/tiny", cwd=repo, env=env)
    sh("git", "add", "-A", cwd=repo)
    sh("git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "inputs", cwd=repo)
    sh("dvc", "repro", "init-models", "decontaminate", cwd=repo, env=env)
    before = stale(repo, env)
    assert not before & {"world", "init-models", "decontaminate"}, before
    return repo, env, elsewhere, before


def changed(repo: Path, env: dict, before: set[str]) -> set[str]:
    now = stale(repo, env)
    assert before <= now, before - now
    return now - before


@contextlib.contextmanager
def edited(path: Path, edit):
    """`path` holds edit(its bytes) inside the block, its own bytes again after."""
    original = path.read_bytes()
    path.write_bytes(edit(original))
    try:
        yield
    finally:
        path.write_bytes(original)


def test_the_seed_is_read_from_data_seed(repo):
    repo, _, _, _ = repo
    assert (repo / "data/world/seed.jsonl").read_text().count('"question"') == len(QUESTIONS)


def test_editing_the_seed_makes_exactly_world_stale(repo):
    repo, env, _, before = repo
    question = json.dumps({"id": "q99", "question": "Write g(x) returning 2 * x."}).encode() + b"\n"
    try:
        with edited(repo / "data/seed/seed.jsonl", lambda b: b + question):
            assert changed(repo, env, before) == {"world"}
            # Its readers downstream follow as soon as world has run again.
            sh("dvc", "repro", "world", cwd=repo, env=env)
            assert {"init-models", "decontaminate"} <= changed(repo, env, before)
    finally:
        sh("dvc", "repro", "world", cwd=repo, env=env)  # back to the committed seed (from the run-cache)
    assert changed(repo, env, before) == set()


def test_a_linked_student_retrained_elsewhere_makes_exactly_init_models_stale(repo):
    """`cp -rs`: DVC hashes the files the symlinks point to."""
    repo, env, elsewhere, before = repo
    with edited(elsewhere / "model.safetensors", lambda b: b[:-1] + bytes([b[-1] ^ 1])):
        assert changed(repo, env, before) == {"init-models"}
    assert changed(repo, env, before) == set()


def test_a_dvc_added_scorer_changed_makes_init_models_stale(repo):
    repo, env, _, before = repo
    with edited(repo / "models/init/scorer/tiny/card.json", lambda b: b.replace(b"}", b', "note": "retrained"}')):
        assert changed(repo, env, before) == {"init-models", "models/init/scorer/tiny.dvc"}
    assert changed(repo, env, before) == set()


def test_editing_an_input_folders_readme_reruns_nothing(repo):
    repo, env, _, before = repo
    with edited(repo / "data/seed/README.md", lambda b: b + b"\nA note.\n"):
        assert changed(repo, env, before) == set()


def test_a_symlinked_model_directory_is_refused_and_nothing_written(repo, tmp_path):
    repo, env, elsewhere, _ = repo
    (repo / "models/init/student/linked").symlink_to(elsewhere)
    try:
        params = yaml.safe_load((repo / "params.yaml").read_text())
        params["student"]["init"] = "models/init/student/linked"
        (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
        metrics = tmp_path / "m.json"
        out = subprocess.run(["python", "-m", "stages", "init-models", "--params", str(tmp_path / "params.yaml"),
                              "--corpus-rows", "data/world/seed.jsonl", "--pretrain-rows", "data/world/pretrain.jsonl",
                              "--student-init-dir", "models/init/student", "--scorer-init-dir", "models/init/scorer",
                              "--student-out", str(tmp_path / "s"), "--scorer-out", str(tmp_path / "c"),
                              "--metrics", str(metrics)], cwd=repo, env=env, capture_output=True, text=True)
    finally:
        (repo / "models/init/student/linked").unlink()
    assert out.returncode == 2, out.stderr
    assert "student.init: models/init/student/linked is a symlink to a directory" in out.stderr
    assert not (tmp_path / "s").exists() and not (tmp_path / "c").exists() and not metrics.exists()


def test_a_path_outside_the_folder_or_a_local_folder_taken_for_a_hub_id_is_refused(tmp_path, monkeypatch):
    (tmp_path / "seed").mkdir()
    with pytest.raises(InputError, match="world.source: data/seed/none.jsonl not found"):
        input_path("world.source", "data/seed/none.jsonl", tmp_path / "seed")
    # "org/name" that exists here would be loaded by Hugging Face from this folder, untracked
    monkeypatch.chdir(tmp_path)
    (tmp_path / "me" / "coder").mkdir(parents=True)
    with pytest.raises(InputError, match="student.init: me/coder is a local path, not a hub id"):
        model_source("student.init", "me/coder", tmp_path)
    assert model_source("student.init", "deepseek-ai/deepseek-coder-1.3b-base", tmp_path) == \
        "deepseek-ai/deepseek-coder-1.3b-base"
    # a symlink to a directory deeper inside the model folder is refused too
    (tmp_path / "models" / "m" / "sub").mkdir(parents=True)
    (tmp_path / "models" / "m" / "link").symlink_to(tmp_path / "me")
    with pytest.raises(InputError, match="link is a symlink to a directory"):
        model_source("student.init", "models/init/student/m", tmp_path / "models")
