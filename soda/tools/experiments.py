"""`soda experiments queue GRID`: a grid of variants x seeds as queued `dvc exp run`s.

A grid file (YAML) has `seeds` (a list of ints), `variants` ({name: {param.path: value}})
and, optionally, `params` ({param.path: value}): overrides every variant shares (e.g. the
held-out size the power analysis asks for), under the variant's own. Every override is checked against params.yaml's schema before anything is queued, so an
unknown param or a value of the wrong type stops the whole grid with the name of the
variant and key. Each experiment is named `<variant>-s<seed>` and logs to the same MLflow
store (see soda/tracking.py), tagged with that name.

`--run --jobs N` (N > 1) runs N queue workers, each with cores/N torch threads (a tiny
model trains faster as two 1-thread processes than as one 2-thread process), logging
through an `mlflow server` this command starts on the sqlite store (SQLite locks under
concurrent writers) and stops when the queue is done; it waits for the queue.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import json
import os
import shlex
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Iterator

import yaml

from soda.io import InputError
from soda.params import load_params, validate


def load_grid(path: str | Path) -> tuple[list[int], dict[str, dict], dict]:
    """(seeds, each variant's own overrides, the overrides all variants share)."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: grid file not found")
    grid = yaml.safe_load(path.read_text()) or {}
    unknown = set(grid) - {"seeds", "variants", "params"}
    if unknown:
        raise InputError(f"{path}: unknown key {sorted(unknown)[0]!r} (expected seeds, variants, params)")
    seeds = grid.get("seeds", [0])
    if not isinstance(seeds, list) or not seeds or not all(isinstance(s, int) and not isinstance(s, bool) for s in seeds):
        raise InputError(f"{path}: seeds must be a non-empty list of integers")
    variants = grid.get("variants")
    if not isinstance(variants, dict) or not variants:
        raise InputError(f"{path}: variants must be a non-empty mapping of name -> overrides")
    for name, overrides in variants.items():
        if not isinstance(overrides, dict):
            raise InputError(f"{path}: variants.{name} must be a mapping of param -> value")
    common = grid.get("params") or {}
    if not isinstance(common, dict):
        raise InputError(f"{path}: params must be a mapping of param -> value")
    return seeds, variants, common


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


def commands(grid_path: str, params_path: str = "params.yaml", seeds: list[int] | None = None,
             names: list[str] | None = None) -> list[list[str]]:
    grid_seeds, own, common = load_grid(grid_path)
    seeds = seeds or grid_seeds
    unknown = [n for n in names or () if n not in own]
    if unknown:
        raise InputError(f"--variants: {unknown[0]!r} is not a variant of {grid_path} ({', '.join(own)})")
    own = {n: o for n, o in own.items() if not names or n in names}
    params = load_params(params_path)
    variants = {name: {**common, **overrides} for name, overrides in own.items()}
    for name, overrides in variants.items():
        apply(params, {**overrides, "seed": seeds[0]}, f"{grid_path}: variants.{name}")
    # The first variant (the reference) of every seed goes first: the other variants reuse
    # its cached stages, and a parallel worker must not recompute them alongside it. The
    # rest is seed-major, so a grid stopped part-way still compares every variant.
    first, *rest = variants
    order = [(first, seed) for seed in seeds] + [(name, seed) for seed in seeds for name in rest]
    cmds = []
    for name, seed in order:
        sets = [arg for key, value in {**variants[name], "seed": seed}.items()
                for arg in ("-S", f"{key}={hydra_value(value)}")]
        cmds.append(["dvc", "exp", "run", "--queue", "-n", f"{name}-s{seed}", *sets])
    return cmds


@contextlib.contextmanager
def mlflow_server(store_uri: str, timeout_s: float = 60.0) -> Iterator[str]:
    """An `mlflow server` on a free local port over `store_uri`; yields its URL."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    root = Path(store_uri.removeprefix("sqlite:///")).parent
    log = open(root / "mlflow-server.log", "ab")
    proc = subprocess.Popen(
        [sys.executable, "-m", "mlflow", "server", "--backend-store-uri", store_uri, "--host", "127.0.0.1",
         "--port", str(port), "--workers", "1", "--no-serve-artifacts",
         "--default-artifact-root", (root / "mlruns").as_uri()],
        stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                urllib.request.urlopen(f"{url}/health", timeout=2).read()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise InputError(f"mlflow server did not start (see {root / 'mlflow-server.log'})") from None
                time.sleep(0.5)
        yield url
    finally:
        # The server and its workers are one process group; on a loaded machine they may take
        # longer than the grace period to stop: then they are killed.
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        log.close()


def queue_counts() -> dict[str, int]:
    """Tasks per status, and active workers, from `dvc queue status`."""
    out = subprocess.run(["dvc", "queue", "status"], capture_output=True, text=True, check=True).stdout
    counts: dict[str, int] = {}
    for line in out.splitlines():
        words = line.split()
        if line.startswith("Worker status:"):
            counts["workers"] = int(words[2]) + int(words[4])  # "Worker status: 1 active, 0 idle"
        elif words and words[-1] in ("Queued", "Running", "Success", "Failed"):
            counts[words[-1]] = counts.get(words[-1], 0) + 1
    return counts


def missing_workers(counts: dict[str, int], jobs: int) -> int:
    """Workers to start again: while tasks are queued there should be `jobs` of them."""
    return max(0, jobs - counts.get("workers", 0)) if counts.get("Queued") else 0


def run_parallel(jobs: int, params_path: str = "params.yaml", poll_s: float = 120.0) -> dict[str, int]:
    from soda.tracking import tracking_uri

    env = {**os.environ, "OMP_NUM_THREADS": str(max(1, (os.cpu_count() or 1) // jobs))}
    uri = tracking_uri(load_params(params_path)["runtime"]["mlflow"]["tracking_uri"])
    with contextlib.ExitStack() as stack:
        if uri.startswith("sqlite:///"):
            env["MLFLOW_TRACKING_URI"] = stack.enter_context(mlflow_server(uri))
        subprocess.run(["dvc", "queue", "start", "-j", str(jobs)], check=True, env=env)
        restarts = 0
        while True:
            time.sleep(poll_s)
            counts = queue_counts()
            if not counts.get("Queued") and not counts.get("Running"):
                return counts
            missing = missing_workers(counts, jobs)
            if missing:
                # A worker can die of a race in kombu's filesystem broker (a JSONDecodeError in
                # its log, measured once in a 30-experiment grid): start the missing ones again.
                restarts += missing
                if restarts > 2 * jobs:
                    raise InputError(f"queue workers keep stopping with tasks left: {counts} "
                                     "(see .dvc/tmp/exps/celery/dvc-exp-worker-*.out)")
                print(f"restarting {missing} stopped queue worker(s): {counts}", file=sys.stderr, flush=True)
                subprocess.run(["dvc", "queue", "start", "-j", str(jobs)], check=True, env=env)


def seed_list(value: str) -> list[int]:
    try:
        return [int(x) for x in value.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r}: expected comma-separated integers, e.g. 1,2") from None


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="soda experiments", description=__doc__)
    sub = p.add_subparsers(dest="cmd", required=True)
    q = sub.add_parser("queue", help="queue every variant x seed of a grid file")
    q.add_argument("grid")
    q.add_argument("--params", default="params.yaml")
    q.add_argument("--run", action="store_true", help="then start the queue (dvc queue start)")
    q.add_argument("--seeds", type=seed_list, default=None,
                   help="comma-separated seeds instead of the grid's (e.g. to add seeds to a grid)")
    q.add_argument("--variants", type=lambda v: v.split(","), default=None,
                   help="comma-separated variant names: queue only these (e.g. the comparisons that matter first)")
    q.add_argument("--jobs", type=int, default=1,
                   help="parallel queue workers for --run; > 1 starts an mlflow server and waits for the queue")
    q.add_argument("--dry-run", action="store_true", help="print the dvc commands only")
    args = p.parse_args(argv)
    cmds = commands(args.grid, args.params, args.seeds, args.variants)
    for cmd in cmds:
        print(shlex.join(cmd))  # quoted: a printed command pastes into a shell as it ran
        if not args.dry_run:
            subprocess.run(cmd, check=True)
    if args.run and not args.dry_run and args.jobs > 1:
        print(f"queue finished: {run_parallel(args.jobs, args.params)}", file=sys.stderr)
    elif args.run and not args.dry_run:
        subprocess.run(["dvc", "queue", "start"], check=True)
        print("queued experiments are running; follow with `dvc queue status`, then `dvc exp show` / `soda report`",
              file=sys.stderr)
    return 0
