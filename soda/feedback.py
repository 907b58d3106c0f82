"""Multi-view feedback: classify each question by the student's answer, executed (Pass/Fail)
and scored (0-6) by the scoring model.

The paper defines three levels: easy = Pass and score >= 4, medium = Pass and
2 <= score < 4, hard = Fail and score < 2. It leaves the other combinations open
(Pass with score < 2, Fail with score >= 2, and an answer the scorer could not score).
`feedback.rule` decides them:

- `execution-first` (default): execution decides Pass/Fail and the score splits a Pass:
  Pass and score < 2 is medium (it runs correctly, so it is not hard), Fail with any score
  is hard, an unscored Pass is medium.
- `score-first`: the score decides (>= 4 easy, >= 2 medium, else hard); execution is used
  only for unscored answers (Pass medium, Fail hard).
- `strict`: only the paper's three cases are classified; the rest is `unclassified` and is
  never sampled by evolve.

Ablations: with `feedback.scoring: false` a Pass is easy and a Fail hard (no medium); with
`feedback.execution: false` the score alone decides (as `score-first`, unscored ones are
`unclassified`).
"""

from __future__ import annotations

LEVELS = ("easy", "medium", "hard")


def classify(passed: bool | None, score: float | None, cfg: dict) -> str:
    easy, hard = cfg["easy_min_score"], cfg["hard_max_score"]
    if passed is None:  # execution off: the score alone
        if score is None:
            return "unclassified"
        return "easy" if score >= easy else "medium" if score >= hard else "hard"
    if not cfg["scoring"]:
        return "easy" if passed else "hard"
    rule = cfg["rule"]
    if score is None:
        return "unclassified" if rule == "strict" else "medium" if passed else "hard"
    if rule == "score-first":
        return "easy" if score >= easy else "medium" if score >= hard else "hard"
    if passed:
        if score >= easy:
            return "easy"
        if score >= hard or rule == "execution-first":
            return "medium"
        return "unclassified"
    if score < hard or rule == "execution-first":
        return "hard"
    return "unclassified"


def summarize(rows: list[dict]) -> dict:
    n = len(rows)
    scored = [r["score"] for r in rows if r["score"] is not None]
    executed = [r["passed"] for r in rows if r["passed"] is not None]
    levels = {level: sum(r["level"] == level for r in rows) for level in (*LEVELS, "unclassified")}
    return {
        "questions": n,
        "levels": levels,
        "pass_rate": sum(executed) / len(executed) if executed else None,
        "mean_score": sum(scored) / len(scored) if scored else None,
        "unscored": sum(r["score"] is None for r in rows),
    }
