"""The sandbox verdicts kept beside the call cache, shared by every stage that runs code.

Its own module so that a stage that stores verdicts depends on the sandbox, not on the
teachers (soda.deps follows imports).
"""

from __future__ import annotations


def result_cache(cache_dir: str | None):
    """`<cache_dir>/runs.sqlite3` as a sandbox.ResultCache (each verdict kept as it completes), or None."""
    if not cache_dir:
        return None
    from sandbox import ResultCache
    from soda.params import workspace_path

    return ResultCache(workspace_path(cache_dir) / "runs.sqlite3")
