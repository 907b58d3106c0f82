"""Per-language recipes: how a job becomes confined processes, and how outcomes become a Result.

Runs inside the zygote. Python runs in the forked interpreter itself; the other languages
compile (when they need to) and run with exec in the same confinement, one run dir per job.
"""

from __future__ import annotations

import signal

from sandbox import pyrun

# Raw outcomes of the run's process that are not a verdict from the harness.
SIGNAL_STATUS = {signal.SIGXCPU: ("timeout", "CPU time limit exceeded"),
                 signal.SIGXFSZ: ("fail", "output or file size limit exceeded")}


def run_job(zygote, req: dict, workdir: str) -> dict:
    if req["lang"] == "python":
        return run_python(zygote, req, workdir)
    return {"status": "env-error", "reason": f"language {req['lang']!r} is not supported yet"}


def run_python(zygote, req: dict, workdir: str) -> dict:
    code, tests, mode = req["code"], req.get("tests"), req["mode"]

    def target(result_fd: int, nonce: str) -> None:
        pyrun.run(code, tests, mode, result_fd, nonce)

    out = zygote.spawn(workdir, target, timeout_s=req["timeout_s"], memory_mb=req["memory_mb"], as_init=True)
    return python_result(out, req)


def python_result(out: dict, req: dict) -> dict:
    result = {k: out[k] for k in ("stdout", "stderr", "cpu_s", "wall_s")}
    result["exit_code"] = out["exit"]
    verdict = out["verdict"]
    if verdict is not None:
        error = verdict.get("error_class")
        result.update(error_class=error, reason=verdict.get("reason"))
        if verdict["ok"]:
            result["status"] = "pass"
        elif error == "MemoryError":
            result["status"] = "memory"
        else:
            result["status"] = "fail"
        return result
    result.update(error_class=None, **_raw_status(out, req))
    return result


def _raw_status(out: dict, req: dict) -> dict:
    """Status of a run that ended without the harness's verdict."""
    code = out["exit"]
    if out["wall_killed"]:
        return {"status": "timeout", "reason": f"no progress or wall time cap ({out['wall_s']:.1f}s)"}
    if code > 128 and code - 128 in SIGNAL_STATUS:
        status, reason = SIGNAL_STATUS[code - 128]
        return {"status": status, "reason": reason}
    if code > 128 and out["cpu_s"] >= req["timeout_s"]:
        return {"status": "timeout", "reason": "CPU time limit exceeded"}
    if code == 252:
        return {"status": "sandbox-error", "reason": "confinement failed: " + out["stderr"][-300:]}
    if code > 128:
        name = signal.Signals(code - 128).name if code - 128 in signal.Signals._value2member_map_ else code - 128
        return {"status": "fail", "reason": f"killed by signal {name}"}
    if req["mode"] == "runs" and code == 0:
        return {"status": "pass", "reason": None}
    return {"status": "fail", "reason": f"exited with code {code} before the tests finished"}
