"""`soda bench decontam` at a reduced size: one JSON line with the issue's keys, and every
planted copy of every kind found exactly (the full-size figures come from running the bench itself)."""

from __future__ import annotations

import json

import pytest

from soda.tools.bench import main
from soda.tools.bench.decontam import KINDS

pytestmark = pytest.mark.slow  # a benchmark


def test_bench_prints_one_json_line_with_the_figures(capsys):
    args = ["--questions", "500", "--planted", str(10 * len(KINDS)), "--items", "200", "--baseline-questions", "100"]
    assert main(["decontam", *args, "--processes", "2"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 1
    figures = json.loads(lines[0])
    for key in ("questions_per_s", "peak_rss_mb", "baseline.recall", "baseline.questions_per_s", "speedup_vs_baseline"):
        assert key in figures
    assert figures["contaminated"] >= 10 * (len(KINDS) - 1)  # every planted copy but some edited ones
    assert figures["recall_by_kind"] == dict.fromkeys(KINDS, 1.0)
    assert (figures["recall"], figures["precision"], figures["pair_recall"], figures["pair_precision"]) == (1.0,) * 4
    assert figures["unrelated_removed"] == figures["unrelated_contaminated"]
    assert 0 < figures["peak_rss_mb"] and 0 < figures["questions_per_s"]
