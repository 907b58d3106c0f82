"""`soda bench generate`: batched hf generation vs one prompt at a time, and the call cache.

On the pipeline's tiny student (built here, nothing downloaded), the same run measures:
- tokens/s of the hf backend with batch_size B and with batch_size 1, on the same prompts
  and per-item seeds (so both must produce identical completions, which is checked);
- cached_rerun_fraction: the whole `teacher-generate` stage (`python -m stages teacher-generate`,
  imports, sandbox checks, outputs and MLflow run included) with an `hf` teacher, run twice with
  one call cache; the fully cached second run's wall time over the first's, and whether both
  wrote the same files. The teacher is a tiny LLM that writes code: the tiny model fine-tuned
  on the reference teacher's replies to prompts A and B for some of the questions (it recalls
  those; its answers to the others mostly fail their tests and are dropped, as a weak
  teacher's would be), or any hf model given with --stage-teacher;
- teacher_calls_cached_rerun_fraction: the same for the teacher's calls alone (solve + fault
  through the hf backend on the random tiny model, from backend construction to parsed results);
- with --vllm on a CUDA machine: vLLM's tokens/s on the same prompts;
- when ../shared/sodacoder-samples exists: the real teacher pairs parsed and executed.
Prints one JSON line.
"""

from __future__ import annotations

import argparse
import collections
import filecmp
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

from soda.io import dumps
from soda.params import Params, load_params
from stages import command

ROOT = Path(__file__).resolve().parents[3]
REAL = ROOT.parent / "shared" / "sodacoder-samples" / "pairwise_data.json"
# The tiny teacher learns the prompt set that names the language, without system messages.
PROMPTS = "detailed"


def tiny_student(out_dir: Path) -> str:
    """The pipeline's default student shape (params.yaml `student`), random weights."""
    from soda.modeling import build_tokenizer, init_model, save_model

    texts = [f"### Question\nWrite a function f{i} that returns {i} times its argument.\n### Solution\n"
             f"def f{i}(x):\n    return {i} * x\n" for i in range(200)]
    tok = build_tokenizer(texts, 1024)
    save_model(init_model(tok), tok, out_dir, {"name": "bench-tiny"})
    return str(out_dir)


def prompts(n: int) -> list[str]:
    # Varied lengths, as real questions are.
    return [f"### Question\nWrite a function that {'sorts, filters and counts ' * (1 + i % 7)}item {i}.\n### Solution\n"
            for i in range(n)]


def tokens_per_s(backend, batch: list[str], max_new_tokens: int) -> tuple[float, list]:
    if hasattr(backend, "load"):
        backend.load()  # loading the weights is not generation (vLLM loads them when built)
    start = time.perf_counter()
    out = backend.generate(batch, temperature=1.0, max_new_tokens=max_new_tokens, seed=0)
    return backend.counters["completion_tokens"] / (time.perf_counter() - start), out


def teacher_run(model: str, cache_dir: Path, questions: list[dict], max_new_tokens: int) -> float:
    from soda.backends.base import make_backend
    from soda.backends.llm_teacher import LLMTeacher

    connection = Params.model_validate(load_params(ROOT / "params.yaml")).runtime.teacher.model_copy(
        update={"batch_size": 32})
    start = time.perf_counter()
    teacher = LLMTeacher(make_backend("hf", model, "chat", connection, cache_dir, "teacher"),
                         prompts=PROMPTS, max_new_tokens=max_new_tokens, temperature=0.8)
    teacher.solve(questions)
    teacher.fault(questions)
    return time.perf_counter() - start


def distilled_teacher(questions: list[dict], out_dir: Path, epochs: int) -> str:
    """The tiny model fine-tuned on the reference teacher's fenced replies to prompts A and B."""
    from soda.modeling import build_tokenizer, init_model, save_model
    from soda.prompts import render
    from soda.train import train_csl
    from soda.world.teacher import ReferenceTeacher

    params = Params.model_validate(load_params(ROOT / "params.yaml"))
    reference = ReferenceTeacher(seed=0, timeout_s=params.teacher.reference_timeout_s)
    rows = []
    for q, good, bad in zip(questions, reference.solve(questions), reference.fault(questions)):
        rows.append({"prompt": render("correct", PROMPTS, question=q["question"], lang="python"),
                     "completion": f"```python\n{good['code']}```\n"})
        if bad.get("code"):
            rows.append({"prompt": render("faulty", PROMPTS, question=q["question"], lang="python"),
                         "completion": f"```python\n{bad['code']}```\n"})
    tok = build_tokenizer([r["prompt"] + r["completion"] for r in rows], 2048)
    save_model(init_model(tok, max_position=1024), tok, out_dir / "init", {"name": "bench-teacher-init"})
    cfg = params.csl_train.model_copy(update={"epochs": epochs, "lr": 5e-3, "batch_size": 16, "max_length": 768})
    train_csl(str(out_dir / "init"), rows, out_dir / "teacher", cfg, 0, out_dir / "scratch")
    return str(out_dir / "teacher")


def stage_reruns(tmp: Path, model: str, questions: list[dict]) -> dict:
    """teacher-generate run twice as a stage, with one call cache; times and output equality."""
    from soda.io import write_jsonl
    tmp.mkdir(parents=True, exist_ok=True)
    params = load_params(ROOT / "params.yaml")
    # The stage finds the model as dvc.yaml's would be found: its folder given as models/init/teacher.
    params["teacher"].update(backend="hf", model=f"models/init/teacher/{Path(model).name}", max_new_tokens=256,
                             temperature=0.0, prompts=PROMPTS)
    params["runtime"]["teacher"]["batch_size"] = 32
    params["runtime"]["cache_dir"] = str(tmp / "cache")
    (tmp / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    write_jsonl(tmp / "questions.jsonl", questions)
    env = {**os.environ, "MLFLOW_TRACKING_URI": f"sqlite:///{tmp / 'mlflow.db'}"}
    times, counts = [], []
    for run in ("first", "rerun"):
        cmd = command("teacher-generate", tmp / "params.yaml", cycle="c1", questions=tmp / "questions.jsonl",
                      teacher_model_dir=Path(model).parent,
                      **{f"{f}_out": tmp / run / f"{f}.jsonl" for f in ("teacher", "csl", "fcl")},
                      metrics=tmp / f"{run}.json")
        start = time.perf_counter()
        done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
        times.append(time.perf_counter() - start)
        if done.returncode != 0:
            raise RuntimeError(f"teacher-generate ({run}) failed:\n{done.stderr[-2000:]}")
        counts.append(json.loads((tmp / f"{run}.json").read_text()))
    same = all(filecmp.cmp(tmp / "first" / f, tmp / "rerun" / f, shallow=False)
               for f in ("teacher.jsonl", "csl.jsonl", "fcl.jsonl"))
    return {"cached_rerun_fraction": round(times[1] / times[0], 4), "stage_first_run_s": round(times[0], 2),
            "stage_cached_rerun_s": round(times[1], 2), "stage_identical_outputs": same,
            "stage_questions": len(questions), "stage_csl": counts[0]["csl"], "stage_fcl": counts[0]["fcl"],
            "stage_dropped": counts[0].get("dropped", 0)}


def real_pairs(path: Path) -> dict:
    """Code found in the 100 real pairs (response 0 correct, 1 faulty), and how each runs in the sandbox."""
    from soda.extract import RUNNABLE, code_blocks, extract_code

    pairs = json.loads(path.read_text(encoding="utf-8"))
    found, langs, jobs = 0, collections.Counter(), []
    for pair in pairs:
        codes = [extract_code(r) for r in pair["response"][:2]]
        found += sum(c is not None for c in codes)
        langs.update(b.lang or "untagged" for r in pair["response"][:2] for b in code_blocks(r))
        # The language of each reply's chosen block; a pair runs only if both are runnable here.
        tags = [next((b.lang for b in code_blocks(r) if b.code == c), None) for r, c in zip(pair["response"], codes)]
        if all(c is not None and t in RUNNABLE for c, t in zip(codes, tags)):
            jobs.append((codes, tags))
    out = {"real_replies": 2 * len(pairs), "real_code_found": found, "real_block_langs": dict(langs.most_common())}
    try:
        from sandbox import Job, execute_many

        results = execute_many([Job(code, lang, mode="runs", timeout_s=5.0) for codes, langs_ in jobs
                                for code, lang in zip(codes, langs_)])
    except Exception as e:  # the sandbox is another component: report, do not fail the bench
        return {**out, "real_execution_error": f"{type(e).__name__}: {e}"}
    correct, faulty = results[0::2], results[1::2]
    return {**out, "real_pairs_executed": len(jobs),
            "real_faulty_fail_share": sum(not r.passed for r in faulty) / max(1, len(jobs)),
            "real_correct_fail_share": sum(not r.passed for r in correct) / max(1, len(jobs)),
            "real_faulty_error_classes": dict(collections.Counter(r.error_class or r.status for r in faulty
                                                                  if not r.passed).most_common())}


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="soda bench generate", description=__doc__.splitlines()[0])
    p.add_argument("--prompts", type=int, default=64)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--max-new-tokens", type=int, default=64)
    p.add_argument("--questions", type=int, default=64, help="questions for the teacher-call cache measurement")
    p.add_argument("--stage-questions", type=int, default=1200,
                   help="questions of the teacher-generate stage measurement (the default seed set's size)")
    p.add_argument("--stage-recalled", type=int, default=32,
                   help="of those, how many the distilled teacher is fine-tuned on")
    p.add_argument("--stage-epochs", type=int, default=40, help="fine-tuning epochs of the distilled teacher")
    p.add_argument("--stage-teacher", help="an hf model (path or id) as the stage's teacher instead of the distilled one")
    p.add_argument("--vllm", action="store_true", help="also measure vLLM (needs vllm and a CUDA GPU)")
    p.add_argument("--threads", type=int, help="torch CPU threads (default: torch's); 1 on an oversubscribed machine")
    args = p.parse_args(argv)
    import torch

    if args.threads:
        torch.set_num_threads(args.threads)

    from soda.backends.hf import HFBackend

    result: dict = {}
    with tempfile.TemporaryDirectory(prefix="soda-bench-generate-") as tmp:
        tmp = Path(tmp)
        model = tiny_student(tmp / "model")
        batch = prompts(args.prompts)
        batched, out_b = tokens_per_s(HFBackend(model, batch_size=args.batch_size), batch, args.max_new_tokens)
        sequential, out_s = tokens_per_s(HFBackend(model, batch_size=1), batch, args.max_new_tokens)
        result.update(batched_tokens_per_s=round(batched, 1), sequential_tokens_per_s=round(sequential, 1),
                      speedup=round(batched / sequential, 2), identical_outputs=out_b == out_s,
                      prompts=args.prompts, batch_size=args.batch_size, max_new_tokens=args.max_new_tokens,
                      torch_threads=torch.get_num_threads())
        if args.vllm:
            from soda.backends.vllm import VLLMBackend

            hf_gpu, _ = tokens_per_s(HFBackend(model, batch_size=args.batch_size, device="cuda"), batch, args.max_new_tokens)
            vllm_tps, _ = tokens_per_s(VLLMBackend(model), batch, args.max_new_tokens)
            result.update(hf_cuda_tokens_per_s=round(hf_gpu, 1), vllm_tokens_per_s=round(vllm_tps, 1),
                          vllm_speedup_over_hf=round(vllm_tps / hf_gpu, 2))

        questions = [{"id": f"q{i}", "question": f"Write a function that returns {i} times its argument.", "lang": "python"}
                     for i in range(args.questions)]
        first = teacher_run(model, tmp / "cache", questions, args.max_new_tokens)
        rerun = teacher_run(model, tmp / "cache", questions, args.max_new_tokens)
        result.update(teacher_calls_cached_rerun_fraction=round(rerun / first, 4), teacher_first_run_s=round(first, 2),
                      teacher_cached_rerun_s=round(rerun, 3), teacher_calls=2 * args.questions)

        from soda.world import make_world

        world, _ = make_world(args.stage_questions, 0, seed=0)
        start = time.perf_counter()
        teacher = args.stage_teacher or distilled_teacher(world[:args.stage_recalled], tmp / "distilled",
                                                          args.stage_epochs)
        result["stage_teacher"] = args.stage_teacher or (
            f"tiny model fine-tuned on {args.stage_recalled} questions, {args.stage_epochs} epochs "
            f"({time.perf_counter() - start:.0f} s)")
        result.update(stage_reruns(tmp / "stage", teacher, world))
    if REAL.exists():
        result.update(real_pairs(REAL))
    print(dumps(result))
    return 0
