"""The scoring model's data and its reading: the teacher's annotations (prompt C) that it learns
from (score-train), the score parsed from a rubric, and agreement with annotations (kappa).

The scorer writes "Code Analysis: ... Score:\\nRule 1. Basic Functionality: 2\\n...Rule 5. ...".
The five rule points are parsed and summed into a score out of 6. Real annotations give
fractional points (0.5) and sometimes no points at all ("N/A", blank): such an output is
unscored, with the reason, and never silently 0.
"""

from __future__ import annotations

import math
import random
import re
from dataclasses import dataclass


# (name, max points), in rule order: prompt C's 6-point rubric.
RULES = (
    ("Basic Functionality", 2.0),
    ("Boundary Check", 1.0),
    ("Requirement Coverage", 1.0),
    ("Readability and Documentation", 1.0),
    ("Coding Practices", 1.0),
)
MAX_SCORE = sum(points for _, points in RULES)

# "Rule 3. Requirement Coverage: 0.5" or, without the number, "Requirement Coverage: 0.5";
# markdown decorations (bullets, bold) around either are tolerated.
_DECOR = r"[\s>*#_-]*"
_BY_NUMBER = re.compile(rf"^{_DECOR}Rule\s*([1-5])\b[^:\n]*:(.*)$", re.I | re.M)
_BY_NAME = [re.compile(rf"^{_DECOR}(?:Excellence\s+in\s+)?{re.escape(name)}[^:\n]*:(.*)$", re.I | re.M) for name, _ in RULES]
# "2", "0.5", ".5", "0,5", "1/2" or "1 out of 2" (points out of a maximum), then anything but more digits.
_VALUE = re.compile(r"^[\s*_]*(\d+(?:[.,]\d+)?|[.,]\d+)(?:\s*(?:/|out of)\s*(\d+(?:\.\d+)?))?(?![\d.,]*\d)", re.I)


@dataclass(frozen=True)
class ScoreParse:
    points: dict[str, float] | None
    score: float | None
    error: str | None


def _rule_text(text: str, index: int) -> str | None:
    """The text after the colon on the last line that gives this rule (the final Score block wins)."""
    number = [m for m in _BY_NUMBER.finditer(text) if int(m.group(1)) == index + 1]
    if number:
        return number[-1].group(2)
    named = list(_BY_NAME[index].finditer(text))
    return named[-1].group(1) if named else None


def parse_score(text: str) -> ScoreParse:
    if not isinstance(text, str) or not text.strip():
        return ScoreParse(None, None, "empty output")
    points = {}
    for index, (name, top) in enumerate(RULES):
        rest = _rule_text(text, index)
        if rest is None:
            return ScoreParse(None, None, f"rule {index + 1} ({name}) missing")
        m = _VALUE.match(rest)
        if not m:
            return ScoreParse(None, None, f"rule {index + 1} ({name}) has no points: {rest.strip()[:40]!r}")
        value = float(m.group(1).replace(",", "."))
        if m.group(2) is not None and float(m.group(2)) != top:
            return ScoreParse(None, None, f"rule {index + 1} ({name}) is out of {m.group(2)}, expected {top:g}")
        if not 0 <= value <= top:
            return ScoreParse(None, None, f"rule {index + 1} ({name}) gives {value:g}, outside 0-{top:g}")
        points[name] = value
    return ScoreParse(points, sum(points.values()), None)


def _kappa(a: list[int], b: list[int]) -> float | None:
    """Cohen's kappa of two raters; None when chance agreement is total (both raters constant and equal)."""
    n = len(a)
    if n == 0:
        return None
    observed = sum(x == y for x, y in zip(a, b)) / n
    labels = set(a) | set(b)
    expected = sum((a.count(k) / n) * (b.count(k) / n) for k in labels)
    if expected == 1:
        return None
    return (observed - expected) / (1 - expected)


def round_score(x: float) -> int:
    """The integer score a half-point score counts as (half up), for kappa and score counts."""
    return math.floor(x + 0.5)


def agreement(pred: list[float | None], gold: list[float]) -> dict:
    """Predicted vs annotated scores.

    exact_agreement counts an unscored prediction as a disagreement (it gave no score);
    exact_agreement_scored and kappa use the scored ones only. Kappa is Cohen's, on scores
    rounded half up to integers 0-6, as the paper compares integer scores.
    """
    if len(pred) != len(gold):
        raise ValueError(f"{len(pred)} predictions for {len(gold)} annotations")
    pairs = [(p, g) for p, g in zip(pred, gold) if p is not None]
    exact = sum(abs(p - g) < 1e-9 for p, g in pairs)
    return {
        "n": len(gold),
        "scored": len(pairs),
        "unscored": len(gold) - len(pairs),
        "exact_agreement": exact / len(gold) if gold else None,
        "exact_agreement_scored": exact / len(pairs) if pairs else None,
        "within_one": sum(abs(p - g) <= 1 for p, g in pairs) / len(pairs) if pairs else None,
        "mean_abs_error": sum(abs(p - g) for p, g in pairs) / len(pairs) if pairs else None,
        "kappa": _kappa([round_score(p) for p, _ in pairs], [round_score(g) for _, g in pairs]),
    }


# The scorer's training data (the score-train stage): the teacher annotates solutions with
# prompt C: the student's own answers (the paper's D_seed = {(x, y_s)}, §3.3.1) and, as an option
# beyond the paper, the teacher's correct and faulty solutions (prompts A and B).

def collect(teacher, questions: list[dict], student_answers: list[list[str]], sources: list[str]) -> list[dict]:
    """Annotated rows, per question: the requested teacher solutions, then each student answer
    (`student_answers[i]`: the answers to question i; their rows are `student-0`, `student-1`, ...)."""
    per_source = {"teacher-correct": teacher.solve(questions) if "teacher-correct" in sources else None,
                  "teacher-faulty": teacher.fault(questions) if "teacher-faulty" in sources else None}
    jobs = []
    for i, q in enumerate(questions):
        for source in ("teacher-correct", "teacher-faulty"):
            if source in sources and per_source[source][i].get("code"):
                jobs.append((q, source, source, per_source[source][i]["code"]))
        if "student" in sources:  # empty answers too: feedback scores them as well
            jobs += [(q, "student", f"student-{k}", a) for k, a in enumerate(student_answers[i])]
    notes = teacher.annotate([job[0] for job in jobs], [job[3] for job in jobs])
    rows = []
    for (q, source, name, code), note in zip(jobs, notes):
        if note.get("score") is None:
            continue  # the teacher's own annotation did not parse: nothing to learn from
        rows.append({"id": f"{q['id']}:{name}", "question_id": q["id"], "source": source, "question": q["question"],
                     "code": code, "prompt": note["prompt"], "completion": note["text"], "score": note["score"]})
    return rows


def sample_questions(rows: list[dict], n: int, seed: int) -> list[dict]:
    """The n questions whose answers are annotated: a uniform sample of the seed questions, as
    the paper's ("15K ... from the student model's 110K outputs"). Its own random stream: a
    plain Random(seed) shuffle of the sorted ids is the delivery split's (soda.teacher_generate), which
    made D_seed exactly the FCL questions the student never learnt by CSL."""
    rows = sorted(rows, key=lambda q: q["id"])
    random.Random(f"{seed}:score-train").shuffle(rows)
    return rows[:n]


def split_heldout(rows: list[dict], fraction: float, seed: int) -> tuple[list[dict], list[dict]]:
    """Held-out annotations by question, so that no question is in both parts; drawn apart from
    the delivery split too (else, with every question annotated, held-out = the FCL questions)."""
    qids = sorted({r["question_id"] for r in rows})
    random.Random(f"{seed}:scorer-heldout").shuffle(qids)
    held = set(qids[: round(len(qids) * fraction)])
    return [r for r in rows if r["question_id"] not in held], [r for r in rows if r["question_id"] in held]
