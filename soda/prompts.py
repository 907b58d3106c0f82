"""Prompts A-D of the SODA paper (Fig. 3) and the student's prompt, kept as files.

- correct.txt (A): the teacher writes a correct solution;
- faulty.txt (B): the teacher writes a solution with one hidden error of the five types;
- scoring.txt (C): the 6-point rubric used for annotation and by the scoring model;
- evolve.txt (D): the teacher writes a new question from a sampled one;
- student.txt: how a question is shown to the student in training and inference;
- scoring_compact.txt: the scoring model's input in the `compact` format (see soda/student.py).

Their hashes are logged to MLflow by every stage that uses them (its PROMPTS; soda/tracking.py).
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

PROMPT_DIR = Path(__file__).parent / "prompts"
NAMES = ("correct", "faulty", "scoring", "scoring_compact", "evolve", "student")

# Prompt D's guidance depends on the question's level: easy questions inspire harder ones.
EVOLVE_GUIDANCE = {
    True: "The #Created Instruction# should be more difficult than the #Given Instruction#: add constraints, requirements or reasoning steps.",
    False: "The #Created Instruction# should be of similar difficulty to the #Given Instruction# but explore a different aspect of it.",
}


@cache
def template(name: str) -> str:
    if name not in NAMES:
        raise KeyError(f"unknown prompt {name!r}; expected one of {NAMES}")
    return (PROMPT_DIR / f"{name}.txt").read_text(encoding="utf-8")


def render(name: str, **fields: str) -> str:
    # str.replace, not str.format: questions and code contain braces.
    text = template(name)
    for key, value in fields.items():
        text = text.replace("{" + key + "}", str(value))
    return text


def student_prompt(question: str) -> str:
    return render("student", question=question.strip())
