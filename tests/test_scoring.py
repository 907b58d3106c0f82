import json
import re
from pathlib import Path

import pytest

from soda.scoring import MAX_SCORE, RULES, agreement, parse_score

SHARED = Path(__file__).resolve().parents[1] / ".." / "shared" / "sodacoder-samples" / "scoring_data.json"

BLOCK = """Code Analysis: the loop misses the empty list.
Score:
Rule 1. Basic Functionality: 2
Rule 2. Boundary Check: 0
Rule 3. Requirement Coverage: 1
Rule 4. Readability and Documentation: 0.5
Rule 5. Coding Practices: 0.5
"""


def test_rules_are_the_six_point_rubric():
    assert [name for name, _ in RULES][0] == "Basic Functionality" and MAX_SCORE == 6


def test_parse_block_with_fractional_points():
    p = parse_score(BLOCK)
    assert p.error is None and p.score == 4.0
    assert p.points == {"Basic Functionality": 2, "Boundary Check": 0, "Requirement Coverage": 1,
                        "Readability and Documentation": 0.5, "Coding Practices": 0.5}


def test_last_block_wins_and_markdown_is_tolerated():
    text = ("Rule 1. Basic Functionality: the code runs.\n" + BLOCK.replace("Rule 2. Boundary Check: 0", "**Rule 2. Boundary Check:** 1 point")
            .replace("Rule 5. Coding Practices: 0.5", "- Rule 5. Coding Practices: 0,5"))
    assert parse_score(text).score == 5.0
    named = "Basic Functionality: 2/2\nBoundary Check: 1\nRequirement Coverage: 1 out of 1\nReadability and Documentation: .5\nExcellence in Coding Practices: 0"
    assert parse_score(named).score == 4.5


@pytest.mark.parametrize("text,reason", [
    ("", "empty"),
    (BLOCK.replace("Rule 3. Requirement Coverage: 1\n", ""), "rule 3 .* missing"),
    (BLOCK.replace(": 2\n", ": N/A\n"), "rule 1 .* no points"),
    (BLOCK.replace(": 2\n", ": \n"), "rule 1 .* no points"),
    (BLOCK.replace(": 2\n", ": 3\n"), "outside 0-2"),
    (BLOCK.replace("Boundary Check: 0", "Boundary Check: 2/2"), "out of 2"),
])
def test_unparseable_is_unscored_never_zero(text, reason):
    p = parse_score(text)
    assert p.score is None and p.points is None and re.search(reason, p.error)


def test_agreement_counts_unscored_and_kappa():
    gold = [0, 2, 4, 6, 4.5, 3]
    pred = [0, 2, 4, 6, 4.5, None]
    a = agreement(pred, gold)
    assert a["unscored"] == 1 and a["scored"] == 5
    assert a["exact_agreement"] == 5 / 6 and a["exact_agreement_scored"] == 1.0 and a["kappa"] == 1.0
    # Hand-computed Cohen's kappa: 4 items, observed 2/4, chance 0.5*0.5 + 0.5*0.5 = 0.5 -> 0
    assert agreement([1, 1, 2, 2], [1, 2, 1, 2])["kappa"] == 0.0
    # 0.5 rounds half up: 4.5 -> 5 matches 5
    assert agreement([4.5], [5.0])["exact_agreement"] == 0.0
    assert agreement([4.5, 1.0], [5.0, 1.0])["kappa"] == 1.0


@pytest.mark.shared
@pytest.mark.skipif(not SHARED.exists(), reason="needs ../shared/sodacoder-samples")
def test_all_real_annotations():
    rows = json.loads(SHARED.read_text())
    parses = [parse_score(r["response"]) for r in rows]
    assert len(parses) == 100
    for row, p in zip(rows, parses):
        if p.error:
            continue
        # Cross-check against a plain reading of the five lines after the final "Score:".
        lines = row["response"].rsplit("Score:", 1)[1].strip().splitlines()
        assert [float(line.rsplit(":", 1)[1]) for line in lines] == list(p.points.values())
        assert p.score == sum(p.points.values())
    assert sum(p.error is None for p in parses) == 98
    assert any(p.score % 1 for p in parses if p.score is not None)  # fractional points survive
    # The two a person cannot read either (blank points; "N/A" for four rules) are reported, not guessed.
    unread = {i: p.error for i, p in enumerate(parses) if p.score is None}
    assert unread == {4: "rule 1 (Basic Functionality) has no points: ''",
                      37: "rule 1 (Basic Functionality) has no points: 'N/A'"}
