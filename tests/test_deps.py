"""dvc.yaml names exactly what each stage reads: the repository files its module imports
(soda/tools/deps.py), its params sections (the fields of its Config) and the files its flags name."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from soda.params import INPUT_DIRS
from soda.tools.deps import EXEMPT, closure, code_deps, expand, stage_module, tracked_files
from stages import In, Out, flags

ROOT = Path(__file__).resolve().parent.parent
DVC = yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"]
CODE = ("stages", "soda", "sandbox")


def stage_def(name):
    return DVC[name].get("do", DVC[name])


def entries(items):
    return [next(iter(i)) if isinstance(i, dict) else i for i in items]


def given_flags(stage):
    words = stage["cmd"].split()
    return {w[2:].replace("-", "_"): words[i + 1] for i, w in enumerate(words) if w.startswith("--")}


@pytest.mark.parametrize("name", list(DVC))
def test_code_deps_are_exactly_the_import_closure(name):
    declared = [d for d in stage_def(name)["deps"] if d.split("/")[0] in CODE]
    needed = closure(stage_module(name))
    missing, extra = sorted(needed - expand(declared)), sorted(expand(declared) - needed)
    assert not missing and not extra, (
        f"dvc.yaml stage {name}: not covered {missing}, not imported {extra}; "
        f"its code deps should be {code_deps(name)} (`python -m soda.tools.deps --write` puts them in)")


@pytest.mark.parametrize("name", list(DVC))
def test_params_and_data_deps_and_outs_match_the_stage_signature(name):
    import importlib

    module = importlib.import_module(stage_module(name))
    stage = stage_def(name)
    assert stage.get("params", []) == list(module.Config.sections())
    given = given_flags(stage)
    kinds = flags(module.run)
    assert set(given) == set(kinds) | {"metrics"}
    data_deps = [d for d in stage["deps"] if d.split("/")[0] not in CODE]
    assert sorted(data_deps) == sorted(v for k, v in given.items() if kinds.get(k) is In)
    outs = entries(stage["outs"])
    assert sorted(outs) == sorted(v for k, v in given.items() if kinds.get(k) is Out)
    assert entries(stage["metrics"]) == [given["metrics"]]


# The stages that read each input key's value. A stage may hold the key's section for another of
# its keys (student.chat_template: the trainers, feedback, evaluate) and then reads no input folder.
READERS = {"world.source": {"world"}, "student.init": {"init-models"}, "scorer.init": {"init-models"},
           "teacher.model": {"teacher-generate", "score-train", "feedback", "evolve"}}  # make_teacher


@pytest.mark.parametrize("name", list(DVC))
def test_an_input_folder_is_read_by_exactly_the_stages_whose_params_name_it(name):
    """The folder a user's input must lie in (soda.params.INPUT_DIRS: world.source in data/seed, ...)
    is an `In` flag, so a dvc.yaml dep (test above), of each stage that reads that key, and of no
    other stage; a stage that holds the key's section but is no reader never names the key."""
    import importlib
    import inspect

    assert set(READERS) == set(INPUT_DIRS)
    module = importlib.import_module(stage_module(name))
    kinds = flags(module.run)
    read = {v for k, v in given_flags(stage_def(name)).items() if kinds.get(k) is In}
    expected = {INPUT_DIRS[key] for key, stages in READERS.items() if name in stages}
    assert read & set(INPUT_DIRS.values()) == expected
    source = inspect.getsource(module)
    for key, stages in READERS.items():
        section, field = key.split(".")
        if name in stages:
            assert section in module.Config.sections(), f"{name} reads {key} without its section"
        else:
            uses = [f"{section}.{field}"] + (["make_teacher"] if key == "teacher.model" else [])
            assert not any(u in source for u in uses), \
                f"{name} reads {key}: add it to READERS and give it {INPUT_DIRS[key]} as an `In` flag"


def test_exempt_modules_exist():
    assert set(EXEMPT) <= set(tracked_files())


def test_static_closure_covers_what_a_real_run_imports(tmp_path, params):
    """Independent of the ast walk: run two stages for real and list the repository modules
    that were loaded; each must be in the stage's closure."""
    params["world"].update(seed_size=30, heldout_size=5, pretrain_size=0)
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    probe = ("import json, sys, runpy\n"
             "sys.argv = ['stages'] + sys.argv[2:]\n"
             "try:\n    runpy.run_module('stages', run_name='__main__')\n"
             "except SystemExit as e:\n    assert not e.code, e.code\n"
             "files = sorted({m.__file__ for m in list(sys.modules.values()) if getattr(m, '__file__', None)})\n"
             "json.dump(files, open(OUT, 'w'))\n")
    runs = {
        "world": ["--seed-dir", ".", "--seed-out", "seed.jsonl", "--heldout-out", "heldout.jsonl", "--pretrain-out", "pre.jsonl",
                  "--metrics", "w.json"],
        "decontaminate": ["--questions", "seed.jsonl", "--heldout", "heldout.jsonl", "--benchmarks", ".", "--out", "q.jsonl",
                          "--report-jsonl", "r.jsonl", "--report-csv", "r.csv", "--metrics", "d.json"],
    }
    for stage, args in runs.items():
        out = tmp_path / f"{stage}-modules.json"
        code = f"OUT = {str(out)!r}\n" + probe
        subprocess.run([sys.executable, "-c", code, "x", stage, *args], cwd=tmp_path, check=True,
                       env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin", "HOME": str(tmp_path),
                            "MLFLOW_TRACKING_URI": f"sqlite:///{tmp_path}/mlflow.db"}, capture_output=True)
        ours = [Path(f).resolve() for f in json.loads(out.read_text())]
        loaded = {str(f.relative_to(ROOT)) for f in ours if f.is_relative_to(ROOT) and f.relative_to(ROOT).parts[0] in CODE}
        assert loaded, stage
        assert loaded - set(EXEMPT) <= closure(stage_module(stage)), (stage, sorted(loaded - closure(stage_module(stage))))
