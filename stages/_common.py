"""What every stage script shares: argument parsing conventions and metrics output."""

from __future__ import annotations

import argparse
import random

from soda.io import write_json
from soda.params import load_params


def parser(description: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--params", default="params.yaml", help="params file (default: params.yaml)")
    return p


def setup(args: argparse.Namespace) -> dict:
    params = load_params(args.params)
    random.seed(params.get("seed", 0))
    return params


def read_rows(path: str, what: str) -> list[dict]:
    """A stage input that must not be empty (an empty set is an error naming the file)."""
    from soda.io import InputError, read_jsonl

    rows = read_jsonl(path)
    if not rows:
        raise InputError(f"{path}: the {what} set is empty")
    return rows


def write_metrics(path: str, metrics: dict) -> None:
    write_json(path, metrics)


def run(main) -> None:
    """Run a stage's main(); bad input exits 2 with the message, not a traceback."""
    import sys

    from soda.io import InputError

    try:
        sys.exit(main())
    except InputError as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(2)


def scratch_dir(stage: str, cycle: str | None = None) -> str:
    """Trainer scratch space (checkpoints for resume), outside DVC outputs which DVC deletes
    before a re-run. Under the working copy, not DVC_ROOT: queued experiments run in copies
    of their own and must not resume from each other's checkpoints."""
    from pathlib import Path

    name = f"{stage}@{cycle}" if cycle else stage
    return str(Path.cwd() / ".soda" / "scratch" / name)
