"""What `pip install` of soda gives a user: every third-party import declared in pyproject.toml,
and a wheel (what `pip install git+URL` builds) that runs without the checkout."""

import ast
import importlib.metadata
import re
import subprocess
import sys
import textwrap
import tomllib
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("stages", "soda", "sandbox")


def declared() -> set[str]:
    """Normalised distribution names of pyproject's dependencies and every extra."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    specs = project["dependencies"] + [s for extra in project["optional-dependencies"].values() for s in extra]
    return {re.split(r"[<>=!~ \[;]", s, maxsplit=1)[0].lower().replace("_", "-") for s in specs}


def imported_modules() -> dict[str, str]:
    """Top-level module name -> the first file importing it, over the packages' code (lazy
    imports inside functions included)."""
    found: dict[str, str] = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Import):
                    names = [a.name for a in node.names]
                elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
                    names = [node.module]
                else:
                    continue
                for name in names:
                    found.setdefault(name.split(".")[0], str(path.relative_to(ROOT)))
    return found


def test_every_third_party_import_is_declared():
    dists = importlib.metadata.packages_distributions()
    have = declared()
    missing = []
    for module, where in sorted(imported_modules().items()):
        if module in sys.stdlib_module_names or module in PACKAGES or module == "__future__":
            continue
        # an import whose package is not installed here (vllm: CUDA only) is named as its distribution
        names = {d.lower().replace("_", "-") for d in dists.get(module, [module])}
        if not names & have:
            missing.append(f"{module} (imported by {where}; distribution {' or '.join(sorted(names))})")
    assert not missing, "pyproject.toml does not declare: " + "; ".join(missing)


def test_the_dependency_check_names_a_missing_package(monkeypatch):
    everything = declared()
    monkeypatch.setattr(sys.modules[__name__], "declared", lambda: everything - {"pydantic"})
    with pytest.raises(AssertionError, match=r"pydantic \(imported by "):
        test_every_third_party_import_is_declared()


RUN_FROM_THE_WHEEL = textwrap.dedent("""
    import sys
    from pathlib import Path

    import sandbox, soda, stages
    from soda.prompts import TEACHER_NAMES, render, system

    venv = Path(sys.argv[1]).resolve()
    for module in (sandbox, soda, stages):
        assert Path(module.__file__).resolve().is_relative_to(venv), module.__file__
    fields = dict(question="Write f(x) returning x + 1.", lang="python", code="def f(x): return x + 1",
                  guidance="harder")
    for prompt_set in ("paper", "detailed"):
        for name in TEACHER_NAMES:
            text = (system(name, prompt_set) or "") + render(name, prompt_set, **fields)
            assert "Write f(x)" in text and "{question}" not in text, (prompt_set, name)
    from sandbox import execute
    py = execute("def f(x):\\n    return x + 1", "python", "assert f(1) == 2")
    java = execute("class Solution { static int f(int x) { return x + 1; } }", "java",
                   "public class Main { public static void main(String[] a) { if (Solution.f(1) != 2) throw new AssertionError(); } }")
    print(py.status, java.status)
""")


@pytest.mark.slow
def test_wheel_installed_outside_the_checkout_renders_prompts_and_runs_the_sandbox(tmp_path):
    dist = tmp_path / "dist"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(dist), str(ROOT)],
                   check=True, capture_output=True)
    wheel = next(dist.glob("soda-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    for data in ("soda/prompts/paper/correct.system.txt", "soda/prompts/detailed/evolve.txt", "soda/prompts/scoring.txt",
                 "soda/configs/paper.yaml", "sandbox/java/SodaHarness.java", "stages/__main__.py"):
        assert data in names, data

    # A fresh environment holding the wheel; soda's dependencies are this one's, seen through a
    # .pth line (which, unlike site-packages, runs none of its .pth files: not the editable install's).
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    site = next(venv.glob("lib/python*/site-packages"))
    deps = next(p for p in map(Path, sys.path) if p.name == "site-packages" and p.is_dir())
    (site / "deps.pth").write_text(f"{deps}\n")
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(site), str(wheel)],
                   check=True, capture_output=True)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    out = subprocess.run([str(venv / "bin" / "python"), "-c", RUN_FROM_THE_WHEEL, str(venv)], cwd=elsewhere,
                         capture_output=True, text=True, env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "HOME": str(tmp_path)})
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.split() == ["pass", "pass"], out.stdout + out.stderr[-2000:]
