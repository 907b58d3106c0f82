"""The SODA authors' released questions as the seed (no `lang`) and their teacher's released
answers as the teacher, served by an OpenAI-compatible server on 127.0.0.1: the questions keep
their (correct, faulty) pairs in the language the teacher answered in."""

import collections
import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from soda.backends.llm_teacher import LLMTeacher
from soda.backends.openai import OpenAIBackend
from soda.io import read_jsonl, write_jsonl
from soda.params import Params, load_params
from soda.teacher_generate import deliver_file
from soda.tools.bench.openai_server import OpenAIServer
from soda.prompts import render
from stages import command

ROOT = Path(__file__).resolve().parents[1]
PAIRS = ROOT.parent / "shared" / "sodacoder-samples" / "pairwise_data.json"
pytestmark = [pytest.mark.shared, pytest.mark.skipif(not PAIRS.exists(), reason="needs ../shared/sodacoder-samples")]
# Nearly every question is asked for both solutions (the FCL share), so that a kept question is a kept pair.
FCL_FRACTION = 0.99


@pytest.fixture(scope="module")
def released():
    """(question rows without lang, a server answering prompts A and B of the paper set with the released texts)."""
    pairs = json.loads(PAIRS.read_text())
    questions = [{"id": f"r{i:03d}", "question": p["instruction"]} for i, p in enumerate(pairs)]
    answers = {}
    for q, p in zip(questions, pairs):
        answers[render("correct", "paper", question=q["question"])] = p["response"][0]
        answers[render("faulty", "paper", question=q["question"])] = p["response"][1]

    def respond(prompt, max_tokens, seed, temperature, top_p):
        return answers[prompt], "stop"

    with OpenAIServer(["teacher"], respond=respond) as srv:
        yield questions, srv


def check_kept(rows: list[dict]) -> collections.Counter:
    kept = [r for r in rows if not r["dropped"]]
    assert len(kept) >= 93
    # Every kept FCL question has both solutions, in the language recorded for it.
    assert all(r["correct"] and r["faulty"] for r in kept if r["split"] == "fcl")
    langs = collections.Counter(r["lang"] for r in kept)
    assert len(langs) >= 5 and {"python", "js", "cpp", "java", "sql"} <= set(langs)
    return langs


def test_released_answers_keep_their_pairs_in_every_language(released, tmp_path):
    questions, srv = released
    teacher = LLMTeacher(OpenAIBackend("teacher", base_url=srv.url, concurrency=4))
    params = Params.model_validate(load_params(ROOT / "params.yaml"))
    write_jsonl(tmp_path / "seed.jsonl", questions)
    outs = tuple(str(tmp_path / name) for name in ("teacher.jsonl", "csl.jsonl", "fcl.jsonl"))
    counts = deliver_file(teacher, str(tmp_path / "seed.jsonl"), outs, fcl_fraction=FCL_FRACTION, seed=0,
                          timeout_s=params.teacher_generate.timeout_s, cache=None,
                          student_prompt=params.generation.student_prompt)
    rows, csl, fcl = (read_jsonl(p) for p in outs)
    langs = check_kept(rows)
    assert counts["kept"] == len(csl) + len(fcl) == sum(langs.values())
    assert counts["lang_js"] == langs["js"] >= 5
    # Where no prose answer or a shell command stands in for the solution, the drop says why.
    assert {r["dropped"] for r in rows if r["dropped"]} <= {"no_code", "faulty: no_code"}


def test_the_teacher_generate_stage_on_the_released_seed(released, tmp_path):
    questions, srv = released
    (tmp_path / "seed.jsonl").write_text("".join(json.dumps(q) + "\n" for q in questions))
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    params["teacher"].update(backend="openai", model="teacher")
    params["runtime"]["teacher"]["base_url"] = srv.url
    params["teacher_generate"]["fcl_fraction"] = FCL_FRACTION
    params["runtime"]["cache_dir"] = str(tmp_path / "cache")
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    cmd = command("teacher-generate", "params.yaml", cycle="c1", questions="seed.jsonl", teacher_model_dir=".",
                  teacher_out="c1/teacher.jsonl",
                  csl_out="c1/csl.jsonl", fcl_out="c1/fcl.jsonl", metrics="m.json")
    done = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, timeout=600,
                          env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, done.stderr[-2000:]
    rows = [json.loads(line) for line in (tmp_path / "c1" / "teacher.jsonl").read_text().splitlines()]
    check_kept(rows)
    fcl = [json.loads(line) for line in (tmp_path / "c1" / "fcl.jsonl").read_text().splitlines()]
    # The student is shown prompt A of the paper when generation.student_prompt says so (params.yaml: compact).
    assert all(r["prompt"].startswith("### Question\n") for r in fcl)
