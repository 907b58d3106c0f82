"""The seed pool, the held-out set and evolution, all drawn from the families.

Tier mix: the seed pool leans easy (tier 1:2:3 = 3:2:1) so that the first cycle has
something to learn from; the held-out set is balanced across tiers so that later cycles,
which evolve easy questions into harder tiers, still have room to show progress.
Families are dealt round-robin (shuffled) so every family appears about equally often.
"""

from __future__ import annotations

import json
import random

from soda.world.family import FAMILIES, build

SEED_TIER_WEIGHTS = {1: 3, 2: 2, 3: 1}
HELDOUT_TIER_WEIGHTS = {1: 1, 2: 1, 3: 1}


def spec_key(task: dict) -> str:
    return json.dumps([task["family"], task["tier"], task["spec"]], sort_keys=True)


def _draw(n: int, prefix: str, rng: random.Random, names: list[str], tiers, weights: dict,
          taken: set[str]) -> list[dict]:
    rows: list[dict] = []
    order: list[str] = []
    misses = 0
    while len(rows) < n:
        if not order:
            order = list(names)
            rng.shuffle(order)
        name = order.pop()
        allowed = [t for t in tiers if t in FAMILIES[name].tiers]
        tier = rng.choices(allowed, [weights.get(t, 1) for t in allowed])[0]
        task = build(name, tier, rng)
        # A spec already used (in this set or the other one) is redrawn; small worlds
        # (few families, tier 1 only) can run out of distinct specs.
        if spec_key(task) in taken:
            misses += 1
            if misses > 50 * len(names) + 1000:
                raise ValueError(f"only {len(rows)} distinct {prefix} tasks could be drawn from families {names} "
                                 f"and tiers {tuple(tiers)}; ask for fewer or allow more")
            continue
        misses = 0
        taken.add(spec_key(task))
        rows.append({**task, "id": f"{prefix}-{len(rows):05d}", "origin": prefix, "parent": None})
    return rows


def make_world(seed_size: int, heldout_size: int, *, seed: int = 0, tiers=(1, 2, 3),
               families: list[str] | None = None) -> tuple[list[dict], list[dict]]:
    """(seed pool, held-out set): disjoint specs, deterministic given `seed`."""
    names = sorted(families if families is not None else FAMILIES)
    unknown = [n for n in names if n not in FAMILIES]
    if unknown:
        raise KeyError(f"unknown task families {unknown}; known: {sorted(FAMILIES)}")
    names = [n for n in names if any(t in FAMILIES[n].tiers for t in tiers)]
    if not names:
        raise ValueError(f"no family has any of the tiers {tuple(tiers)}")
    taken: set[str] = set()
    # Held-out first, from its own random stream, so its draws do not depend on seed_size.
    heldout = _draw(heldout_size, "heldout", random.Random(f"{seed}:heldout"), names, tiers,
                    HELDOUT_TIER_WEIGHTS, taken)
    pool = _draw(seed_size, "seed", random.Random(f"{seed}:seed"), names, tiers, SEED_TIER_WEIGHTS, taken)
    return pool, heldout


def evolve_task(task: dict, harder: bool, rng: random.Random, new_id: str) -> dict:
    """A new task of the same family: one tier up if `harder` (at the top tier, another
    spec of the top tier), else the same tier with new parameters and wording."""
    fam = FAMILIES[task["family"]]
    tier = int(task["tier"])
    if harder:
        tier = min([t for t in fam.tiers if t > tier], default=max(fam.tiers))
    for _ in range(20):
        new = build(fam.name, tier, rng)
        if new["spec"] != task["spec"] or new["tier"] != task["tier"]:
            break
    return {**new, "id": new_id, "origin": "evolved", "parent": task["id"]}
