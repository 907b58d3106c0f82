"""What every stage shares: its command line, built from the signature of its `run`, and the
MLflow run, metrics file and error handling around it.

A stage is one module in soda/stages/ (its name is the stage's name with underscores) with

    class Config(StageConfig):          # the params sections it reads, typed (soda/params.py)
        seed: int
        csl_train: Train

    def run(cfg: Config, *, cycle: str, model: In, data: In, out: Out) -> dict:   # -> metrics

`main(run)` turns the keyword-only parameters into required flags (`--out-dir` for `out_dir`),
reads and validates params.yaml (`--params`), builds `Config` from its sections, runs the stage in
an MLflow run that logs those sections and, on success, the DVC md5 of each `Out`, and writes the
returned metrics to `--metrics`, less what says how the run went rather than what it produced
(`RUN_ONLY`: timing, the checkpoint it resumed from), which goes to MLflow and stdout only: the
metrics file is an output whose hash dvc.lock records, the same after a crash and a re-run as
after an uninterrupted run. Bad input (`InputError`) exits 2 with one line, nothing written.
Tests call `run` directly with a `Config` (`Config.load(path)`), without DVC or a command line.
"""

from __future__ import annotations

import argparse
import inspect
import os
import random
import sys
from pathlib import Path
from typing import Callable, NewType, get_type_hints

from pydantic import BaseModel, ConfigDict

from soda.io import InputError, write_json
from soda.params import load_params

# Metrics keys (at any depth) that differ between runs of the same inputs.
RUN_ONLY = ("seconds", "tokens_per_s", "resumed_from")

In = NewType("In", Path)    # a file or directory the stage reads (a dep in dvc.yaml)
Out = NewType("Out", Path)  # a file or directory it writes (an out in dvc.yaml)


class StageConfig(BaseModel):
    """The params sections one stage reads: its fields are section names of soda.params.Params."""
    model_config = ConfigDict(extra="ignore", frozen=True)

    @classmethod
    def sections(cls) -> tuple[str, ...]:
        return tuple(cls.model_fields)

    @classmethod
    def from_params(cls, params: dict):
        return cls.model_validate({name: params[name] for name in cls.sections()})

    @classmethod
    def load(cls, path: str | Path = "params.yaml"):
        return cls.from_params(load_params(path))

    def section(self, name: str) -> dict:
        """A section as plain data, for the library functions that take dicts."""
        value = getattr(self, name)
        return value.model_dump() if isinstance(value, BaseModel) else value


def stage_name(run: Callable) -> str:
    return run.__module__.rsplit(".", 1)[-1].replace("_", "-")


def flags(run: Callable) -> dict[str, type]:
    """The keyword-only parameters of a stage's run: name -> annotation (In, Out or str)."""
    hints = get_type_hints(run)
    return {name: hints[name] for name, p in inspect.signature(run).parameters.items()
            if p.kind is inspect.Parameter.KEYWORD_ONLY}


def parser(run: Callable) -> argparse.ArgumentParser:
    module = sys.modules[run.__module__]
    p = argparse.ArgumentParser(prog=f"soda {stage_name(run)}", description=module.__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--params", default="params.yaml", help="params file (default: params.yaml)")
    for name, kind in flags(run).items():
        role = {In: "input", Out: "output"}.get(kind, "value")
        p.add_argument(f"--{name.replace('_', '-')}", required=True, dest=name, metavar=role.upper())
    p.add_argument("--metrics", required=True, help="metrics JSON (dvc metrics)")
    return p


def main(run: Callable, argv: list[str] | None = None) -> int:
    """The stage's command line: parse, validate params, run, write metrics. Exit 2 on bad input."""
    from soda.tracking import log_metrics, stage_run

    args = vars(parser(run).parse_args(argv))
    # stderr is the stage's report (one line on bad input), not MLflow's notes on creating its store
    os.environ.setdefault("MLFLOW_LOGGING_LEVEL", "WARNING")
    name, params_path, metrics_path = stage_name(run), args.pop("params"), args.pop("metrics")
    kinds = flags(run)
    kwargs = {k: (Path(v) if kinds[k] in (In, Out) else v) for k, v in args.items()}
    try:
        params = load_params(params_path)
        cfg = get_type_hints(run)["cfg"].from_params(params)
        missing = [v for k, v in kwargs.items() if kinds[k] is In and not v.exists()]
        if missing:  # before a missing model directory is taken for a Hugging Face model id
            raise InputError(f"{missing[0]}: not found")
        random.seed(params["seed"])
        outs = tuple(str(v) for k, v in kwargs.items() if kinds[k] is Out)
        with stage_run(params, name, cycle=kwargs.get("cycle") or kwargs.get("model_name"), sections=cfg.sections(),
                       outs=outs):
            metrics = run(cfg, **kwargs)
            write_json(metrics_path, produced(metrics))
            log_metrics(metrics, name.replace("-", "_"))
    except InputError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    where = f"{name}@{kwargs['cycle']}" if "cycle" in kwargs else name
    print(f"{where}: {metrics}")
    return 0


def produced(metrics: dict) -> dict:
    """The metrics without the RUN_ONLY keys, at every depth."""
    return {k: produced(v) if isinstance(v, dict) else v for k, v in metrics.items() if k not in RUN_ONLY}


def command(stage: str, params: str | Path, **flags) -> list[str]:
    """The command line that runs a stage as dvc.yaml does (for benchmarks and tests)."""
    args = [a for k, v in flags.items() for a in (f"--{k.replace('_', '-')}", str(v))]
    return [sys.executable, "-m", "soda.stage", stage, "--params", str(params), *args]


def scratch_dir(stage: str, cycle: str | None = None) -> str:
    """Trainer scratch space (checkpoints for resume), outside DVC outputs which DVC deletes
    before a re-run. Under the working copy, not DVC_ROOT: queued experiments run in copies
    of their own and must not resume from each other's checkpoints."""
    name = f"{stage}@{cycle}" if cycle else stage
    return str(Path.cwd() / ".soda" / "scratch" / name)


def read_rows(path: str | Path, what: str, keys: tuple[str, ...] = ()) -> list[dict]:
    """A stage input that must not be empty, each row with `keys` (non-empty strings); an
    error names the file and, for a bad row, its number and the key."""
    from soda.io import read_jsonl, require_keys

    rows = read_jsonl(path)
    if not rows:
        raise InputError(f"{path}: the {what} set is empty")
    require_keys(rows, keys, str(path))
    return rows


def with_teacher_langs(rows: list[dict], teacher: str | Path) -> list[dict]:
    """Questions without `lang` take the language their teacher answered in (the cycle's
    teacher.jsonl), as the seed's own questions do in teacher-generate."""
    taught = {r["id"]: r.get("lang") for r in read_rows(teacher, "teacher", ("id",))}
    return [q if q.get("lang") or not taught.get(q["id"]) else {**q, "lang": taught[q["id"]]} for q in rows]


if __name__ == "__main__":
    # `python -m soda.stage STAGE ...` is what dvc.yaml runs: the stage's module and this one are
    # all it imports (soda/cli.py, with every other command, would be a dep of every stage).
    # The stage's annotations name soda.stage's In and Out, not this __main__ copy's: its main
    # tells them apart.
    import importlib

    import soda.stage

    sys.exit(soda.stage.main(importlib.import_module(f"soda.stages.{sys.argv[1].replace('-', '_')}").run, sys.argv[2:]))
