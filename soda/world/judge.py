"""The deterministic rubric judge: prompt C's five rules scored from execution and static checks.

Rule 1 (Basic Functionality, 2 points) comes from the main test cases, Rule 2 (Boundary
Check) from the edge cases, Rule 3 (Requirement Coverage) from both, Rule 4 (Readability
and Documentation) and Rule 5 (Coding Practices) from reading the code. The text follows
the real annotations: "Code Analysis: ..." then "Score:" and one "Rule i. Name: x" line each.
A correct documented solution gets 6, an undocumented one 5.5, a wrong one 1-3.5, a crash or
a hang about 1, code that does not compile 0.
"""

from __future__ import annotations

import ast
import io
import tokenize

from sandbox import Job

from soda.world.family import split_tests

RULES = ("Basic Functionality", "Boundary Check", "Requirement Coverage",
         "Readability and Documentation", "Coding Practices")


def judge_jobs(task: dict, code: str, timeout_s: float = 2.0) -> list[Job]:
    """The two sandbox runs judge() needs: the code with the main tests, then with the edge tests."""
    main, edge = split_tests(task["tests"])
    return [Job(code, tests=main, timeout_s=timeout_s), Job(code, tests=edge, timeout_s=timeout_s)]


def _static(code: str, entry_point: str) -> dict:
    try:
        tree = ast.parse(code)
    except SyntaxError as e:
        return {"parses": False, "syntax": f"{e.msg} on line {e.lineno}"}
    fns = [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)]
    calls = {n.func.id for n in ast.walk(tree) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)}
    bad = []
    if any(isinstance(n, ast.ExceptHandler) and n.type is None for n in ast.walk(tree)):
        bad.append("a bare except")
    if calls & {"eval", "exec"}:
        bad.append("eval/exec")
    if any(isinstance(n, (ast.Global, ast.Nonlocal)) for n in ast.walk(tree)):
        bad.append("global state")
    if any(isinstance(n, ast.While) and isinstance(n.test, ast.Constant) and n.test.value
           and not any(isinstance(b, (ast.Break, ast.Return)) for b in ast.walk(n)) for n in ast.walk(tree)):
        bad.append("a loop with no exit")
    if "print" in calls:
        bad.append("printing instead of returning")
    return {
        "parses": True,
        "defines": any(f.name == entry_point for f in fns),
        "documented": any(ast.get_docstring(f) for f in fns) or _has_comment(code),
        "bad": bad,
    }


def _has_comment(code: str) -> bool:
    tokens = tokenize.generate_tokens(io.StringIO(code).readline)
    return any(tok.type == tokenize.COMMENT for tok in tokens)


def _outcome(result) -> str:
    """'pass', 'wrong' (runs, wrong answers), 'timeout', or the exception class / status."""
    if result.status == "pass":
        return "pass"
    if result.status == "fail" and result.error_class == "AssertionError":
        return "wrong"
    if result.status == "fail":
        return result.error_class or "an error"
    return result.status


def _describe(outcome: str, cases: str) -> str:
    if outcome == "pass":
        return f"returns the expected results on the {cases}"
    if outcome == "wrong":
        return f"runs but returns wrong results on the {cases}"
    if outcome == "timeout":
        return f"does not finish within the time limit on the {cases}, so a loop never ends"
    if outcome == "memory":
        return f"runs out of memory on the {cases}"
    if outcome == "env-error":
        return f"needs something the environment lacks (such as a missing module) on the {cases}"
    return f"raises {outcome} on the {cases}"


def judge(task: dict, code: str, result) -> tuple[str, float | None]:
    """(annotation text, score 0-6). `result` is the pair of sandbox Results of judge_jobs();
    a single Result of the full tests is accepted too (then main and edge are not told apart).
    A sandbox failure says nothing about the code: the rules are left blank and the score is
    None, as in the real annotations of things that cannot be scored."""
    fn = task["entry_point"]
    main, edge = (result, result) if not isinstance(result, (list, tuple)) else result
    notes = [f"The question asks for a function `{fn}`."]
    if "sandbox-error" in (main.status, edge.status):
        notes.append("The code could not be executed by the sandbox, so it cannot be assessed.")
        return _text(notes, (None,) * 5)
    info = _static(code, fn)
    if not info["parses"]:
        notes.append(f"The code does not compile ({info['syntax']}), so it cannot run and none of the "
                     "requirements are met. Code that does not parse cannot be called readable or well written.")
        return _text(notes, (0, 0, 0, 0, 0))
    m, e = _outcome(main), _outcome(edge)
    if not info["defines"]:
        notes.append(f"The code does not define `{fn}`, so the tests cannot call it.")
    notes.append(f"On execution the code {_describe(m, 'core cases')}.")
    if m in ("pass", "wrong"):
        notes.append(f"On boundary inputs (empty or extreme values) it {_describe(e, 'edge cases')}.")
    r1 = 2 if m == "pass" else 0.5 if m == "wrong" and e == "pass" else 0
    r2 = 1 if m == "pass" and e == "pass" else 0.5 if e == "pass" and m == "wrong" else 0
    r3 = 1 if m == e == "pass" else 0.5 if "pass" in (m, e) else 0
    if info["documented"]:
        notes.append("It is documented with a docstring or comments that explain its purpose.")
        r4 = 1
    else:
        notes.append("It is short and readable but has no docstring or comments.")
        r4 = 0.5
    clean = not info["bad"]
    if info["bad"]:
        notes.append(f"It uses {', '.join(info['bad'])}, which is poor practice.")
    r5 = 1 if m == e == "pass" and clean else 0.5 if m == "pass" and (clean or e == "pass") else 0
    if m == e == "pass" and clean:
        notes.append("It is concise and idiomatic, handles all cases and follows good coding practices.")
    elif m != "pass":
        notes.append("Because the core functionality is broken, it does not reflect good coding practices.")
    return _text(notes, (r1, r2, r3, r4, r5))


def _fmt(points) -> str:
    if points is None:
        return ""
    return str(int(points)) if float(points).is_integer() else str(points)  # "2", "0.5"


def _text(notes: list[str], points: tuple) -> tuple[str, float | None]:
    lines = ["Code Analysis:" + " ".join(notes), "Score:"]
    lines += [f"Rule {i}. {name}: {_fmt(p)}".rstrip() for i, (name, p) in enumerate(zip(RULES, points), 1)]
    score = None if None in points else float(sum(points))
    return "\n".join(lines), score
