#!/usr/bin/env bash
# The GPU check (under 8 minutes): the real path end to end through `dvc repro` (a user's seed,
# a Qwen2-0.5B-shaped chat model built here as student and scorer, an OpenAI-compatible teacher on
# 127.0.0.1, vLLM generation, bf16, 2 training processes where 2 GPUs exist), then CSL and FCL
# training steps through soda.train against a plain PyTorch loop, and generation throughput.
# Needs ../shared (sodacoder-samples, benchmarks). Prints one JSON line; see scripts/gpu_check.py.
#   bash scripts/gpu-check.sh                 # the realistic size, on the GPU
#   bash scripts/gpu-check.sh --part e2e      # the end-to-end part only
#   bash scripts/gpu-check.sh --size tiny     # a smoke test on a CPU (hf generation, 1 process)
#   bash scripts/gpu-check.sh --arch llama --size 1.5b
set -euo pipefail
cd "$(dirname "$0")/.."
# This checkout's soda, whichever one is installed.
# timeout's SIGTERM makes the script print what it has measured; KILL 20 s later if it cannot.
PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" exec timeout -k 20 460 python3 scripts/gpu_check.py "$@"
