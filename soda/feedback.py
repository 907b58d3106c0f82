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

Execution has a third verdict, `unknown` (passed None): the sandbox cannot run the answer's
language (SQL, HTML, PHP, C#, ...: an env-error), or the answer has no code and its question
no tests (with tests, an answer without code fails them). Such an answer
is classified by its score alone, as with execution off; unscored too, it is `unclassified`,
never `hard` for want of a sandbox.

Ablations: with `feedback.scoring: false` a Pass is easy and a Fail hard (no medium); with
`feedback.execution: false` the score alone decides (as `score-first`, unscored ones are
`unclassified`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from soda.extract import RUNNABLE, extract_code, question_lang

if TYPE_CHECKING:
    from soda.params import Feedback

LEVELS = ("easy", "medium", "hard")


def answer_code(answer: str, lang: str | None) -> str | None:
    """The code of a student's answer: its fenced solution when it writes markdown (prompt A),
    else the completion itself (a completion of the compact prompt is code)."""
    if "```" in answer or "~~~" in answer:
        return extract_code(answer, lang)
    return answer if answer.strip() else None


def execute(questions: list[dict], answers: list[str], timeout_s: float, cache=None, mode: str = "tests") -> list[dict]:
    """Each answer's verdict: {"lang", "passed" (None: unknown), "status", "error_class"}.
    The language is the question's `lang`, else the answer's own (soda.extract.question_lang).
    mode `tests`: Pass = the question's tests pass (a question without tests: it runs);
    `runs`: Pass = it compiles and runs without error, the paper's check (§3.3.2), tests unused.
    cache: a sandbox.ResultCache, which keeps each verdict as it completes (a killed stage,
    re-run, does not run them again)."""
    from sandbox import Job, execute_many

    verdicts, jobs = [], []
    for q, a in zip(questions, answers):
        lang = question_lang(q, a)
        tests = q.get("tests") if mode == "tests" else None
        code = answer_code(a, lang) or (a if tests else None)
        code = code if lang in RUNNABLE else None
        verdicts.append({"lang": lang, "passed": None, "error_class": None,
                         "status": "unknown" if code is None else None})
        if code is not None:
            jobs.append((verdicts[-1], Job(code=code, lang=lang, tests=tests, timeout_s=timeout_s,
                                           mode="tests" if tests else "runs")))
    for verdict, result in zip([v for v, _ in jobs], execute_many([job for _, job in jobs], cache=cache)):
        # An env-error is the sandbox's (a toolchain it lacks), not the answer's: unknown, not Fail.
        unknown = result.status == "env-error"
        verdict.update(passed=None if unknown else result.passed, status="unknown" if unknown else result.status,
                       error_class=result.error_class)
    return verdicts


def classify(passed: bool | None, score: float | None, cfg: Feedback) -> str:
    easy, hard = cfg.easy_min_score, cfg.hard_max_score
    if passed is None:  # execution off or unknown: the score alone
        if score is None:
            return "unclassified"
        return "easy" if score >= easy else "medium" if score >= hard else "hard"
    if not cfg.scoring:
        return "easy" if passed else "hard"
    rule = cfg.rule
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
        "execution_unknown": sum(r.get("status") == "unknown" for r in rows),
        "mean_score": sum(scored) / len(scored) if scored else None,
        "unscored": sum(r["score"] is None for r in rows),
    }
