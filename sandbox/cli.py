"""`soda sandbox run FILE --lang L [--tests FILE] [--mode runs|tests]`: print the Result as JSON."""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def _read(parser: argparse.ArgumentParser, path: str) -> str:
    p = Path(path)
    if not p.is_file():
        parser.error(f"{path}: file not found")  # one line, exit 2, as soda's other commands
    # Undecodable bytes are kept visible (U+FFFD) rather than refused: the sandbox reports them.
    return p.read_bytes().decode("utf-8", "replace")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="soda sandbox", description="run code in the sandbox")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run one program and print its result as JSON")
    run.add_argument("file", help="source file of the program")
    run.add_argument("--lang", default="python", help="python, c, cpp, java, js, ts or go")
    run.add_argument("--tests", help="file with the tests appended to / compiled with the program")
    run.add_argument("--mode", choices=("tests", "runs"), default="tests")
    run.add_argument("--timeout", type=float, default=10.0, help="CPU seconds (default 10)")
    run.add_argument("--memory-mb", type=int, default=1024)
    args = parser.parse_args(argv)

    from sandbox import execute  # noqa: PLC0415 - keep `--help` fast

    result = execute(_read(parser, args.file), args.lang, _read(parser, args.tests) if args.tests else None,
                     timeout_s=args.timeout, memory_mb=args.memory_mb, mode=args.mode)
    print(json.dumps(result.to_dict(), sort_keys=True, ensure_ascii=False))
    return 0 if result.passed else 1
