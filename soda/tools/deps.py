"""What each stage's output depends on in this repository: the files its module imports,
transitively (imports inside functions included), and the files those modules read at run time.

dvc.yaml must list exactly these as the stage's code deps (tests/test_deps.py checks it both
ways), so that changing one module re-runs exactly the stages that import it.
`python -m soda.tools.deps [STAGE...]` prints the deps a stage needs; `python -m soda.tools.deps --write`
puts them into dvc.yaml (its data deps, and everything else, stay as written).

Static analysis (ast), not tracing: a lazy import counts whether or not a run reaches it, which
errs on the side of re-running.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("stages", "soda", "sandbox")
# Files read at run time by a module, besides its imports: the tracked files whose path starts with
# one of these (a folder ends in "/"). soda/launch.py hands params launch.accelerate_config, one
# of soda/configs/accelerate_*.yaml (soda.params.Launch checks it), to `accelerate launch`.
RESOURCES = {"soda/prompts.py": ("soda/prompts/",), "soda/launch.py": ("soda/configs/accelerate_",)}
# sandbox/ is one unit: its zygote is started as `python -m sandbox.zygote` (no import to see)
# and reads the Java harness sources at run time, so a stage that imports any of it depends on all of it.
UNITS = ("sandbox",)
# Imported by every stage but cannot change an output; a change to them re-runs nothing.
EXEMPT = {
    "soda/tracking.py": "MLflow logging: params, metrics and tags go to the tracking store, not to outputs",
}


def tracked_files() -> list[str]:
    out = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", *PACKAGES], cwd=ROOT, capture_output=True,
                         text=True, check=True).stdout
    return sorted(p for p in out.splitlines() if (ROOT / p).is_file() and "__pycache__" not in p)


def module_file(name: str) -> str | None:
    """The repository file of a dotted module name, or None (not ours / not a module)."""
    if name.split(".")[0] not in PACKAGES:
        return None
    base = ROOT / name.replace(".", "/")
    for path in (base.with_suffix(".py"), base / "__init__.py"):
        if path.is_file():
            return str(path.relative_to(ROOT))
    return None


def _package_inits(name: str) -> list[str]:
    """Importing a.b.c runs a/__init__.py and a/b/__init__.py first."""
    parts = name.split(".")
    return [f for i in range(1, len(parts)) if (f := module_file(".".join(parts[:i])))]


@cache
def direct_imports(path: str) -> frozenset[str]:
    tree = ast.parse((ROOT / path).read_text(encoding="utf-8"), path)
    package = path.removesuffix(".py").replace("/", ".")
    if not path.endswith("__init__.py"):
        package = package.rsplit(".", 1)[0]
    else:
        package = package.removesuffix(".__init__")
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1] + ([base] if base else []))
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names)  # `from pkg import submodule`
    files: set[str] = set()
    for name in names:
        if f := module_file(name):
            files.add(f)
            files.update(_package_inits(name))
    return frozenset(files)


def closure(module: str) -> set[str]:
    """Every repository file that running `module` may import or read (EXEMPT files left out)."""
    start = module_file(module)
    seen, todo = set(), [start, *_package_inits(module)]
    while todo:
        path = todo.pop()
        if path in seen or path in EXEMPT:
            continue
        seen.add(path)
        todo.extend(direct_imports(path))
    files = set(seen)
    tracked = tracked_files()
    for path in seen:
        for resource in RESOURCES.get(path, ()):
            files.update(f for f in tracked if f.startswith(resource))
    for unit in UNITS:
        if any(f.startswith(unit + "/") for f in seen):
            files.update(f for f in tracked if f.startswith(unit + "/"))
    return files


def compress(files: set[str]) -> list[str]:
    """The shortest list of files and directories covering exactly `files`: a directory stands
    for its files when every tracked file under it is in the set."""
    tracked = tracked_files()
    out: list[str] = []
    for path in sorted(files):
        parts = path.split("/")
        for i in range(1, len(parts)):
            folder = "/".join(parts[:i])
            under = [f for f in tracked if f.startswith(folder + "/")]
            if under and all(f in files for f in under):
                out.append(folder)
                break
        else:
            out.append(path)
    return sorted(set(out))


def expand(deps: list[str]) -> set[str]:
    """The repository files that a list of dvc.yaml deps (files and directories) covers."""
    tracked = tracked_files()
    return {f for d in deps for f in tracked if f == d or f.startswith(d.rstrip("/") + "/")}


def stage_module(stage: str) -> str:
    return f"stages.{stage.replace('-', '_')}"


def code_deps(stage: str) -> list[str]:
    return compress(closure(stage_module(stage)))


def write_dvc_yaml(path: Path = ROOT / "dvc.yaml") -> None:
    """Replace the code deps (entries under soda/ or sandbox/) of every stage in dvc.yaml with
    `code_deps`, editing the text so that comments and layout stay."""
    lines, out, stage, i = path.read_text().splitlines(), [], None, 0
    while i < len(lines):
        line = lines[i]
        out.append(line)
        stripped = line.strip()
        if line.startswith("  ") and not line.startswith("   ") and stripped.endswith(":"):
            stage = stripped[:-1]
        if stripped == "deps:":
            indent = " " * (len(line) - len(line.lstrip()) + 2)
            block = []
            while i + 1 < len(lines) and lines[i + 1].startswith(indent + "- "):
                block.append(lines[i + 1][len(indent) + 2:])
                i += 1
            data = [d for d in block if d.split("/")[0] not in PACKAGES]
            out.extend(f"{indent}- {d}" for d in code_deps(stage) + data)
        i += 1
    path.write_text("\n".join(out) + "\n")


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv == ["--write"]:
        write_dvc_yaml()
        return 0
    import yaml

    for stage in argv or yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"]:
        print(f"{stage}:")
        print("".join(f"  - {d}\n" for d in code_deps(stage)), end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
