"""Atomic file I/O shared by every stage.

Stages never leave half-written outputs: everything is written to a temporary
sibling path and renamed into place only on success.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any, Iterable, Iterator


class InputError(Exception):
    """Bad user input (params, files): the message names the key, file or line."""


def read_jsonl(path: str | os.PathLike, *, errors: str = "strict") -> list[dict]:
    """Rows of a JSONL file; `errors` is how undecodable bytes are treated (codecs' names)."""
    return [row for _, row in iter_jsonl(path, errors=errors)]


def iter_jsonl(path: str | os.PathLike, *, errors: str = "strict") -> Iterator[tuple[int, dict]]:
    """(byte offset, row) of each row of a JSONL file, one at a time (for `read_jsonl_at`)."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: file not found")
    with path.open("rb") as f:
        offset = 0
        for lineno, raw in enumerate(f, 1):
            row = _parse_line(raw, errors, path, lineno)
            if row is not None:
                yield offset, row
            offset += len(raw)


def read_jsonl_at(path: str | os.PathLike, offsets: Iterable[int], *, errors: str = "strict") -> list[dict]:
    """The rows starting at these byte offsets (from `iter_jsonl`), in the order given."""
    path = Path(path)
    with path.open("rb") as f:
        rows = []
        for offset in offsets:
            f.seek(offset)
            rows.append(_parse_line(f.readline(), errors, path, f"byte {offset}"))
        return rows


def _parse_line(raw: bytes, errors: str, path: Path, where) -> dict | None:
    try:
        line = raw.decode("utf-8", errors).strip()
        if not line:
            return None
        row = json.loads(line)
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise InputError(f"{path}:{where}: not valid JSON ({e})") from None
    if not isinstance(row, dict):
        raise InputError(f"{path}:{where}: expected a JSON object, got {type(row).__name__}")
    return row


def require_keys(rows: list[dict], keys: Iterable[str], where: str, first: int = 1) -> None:
    """Every row has every key as a non-empty string; the first that does not is named (row
    number, counted from `first`, its id, the key)."""
    for i, row in enumerate(rows, first):
        for key in keys:
            if not isinstance(row.get(key), str) or not row[key]:
                raise InputError(f"{where}: row {i} (id {row.get('id')!r}): {key!r} must be a non-empty string")


def dumps(obj: Any) -> str:
    """Canonical JSON: sorted keys, so that outputs are byte-identical across runs."""
    return json.dumps(obj, sort_keys=True, ensure_ascii=False)


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path (file or directory) that replaces `path` on success."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent))
    target = tmp / path.name
    try:
        yield target
        if not target.exists():
            raise RuntimeError(f"nothing was written for {path}")
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        elif path.exists() or path.is_symlink():
            path.unlink()
        os.replace(target, path)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def write_jsonl(path: str | os.PathLike, rows: Iterable[dict]) -> int:
    with jsonl_writer(path) as write:
        for row in rows:
            write(row)
    return write.count


class _Writer:
    def __init__(self, f):
        self.f, self.count = f, 0

    def __call__(self, row: dict) -> None:
        self.f.write(dumps(row) + "\n")
        self.count += 1


@contextlib.contextmanager
def jsonl_writer(path: str | os.PathLike) -> Iterator[_Writer]:
    """A function that appends a row, for writing a JSONL file as rows come; the file replaces
    `path` only if the block succeeds (an exception leaves the old file, or none)."""
    with atomic_path(path) as tmp, tmp.open("w", encoding="utf-8") as f:
        yield _Writer(f)


def write_json(path: str | os.PathLike, obj: Any) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(obj, sort_keys=True, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def read_json(path: str | os.PathLike) -> Any:
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: file not found")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise InputError(f"{path}: not valid JSON ({e})") from None


# Metrics keys (at any depth) that differ between runs of the same inputs.
RUN_ONLY = ("seconds", "tokens_per_s", "resumed_from")


def produced(metrics: dict) -> dict:
    """The metrics without the RUN_ONLY keys, at every depth."""
    return {k: produced(v) if isinstance(v, dict) else v for k, v in metrics.items() if k not in RUN_ONLY}


def read_rows(path: str | Path, what: str, keys: tuple[str, ...] = (), *, errors: str = "strict") -> list[dict]:
    """A stage input that must not be empty, each row with `keys` (non-empty strings); an
    error names the file and, for a bad row, its number and the key. `errors`: as read_jsonl's."""
    rows = read_jsonl(path, errors=errors)
    if not rows:
        raise InputError(f"{path}: the {what} set is empty")
    require_keys(rows, keys, str(path))
    return rows


def with_teacher_langs(rows: list[dict], teacher: str | Path) -> list[dict]:
    """Questions without `lang` take the language their teacher answered in (the cycle's
    teacher.jsonl), as the seed's own questions do in teacher-generate."""
    taught = {r["id"]: r.get("lang") for r in read_rows(teacher, "teacher", ("id",))}
    return [q if q.get("lang") or not taught.get(q["id"]) else {**q, "lang": taught[q["id"]]} for q in rows]
