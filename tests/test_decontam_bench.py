"""`soda bench decontam` at a reduced size: one JSON line with the issue's keys, and the
planted copies found exactly (the full-size figures come from running the bench itself)."""

from __future__ import annotations

import json

from soda.bench import main


def test_bench_prints_one_json_line_with_the_figures(capsys):
    assert main(["decontam", "--questions", "400", "--planted", "60", "--items", "200", "--processes", "2"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 1
    figures = json.loads(lines[0])
    for key in ("recall_ge_0_7", "recall_ge_0_75", "precision", "questions_per_s", "peak_rss_mb",
                "baseline.recall_ge_0_7", "baseline.questions_per_s"):
        assert key in figures
    assert figures["true_pairs_ge_0_7"] > 10  # the planted copies above the threshold
    assert (figures["recall_ge_0_7"], figures["recall_ge_0_75"], figures["precision"]) == (1.0, 1.0, 1.0)
    assert 0 < figures["peak_rss_mb"] and 0 < figures["questions_per_s"]
