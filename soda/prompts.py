"""Prompts A-D of the SODA paper (Fig. 3) and the student's prompt, kept as files.

The teacher's prompts come in sets (`teacher.prompts`), one directory each under soda/prompts/:
- `paper`: the paper's Fig. 3 texts with their system messages (`<name>.system.txt`), verbatim,
  {ERRORS} filled with the paper's five error types; the language is the question's own;
- `detailed`: longer texts that name the language ({lang}), ask for exactly one hidden error
  and for harder questions from easy ones ({guidance}).

Each set has correct.txt (A: a correct solution), faulty.txt (B: a faulty one), evolve.txt (D:
a new question); prompt C (scoring.txt, the 6-point rubric, as the authors' released
annotations fill it) is shared, and the scoring model reads it too. Shared as well:
student.txt (the `compact` student prompt) and scoring_compact.txt (the scoring model's input
in the `compact` format, see soda/student.py).

The student answers either prompt A of the `paper` set (its system message on the first line)
or the `compact` template (`generation.student_prompt`): what it is trained on in CSL/FCL
is what it answers in feedback and evaluation.

Every stage's MLflow run is tagged with a hash of all of them (soda/tracking.py).
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

PROMPT_DIR = Path(__file__).parent / "prompts"
SETS = ("paper", "detailed")
STUDENT_PROMPTS = ("paper", "compact")
TEACHER_NAMES = ("correct", "faulty", "scoring", "evolve")  # prompts A-D
SHARED_NAMES = ("scoring", "scoring_compact", "student")

# What a prompt that names the language says for a question without one.
ANY_LANG = "the language the question asks for"

# Prompt D's guidance (sets with {guidance}): easy questions inspire harder ones.
EVOLVE_GUIDANCE = {
    True: "The #Created Instruction# should be more difficult than the #Given Instruction#: add constraints, requirements or reasoning steps.",
    False: "The #Created Instruction# should be of similar difficulty to the #Given Instruction# but explore a different aspect of it.",
}


def _path(name: str, prompt_set: str | None, suffix: str = ".txt") -> Path:
    if prompt_set is None:
        if name not in SHARED_NAMES:
            raise KeyError(f"unknown prompt {name!r}; expected one of {SHARED_NAMES} or a set's {TEACHER_NAMES}")
        return PROMPT_DIR / f"{name}{suffix}"
    if prompt_set not in SETS or name not in TEACHER_NAMES:
        raise KeyError(f"unknown prompt {prompt_set}/{name}; sets {SETS}, prompts {TEACHER_NAMES}")
    own = PROMPT_DIR / prompt_set / f"{name}{suffix}"
    return own if own.exists() or suffix != ".txt" else PROMPT_DIR / f"{name}{suffix}"


@cache
def template(name: str, prompt_set: str | None = None) -> str:
    return _path(name, prompt_set).read_text(encoding="utf-8")


@cache
def system(name: str, prompt_set: str | None = None) -> str | None:
    """The system message of a set's prompt, None where it has none."""
    if prompt_set is None:
        return None
    path = _path(name, prompt_set, ".system.txt")
    return path.read_text(encoding="utf-8").strip() if path.exists() else None


def render(name: str, prompt_set: str | None = None, **fields: str) -> str:
    # str.replace, not str.format: questions and code contain braces.
    text = template(name, prompt_set)
    for key, value in fields.items():
        text = text.replace("{" + key + "}", str(value))
    return text


def student_prompt(question: str, style: str = "compact") -> str:
    """The student's prompt: the `paper` set's prompt A (system message, then user content) or
    the `compact` "### Question / ### Solution" template."""
    if style == "paper":
        return f"{system('correct', 'paper')}\n{render('correct', 'paper', question=question.strip())}"
    if style != "compact":
        raise KeyError(f"unknown student prompt {style!r}; expected one of {STUDENT_PROMPTS}")
    return render("student", question=question.strip())


def corpus_templates() -> list[str]:
    """Every template of the `detailed` set and the shared ones, in a fixed order: the fixed
    text a scratch tokenizer learns (stages/init_models.py)."""
    names = ("correct", "faulty", "scoring", "scoring_compact", "evolve", "student")
    return [template(n, "detailed" if n in TEACHER_NAMES else None) for n in names]

