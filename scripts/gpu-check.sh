#!/usr/bin/env bash
# The GPU check (under 8 minutes on one GPU): CSL and FCL training steps of a Qwen2-0.5B-shaped
# model built here (random weights, local tokenizer, bf16) through soda.train, against a plain
# PyTorch loop, and generation throughput. Prints one JSON line; see scripts/gpu_check.py.
#   bash scripts/gpu-check.sh                 # the realistic size, on the GPU
#   bash scripts/gpu-check.sh --size tiny     # a smoke test on a CPU
#   bash scripts/gpu-check.sh --arch llama --size 1.5b
set -euo pipefail
cd "$(dirname "$0")/.."
# This checkout's soda, whichever one is installed.
PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" exec timeout 480 python3 scripts/gpu_check.py "$@"
