#!/usr/bin/env bash
# Install everything soda needs on a fresh Debian-like machine (idempotent, fast when done):
# the sandbox's system toolchains, the CPU build of PyTorch, and soda with its dependencies.
set -euo pipefail
cd "$(dirname "$0")"

bash sandbox/setup.sh
PIP="python3 -m pip install --quiet --disable-pip-version-check"
# The CPU wheel: a plain `torch` requirement would pull a multi-GB CUDA build.
python3 -c "import torch" 2>/dev/null || $PIP "torch==2.13.0"
$PIP -e ".[dev]"
# `dvc repro` needs a git repository; a source archive has none.
[ -d .git ] || { git init -q && git add -A && git -c user.name=soda -c user.email=soda@localhost commit -qm "soda source"; }
echo "setup.sh: ready" >&2
