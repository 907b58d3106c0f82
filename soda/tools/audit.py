"""`soda audit REF`: the exact artifacts behind a result, pulled and verified.

REF is an MLflow run id (its tags name the git commit and the DVC md5 of the stage's
outputs), a DVC experiment name, or any git revision. The audit checks the revision out in
a clean directory (a git worktree), pulls every output of its dvc.lock from the DVC remote,
and verifies each output's hash against dvc.lock (and against the MLflow run's tags).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import yaml

from soda.io import InputError


def git(*args: str, cwd: str | Path = ".") -> str:
    proc = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise InputError(f"git {' '.join(args)}: {proc.stderr.strip()}")
    return proc.stdout.strip()


def resolve(ref: str, repo: Path) -> tuple[str, dict[str, str], str]:
    """(commit, {output path: md5 expected by MLflow}, what REF was)."""
    exps = git("for-each-ref", "refs/exps", "--format=%(refname) %(objectname)", cwd=repo).splitlines()
    for line in exps:
        name, sha = line.rsplit(" ", 1)
        if name.rsplit("/", 1)[-1] == ref:
            return sha, {}, "dvc experiment"
    if len(ref) == 32 and all(c in "0123456789abcdef" for c in ref):
        import mlflow

        from soda.tracking import tracking_uri

        mlflow.set_tracking_uri(tracking_uri(_configured_tracking_uri(repo)))
        try:
            run = mlflow.MlflowClient().get_run(ref)
        except Exception:  # noqa: BLE001 - any lookup failure means: not a run id here
            run = None
        if run is not None:
            tags = run.data.tags
            commit = tags.get("mlflow.source.git.commit")
            if not commit:
                raise InputError(f"MLflow run {ref} has no git commit tag")
            outs = {k[len("soda.out."):]: v for k, v in tags.items() if k.startswith("soda.out.")}
            return commit, outs, "mlflow run"
    try:
        return git("rev-parse", "--verify", f"{ref}^{{commit}}", cwd=repo), {}, "git revision"
    except InputError:
        raise InputError(f"{ref!r} is neither an MLflow run id, a DVC experiment name nor a git revision") from None


def _configured_tracking_uri(repo: Path) -> str | None:
    """The repository's runtime.mlflow.tracking_uri (params.yaml), where its stages log."""
    path = repo / "params.yaml"
    params = (yaml.safe_load(path.read_text()) if path.exists() else None) or {}
    return ((params.get("runtime") or {}).get("mlflow") or {}).get("tracking_uri")


def locked_outs(lock_path: Path) -> dict[str, str]:
    if not lock_path.exists():
        raise InputError(f"{lock_path}: no dvc.lock at that revision: nothing was reproduced")
    lock = yaml.safe_load(lock_path.read_text()) or {}
    return {o["path"]: o["md5"] for stage in lock.get("stages", {}).values() for o in stage.get("outs", [])}


def audit(ref: str, dest: str | Path, repo: str | Path = ".") -> dict:
    from soda.tracking import dvc_md5

    repo, dest = Path(repo).resolve(), Path(dest).resolve()
    if dest.exists():
        raise InputError(f"{dest}: already exists; the audit needs a clean directory")
    commit, expected, kind = resolve(ref, repo)
    remote = subprocess.run(["dvc", "remote", "list"], cwd=repo, capture_output=True, text=True).stdout.split()
    git("worktree", "add", "--detach", str(dest), commit, cwd=repo)
    if len(remote) >= 2:  # relative remote URLs would resolve against the new directory
        subprocess.run(["dvc", "remote", "add", "--local", "-f", "-d", "audit", remote[1]], cwd=dest, check=True,
                       capture_output=True)
    outs = locked_outs(dest / "dvc.lock")
    pull = subprocess.run(["dvc", "pull", "--allow-missing"], cwd=dest, capture_output=True, text=True)
    checks, problems = {}, []
    for path, md5 in sorted(outs.items()):
        if not (dest / path).exists():
            problems.append(f"{path}: missing from the remote")
            continue
        actual = dvc_md5(dest / path)
        checks[path] = actual
        if actual != md5:
            problems.append(f"{path}: md5 {actual} != dvc.lock {md5}")
    for path, md5 in expected.items():
        if outs.get(path) != md5:
            problems.append(f"{path}: dvc.lock at {commit[:8]} has {outs.get(path)}, the MLflow run logged {md5}")
    report = {"ref": ref, "kind": kind, "commit": commit, "dir": str(dest), "outputs": checks,
              "verified": not problems, "problems": problems}
    if problems and pull.returncode != 0:
        report["dvc_pull"] = pull.stderr.strip()[-2000:]
    return report


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="soda audit", description=__doc__)
    p.add_argument("ref", help="MLflow run id, DVC experiment name or git revision")
    p.add_argument("--dest", help="clean directory to check out into (default: audit-<ref>)")
    args = p.parse_args(argv)
    report = audit(args.ref, args.dest or f"audit-{args.ref[:12]}")
    print(json.dumps(report, indent=2))
    if not report["verified"]:
        print("audit: FAILED: " + "; ".join(report["problems"]), file=sys.stderr)
        return 1
    return 0
