"""report: the paper's Table 1 (pass@1, pass@10 and model score per model and benchmark, as
markdown and HTML) and the pass@1 plot, from the evaluate stage's metrics. `soda report` renders
the same table with every dvc experiment's row added."""

from __future__ import annotations

from soda.report import render
from stages import In, Out, StageConfig


class Config(StageConfig):
    """No params: the table shows what the evaluate stage measured."""


def run(cfg: Config, *, metrics_dir: In, plot: Out, table: Out, page: Out) -> dict:
    # the plot's data (dvc plots) is written beside the image: <plot without .png>
    return {"rows": len(render(metrics_dir, plot.parent, table, page, experiments=False))}
