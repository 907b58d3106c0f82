"""Decontamination of a question set against the benchmarks selected in params.

Used by the `decontaminate` stage (the seed, before cycle 1) and by `evolve` (every set of
new questions), so that evolved questions cannot bring benchmark items back.
"""

from __future__ import annotations

from soda.io import InputError


def benchmark_items(cfg: dict, heldout_path: str) -> tuple[list[dict], dict]:
    """Items of every benchmark in cfg['benchmarks'], and {benchmark: reason} for skipped ones.

    A source that cannot be loaded is an error unless cfg['skip_missing'] names it: then it
    is skipped and reported, never silently counted as zero matches.
    """
    from soda.benchmarks import load_benchmark

    items, skipped = [], {}
    for name in cfg["benchmarks"]:
        source = {"path": heldout_path} if name == "heldout" else {"path": cfg.get("paths", {}).get(name)}
        try:
            loaded = load_benchmark(name, source)
        except InputError as e:
            if name not in cfg.get("skip_missing", []):
                raise InputError(f"decontaminate.benchmarks: {name}: {e} (list it in skip_missing to skip it)") from None
            skipped[name] = str(e)
            continue
        items.extend(loaded)
    return items, skipped


def clean(questions: list[dict], cfg: dict, heldout_path: str):
    from soda.decontam import decontaminate

    items, skipped = benchmark_items(cfg, heldout_path)
    result = decontaminate(questions, items, threshold=cfg["threshold"],
                           containment_threshold=cfg.get("containment_threshold"),
                           ngram=cfg["ngram"], num_perm=cfg["num_perm"])
    result.counts["benchmark_items"] = len(items)
    result.counts["skipped_benchmarks"] = skipped
    return result
