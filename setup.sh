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
# The committed remote URL is relative (../soda-dvc-remote beside the checkout). DVC resolves
# it against wherever it reads the config from, and `dvc exp push` reads it from a git tree
# (it landed in /soda-dvc-remote): pin this checkout's copy to an absolute path, locally.
[ -f .dvc/config.local ] && grep -q "url" .dvc/config.local || dvc remote modify --local local url "$(cd .. && pwd)/soda-dvc-remote"
echo "setup.sh: ready" >&2
