import json

from soda.scoring import parse_score
from soda.student import scorer_card, scorer_example

ANNOTATION = ("Code Analysis: The code returns the expected results.\nScore:\nRule 1. Basic Functionality: 2\n"
              "Rule 2. Boundary Check: 0.5\nRule 3. Requirement Coverage: 1\nRule 4. Readability and Documentation: 0\n"
              "Rule 5. Coding Practices: 1")


def test_full_format_is_prompt_c_and_the_whole_annotation():
    ex = scorer_example("Add one.", "def f(x):\n    return x + 1\n", ANNOTATION, "full")
    assert ex["prompt"].startswith("Please assess the quality of code") and "def f(x):" in ex["prompt"]
    assert ex["completion"] == ANNOTATION


def test_compact_format_keeps_the_same_points():
    ex = scorer_example("Add one.", "def f(x):\n    return x + 1\n", ANNOTATION, "compact")
    assert ex["prompt"] == "### Question\nAdd one.\n### Code\ndef f(x):\n    return x + 1\n\n### Score\n"
    assert ex["completion"].startswith("Score:") and "Code Analysis" not in ex["completion"]
    assert parse_score(ex["completion"]).score == parse_score(ANNOTATION).score == 4.5


def test_scoring_format_and_head_come_from_the_card(tmp_path):
    assert scorer_card(str(tmp_path)) == ("full", "generative")  # any model without a card: the paper's scorer
    (tmp_path / "card.json").write_text(json.dumps({"scoring_format": "compact", "scoring_head": "classes"}))
    assert scorer_card(str(tmp_path)) == ("compact", "classes")
