"""The persistent call cache: a call that returned is never paid for twice.

One SQLite file in write-ahead-log mode. Every completed call is committed before the next
result is handled, so a stage killed at any point, even with SIGKILL, resumes with everything it
had received. `synchronous=NORMAL`: a commit is in the log (the OS holds it) when it returns, which
a killed process cannot lose; only a power cut or OS crash can lose the last calls (never corrupt
the file). FULL would fsync every call, which caps a fast teacher at the disk's sync rate.
Several processes may share the file.
Keys are hashes of everything that decides an output (see `Backend._key`).
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from soda.backends.base import Completion
from soda.io import InputError

FILE = "calls.sqlite3"


class CallCache:
    def __init__(self, cache_dir: str | Path):
        self.path = Path(cache_dir) / FILE
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.db = sqlite3.connect(self.path, timeout=60, isolation_level=None)
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=NORMAL")
            self.db.execute("CREATE TABLE IF NOT EXISTS calls (key TEXT PRIMARY KEY, text TEXT NOT NULL, finish TEXT NOT NULL)")
        except (OSError, sqlite3.Error) as e:
            raise InputError(f"runtime.cache_dir: cannot open the call cache {self.path} ({e})") from None
        self.hits = 0
        self.misses = 0

    def get_many(self, keys: set[str]) -> dict[str, Completion]:
        found: dict[str, Completion] = {}
        keys = list(keys)
        for start in range(0, len(keys), 500):  # SQLite caps the number of bound parameters
            chunk = keys[start:start + 500]
            marks = ",".join("?" * len(chunk))
            for key, text, finish in self.db.execute(f"SELECT key, text, finish FROM calls WHERE key IN ({marks})", chunk):
                found[key] = Completion(text, finish)
        self.hits += len(found)
        self.misses += len(keys) - len(found)
        return found

    def put_many(self, items) -> None:
        """(key, completion) pairs of one call, committed together (one transaction) when it returns."""
        self.db.execute("BEGIN")
        self.db.executemany("INSERT OR REPLACE INTO calls (key, text, finish) VALUES (?, ?, ?)",
                            [(key, c.text, c.finish) for key, c in items])
        self.db.execute("COMMIT")

    def __len__(self) -> int:
        return self.db.execute("SELECT COUNT(*) FROM calls").fetchone()[0]

    def close(self) -> None:
        self.db.close()
