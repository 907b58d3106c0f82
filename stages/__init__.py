"""What every stage shares: its command line, built from the signature of its `run`, and the
MLflow run, metrics file and error handling around it.

A stage is one module in stages/ (its name is the stage's name with underscores) with

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

from soda.io import InputError, produced, write_json
from soda.params import Runtime, load_params

In = NewType("In", Path)    # a file or directory the stage reads (a dep in dvc.yaml)
Out = NewType("Out", Path)  # a file or directory it writes (an out in dvc.yaml)


class StageConfig(BaseModel):
    """The params sections one stage reads: its fields are section names of soda.params.Params.
    Every stage also gets `runtime`, which is not among its sections: no output depends on it,
    so dvc.yaml does not list it and changing it re-runs nothing."""
    model_config = ConfigDict(extra="ignore", frozen=True)

    runtime: Runtime

    @classmethod
    def sections(cls) -> tuple[str, ...]:
        """The params sections the stage depends on (its dvc.yaml params)."""
        return tuple(name for name in cls.model_fields if name != "runtime")

    @classmethod
    def from_params(cls, params: dict):
        return cls.model_validate({name: params[name] for name in cls.model_fields})

    @classmethod
    def load(cls, path: str | Path = "params.yaml"):
        return cls.from_params(load_params(path))


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


def command(stage: str, params: str | Path, **flags) -> list[str]:
    """The command line that runs a stage as dvc.yaml does (for benchmarks and tests)."""
    args = [a for k, v in flags.items() for a in (f"--{k.replace('_', '-')}", str(v))]
    return [sys.executable, "-m", "stages", stage, "--params", str(params), *args]

