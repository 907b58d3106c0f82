"""`soda bench train` on a sliver of one cycle: one JSON line with the issue's keys, every
stage trained on the rows the stages would see (the scorer in score_train.format)."""

from __future__ import annotations

import json

import pytest

from soda.tools.bench import main

pytestmark = pytest.mark.slow  # a benchmark: runs whole training stages


def test_bench_prints_one_json_line_with_the_stage_figures(capsys):
    assert main(["train", "--fraction", "0.02", "--repeats", "1", "--overhead-rows", "16"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 1
    figures = json.loads(lines[0])
    for key in ("trainer_tokens_per_s", "plain_tokens_per_s", "overhead", "csl_seconds", "fcl_seconds", "scorer_seconds"):
        assert figures[key] > 0, key
    assert all(figures["steps"][kind] > 0 for kind in ("csl", "fcl", "scorer"))
    assert figures["rows"]["fcl"] > 0 and figures["rows"]["scorer"] > 0
