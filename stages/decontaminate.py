"""decontaminate: drop seed questions whose 5-gram Jaccard similarity (or containment) to a
benchmark item reaches the threshold, with a report of what was removed and why."""

from __future__ import annotations

from soda.decontaminate import clean
from soda.decontaminate import write_report
from soda.io import InputError, read_rows, write_jsonl
from soda.params import Decontaminate
from stages import In, Out, StageConfig


class Config(StageConfig):
    decontaminate: Decontaminate


def run(cfg: Config, *, questions: In, heldout: In, benchmarks: In, out: Out, report_jsonl: Out, report_csv: Out) -> dict:
    # Non-UTF-8 bytes in a question are repaired and counted by decontaminate, not fatal.
    rows = read_rows(questions, "question", ("id", "question"), errors="surrogateescape")
    result = clean(rows, cfg.decontaminate, heldout, benchmarks)
    if not result.clean:
        raise InputError(f"{questions}: every question was removed by decontamination")
    write_report(result, report_jsonl, report_csv)
    write_jsonl(out, result.clean)
    return result.counts
