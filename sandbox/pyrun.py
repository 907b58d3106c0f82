"""Runs a Python solution and its tests inside the already-confined run process.

The verdict travels to the zygote on a private pipe as one JSON line carrying a per-run
nonce. A clean exit code proves nothing (the solution may call os._exit(0) before the tests),
and stdout proves nothing (it may print a fake success line): only the harness reaching the
end of the tests writes the nonce. Exceptions are reported by class name so that the fault
taxonomy (SyntaxError, NameError, TypeError, AssertionError, ...) can be checked.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import traceback

# Failing imports that mean "this machine lacks a package", not "the program is wrong";
# the paper's runs-check ignores them.
ENV_ERRORS = ("ModuleNotFoundError",)


def _origin(tb) -> str:
    """File name ('<solution>' or '<tests>') of the innermost Python frame of a traceback."""
    name = "?"
    while tb is not None:
        name = tb.tb_frame.f_code.co_filename
        tb = tb.tb_next
    return name


def _print_traceback(e: BaseException) -> None:
    """The traceback Python itself would print, without this harness's frames."""
    tb = e.__traceback__
    while tb is not None and tb.tb_frame.f_code.co_filename == __file__:
        tb = tb.tb_next
    sys.stderr.write("".join(traceback.format_exception(type(e), e, tb)))


def _report(fd: int, nonce: str, **fields) -> None:
    os.write(fd, (json.dumps({"nonce": nonce, **fields}) + "\n").encode())


def run(code: str, tests: str | None, mode: str, result_fd: int, nonce: str) -> None:
    """Execute and report; never returns (the process ends with os._exit)."""
    sys.argv = ["solution.py"]
    # The run is init of its pid namespace, which the kernel spares from signals it has no
    # handler for: end the run at the soft CPU limit here (the hard limit is a SIGKILL anyway).
    signal.signal(signal.SIGXCPU, lambda *_: os._exit(128 + signal.SIGXCPU))
    namespace = {"__name__": "__main__", "__builtins__": __builtins__}
    stage = "<solution>"
    verdict: dict
    try:
        exec(compile(code, "<solution>", "exec"), namespace)
        if tests:
            stage = "<tests>"
            exec(compile(tests, "<tests>", "exec"), namespace)
        verdict = {"ok": True}
    except SystemExit as e:
        # An exit raised by the tests themselves is their verdict; one raised by the solution
        # (even from inside a function the tests call) means the tests never finished.
        clean = e.code in (None, 0)
        by_tests = _origin(e.__traceback__) == "<tests>" or (stage == "<tests>" and e.__traceback__ is None)
        if mode == "runs" or by_tests:
            verdict = {"ok": clean, "error_class": None if clean else "SystemExit",
                       "reason": None if clean else f"exit status {e.code!r}"}
        else:
            verdict = {"ok": False, "error_class": "SystemExit",
                       "reason": f"the solution called exit({e.code!r}) before the tests finished"}
    except BaseException as e:  # noqa: BLE001 - every exception is a verdict
        _print_traceback(e)
        name = type(e).__name__
        reason = "".join(traceback.format_exception_only(e)).strip().splitlines()[-1][:500]
        ignorable = mode == "runs" and name in ENV_ERRORS
        verdict = {"ok": ignorable, "error_class": name, "reason": reason}
        if ignorable:
            verdict["reason"] = f"environment error ignored: {reason}"
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except BaseException:  # noqa: BLE001 - a closed or full stdout must not hide the verdict
        pass
    _report(result_fd, nonce, **verdict)
    os._exit(0 if verdict["ok"] else 1)
