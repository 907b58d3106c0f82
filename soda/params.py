"""Load and validate params.yaml.

Every stage calls `load_params()` and reads only its own section. Validation is strict:
an unknown key, a value of the wrong type or an inconsistent cycle chain is an
`InputError` naming the key's path, before any work is done.
"""

from __future__ import annotations

import os
from pathlib import Path

import yaml

from soda.io import InputError

NUM = (int, float)
OPT_STR = (str, type(None))
OPT_NUM = (int, float, type(None))
TRAIN = {
    "preset": str, "epochs": NUM, "lr": NUM, "batch_size": int, "grad_accum": int, "max_length": int,
    "scheduler": str, "warmup_ratio": NUM, "weight_decay": NUM, "bf16": bool,
    "gradient_checkpointing": bool, "lora": (dict, type(None)), "logging_steps": int, "save_steps": int,
}
BENCH_SOURCES = {"benchmarks": list, "paths": dict, "skip_missing": list}

# section -> key -> accepted type(s). Nested dicts are validated recursively.
SCHEMA: dict = {
    "seed": int,
    "world": {"source": str, "seed_size": int, "heldout_size": int, "pretrain_size": int, "tiers": list,
              "families": (list, type(None))},
    "student": {"init": str, "vocab_size": int, "hidden_size": int, "num_layers": int, "num_heads": int,
                "intermediate_size": int, "max_position": int, "pretrain_epochs": int},
    "scorer": {"init": str},
    "teacher": {"backend": str, "model": OPT_STR, "base_url": OPT_STR, "api_key_env": str, "concurrency": int,
                "max_new_tokens": int, "temperature": NUM, "lang": str, "batch_size": int, "device": OPT_STR,
                "tensor_parallel_size": int, "timeout_s": NUM, "max_retries": int, "endpoint": str},
    "generation": {"backend": str, "model": OPT_STR, "batch_size": int, "max_new_tokens": int,
                   "cache_dir": OPT_STR, "device": OPT_STR, "base_url": OPT_STR, "api_key_env": str,
                   "concurrency": int, "tensor_parallel_size": int, "timeout_s": NUM, "max_retries": int,
                   "endpoint": str},
    "decontaminate": {**BENCH_SOURCES, "threshold": NUM, "containment_threshold": OPT_NUM, "ngram": int,
                      "num_perm": int},
    "teacher_generate": {"fcl_fraction": NUM},
    "csl_train": TRAIN,
    "fcl_train": {**TRAIN, "enabled": bool, "beta": NUM},
    "score_train": {**TRAIN, "heldout_fraction": NUM, "num_questions": int, "format": str,
                    "head": str},
    "feedback": {"execution": bool, "scoring": bool, "easy_min_score": NUM, "hard_max_score": NUM, "rule": str,
                 "timeout_s": NUM, "max_questions": (int, type(None))},
    "evolve": {"enabled": bool, "classification": bool, "ratio": list, "num_new": int, "mode": str},
    "evaluate": {**BENCH_SOURCES, "models": list, "n_samples": int, "temperature": NUM, "top_p": NUM,
                 "timeout_s": NUM},
    "cycles": dict,
    "mlflow": {"tracking_uri": OPT_STR, "experiment": str},
}
CHOICES = {
    "teacher.backend": ("reference", "openai", "vllm", "hf"),
    "generation.backend": ("hf", "openai", "vllm"),
    "teacher.endpoint": ("chat", "completions"),
    "generation.endpoint": ("chat", "completions"),
    "feedback.rule": ("execution-first", "score-first", "strict"),
    "evolve.mode": ("accumulate", "replace"),
    "score_train.format": ("full", "compact"),
    "score_train.head": ("generative", "regression", "classes"),
}


def _check(node, schema, path: str) -> None:
    if isinstance(schema, dict):
        if not isinstance(node, dict):
            raise InputError(f"params: {path} must be a mapping, got {type(node).__name__}")
        for key, value in node.items():
            if key not in schema:
                raise InputError(f"params: unknown key {path + '.' if path else ''}{key}")
            _check(value, schema[key], f"{path}.{key}" if path else key)
        return
    types = schema if isinstance(schema, tuple) else (schema,)
    # bool is an int in Python: refuse it where a number is meant
    if not isinstance(node, types) or (isinstance(node, bool) and bool not in types):
        names = "/".join("null" if t is type(None) else t.__name__ for t in types)
        raise InputError(f"params: {path} must be {names}, got {node!r}")


def validate(params: dict) -> dict:
    _check(params, SCHEMA, "")
    for key, choices in CHOICES.items():
        section, name = key.split(".")
        value = params.get(section, {}).get(name)
        if value is not None and value not in choices:
            raise InputError(f"params: {key} must be one of {', '.join(choices)}, got {value!r}")
    ratio = params.get("evolve", {}).get("ratio")
    if ratio is not None and (
        len(ratio) != 3 or not all(isinstance(r, NUM) and not isinstance(r, bool) and r >= 0 for r in ratio)
        or sum(ratio) <= 0
    ):
        raise InputError(f"params: evolve.ratio must be three non-negative numbers summing above zero, got {ratio!r}")
    cycles = params.get("cycles", {})
    if "cycles" in params and not cycles:
        raise InputError("params: cycles must name at least one cycle")
    for name, entry in cycles.items():
        if name == "base":
            raise InputError("params: cycles.base is reserved for the model before cycle 1")
        if not isinstance(entry, dict) or set(entry) != {"prev"}:
            raise InputError(f"params: cycles.{name} must be a mapping with exactly one key, prev")
        if entry["prev"] != "base" and entry["prev"] not in cycles:
            raise InputError(f"params: cycles.{name}.prev names {entry['prev']!r}, which is not a cycle (nor 'base')")
    _check_chain(cycles)
    for model in params.get("evaluate", {}).get("models", []):
        if model != "base" and model not in cycles:
            raise InputError(f"params: evaluate.models names {model!r}, which is not a cycle (nor 'base')")
    for key in ("teacher_generate.fcl_fraction", "score_train.heldout_fraction"):
        section, name = key.split(".")
        value = params.get(section, {}).get(name)
        if value is not None and not 0 <= value < 1:
            raise InputError(f"params: {key} must be in [0, 1), got {value!r}")
    return params


def _check_chain(cycles: dict) -> None:
    for start in cycles:
        seen, node = set(), start
        while node != "base":
            if node in seen:
                raise InputError(f"params: cycles.{start}.prev forms a loop")
            seen.add(node)
            node = cycles[node]["prev"]


def cycle_order(cycles: dict) -> list[str]:
    """Cycles from first to last (by chain depth)."""
    def depth(name):
        return 0 if name == "base" else 1 + depth(cycles[name]["prev"])
    return sorted(cycles, key=depth)


def repo_root() -> Path:
    """The DVC repository root (DVC_ROOT during `dvc repro`/`dvc exp run`), else the working directory."""
    return Path(os.environ.get("DVC_ROOT") or os.getcwd()).resolve()


EXPS_TMP = os.sep + os.path.join(".dvc", "tmp", "exps") + os.sep


def workspace_root() -> Path:
    """The user's repository. `dvc exp run --temp/--queue` runs in a copy under .dvc/tmp/exps:
    what experiments share (the MLflow store, the caches) must live in the original."""
    root = str(repo_root())
    if EXPS_TMP in root + os.sep:
        root = root[: (root + os.sep).index(EXPS_TMP)]
    return Path(root)


def workspace_path(path: str | os.PathLike) -> Path:
    """A relative path taken from the workspace root (an absolute one is kept)."""
    return workspace_root() / path


def load_params(path: str | os.PathLike = "params.yaml") -> dict:
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: params file not found")
    try:
        params = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as e:
        raise InputError(f"{path}: not valid YAML ({e})") from None
    return validate(params)
