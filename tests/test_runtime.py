"""`runtime` settings change no output, so no stage depends on them: changing them leaves
`dvc status` clean, while a setting that changes an output (teacher.model) makes its consumers stale.
No stage runs: every output is a stand-in file committed with `dvc commit`, which records the
params in dvc.lock as a run would."""

import importlib
import json

import yaml

from conftest import dvc_repo, sh
from soda.params import Runtime
from soda.tools.deps import stage_module


def leaves(model, prefix):
    for name, field in model.model_fields.items():
        kind = field.annotation
        if isinstance(kind, type) and hasattr(kind, "model_fields"):
            yield from leaves(kind, f"{prefix}.{name}")
        else:
            yield f"{prefix}.{name}"


def changed(value):
    """Another valid value of a runtime key."""
    if isinstance(value, bool):
        return not value
    if isinstance(value, (int, float)):
        return value + 1
    return "/elsewhere" if value is None or "/" in value else f"{value}_2"


def status(repo, env) -> set[str]:
    return set(json.loads(sh("dvc", "status", "--json", cwd=repo, env=env).stdout or "{}"))


def test_runtime_keys_leave_dvc_status_clean_and_teacher_model_does_not(tmp_path, params):
    repo, env = dvc_repo(tmp_path / "repo", params, tmp_path / "remote")
    from dvc.repo import Repo

    with Repo(str(repo)) as dvc:
        stages = list(dvc.index.stages)
        for stage in stages:
            for out in stage.outs:
                path = repo / out.def_path
                if path.exists():
                    continue
                path.parent.mkdir(parents=True, exist_ok=True)
                if "." in path.name:
                    path.write_text("stand-in\n")
                else:
                    path.mkdir()
                    (path / "stand-in").write_text("stand-in\n")
    sh("dvc", "commit", "-f", "-q", cwd=repo, env=env)
    assert status(repo, env) == set()

    keys = list(leaves(Runtime, "runtime"))
    assert "runtime.teacher.base_url" in keys and "runtime.cache_dir" in keys and "runtime.mlflow.experiment" in keys
    edited = yaml.safe_load((repo / "params.yaml").read_text())
    for key in keys:
        *parents, last = key.split(".")
        node = edited
        for part in parents:
            node = node[part]
        node[last] = changed(node[last])
    (repo / "params.yaml").write_text(yaml.safe_dump(edited, sort_keys=False))
    assert status(repo, env) == set(), "a runtime key is a param of some stage"

    edited["teacher"]["model"] = "another-teacher"
    (repo / "params.yaml").write_text(yaml.safe_dump(edited, sort_keys=False))
    with Repo(str(repo)) as dvc:
        names = [s.name for s in dvc.index.stages]
    readers = {n for n in names
               if "teacher" in importlib.import_module(stage_module(n.split("@")[0])).Config.sections()}
    assert readers and status(repo, env) == readers
