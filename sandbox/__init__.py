"""Isolated, fast execution of untrusted solutions.

    from sandbox import execute, execute_many, Job, Result
    execute("def f(x): return x + 1", tests="assert f(1) == 2").passed  # True

See sandbox/zygote.py for how runs are confined and sandbox/langs.py for the languages.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sandbox.cache import ResultCache
    from sandbox.pool import Pool, SandboxUnavailable
    from sandbox.result import Job, Result

__all__ = ["execute", "execute_many", "Job", "Result", "Pool", "ResultCache", "SandboxUnavailable", "LANGS",
           "STATUSES"]


def __getattr__(name: str):
    # The zygote imports this package: the pool (threads, subprocess), the cache (sqlite3) and
    # the records (dataclasses) load on first use so that they are not copied at every fork.
    if name in ("Job", "Result", "LANGS", "STATUSES"):
        from sandbox import result

        return getattr(result, name)
    if name in ("Pool", "SandboxUnavailable", "shared_pool"):
        from sandbox import pool

        return getattr(pool, name)
    if name == "ResultCache":
        from sandbox.cache import ResultCache

        return ResultCache
    raise AttributeError(f"module 'sandbox' has no attribute {name!r}")


def execute(code: str, lang: str = "python", tests: str | None = None, *, timeout_s: float = 10.0,
            memory_mb: int = 1024, mode: str = "tests") -> Result:
    from sandbox.pool import shared_pool
    from sandbox.result import Job

    return shared_pool().run(Job(code, lang, tests, timeout_s, memory_mb, mode))


def execute_many(jobs: list[Job], workers: int | None = None, progress: bool = False,
                 cache: ResultCache | None = None) -> list[Result]:
    """Results in input order; a pool of `workers` slots (default: one per core). With a
    cache, jobs it holds are not run, and each new result it may keep is stored as soon as
    it is known: a batch killed half-way keeps the verdicts it reached."""
    results: list[Result | None] = [cache.get(job) for job in jobs] if cache else [None] * len(jobs)
    todo = [i for i, r in enumerate(results) if r is None]
    if not todo:
        return results  # type: ignore[return-value]
    from sandbox.pool import Pool, shared_pool

    def store(k: int, result: Result) -> None:
        results[todo[k]] = result
        if cache:
            cache.put(jobs[todo[k]], result)

    pool = shared_pool() if workers is None else Pool(workers)
    try:
        pool.map([jobs[i] for i in todo], progress, on_result=store)
    finally:
        if workers is not None:
            pool.close()
    return results  # type: ignore[return-value]
