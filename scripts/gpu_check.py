"""The GPU check behind scripts/gpu-check.sh: training and generation at a realistic model size.

A Qwen2- or Llama-architecture model is built here (random weights; a tokenizer trained on the
embedded world's text: nothing is downloaded) and saved like the pipeline's models. Then:
- CSL and FCL epochs through soda.train (the stages' trainers, bf16 mixed precision on CUDA) on
  one cycle's rows of the embedded world (soda.tools.bench.train.one_cycle): tokens/s and peak memory;
- a plain PyTorch loop (soda.tools.bench.train.PlainLoop, under the same bf16 autocast) on the CSL
  trainer's own batches: tokens/s and peak memory, the baseline of the trainer's overhead;
- generation: the hf backend (soda's decoding loop, per-row seeds) and `model.generate` on the
  same prompts, new tokens/s;
- the real path end to end (soda.tools.e2e, under "e2e"): `dvc repro` of every stage on a user's
  seed (the authors' released questions, ../shared) with a Qwen2-shaped chat model of the size
  built here as student and scorer, the released teacher over HTTP, vLLM generation, bf16, and
  training under `accelerate launch` on 2 GPUs where there are 2 or more (on a CPU: hf, fp32, 1 process).
Prints one JSON line, also when stopped by scripts/gpu-check.sh's timeout (then with what it had).
`--size tiny` runs it in minutes on a CPU (a smoke test of the script).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import signal
import tempfile
import time
from pathlib import Path

import torch

# hidden, layers, heads, kv heads, intermediate, vocab
SIZES = {
    "0.5b": (896, 24, 14, 2, 4864, 32768),  # Qwen2-0.5B's shape (its vocabulary is 151,936)
    "1.5b": (1536, 28, 12, 2, 8960, 32768),  # Qwen2-1.5B's shape
    "tiny": (64, 2, 4, 2, 128, 512),
}


def build_model(arch: str, size: str, out: Path) -> int:
    from transformers import LlamaConfig, LlamaForCausalLM, Qwen2Config, Qwen2ForCausalLM

    from soda.modeling import build_tokenizer, save_model
    from soda.world import make_world

    hidden, layers, heads, kv, inter, vocab = SIZES[size]
    world, _ = make_world(300, 0, seed=0)
    tok = build_tokenizer([q["question"] + "\n" + q["reference"] for q in world], vocab)
    config_cls, model_cls = (Qwen2Config, Qwen2ForCausalLM) if arch == "qwen2" else (LlamaConfig, LlamaForCausalLM)
    # The embedding has the size's rows even where the tokenizer learnt fewer (the LM head costs what it
    # would), and a multiple of 64 above the tokenizer's, whose saved form counts one token more.
    config = config_cls(vocab_size=-(-max(vocab, len(tok) + 1) // 64) * 64, hidden_size=hidden, intermediate_size=inter,
                        num_hidden_layers=layers, num_attention_heads=heads, num_key_value_heads=kv,
                        max_position_embeddings=2048, bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id,
                        pad_token_id=tok.pad_token_id, tie_word_embeddings=True)
    torch.manual_seed(0)
    model = model_cls(config)
    model.generation_config.pad_token_id = tok.pad_token_id
    save_model(model, tok, out, {"name": f"gpu-check-{arch}-{size}"})
    return model.num_parameters()


def peak_reset(device: torch.device) -> None:
    gc.collect()  # the previous run's model and optimizer, if nothing holds them any more
    if device.type == "cuda":
        torch.cuda.synchronize()
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()


def peak_gb(device: torch.device) -> float | None:
    return round(torch.cuda.max_memory_allocated() / 2**30, 2) if device.type == "cuda" else None


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def train(kind: str, base: str, rows: list[dict], cfg, scratch: Path, device: torch.device) -> tuple[dict, object]:
    """One epoch of `cfg` (a soda.params.Train) through the stage's trainer."""
    from soda.train import prepare

    p = prepare(kind, base, rows, cfg, 0, scratch)
    peak_reset(device)
    start = time.perf_counter()
    p.trainer.train()
    sync(device)
    seconds = time.perf_counter() - start
    tokens = p.stats["tokens_per_epoch"]
    return {"tokens": tokens, "seconds": round(seconds, 2), "tokens_per_s": round(tokens / seconds, 1),
            "peak_gb": peak_gb(device)}, p


def plain(base: str, batches: list[dict], cfg: dict, device: torch.device, bf16: bool) -> dict:
    from soda.tools.bench.train import PlainLoop

    loop = PlainLoop(base, len(batches), cfg)
    loop.model.to(device)
    peak_reset(device)
    tokens = sum(int(b["attention_mask"].sum()) for b in batches)
    start = time.perf_counter()
    for batch in batches:
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16):
            loop.step({k: v.to(device) for k, v in batch.items() if k in ("input_ids", "attention_mask", "labels")})
    sync(device)
    seconds = time.perf_counter() - start
    return {"tokens": tokens, "seconds": round(seconds, 2), "tokens_per_s": round(tokens / seconds, 1),
            "peak_gb": peak_gb(device)}


def generation(base: str, prompts: list[str], max_new: int, device: torch.device) -> dict:
    from soda.backends.hf import HFBackend

    backend = HFBackend(base, batch_size=len(prompts), device=str(device))
    backend.load()
    start = time.perf_counter()
    backend.generate(prompts, temperature=1.0, max_new_tokens=max_new, seed=0)
    sync(device)
    ours = backend.counters["completion_tokens"] / (time.perf_counter() - start)
    lm, tok = backend.lm, backend.tokenizer
    tok.padding_side = "left"
    enc = tok(prompts, return_tensors="pt", padding=True).to(device)
    start = time.perf_counter()
    with torch.inference_mode():
        out = lm.generate(**enc, do_sample=True, max_new_tokens=max_new, min_new_tokens=max_new)
    sync(device)
    theirs = (out.shape[1] - enc["input_ids"].shape[1]) * len(prompts) / (time.perf_counter() - start)
    return {"hf_backend_tokens_per_s": round(ours, 1), "model_generate_tokens_per_s": round(theirs, 1),
            "batch": len(prompts), "max_new_tokens": max_new}


def e2e(size: str, shared: Path, timeout: float) -> dict:
    """The real path through `dvc repro` (soda.tools.e2e.real_path) on this machine's GPUs."""
    from soda.tools.e2e import SMALL, real_path

    if not (shared / "sodacoder-samples").is_dir() or not (shared / "benchmarks").is_dir():
        return {"errors": [f"{shared}: needs sodacoder-samples and benchmarks (../shared beside the checkout)"]}
    gpus = torch.cuda.device_count()
    processes = min(2, gpus) if gpus else 1
    backend = "vllm" if gpus else "hf"
    hidden, layers, heads, kv, inter, vocab = SIZES[size]
    model = {"vocab": vocab, "rows": vocab, "hidden": hidden, "layers": layers, "heads": heads, "kv_heads": kv,
             "intermediate": inter, "max_position": 4096, "name": f"gpu-check-qwen2-{size}"}
    change = {**SMALL, "generation": {**SMALL["generation"], "backend": backend, "max_new_tokens": 256 if gpus else 32},
              "train": {"bf16": bool(gpus)}, "launch": {"num_processes": processes}}
    with tempfile.TemporaryDirectory(prefix="soda-gpu-check-e2e-") as tmp:
        run = real_path(Path(tmp), shared, change, model, timeout=timeout)
        metrics = Path(run.repo) / "metrics"
        evaluated = json.loads((metrics / "evaluate" / "c1.json").read_text()) if "evaluate@c1" in run.ran \
            and (metrics / "evaluate" / "c1.json").exists() else None
        csl = metrics / "c1" / "csl-train.json"
        # `world_size` is in a training's metrics only with several processes
        world_size = json.loads(csl.read_text()).get("world_size", 1) if csl.exists() else None
    return {"stages": run.ran, "seconds": run.seconds, "backend": backend,
            # soda.backends never falls back: a vllm stage that ran used vLLM
            "vllm_used": backend == "vllm" and evaluated is not None, "bf16": bool(gpus), "num_processes": processes,
            "world_size": world_size, "pass@1": evaluated and {b: m["pass@1"] for b, m in evaluated["benchmarks"].items()},
            "errors": [run.error] if run.error else []}


class Stopped(BaseException):
    """scripts/gpu-check.sh's timeout (SIGTERM): report what was measured (no part's `except Exception` goes on)."""


def stop(signum, frame):
    raise Stopped(f"stopped by signal {signum} (scripts/gpu-check.sh's time limit)")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--arch", choices=("qwen2", "llama"), default="qwen2", help="the bench part's (the e2e model is Qwen2)")
    ap.add_argument("--size", choices=sorted(SIZES), default="0.5b")
    ap.add_argument("--rows", type=int, default=512, help="CSL rows (FCL: a quarter)")
    ap.add_argument("--max-new-tokens", type=int, default=256)
    ap.add_argument("--part", choices=("all", "e2e", "bench"), default="all",
                    help="e2e: the real path through dvc repro; bench: training and generation throughput")
    ap.add_argument("--shared", type=Path, default=Path(__file__).resolve().parents[2] / "shared",
                    help="the reference data (sodacoder-samples, benchmarks) for the e2e part")
    ap.add_argument("--e2e-timeout", type=float, default=300, help="seconds for the e2e part's dvc repro")
    args = ap.parse_args()
    signal.signal(signal.SIGTERM, stop)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    report = {"device": torch.cuda.get_device_name() if device.type == "cuda" else "cpu", "gpus": torch.cuda.device_count(),
              "arch": args.arch, "size": args.size, "torch": torch.__version__, "cpus": os.cpu_count(), "errors": []}
    try:
        if args.part != "bench":
            start = time.perf_counter()
            try:
                report["e2e"] = e2e(args.size, args.shared, args.e2e_timeout)
            except Exception as e:  # the report still comes, with the bench part
                report["e2e"] = {"errors": [f"{type(e).__name__}: {e}"]}
            report["e2e"]["total_seconds"] = round(time.perf_counter() - start, 1)
        if args.part != "e2e":
            report.update(bench(args, device))
    except (Stopped, Exception) as e:
        report["errors"].append(f"{type(e).__name__}: {e}")
    print(json.dumps(report))
    return 1 if report.get("errors") or report.get("e2e", {}).get("errors") else 0


def bench(args, device: torch.device) -> dict:
    """Training and generation throughput of the model built here (the module's first four items)."""
    from soda.tools.bench.train import one_cycle
    from soda.params import Params, load_params

    bf16 = device.type == "cuda"
    params = load_params(Path(__file__).resolve().parents[1] / "params.yaml")
    csl, fcl, _ = one_cycle(params)
    csl, fcl = (csl * (1 + args.rows // len(csl)))[:args.rows], (fcl * (1 + args.rows // len(fcl)))[:max(1, args.rows // 4)]
    typed = Params.model_validate(params)
    change = {"epochs": 1, "bf16": bf16, "gradient_checkpointing": False, "lr": 1e-5, "batch_size": 16,
              "max_length": 1024, "save_steps": 10**6}
    with tempfile.TemporaryDirectory(prefix="soda-gpu-check-") as tmp:
        tmp = Path(tmp)
        n_params = build_model(args.arch, args.size, tmp / "base")
        base = str(tmp / "base")
        csl_run, prepared = train("csl", base, csl, typed.csl_train.model_copy(update=change), tmp / "scratch", device)
        batches, csl_cfg = list(prepared.trainer.get_train_dataloader()), prepared.cfg
        del prepared
        plain_run = plain(base, batches, csl_cfg, device, bf16)
        fcl_run, _ = train("fcl", base, fcl, typed.fcl_train.model_copy(update={**change, "batch_size": 8}),
                           tmp / "scratch", device)
        gen = generation(base, [r["prompt"] for r in csl[:64]], args.max_new_tokens, device)
    return {"parameters": n_params, "bf16": bf16, "csl": csl_run, "plain_loop": plain_run,
            "trainer_overhead": round(plain_run["tokens_per_s"] / csl_run["tokens_per_s"], 3), "fcl": fcl_run,
            "generation": gen}


if __name__ == "__main__":
    raise SystemExit(main())
