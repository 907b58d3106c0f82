"""`soda bench teacher`: the LLM-teacher path at scale, against a busy local OpenAI-compatible server.

A local server (soda.tools.bench.openai_server, on 127.0.0.1, bounded in requests and time) answers
each completion after a set latency with jitter, and turns away a share of requests with 429
(Retry-After), 500 or a dropped connection. The real `teacher-generate` stage
(`python -m stages teacher-generate`, an `openai` teacher, its params.yaml in a temp dir) runs:
- on a small and a large seed (10x apart) of the embedded world's questions (made unique by a
  number, and without tests: what is measured is the calls, not the sandbox): calls/s against
  the ideal concurrency / latency, and the stage's peak RSS for each size (`rss_growth`: large
  over small; the stage streams its questions, so it should stay flat);
- on the small seed again, killed with SIGKILL when the server has answered half of its calls,
  and run again. `repaid_calls_after_kill`: calls the stage had received (in its call cache at
  the kill) that the server answered again: the cache's promise is that this is 0.
  `answered_not_received_at_kill`: answers the server sent that the killed stage had not yet
  taken in (on the wire, in its socket buffers): they are asked again, as are the requests
  `in_flight_at_kill` (this server, as vLLM, drops a request whose client has gone; a hosted API
  may bill those). `calls_answered_twice` counts both kinds.
calls/s counts the server's answered calls from the stage's first request to its last answer
(the stage's start-up, imports and MLflow run, is in `stage_s` only). Prints one JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

from soda.tools.bench.openai_server import OpenAIServer, Weather
from stages import command

ROOT = Path(__file__).resolve().parents[3]


def questions(n: int, seed: int = 0) -> list[dict]:
    """n unique questions: the embedded world's, numbered (a world of n would take minutes to make)."""
    from soda.world import make_world

    base, _ = make_world(min(n, 500), 0, seed=seed)
    return [{"id": f"bench-{k:07d}", "question": f"{base[k % len(base)]['question']} (task {k})", "lang": "python",
             "tests": None} for k in range(n)]


PROMPTS = "paper"  # the teacher's prompt set


def write_params(tmp: Path, url: str, concurrency: int) -> Path:
    from soda.params import load_params

    params = load_params(ROOT / "params.yaml")
    params["teacher"].update(backend="openai", model="teacher", endpoint="chat", prompts=PROMPTS, temperature=0.0,
                             max_new_tokens=512)
    params["runtime"]["teacher"].update(base_url=url, api_key_env="SODA_BENCH_KEY", concurrency=concurrency,
                                        max_retries=8, timeout_s=30.0)
    params["runtime"]["cache_dir"] = str(tmp / "cache")
    path = tmp / "params.yaml"
    path.write_text(yaml.safe_dump(params, sort_keys=False))
    return path


def stage(tmp: Path, qpath: Path, out: str) -> subprocess.Popen:
    cmd = command("teacher-generate", tmp / "params.yaml", cycle="c1", questions=qpath, teacher_model_dir="models/init/teacher",
                  **{f"{f}_out": tmp / out / f"{f}.jsonl" for f in ("teacher", "csl", "fcl")}, metrics=tmp / f"{out}.json")
    env = {**os.environ, "MLFLOW_TRACKING_URI": f"sqlite:///{tmp / 'mlflow.db'}", "SODA_BENCH_KEY": "sk-bench"}
    return subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=open(tmp / f"{out}.err", "w"))


def finish(proc: subprocess.Popen, tmp: Path, out: str) -> tuple[float, float]:
    """Wait for the stage; its peak RSS in MB (wait4 reports the child's own high-water mark) and CPU seconds."""
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise RuntimeError(f"teacher-generate ({out}) failed:\n{(tmp / f'{out}.err').read_text()[-2000:]}")
    return usage.ru_maxrss / 1024, usage.ru_utime + usage.ru_stime


def cached_keys(tmp: Path) -> set[str]:
    try:
        with sqlite3.connect(f"file:{tmp / 'cache' / 'calls.sqlite3'}?mode=ro", uri=True, timeout=5) as db:
            return {key for (key,) in db.execute("SELECT key FROM calls")}
    except sqlite3.Error:  # not created yet
        return set()


def call_keys(url: str, calls) -> dict[tuple, str]:
    """The call cache's key of each (prompt, seed, n) the server answered (the teacher's sampling, as in write_params)."""
    from soda.backends.base import Sampling
    from soda.backends.openai import OpenAIBackend

    from soda.prompts import system

    # Prompts A and B of the set share a system message, which is part of the key.
    backend, sp = OpenAIBackend("teacher", base_url=url), Sampling(0.0, 1.0, 512, (), system("correct", PROMPTS))
    return {call: backend._key(*call, sp) for call in calls}


def measured_run(srv: OpenAIServer, root: Path, n: int, concurrency: int) -> dict:
    tmp = root / f"n{n}"
    tmp.mkdir()
    from soda.io import write_jsonl

    write_jsonl(tmp / "questions.jsonl", questions(n))
    write_params(tmp, srv.url, concurrency)
    srv.reset()
    start = time.perf_counter()
    rss, cpu = finish(stage(tmp, tmp / "questions.jsonl", "out"), tmp, "out")
    counts = json.loads((tmp / "out.json").read_text())
    calls = sum(srv.answer_counts.values())
    return {"questions": n, "calls": calls, "calls_per_s": calls / (srv.last_answer - srv.first_request),
            "stage_s": round(time.perf_counter() - start, 1), "stage_cpu_s": round(cpu, 1), "peak_rss_mb": round(rss, 1),
            "csl": counts["csl"], "fcl": counts["fcl"], "retried": srv.requests - calls}


def killed_run(srv: OpenAIServer, root: Path, n: int, concurrency: int) -> dict:
    tmp = root / "kill"
    tmp.mkdir()
    from soda.io import write_jsonl

    write_jsonl(tmp / "questions.jsonl", questions(n))
    write_params(tmp, srv.url, concurrency)
    srv.reset()
    proc = stage(tmp, tmp / "questions.jsonl", "out")
    half = n * 6 // 10  # calls: n for prompt A, a fifth of n for prompt B
    while sum(srv.answer_counts.values()) < half and proc.poll() is None:
        time.sleep(0.01)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    in_flight, at_kill, committed = srv.inflight, dict(srv.answer_counts), cached_keys(tmp)
    finish(stage(tmp, tmp / "questions.jsonl", "out"), tmp, "out")
    received = {call for call, key in call_keys(srv.url, at_kill).items() if key in committed}
    return {"answered_at_kill": sum(at_kill.values()), "received_at_kill": len(received),
            "in_flight_at_kill": in_flight, "answered_not_received_at_kill": len(at_kill) - len(received),
            "repaid_calls_after_kill": sum(srv.answer_counts[call] - at_kill[call] for call in received),
            "calls_answered_twice": sum(c - 1 for c in srv.answer_counts.values() if c > 1)}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="soda bench teacher", description=__doc__.splitlines()[0])
    p.add_argument("--questions", type=int, default=2000, help="the small seed; the large one is 10x")
    p.add_argument("--concurrency", type=int, default=128)
    p.add_argument("--latency", type=float, default=1.0, help="seconds per completion (mean)")
    p.add_argument("--jitter", type=float, default=0.05, help="latency varies uniformly by this much either way")
    p.add_argument("--p429", type=float, default=0.01)
    p.add_argument("--retry-after", type=float, default=1.0, help="the 429s' Retry-After, seconds")
    p.add_argument("--p500", type=float, default=0.005)
    p.add_argument("--pdrop", type=float, default=0.002)
    p.add_argument("--max-seconds", type=float, default=900, help="the server stops after this long")
    args = p.parse_args(argv)
    weather = Weather(args.latency, args.jitter, args.p429, args.p500, args.pdrop, args.retry_after)
    # Bounded: the three runs need 1.2 x 12 x questions calls and a few percent of retries.
    with tempfile.TemporaryDirectory(prefix="soda-bench-teacher-") as tmp, \
            OpenAIServer(["teacher"], api_key="sk-bench", weather=weather, max_requests=20 * args.questions,
                         max_seconds=args.max_seconds) as srv:
        small = measured_run(srv, Path(tmp), args.questions, args.concurrency)
        large = measured_run(srv, Path(tmp), 10 * args.questions, args.concurrency)
        kill = killed_run(srv, Path(tmp), args.questions, args.concurrency)
    ideal = args.concurrency / args.latency
    result = {
        "concurrency": args.concurrency, "latency_s": args.latency, "jitter_s": args.jitter,
        "p429": args.p429, "retry_after_s": args.retry_after, "p500": args.p500, "pdrop": args.pdrop,
        "ideal_calls_per_s": round(ideal, 1), "calls_per_s": round(large["calls_per_s"], 1),
        "ratio_to_ideal": round(large["calls_per_s"] / ideal, 3),
        "small_ratio_to_ideal": round(small["calls_per_s"] / ideal, 3),
        "peak_rss_mb": {str(small["questions"]): small["peak_rss_mb"], str(large["questions"]): large["peak_rss_mb"]},
        "rss_growth": round(large["peak_rss_mb"] / small["peak_rss_mb"], 3),
        # the stage's CPU per call, its start-up taken out (the difference of the two sizes)
        "stage_cpu_ms_per_call": round(1000 * (large["stage_cpu_s"] - small["stage_cpu_s"])
                                       / (large["calls"] - small["calls"]), 3),
        **{f"small_{k}": round(v, 1) if isinstance(v, float) else v for k, v in small.items()},
        **{f"large_{k}": round(v, 1) if isinstance(v, float) else v for k, v in large.items()},
        **kill,
        "load_avg_1m": round(os.getloadavg()[0], 2), "cpus": os.cpu_count(),
    }
    print(json.dumps(result))
    return 0
