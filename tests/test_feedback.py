import json
from pathlib import Path

import pytest

from soda.extract import RUNNABLE, question_lang
from soda.feedback import classify, execute, summarize
from soda.params import Feedback, load_params

PAIRS = Path(__file__).resolve().parents[2] / "shared" / "sodacoder-samples" / "pairwise_data.json"

CFG = Feedback.model_validate({**load_params(Path(__file__).resolve().parents[1] / "params.yaml")["feedback"],
                               "easy_min_score": 4.0, "hard_max_score": 2.0, "rule": "execution-first"})


@pytest.mark.parametrize("passed,score,level", [
    (True, 5.0, "easy"), (True, 4.0, "easy"), (True, 3.5, "medium"), (True, 2.0, "medium"),
    (False, 1.0, "hard"), (False, 0.0, "hard"),
])
def test_paper_levels_hold_under_every_rule(passed, score, level):
    for rule in ("execution-first", "score-first", "strict"):
        assert classify(passed, score, CFG.model_copy(update={"rule": rule})) == level


@pytest.mark.parametrize("rule,passed,score,level", [
    ("execution-first", True, 1.0, "medium"), ("execution-first", False, 5.0, "hard"),
    ("execution-first", True, None, "medium"), ("execution-first", False, None, "hard"),
    ("score-first", True, 1.0, "hard"), ("score-first", False, 5.0, "easy"), ("score-first", False, 3.0, "medium"),
    ("strict", True, 1.0, "unclassified"), ("strict", False, 5.0, "unclassified"), ("strict", True, None, "unclassified"),
])
def test_open_combinations_follow_the_rule(rule, passed, score, level):
    assert classify(passed, score, CFG.model_copy(update={"rule": rule})) == level


def test_ablations():
    assert classify(True, None, CFG.model_copy(update={"scoring": False})) == "easy"
    assert classify(False, None, CFG.model_copy(update={"scoring": False})) == "hard"
    assert classify(None, 4.5, CFG) == "easy"
    assert classify(None, 2.5, CFG) == "medium"
    assert classify(None, None, CFG) == "unclassified"


def test_summarize_counts_levels_and_rates():
    rows = [{"passed": True, "score": 5.0, "level": "easy"}, {"passed": False, "score": None, "level": "hard"}]
    s = summarize(rows)
    assert s["levels"] == {"easy": 1, "medium": 0, "hard": 1, "unclassified": 0}
    assert s["pass_rate"] == 0.5 and s["mean_score"] == 5.0 and s["unscored"] == 1


def test_unknown_execution_is_classified_by_the_score_alone():
    for rule in ("execution-first", "score-first", "strict"):
        cfg = CFG.model_copy(update={"rule": rule})
        assert classify(None, 5.0, cfg) == "easy" and classify(None, 1.0, cfg) == "hard"
        assert classify(None, None, cfg) == "unclassified"  # never hard for want of a sandbox


def test_execute_gives_pass_fail_or_unknown():
    questions = [
        {"id": "ok", "question": "add", "lang": "python", "tests": "assert add(1, 2) == 3"},
        {"id": "bad", "question": "add", "lang": "python", "tests": "assert add(1, 2) == 3"},
        {"id": "empty", "question": "add", "lang": "python", "tests": "assert add(1, 2) == 3"},
        {"id": "js", "question": "print one"},  # no lang: the answer's
        {"id": "sql", "question": "select", "lang": "sql"},
        {"id": "prose", "question": "explain"},
        {"id": "php", "question": "greet"},
    ]
    answers = [
        "def add(a, b):\n    return a + b\n",
        "def add(a, b):\n    return a - b\n",
        "",
        "Here:\n```javascript\nconsole.log(1);\n```\n",
        "SELECT 1;",
        "It depends on what you mean by a proof.",
        "```php\n<?php echo 'hi'; ?>\n```",
    ]
    verdicts = execute(questions, answers, timeout_s=10.0)
    assert [v["passed"] for v in verdicts] == [True, False, False, True, None, None, None]
    assert [v["status"] for v in verdicts][4:] == ["unknown"] * 3
    assert [v["lang"] for v in verdicts] == ["python", "python", "python", "js", "sql", None, "php"]
    rows = [{**v, "score": None, "level": classify(v["passed"], None, CFG)} for v in verdicts]
    assert [r["level"] for r in rows][4:] == ["unclassified"] * 3
    assert summarize(rows)["execution_unknown"] == 3 and summarize(rows)["pass_rate"] == 0.5


def test_execute_runs_mode_is_the_papers_check_compiles_and_runs():
    """feedback.execution_mode: runs (§3.3.2): Pass = the answer compiles and runs without error,
    so a wrong answer passes and correctness is the scorer's to judge; tests (the default) runs the
    question's tests."""
    questions = [{"id": str(i), "question": "add", "lang": "python", "tests": "assert add(1, 2) == 3"} for i in range(4)]
    answers = ["def add(a, b):\n    return a + b\n", "def add(a, b):\n    return a - b\n", "def add(a, b)\n",
               "raise ValueError('at import')\n"]
    assert [v["passed"] for v in execute(questions, answers, timeout_s=10.0)] == [True, False, False, False]
    runs = execute(questions, answers, timeout_s=10.0, mode="runs")
    assert [v["passed"] for v in runs] == [True, True, False, False]
    assert [v["error_class"] for v in runs][2:] == ["SyntaxError", "ValueError"]


def test_execute_keeps_each_verdict_for_a_rerun(tmp_path):
    # feedback and on-policy FCL pass the verdict cache: a killed stage, re-run, runs nothing twice.
    from sandbox.cache import result_cache

    questions = [{"id": str(i), "question": "add", "lang": "python", "tests": f"assert add({i}, 1) == {i + 1}"}
                 for i in range(3)]
    answers = ["def add(a, b):\n    return a + b\n", "def add(a, b):\n    return a - b\n", "x = (\n"]
    first = result_cache(tmp_path)
    verdicts = execute(questions, answers, timeout_s=10.0, cache=first)
    assert first.stored == 3 and first.hits == 0
    again = result_cache(tmp_path)
    assert execute(questions, answers, timeout_s=10.0, cache=again) == verdicts
    assert (again.hits, again.stored) == (3, 0)
    assert [v["passed"] for v in verdicts] == [True, False, False]


@pytest.mark.shared
@pytest.mark.skipif(not PAIRS.exists(), reason="needs ../shared/sodacoder-samples")
def test_no_released_answer_is_hard_because_the_sandbox_cannot_run_its_language():
    pairs = json.loads(PAIRS.read_text())
    questions = [{"id": str(i), "question": p["instruction"]} for i, p in enumerate(pairs)]
    answers = [p["response"][0] for p in pairs]
    # The answers in languages the sandbox lacks, and those with no code: nothing is run for them.
    idle = [i for i, a in enumerate(answers) if question_lang(questions[i], a) not in RUNNABLE]
    verdicts = execute([questions[i] for i in idle], [answers[i] for i in idle], timeout_s=5.0)
    assert len(idle) >= 25 and all(v["status"] == "unknown" and v["passed"] is None for v in verdicts)
    assert {"sql", "html", "php", "csharp"} <= {v["lang"] for v in verdicts}
    assert all(classify(v["passed"], None, CFG) == "unclassified" for v in verdicts)
    assert all(classify(v["passed"], 4.5, CFG) == "easy" for v in verdicts)
