"""The sandbox works from a checkout under /tmp, which is private (empty) inside the jail."""

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_sandbox_runs_from_a_checkout_under_tmp(tmp_path):
    assert str(tmp_path).startswith("/tmp/")
    shutil.copytree(ROOT / "sandbox", tmp_path / "sandbox", ignore=shutil.ignore_patterns("__pycache__"))
    code = ("import sandbox; assert sandbox.__file__.startswith(%r); "
            "print(sandbox.execute('x = 1', tests='assert x == 1').status)" % str(tmp_path))
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "pass"
