"""The two records of the sandbox API: a Job to run and the Result it gets."""

from __future__ import annotations

from dataclasses import asdict, dataclass

# Every Result.status is one of these.
STATUSES = ("pass", "fail", "timeout", "memory", "env-error", "sandbox-error")
LANGS = ("python", "c", "cpp", "java", "js", "ts", "go")
MODES = ("tests", "runs")


@dataclass
class Job:
    code: str
    lang: str = "python"
    tests: str | None = None
    timeout_s: float = 10.0
    memory_mb: int = 1024
    # "tests": code followed by tests must run to their end; "runs": the paper's check, the
    # program compiles and runs without error, environment errors (missing module) ignored.
    mode: str = "tests"


@dataclass
class Result:
    status: str
    exit_code: int | None = None
    stdout: str = ""
    stderr: str = ""
    cpu_s: float = 0.0
    wall_s: float = 0.0
    error_class: str | None = None  # Python exception class name (SyntaxError, AssertionError, ...)
    reason: str | None = None

    @property
    def passed(self) -> bool:
        return self.status == "pass"

    def to_dict(self) -> dict:
        return asdict(self)
