"""A persistent cache of results, for callers that run the same jobs again (a re-run stage).

One SQLite file. A result is keyed by the whole job (code, tests, language, mode, limits) and
by a digest of the sandbox's own source, so a changed sandbox never serves an old verdict.
Only verdicts the program decides are kept (pass, fail, timeout, memory: timeouts are judged
on CPU time, so they do not depend on the machine's load); an environment or sandbox error
is run again next time.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from dataclasses import asdict
from pathlib import Path

from sandbox.result import Job, Result

KEPT = ("pass", "fail", "timeout", "memory")
FILE = "runs.sqlite3"
_PACKAGE = Path(__file__).resolve().parent


def source_digest() -> str:
    """sha256 of the sandbox package's files (names and contents)."""
    files = sorted(p for p in _PACKAGE.rglob("*") if p.is_file() and "__pycache__" not in p.parts)
    return hashlib.sha256(b"".join(str(p.relative_to(_PACKAGE)).encode() + b"\0" + p.read_bytes()
                                   for p in files)).hexdigest()


class ResultCache:
    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(self.path, timeout=60, isolation_level=None, check_same_thread=False)
        self.db.execute("PRAGMA journal_mode=WAL")
        # no fsync per verdict (thousands per stage): a crash can lose the last few, which only re-run
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.execute("CREATE TABLE IF NOT EXISTS results (key TEXT PRIMARY KEY, result TEXT NOT NULL)")
        self.version = source_digest()
        self.hits = self.stored = 0  # this process's: verdicts reused, verdicts stored

    def key(self, job: Job) -> str:
        return hashlib.sha256(json.dumps([self.version, asdict(job)], sort_keys=True).encode()).hexdigest()

    def get(self, job: Job) -> Result | None:
        row = self.db.execute("SELECT result FROM results WHERE key = ?", (self.key(job),)).fetchone()
        if row is None:
            return None
        self.hits += 1
        return Result(**json.loads(row[0]))

    def put(self, job: Job, result: Result) -> None:
        if result.status in KEPT:
            self.db.execute("INSERT OR REPLACE INTO results (key, result) VALUES (?, ?)",
                            (self.key(job), json.dumps(result.to_dict())))
            self.stored += 1

    def close(self) -> None:
        self.db.close()


def result_cache(folder: Path | None) -> ResultCache | None:
    """The verdict store in a cache folder (beside the callers' other caches), or None without one."""
    return ResultCache(folder / FILE) if folder is not None else None
