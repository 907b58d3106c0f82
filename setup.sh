#!/usr/bin/env bash
# Install soda (idempotent, fast when done): the sandbox's system toolchains (apt, as root), then
# a virtual environment .venv beside this file holding the CPU build of PyTorch and soda with its
# dependencies. The Python is whatever `python3` is first on PATH (>= 3.10) or $PYTHON; it is never
# installed into: Debian's and Ubuntu's own python3 refuse that (PEP 668), and so should we.
set -euo pipefail
cd "$(dirname "$0")"

# With the toolchains present this only checks (no root needed); otherwise it needs root for apt.
bash sandbox/setup.sh

PYTHON=${PYTHON:-python3}
"$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 10))' 2>/dev/null || {
  echo "setup.sh: soda needs Python >= 3.10; '$PYTHON' is $("$PYTHON" -V 2>&1 || echo missing) (set PYTHON=...)" >&2
  exit 1
}
if [ ! -x .venv/bin/python ]; then
  if ! "$PYTHON" -m venv .venv 2>/dev/null; then
    rm -rf .venv
    # Debian ships venv's pip bootstrap (ensurepip) apart, as python3-venv.
    if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
      echo "setup.sh: installing python3-venv" >&2
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3-venv >/dev/null ||
        { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3-venv >/dev/null; }
      "$PYTHON" -m venv .venv
    else
      echo "setup.sh: '$PYTHON -m venv' failed; install your distribution's venv package (Debian/Ubuntu: python3-venv)" >&2
      exit 1
    fi
  fi
fi

PY=.venv/bin/python
PIP="$PY -m pip install --quiet --disable-pip-version-check"
# The CPU wheel: a plain `torch` requirement would pull a multi-GB CUDA build.
$PY -c "import torch" 2>/dev/null || $PIP "torch==2.13.0"
# Re-install only when the declared dependencies changed (pip re-resolves everything: ~20 s).
stamp=.venv/.soda-pyproject
if ! cmp -s pyproject.toml "$stamp" || [ ! -x .venv/bin/soda ]; then
  $PIP -e ".[dev]"
  cp pyproject.toml "$stamp"
fi

# `dvc repro` needs a git repository; a source archive has none.
[ -d .git ] || { git init -q && git add -A && git -c user.name=soda -c user.email=soda@localhost commit -qm "soda source"; }
# The committed remote URL is relative (../soda-dvc-remote beside the checkout). DVC resolves
# it against wherever it reads the config from, and `dvc exp push` reads it from a git tree
# (it landed in /soda-dvc-remote): pin this checkout's copy to an absolute path, locally.
{ [ -f .dvc/config.local ] && grep -q "url" .dvc/config.local; } ||
  .venv/bin/dvc remote modify --local local url "$(cd .. && pwd)/soda-dvc-remote"
echo "setup.sh: ready; in a new shell: . .venv/bin/activate" >&2
