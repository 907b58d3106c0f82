"""Isolated, fast execution of untrusted solutions.

    from sandbox import execute, execute_many, Job, Result
    execute("def f(x): return x + 1", tests="assert f(1) == 2").passed  # True

See sandbox/zygote.py for how runs are confined and sandbox/langs.py for the languages.
"""

from __future__ import annotations

from sandbox.pool import Pool, SandboxUnavailable, shared_pool
from sandbox.result import LANGS, STATUSES, Job, Result

__all__ = ["execute", "execute_many", "Job", "Result", "Pool", "SandboxUnavailable", "LANGS", "STATUSES"]


def execute(code: str, lang: str = "python", tests: str | None = None, *, timeout_s: float = 10.0,
            memory_mb: int = 1024, mode: str = "tests") -> Result:
    return shared_pool().run(Job(code, lang, tests, timeout_s, memory_mb, mode))


def execute_many(jobs: list[Job], workers: int | None = None, progress: bool = False) -> list[Result]:
    """Results in input order; a pool of `workers` slots (default: one per core)."""
    if not jobs:
        return []
    if workers is None:
        return shared_pool().map(jobs, progress)
    pool = Pool(workers)
    try:
        return pool.map(jobs, progress)
    finally:
        pool.close()
