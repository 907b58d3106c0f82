"""Decontamination of a question set against the benchmarks selected in params.

Used by the `decontaminate` stage (the seed, before cycle 1) and by `evolve` (every set of
new questions), so that evolved questions cannot bring benchmark items back.

Each benchmark item is compared in two views: its question alone (a copied question would
be diluted below the threshold by the item's code and tests) and its whole text (question,
canonical solution and tests: catches pasted solutions). Either view reaching the threshold
removes the question; the report names the item either way.
"""

from __future__ import annotations


def clean(questions: list[dict], cfg: dict, heldout_path: str):
    from soda.benchmarks import load_selected
    from soda.decontam import decontaminate

    items, skipped = load_selected(cfg, heldout_path, "decontaminate")
    views = [{**it, "prompt": it.get("question") or it["prompt"], "solution": None, "tests": None} for it in items]
    result = decontaminate(questions, views + items, threshold=cfg["threshold"],
                           containment_threshold=cfg.get("containment_threshold"),
                           ngram=cfg["ngram"], num_perm=cfg["num_perm"])
    result.counts["benchmark_items"] = len(items)
    result.counts["skipped_benchmarks"] = skipped
    return result
