"""The real path end to end (soda.tools.e2e): README's own-seed recipe with a locally built
Qwen2-format chat student and scorer (chat template, no pad token) in models/init/, the authors'
released questions in data/seed/, an OpenAI-compatible teacher on 127.0.0.1, `dvc repro` of every
stage; then what DVC sees of the user's edits: the seed (its consumer stale, and everything
downstream with it), the teacher's endpoint (nothing), the teacher's model (the teacher's stages).
The three `dvc status` outputs are written to /tmp/e2e-status.txt."""

import json
from pathlib import Path

import networkx as nx
import pytest
import yaml

from conftest import sh
from soda.prompts import has_chat_template
from soda.tools.e2e import SCORER, SMALL, STUDENT, real_path, stale

SHARED = Path(__file__).resolve().parent.parent.parent / "shared"
pytestmark = [pytest.mark.slow, pytest.mark.shared,
              pytest.mark.skipif(not (SHARED / "sodacoder-samples").exists() or not (SHARED / "benchmarks").exists(),
                                 reason="needs ../shared")]

MODEL = {"vocab": 512, "max_position": 2048}  # the recipe's train.max_length


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    run = real_path(tmp_path_factory.mktemp("real-path"), SHARED, SMALL, MODEL)
    assert run.error is None, run.error
    return run


def dag(repo: Path):
    """dvc.yaml's stages by name, and its graph (an edge from each stage to those it depends on)."""
    from dvc.repo import Repo

    with Repo(str(repo)) as r:
        graph = r.index.graph
        return {s.name: s for s in graph}, graph


def params_of(stage) -> set[str]:
    from dvc.dependency.param import ParamsDependency

    return {p for d in stage.deps if isinstance(d, ParamsDependency) for p in d.params}


def test_every_stage_ran_with_the_chat_template(run):
    stages, _ = dag(run.repo)
    assert set(run.ran) == set(stages), run.out
    assert run.teacher.asked["ab"] >= 100 and run.teacher.asked["scoring"] and run.teacher.asked["evolve"]
    # the user's model as README says to build one: a chat template, no pad token
    tok = json.loads((run.repo / STUDENT / "tokenizer_config.json").read_text())
    assert has_chat_template(run.repo / STUDENT) and has_chat_template(run.repo / SCORER) and tok["pad_token"] is None
    # every model trained on it (models/base/student is the user's model as it came)
    for model in ("c1/csl", "c1/student", "scorer"):
        card = json.loads((run.repo / "models" / model / "card.json").read_text())
        assert card.get("chat_template") is True, (model, card)
    evaluated = json.loads((run.repo / "metrics" / "evaluate" / "c1.json").read_text())["benchmarks"]
    assert set(evaluated) == {"humaneval", "mbpp"}


def test_dvc_status_reports_exactly_the_stages_an_edit_reaches(run):
    repo, env = run.repo, run.env
    stages, graph = dag(repo)
    clean, none = stale(repo, env)
    assert not none, clean
    report = []

    def note(what, out):  # written as it comes: a failing step's output is there too
        report.append(f"$ dvc status   # {what}\n{out}\n")
        Path("/tmp/e2e-status.txt").write_text("".join(report))

    # The seed: its one consumer is stale; repro would run it and everything downstream of it.
    seed = repo / "data" / "seed" / "seed.jsonl"
    before = seed.read_text()
    seed.write_text(before + json.dumps({"id": "new", "question": "Write a function that reverses a string."}) + "\n")
    out, names = stale(repo, env)
    note("after appending a question to data/seed/seed.jsonl", out)
    readers = {n for n, s in stages.items() if any(d.def_path == "data/seed" for d in s.deps)}
    assert names == readers == {"world"}, out
    dry = sh("dvc", "repro", "--dry", "--force-downstream", cwd=repo, env=env).stdout
    would = {line.split("'")[1] for line in dry.splitlines() if line.startswith("Running stage")}
    downstream = {s.name for s in nx.ancestors(graph, stages["world"])}
    assert would == {"world"} | downstream and would == set(stages), dry
    seed.write_text(before)
    assert not stale(repo, env)[1]

    params = yaml.safe_load((repo / "params.yaml").read_text())
    # The teacher's endpoint changes no output.
    params["runtime"]["teacher"]["base_url"] = "http://127.0.0.1:9/v1"
    (repo / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    out, names = stale(repo, env)
    note("after changing runtime.teacher.base_url", out)
    assert not names, out

    # The teacher's model: exactly the stages that read the teacher section.
    params["teacher"]["model"] = "another-teacher"
    (repo / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    out, names = stale(repo, env)
    note("after changing teacher.model", out)
    readers = {n for n, s in stages.items() if "teacher" in params_of(s)}
    assert names == readers == {"score-train", "teacher-generate@c1", "feedback@c1", "evolve@c1"}, out
