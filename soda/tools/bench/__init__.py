"""`soda bench NAME`: each benchmark is a module `soda.tools.bench.NAME` with `main(argv) -> int`
that prints one JSON line holding the figure and its baseline measured in the same run."""

from __future__ import annotations

import importlib
import sys

BENCHES = ("sandbox", "decontam", "train", "generate", "evaluate", "teacher")


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in BENCHES:
        print(f"usage: soda bench {{{','.join(BENCHES)}}} [ARGS...]", file=sys.stderr)
        return 2
    return int(importlib.import_module(f"soda.tools.bench.{argv[0]}").main(argv[1:]) or 0)
