"""Feedback-based knowledge update: which questions inspire the next cycle's.

Questions are sampled by level in the ratio easy:medium:hard (1:1:2 in the paper). A level
with no question gives its share to the other levels of the ratio, in proportion; if every
level of the ratio is empty, sampling falls back to all classified questions (counted as
`fallback`). A level smaller than its quota is sampled with replacement: the same question
can inspire several new ones. Easy questions ask the teacher for a harder question.
"""

from __future__ import annotations

import random

from soda.feedback import LEVELS
from soda.io import InputError


def check_levels(feedback: list[dict], path) -> list[dict]:
    """Feedback rows whose level is one the feedback stage writes (the first other is named)."""
    known = (*LEVELS, "unclassified")
    for i, row in enumerate(feedback, 1):
        if row["level"] not in known:
            raise InputError(f"{path}: row {i} (id {row['id']!r}): level {row['level']!r} is not one of {', '.join(known)}")
    return feedback


def quotas(ratio: list[float], sizes: dict[str, int], total: int) -> dict[str, int]:
    weights = {lvl: r for lvl, r in zip(LEVELS, ratio) if r > 0 and sizes.get(lvl, 0) > 0}
    if not weights:
        return {}
    norm = sum(weights.values())
    exact = {lvl: total * w / norm for lvl, w in weights.items()}
    out = {lvl: int(v) for lvl, v in exact.items()}
    # largest remainders get the rounding leftovers, in a fixed order
    for lvl in sorted(exact, key=lambda k: (out[k] - exact[k], LEVELS.index(k)))[: total - sum(out.values())]:
        out[lvl] += 1
    return out


def sample(questions: list[dict], feedback: list[dict], *, ratio: list[float], num_new: int,
           classification: bool, seed: int) -> tuple[list[tuple[dict, bool, str]], dict]:
    """[(question, harder, level)] to evolve, and counts."""
    rng = random.Random(seed)
    by_id = {q["id"]: q for q in questions}
    if not classification:
        pool = sorted(by_id)
        return [(by_id[rng.choice(pool)], False, "random") for _ in range(num_new)], {"random": num_new}
    levels = {lvl: sorted(f["id"] for f in feedback if f["level"] == lvl and f["id"] in by_id) for lvl in LEVELS}
    sizes = {lvl: len(ids) for lvl, ids in levels.items()}
    plan = quotas(ratio, sizes, num_new)
    counts = {f"sampled_{lvl}": plan.get(lvl, 0) for lvl in LEVELS}
    if not plan:
        pool = sorted(i for ids in levels.values() for i in ids)
        counts["fallback"] = num_new if pool else 0
        return [(by_id[rng.choice(pool)], False, "fallback") for _ in range(num_new if pool else 0)], counts
    picks = []
    for lvl in LEVELS:
        ids, k = levels[lvl], plan.get(lvl, 0)
        chosen = rng.sample(ids, k) if k <= len(ids) else ids + [rng.choice(ids) for _ in range(k - len(ids))]
        picks += [(by_id[i], lvl == "easy", lvl) for i in chosen]
    return picks, counts


def dedupe(new: list[dict], existing: list[dict]) -> tuple[list[dict], int]:
    """Drop new questions whose normalised text equals an existing or earlier new one."""
    seen = {" ".join(q["question"].lower().split()) for q in existing}
    kept = []
    for q in new:
        key = " ".join(q["question"].lower().split())
        if key not in seen:
            seen.add(key)
            kept.append(q)
    return kept, len(new) - len(kept)
