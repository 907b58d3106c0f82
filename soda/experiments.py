"""`soda experiments queue GRID`: a grid of variants x seeds as queued `dvc exp run`s.

A grid file (YAML) has `seeds` (a list of ints) and `variants` ({name: {param.path: value}}).
Every override is checked against params.yaml's schema before anything is queued, so an
unknown param or a value of the wrong type stops the whole grid with the name of the
variant and key. Each experiment is named `<variant>-s<seed>` and logs to the same MLflow
store (see soda/tracking.py), tagged with that name.
"""

from __future__ import annotations

import argparse
import copy
import json
import subprocess
import sys
from pathlib import Path

import yaml

from soda.io import InputError
from soda.params import load_params, validate


def load_grid(path: str | Path) -> tuple[list[int], dict[str, dict]]:
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: grid file not found")
    grid = yaml.safe_load(path.read_text()) or {}
    unknown = set(grid) - {"seeds", "variants"}
    if unknown:
        raise InputError(f"{path}: unknown key {sorted(unknown)[0]!r} (expected seeds, variants)")
    seeds = grid.get("seeds", [0])
    if not isinstance(seeds, list) or not seeds or not all(isinstance(s, int) and not isinstance(s, bool) for s in seeds):
        raise InputError(f"{path}: seeds must be a non-empty list of integers")
    variants = grid.get("variants")
    if not isinstance(variants, dict) or not variants:
        raise InputError(f"{path}: variants must be a non-empty mapping of name -> overrides")
    for name, overrides in variants.items():
        if not isinstance(overrides, dict):
            raise InputError(f"{path}: variants.{name} must be a mapping of param -> value")
    return seeds, variants


def apply(params: dict, overrides: dict, where: str) -> dict:
    out = copy.deepcopy(params)
    for key, value in overrides.items():
        node, parts = out, key.split(".")
        for part in parts[:-1]:
            if not isinstance(node.get(part), dict):
                raise InputError(f"{where}: unknown param {key}")
            node = node[part]
        if parts[-1] not in node and parts[0] != "cycles":
            raise InputError(f"{where}: unknown param {key}")
        node[parts[-1]] = value
    try:
        validate(out)
    except InputError as e:
        raise InputError(f"{where}: {e}") from None
    return out


def hydra_value(value) -> str:
    """A value as `dvc exp run -S` parses it (Hydra's override grammar)."""
    if isinstance(value, str):
        return value if value.replace("-", "").replace("_", "").replace(".", "").isalnum() else json.dumps(value)
    return json.dumps(value)


def commands(grid_path: str, params_path: str = "params.yaml") -> list[list[str]]:
    seeds, variants = load_grid(grid_path)
    params = load_params(params_path)
    cmds = []
    # Seed-major: a grid stopped part-way still compares every variant on the seeds it finished.
    for seed in seeds:
        for name, overrides in variants.items():
            exp = f"{name}-s{seed}"
            apply(params, {**overrides, "seed": seed}, f"{grid_path}: variants.{name}")
            sets = [arg for key, value in {**overrides, "seed": seed}.items() for arg in ("-S", f"{key}={hydra_value(value)}")]
            cmds.append(["dvc", "exp", "run", "--queue", "-n", exp, *sets])
    return cmds


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="soda experiments", description=__doc__)
    sub = p.add_subparsers(dest="cmd", required=True)
    q = sub.add_parser("queue", help="queue every variant x seed of a grid file")
    q.add_argument("grid")
    q.add_argument("--params", default="params.yaml")
    q.add_argument("--run", action="store_true", help="then start the queue (dvc queue start)")
    q.add_argument("--jobs", type=int, default=1, help="parallel workers for --run (use an mlflow server if > 1)")
    q.add_argument("--dry-run", action="store_true", help="print the dvc commands only")
    args = p.parse_args(argv)
    cmds = commands(args.grid, args.params)
    for cmd in cmds:
        print(" ".join(cmd))
        if not args.dry_run:
            subprocess.run(cmd, check=True)
    if args.run and not args.dry_run:
        subprocess.run(["dvc", "queue", "start", "-j", str(args.jobs)], check=True)
        print("queued experiments are running; follow with `dvc queue status`, then `dvc exp show` / `soda report`",
              file=sys.stderr)
    return 0
