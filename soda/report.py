"""`soda report`: the paper's Table 1 from the evaluation metrics, as Markdown and HTML, with plots.

Rows: the base student, each cycle (the workspace's `metrics/evaluate/<model>.json`, schema in
soda/evaluate.py) and each DVC experiment (its last cycle, from `dvc exp show --json`).
Columns: the benchmarks and their average, once for pass@1, pass@10 and the model score.

Plots of pass@1 per cycle per benchmark (see `write_plots`): a PNG, and JSON/CSV for `dvc plots`.
"""

from __future__ import annotations

import argparse
import base64
import csv
import html
import io
import json
import re
import subprocess
import sys
from pathlib import Path

from soda.io import InputError, atomic_path, read_json

METRICS = (("pass@1", "pass@1"), ("pass@10", "pass@10"), ("model_score", "model score"))


def model_order(model: str) -> tuple:
    """base first, then cycles by number (c2 before c10), then any other name."""
    if model == "base":
        return (0, 0, model)
    m = re.fullmatch(r"c(\d+)", model)
    return (1, int(m.group(1)), model) if m else (2, 0, model)


def check_metrics(data, where: str) -> dict:
    if not isinstance(data, dict) or not isinstance(data.get("benchmarks"), dict):
        raise InputError(f"{where}: expected an object with a 'benchmarks' object (metrics/evaluate schema)")
    for name, values in data["benchmarks"].items():
        if not isinstance(values, dict):
            raise InputError(f"{where}: benchmarks.{name} must be an object")
    return data


def load_workspace(metrics_dir: Path) -> dict[str, dict]:
    """{model: metrics} from `<metrics_dir>/<model>.json`."""
    files = sorted(metrics_dir.glob("*.json"))
    return {p.stem: check_metrics(read_json(p), str(p)) for p in files}


def experiment_metrics(repo: Path, metrics_dir: str, *, all_commits: bool = False) -> list[tuple[str | None, str, dict]]:
    """(name, commit, {model: metrics}) of each finished DVC experiment with metrics in metrics_dir.

    Queued, running or failed experiments are left out: their metrics are partial or absent.
    """
    cmd = ["dvc", "exp", "show", "--json"] + (["--all-commits"] if all_commits else [])
    proc = subprocess.run(cmd, cwd=repo, capture_output=True, text=True)
    if proc.returncode != 0:
        raise InputError(f"dvc exp show --json failed in {repo} (--no-experiments skips it): {proc.stderr.strip()[-300:]}")
    try:
        commits = json.loads(proc.stdout or "[]")
    except json.JSONDecodeError as e:
        raise InputError(f"dvc exp show --json: not valid JSON ({e})") from None
    out = []
    for commit in commits:
        for exp in commit.get("experiments") or []:
            if (exp.get("executor") or {}).get("state") not in (None, "success"):
                continue
            for rev in exp.get("revs") or []:
                files = ((rev.get("data") or {}).get("metrics")) or {}
                models = {}
                for path, entry in files.items():
                    p = Path(path)
                    if p.parent.as_posix() == Path(metrics_dir).as_posix() and p.suffix == ".json" and entry.get("data"):
                        models[p.stem] = check_metrics(entry["data"], f"experiment {rev.get('name')}: {path}")
                if models:
                    out.append((rev.get("name"), rev["rev"], models))
    return out


def load_experiments(repo: Path, metrics_dir: str) -> list[tuple[str, dict]]:
    """(label, metrics of the experiment's last cycle) for each DVC experiment."""
    rows = []
    for name, rev, models in experiment_metrics(repo, metrics_dir):
        last = max(models, key=model_order)
        rows.append((f"{name or rev[:7]} ({last})", models[last]))
    return sorted(rows, key=lambda row: row[0])


def table_rows(workspace: dict[str, dict], experiments: list[tuple[str, dict]]) -> list[tuple[str, dict]]:
    return [(m, workspace[m]) for m in sorted(workspace, key=model_order)] + experiments


def columns(rows: list[tuple[str, dict]]) -> list[str]:
    names = {b for _, m in rows for b in m["benchmarks"]}
    # heldout first (the offline default), then the paper's order.
    order = ["heldout", "humaneval", "mbpp"]
    return sorted(names, key=lambda b: (order.index(b) if b in order else len(order), b))


def cell_values(metrics: dict, benches: list[str], key: str) -> list[float | None]:
    values = [metrics["benchmarks"].get(b, {}).get(key) for b in benches]
    # `dvc exp show` drops null values; an average over some benchmarks only is not comparable.
    average = sum(values) / len(values) if values and None not in values else None
    return values + [average]


def fmt(value: float | None, key: str) -> str:
    if value is None:
        return "–"
    return f"{value:.2f}" if key == "model_score" else f"{100 * value:.1f}"


def markdown(rows: list[tuple[str, dict]]) -> str:
    benches = columns(rows)
    out = ["# SODA evaluation (Table 1 layout)", "",
           "pass@1 and pass@10 in %, model score on the 0-6 scale; – = not measured.", ""]
    for key, title in METRICS:
        out += [f"## {title}", "", "| model | " + " | ".join(benches + ["average"]) + " |",
                "| --- |" + " ---: |" * (len(benches) + 1)]
        for label, metrics in rows:
            out.append(f"| {label} | " + " | ".join(fmt(v, key) for v in cell_values(metrics, benches, key)) + " |")
        out.append("")
    return "\n".join(out)


def html_page(rows: list[tuple[str, dict]], png: bytes | None) -> str:
    benches = columns(rows)
    parts = ["<!doctype html><html><head><meta charset='utf-8'><title>SODA evaluation</title>",
             "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse;margin-bottom:2em}"
             "td,th{border:1px solid #ccc;padding:4px 10px}td{text-align:right}td:first-child{text-align:left}"
             "</style></head><body><h1>SODA evaluation (Table 1 layout)</h1>",
             "<p>pass@1 and pass@10 in %, model score on the 0-6 scale; – = not measured.</p>"]
    for key, title in METRICS:
        parts.append(f"<h2>{html.escape(title)}</h2><table><tr><th>model</th>"
                     + "".join(f"<th>{html.escape(b)}</th>" for b in benches + ["average"]) + "</tr>")
        for label, metrics in rows:
            parts.append(f"<tr><td>{html.escape(label)}</td>"
                         + "".join(f"<td>{fmt(v, key)}</td>" for v in cell_values(metrics, benches, key)) + "</tr>")
        parts.append("</table>")
    if png:
        parts.append("<h2>pass@1 per cycle</h2><img alt='pass@1 per cycle per benchmark' "
                     f"src='data:image/png;base64,{base64.b64encode(png).decode()}'>")
    parts.append("</body></html>\n")
    return "\n".join(parts)


def plot_records(workspace: dict[str, dict]) -> list[dict]:
    """One record per model in cycle order: step, model and pass@1 per benchmark."""
    records = []
    for step, model in enumerate(sorted(workspace, key=model_order)):
        record = {"step": step, "model": model}
        record.update({b: v.get("pass@1") for b, v in sorted(workspace[model]["benchmarks"].items())})
        records.append(record)
    return records


def plot_png(records: list[dict]) -> bytes:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    benches = sorted({k for r in records for k in r} - {"step", "model"})
    fig, ax = plt.subplots(figsize=(6, 4))
    for bench in benches:
        points = [(r["step"], 100 * r[bench]) for r in records if r.get(bench) is not None]
        ax.plot([p[0] for p in points], [p[1] for p in points], marker="o", label=bench)
    ax.set_xticks([r["step"] for r in records], [r["model"] for r in records])
    ax.set_xlabel("model (cycle)")
    ax.set_ylabel("pass@1 (%)")
    ax.grid(alpha=0.3)
    if benches:
        ax.legend()
    fig.tight_layout()
    buf = io.BytesIO()
    # No timestamp in the PNG: the same metrics give the same bytes.
    fig.savefig(buf, format="png", dpi=100, metadata={"Software": None})
    plt.close(fig)
    return buf.getvalue()


def write_plots(workspace: dict[str, dict], plots_dir: Path) -> bytes:
    """Write the pass@1 plots under plots_dir; return the PNG bytes.

    pass_at_1/<benchmark>.json: records {step, model, pass@1}; one file per benchmark, so that
    `dvc plots show plots_dir/pass_at_1` draws one line per benchmark (x: step, y: pass@1).
    pass_at_1.csv: the same, one column per benchmark. pass_at_1.png: the figure.
    """
    records = plot_records(workspace)
    benches = sorted({k for r in records for k in r} - {"step", "model"})
    with atomic_path(plots_dir / "pass_at_1") as tmp:
        tmp.mkdir()
        for bench in benches:
            series = [{"step": r["step"], "model": r["model"], "pass@1": r[bench]} for r in records
                      if r.get(bench) is not None]
            (tmp / f"{bench}.json").write_text(json.dumps(series, indent=2) + "\n", encoding="utf-8")
    with atomic_path(plots_dir / "pass_at_1.csv") as tmp, tmp.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=["step", "model"] + benches, lineterminator="\n")
        writer.writeheader()
        writer.writerows(records)
    png = plot_png(records)
    with atomic_path(plots_dir / "pass_at_1.png") as tmp:
        tmp.write_bytes(png)
    return png


def log_to_mlflow(params_path: str, files: list[Path]) -> str:
    """Log the report files as artifacts of a `report` run (tracking store from params); return its id."""
    import mlflow

    from soda.params import load_params
    from soda.tracking import stage_run

    with stage_run(load_params(params_path), "report") as run:
        for f in files:
            mlflow.log_artifact(str(f), artifact_path="report" if f.suffix in (".md", ".html") else "plots")
    return run.info.run_id


def render(metrics_dir: Path, plots_dir: Path, md: Path, html: Path, experiments: bool) -> list[tuple[str, dict]]:
    """Write the table (markdown and HTML) and the pass@1 plots; return the table's rows."""
    workspace = load_workspace(metrics_dir)
    repo = Path.cwd()
    found = load_experiments(repo, str(metrics_dir)) if experiments and (repo / ".dvc").is_dir() else []
    rows = table_rows(workspace, found)
    if not rows:
        raise InputError(f"{metrics_dir}: no metrics files (run the evaluate stage first)")
    png = write_plots(workspace, plots_dir) if workspace else None
    with atomic_path(md) as tmp:
        tmp.write_text(markdown(rows) + "\n", encoding="utf-8")
    with atomic_path(html) as tmp:
        tmp.write_text(html_page(rows, png), encoding="utf-8")
    return rows


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="soda report", description=__doc__.splitlines()[0])
    p.add_argument("--metrics-dir", default="metrics/evaluate", help="per-model metrics files")
    p.add_argument("--plots-dir", default="plots/evaluate", help="where the pass@1 plots go")
    p.add_argument("--out", default="reports/table1", help="writes OUT.md and OUT.html")
    p.add_argument("--no-experiments", action="store_true", help="don't read `dvc exp show`")
    p.add_argument("--mlflow", action="store_true", help="also log the report and plots to MLflow")
    p.add_argument("--params", default="params.yaml", help="params file naming the MLflow store (with --mlflow)")
    args = p.parse_args(argv)
    out, plots_dir = Path(args.out), Path(args.plots_dir)
    rows = render(Path(args.metrics_dir), plots_dir, out.with_suffix(".md"), out.with_suffix(".html"),
                  experiments=not args.no_experiments)
    print(markdown(rows))
    plots = sorted(plots_dir.glob("pass_at_1*"))
    print(f"wrote {out.with_suffix('.md')}, {out.with_suffix('.html')}" + (f" and plots in {plots_dir}" if plots else ""),
          file=sys.stderr)
    if args.mlflow:
        run_id = log_to_mlflow(args.params, [out.with_suffix(".md"), out.with_suffix(".html")] + plots)
        print(f"logged to MLflow run {run_id}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
