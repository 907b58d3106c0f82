"""`soda report`: Table 1 from metrics files and real DVC experiments, plots for dvc and HTML."""

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from soda.evaluate import model_metrics
from soda.io import InputError, write_json
from soda.report import main


def metrics(model, heldout, humaneval=None):
    benches = {"heldout": {"pass@1": heldout, "pass@10": min(1.0, 2 * heldout), "model_score": 3.0, "n_tasks": 4}}
    if humaneval is not None:
        benches["humaneval"] = {"pass@1": humaneval, "pass@10": None, "model_score": None, "n_tasks": 164}
    return model_metrics(model, benches)


def write_models(root, values):
    for model, (h, he) in values.items():
        write_json(root / "metrics" / "evaluate" / f"{model}.json", metrics(model, h, he))


def test_table_rows_in_cycle_order_with_average(tmp_path, monkeypatch, capsys):
    write_models(tmp_path, {"c10": (0.75, 0.5), "base": (0.25, 0.0), "c2": (0.5, 0.25)})
    monkeypatch.chdir(tmp_path)
    assert main([]) == 0
    md = (tmp_path / "reports" / "table1.md").read_text()
    assert md.index("| base |") < md.index("| c2 |") < md.index("| c10 |")
    assert "| c2 | 50.0 | 25.0 | 37.5 |" in md        # pass@1: heldout, humaneval, average
    assert "| c2 | 100.0 | – | – |" in md            # pass@10 not measured on humaneval
    page = (tmp_path / "reports" / "table1.html").read_text()
    assert "data:image/png;base64," in page and "<td>c10</td>" in page
    series = json.loads((tmp_path / "plots" / "evaluate" / "pass_at_1" / "humaneval.json").read_text())
    assert series == [{"step": 0, "model": "base", "pass@1": 0.0}, {"step": 1, "model": "c2", "pass@1": 0.25},
                      {"step": 2, "model": "c10", "pass@1": 0.5}]
    assert (tmp_path / "plots" / "evaluate" / "pass_at_1.csv").read_text().splitlines()[0] == "step,model,heldout,humaneval"
    assert (tmp_path / "plots" / "evaluate" / "pass_at_1.png").read_bytes()[:4] == b"\x89PNG"
    assert "| c10 |" in capsys.readouterr().out


def test_same_metrics_give_identical_report_files(tmp_path, monkeypatch):
    write_models(tmp_path, {"base": (0.25, 0.0), "c1": (0.5, 0.25)})
    monkeypatch.chdir(tmp_path)
    main([])
    def outputs():
        return [(p.name, p.read_bytes()) for p in sorted(tmp_path.glob("[rp]*/**/*")) if p.is_file()]

    first = outputs()
    main([])
    assert len(first) == 6 and outputs() == first  # md, html, 2 series, csv, png


def test_bad_metrics_file_is_named(tmp_path, monkeypatch):
    bad = tmp_path / "metrics" / "evaluate" / "c1.json"
    bad.parent.mkdir(parents=True)
    bad.write_text('{"model": "c1"}')
    monkeypatch.chdir(tmp_path)
    with pytest.raises(InputError, match="c1.json"):
        main([])
    (tmp_path / "metrics" / "evaluate" / "c1.json").unlink()
    with pytest.raises(InputError, match="no metrics files"):
        main([])


STAGE = """import json, sys
import yaml
x = yaml.safe_load(open("params.yaml"))["x"]
for m in ("base", "c1"):
    bench = {"heldout": {"pass@1": x / (4 if m == "base" else 2), "pass@10": None, "model_score": None, "n_tasks": 4}}
    json.dump({"model": m, "benchmarks": bench}, open(f"metrics/evaluate/{m}.json", "w"))
"""
DVC_YAML = """stages:
  evaluate:
    cmd: python stage.py
    deps: [stage.py]
    params: [x]
    metrics:
      - metrics/evaluate/base.json: {cache: false}
      - metrics/evaluate/c1.json: {cache: false}
"""


@pytest.mark.skipif(shutil.which("dvc") is None or shutil.which("git") is None, reason="needs dvc and git")
def test_experiments_become_rows_with_their_last_cycle(tmp_path, monkeypatch):
    # git identity for the commits dvc makes, whatever the machine's git config holds
    for var in ("GIT_AUTHOR_NAME", "GIT_COMMITTER_NAME", "GIT_AUTHOR_EMAIL", "GIT_COMMITTER_EMAIL"):
        monkeypatch.setenv(var, "soda-test")

    def sh(*cmd):
        subprocess.run(cmd, cwd=tmp_path, check=True, capture_output=True)

    (tmp_path / "metrics" / "evaluate").mkdir(parents=True)
    (tmp_path / "stage.py").write_text(STAGE)
    (tmp_path / "params.yaml").write_text("x: 1\n")
    (tmp_path / "dvc.yaml").write_text(DVC_YAML)
    sh("git", "init", "-q")
    sh("git", "commit", "-q", "--allow-empty", "-m", "root")
    sh("dvc", "init", "-q")
    sh("dvc", "repro", "-q")
    sh("git", "add", "-A")
    sh("git", "commit", "-q", "-m", "baseline")
    sh("dvc", "exp", "run", "-q", "-S", "x=0.5", "-n", "half")
    sh("git", "checkout", "-q", "--", "params.yaml", "metrics")  # workspace back to the baseline
    monkeypatch.chdir(tmp_path)
    assert main([]) == 0
    md = (tmp_path / "reports" / "table1.md").read_text()
    assert "| base | 25.0 | 25.0 |" in md and "| c1 | 50.0 | 50.0 |" in md
    assert "| half (c1) | 25.0 | 25.0 |" in md


def test_report_is_logged_to_mlflow(tmp_path, monkeypatch):
    import mlflow

    write_models(tmp_path, {"base": (0.25, None), "c1": (0.5, None)})
    shutil.copy(Path(__file__).resolve().parents[1] / "params.yaml", tmp_path / "params.yaml")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    monkeypatch.chdir(tmp_path)
    assert main(["--mlflow", "--no-experiments"]) == 0
    (run,) = mlflow.search_runs(experiment_names=["soda"], output_format="list")
    client = mlflow.MlflowClient()
    assert run.data.tags["soda.stage"] == "report"
    assert {a.path for a in client.list_artifacts(run.info.run_id, "report")} == {"report/table1.md", "report/table1.html"}
    assert {a.path for a in client.list_artifacts(run.info.run_id, "plots")} == \
        {"plots/pass_at_1", "plots/pass_at_1.csv", "plots/pass_at_1.png"}
