"""Decontamination of a question set against the benchmarks selected in params.

Used by the `decontaminate` stage (the seed, before cycle 1) and by `evolve` (every set of
new questions), so that evolved questions cannot bring benchmark items back.

Each benchmark item is compared in every view a question could copy (`item_views`: its
statement alone, the statement with its signature or asserts, its solution, all of it); the
report names the item and the view. See soda.decontam for the rules.
"""

from __future__ import annotations


def clean(questions: list[dict], cfg: dict, heldout_path: str, benchmarks: str = "."):
    """The questions not similar to an item of the selected benchmarks (local files under
    `benchmarks`), with the report."""
    from soda.benchmarks import item_views, load_selected
    from soda.decontam import decontaminate

    items, skipped = load_selected(cfg, heldout_path, "decontaminate", root=benchmarks)
    items = [{"benchmark": it["benchmark"], "task_id": it["task_id"], "views": item_views(it)} for it in items]
    result = decontaminate(questions, items, threshold=cfg["threshold"],
                           containment_threshold=cfg["containment_threshold"],
                           ngram=cfg["ngram"], num_perm=cfg["num_perm"])
    result.counts["skipped_benchmarks"] = skipped
    return result
