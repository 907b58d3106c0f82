"""LLMTeacher through the openai backend, against a local server that plays a teacher."""

import hashlib
from pathlib import Path

import pytest

from soda.backends.llm_teacher import LLMTeacher
from soda.backends.openai import OpenAIBackend
from soda.tools.bench.openai_server import OpenAIServer
from soda.prompts import render, system

SCORE = ("Code Analysis: the code adds.\nScore:\nRule 1. Basic Functionality: 2\nRule 2. Boundary Check: 1\n"
         "Rule 3. Requirement Coverage: 1\nRule 4. Readability and Documentation: 0.5\nRule 5. Coding Practices: 0\n")


def teacher_responder(prompt, max_tokens, seed, temperature, top_p):
    """Answers by prompt: A/B with code, C with a rubric, D with a new question; question words script failures."""
    if "NOCODE" in prompt:
        return "I would rather explain it in words.", "stop"
    if "LONG" in prompt:
        return "```python\ndef f(", "length"
    if "EMPTY" in prompt:
        return "  ", "stop"
    if "scoring system" in prompt:
        return ("no score here" if "UNSCORED" in prompt else SCORE), "stop"
    if "#Created Instruction#" in prompt:
        tag = hashlib.sha256(f"{seed}{prompt}".encode()).hexdigest()[:6]
        return f"#Created Instruction#:\nWrite a function that adds three numbers ({tag}).", "stop"
    if "faulty solution" in prompt or "exactly one error" in prompt:  # prompt B of the paper, detailed sets
        return "Here:\n```python\ndef add(a, b):\n    return a - b\n```", "stop"
    return "Here:\n```python\ndef add(a, b):\n    return a + b\n```\nExample:\n```python\nadd(1, 2)\n```", "stop"


@pytest.fixture(params=["paper", "detailed"])
def teacher(request):
    with OpenAIServer(["teacher"], respond=teacher_responder) as srv:
        yield LLMTeacher(OpenAIBackend("teacher", base_url=srv.url, concurrency=2), prompts=request.param,
                         temperature=0.7, seed=1)


def q(i, text="Write a function add(a, b)."):
    return {"id": f"q{i}", "question": text, "lang": "python"}


def test_solve_and_fault_extract_the_solution_and_count_drops(teacher):
    questions = [q(0), q(1, "NOCODE please"), q(2, "LONG one"), q(3, "EMPTY")]
    solved = teacher.solve(questions)
    assert solved[0] == {"code": "def add(a, b):\n    return a + b", "raw": solved[0]["raw"], "dropped": None}
    assert [s["dropped"] for s in solved] == [None, "no_code", "truncated", "empty"]
    assert all(s["code"] is None for s in solved[1:])
    faulty = teacher.fault(questions[:1])
    assert faulty == [{"code": "def add(a, b):\n    return a - b", "raw": faulty[0]["raw"], "fault_type": None,
                       "dropped": None}]
    c = teacher.counters
    assert c["teacher_solve_dropped_no_code"] == c["teacher_solve_dropped_truncated"] == 1
    assert c["teacher_solve_dropped_empty"] == 1 and c["backend_calls"] == 5


def test_annotate_fills_prompt_c_and_parses_the_score(teacher):
    out = teacher.annotate([q(0), q(1, "UNSCORED")], ["def add(a, b): return a + b", "x = 1"])
    assert out[0]["prompt"] == render("scoring", question=q(0)["question"], code="def add(a, b): return a + b")
    assert out[0]["prompt"] == render("scoring", teacher.prompts, question=q(0)["question"], code="def add(a, b): return a + b")
    assert out[0]["score"] == 4.5 and out[0]["text"].startswith("Code Analysis:")
    assert out[1]["score"] is None and teacher.counters["teacher_annotate_dropped_no_score"] == 1


def test_prompt_sets_send_their_texts_and_system_messages():
    with OpenAIServer(["teacher"], respond=teacher_responder) as srv:
        backend = OpenAIBackend("teacher", base_url=srv.url, concurrency=1)
        question = {"id": "q", "question": "Write a function add(a, b)."}  # no lang: the teacher's own
        LLMTeacher(backend, prompts="paper").solve([question])
        LLMTeacher(backend, prompts="detailed").solve([question])
        LLMTeacher(backend, prompts="paper").evolve([question], [True])
        paper_a, detailed_a, paper_d = srv.messages
    assert paper_a == [{"role": "system", "content": "You are an AI code interpreter."},
                       {"role": "user", "content": render("correct", "paper", question=question["question"])}]
    assert paper_a[1]["content"].endswith("#Given Instruction# Write a function add(a, b).\n")
    assert [m["role"] for m in detailed_a] == ["user"] and "the language the question asks for" in detailed_a[0]["content"]
    assert paper_d[0]["content"] == "You are a creative question writer." and "more rare" in paper_d[1]["content"]


def test_evolve_gives_each_copy_of_a_question_its_own_question(teacher):
    out = teacher.evolve([q(0), q(0), q(1, "LONG one")], [True, True, False])
    assert out[2] == {"dropped": "truncated"}
    assert out[0]["question"].startswith("Write a function that adds three numbers")
    assert out[0]["question"] != out[1]["question"]
    assert out[0]["lang"] == "python" and out[0]["tests"] is None


PAPER = Path(__file__).resolve().parents[2] / "shared" / "paper" / "soda-paper.txt"


@pytest.mark.shared
@pytest.mark.skipif(not PAPER.exists(), reason="needs ../shared/paper")
def test_the_paper_set_is_the_papers_text():
    paper = PAPER.read_text()
    for name in ("correct", "faulty", "evolve"):
        for line in render(name, "paper", question="").splitlines():
            # Each line of the set, less its "- " bullet, is in the paper (Fig. 3 and its error types).
            assert line.removeprefix("- ").strip() in paper.replace("**", ""), line
        assert f"<b>System content</b> {system(name, 'paper')}</p>" in paper
    assert system("scoring", "paper") == "You are a helpful assistant."
    assert "at least one" in render("faulty", "paper") and "more rare" in render("evolve", "paper")


