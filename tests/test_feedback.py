import pytest

from soda.feedback import classify, summarize

CFG = {"easy_min_score": 4.0, "hard_max_score": 2.0, "scoring": True, "execution": True, "rule": "execution-first"}


@pytest.mark.parametrize("passed,score,level", [
    (True, 5.0, "easy"), (True, 4.0, "easy"), (True, 3.5, "medium"), (True, 2.0, "medium"),
    (False, 1.0, "hard"), (False, 0.0, "hard"),
])
def test_paper_levels_hold_under_every_rule(passed, score, level):
    for rule in ("execution-first", "score-first", "strict"):
        assert classify(passed, score, {**CFG, "rule": rule}) == level


@pytest.mark.parametrize("rule,passed,score,level", [
    ("execution-first", True, 1.0, "medium"), ("execution-first", False, 5.0, "hard"),
    ("execution-first", True, None, "medium"), ("execution-first", False, None, "hard"),
    ("score-first", True, 1.0, "hard"), ("score-first", False, 5.0, "easy"), ("score-first", False, 3.0, "medium"),
    ("strict", True, 1.0, "unclassified"), ("strict", False, 5.0, "unclassified"), ("strict", True, None, "unclassified"),
])
def test_open_combinations_follow_the_rule(rule, passed, score, level):
    assert classify(passed, score, {**CFG, "rule": rule}) == level


def test_ablations():
    assert classify(True, None, {**CFG, "scoring": False}) == "easy"
    assert classify(False, None, {**CFG, "scoring": False}) == "hard"
    assert classify(None, 4.5, CFG) == "easy"
    assert classify(None, 2.5, CFG) == "medium"
    assert classify(None, None, CFG) == "unclassified"


def test_summarize_counts_levels_and_rates():
    rows = [{"passed": True, "score": 5.0, "level": "easy"}, {"passed": False, "score": None, "level": "hard"}]
    s = summarize(rows)
    assert s["levels"] == {"easy": 1, "medium": 0, "hard": 1, "unclassified": 0}
    assert s["pass_rate"] == 0.5 and s["mean_score"] == 5.0 and s["unscored"] == 1
