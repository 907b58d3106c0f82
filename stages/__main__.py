"""`python -m stages STAGE --flags...`: what dvc.yaml runs. Only the stage's module and the
framework in stages/__init__.py are imported (the `soda` CLI, with every other command, would be
a dep of every stage)."""

import importlib
import pkgutil
import sys

import stages

names = sorted(m.name.replace("_", "-") for m in pkgutil.iter_modules(stages.__path__) if not m.name.startswith("_"))
if len(sys.argv) < 2 or sys.argv[1] not in names:
    given = f"{sys.argv[1]!r} is not a stage; " if len(sys.argv) > 1 else ""
    sys.exit(f"usage: python -m stages STAGE [--params FILE] --FLAG VALUE ... (the stage first)\n"
             f"error: {given}stages: {', '.join(names)}")
sys.exit(stages.main(importlib.import_module(f"stages.{sys.argv[1].replace('-', '_')}").run, sys.argv[2:]))
