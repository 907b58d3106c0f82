"""world: the seed questions, the held-out evaluation set and a pretraining corpus.

`world.source: procedural` generates the embedded task world; a path inside data/seed/ (the
folder `--seed-dir`, which DVC tracks) imports the user's own questions (JSONL rows with at least
`id` and `question`) as the seed.

The pretraining corpus is unlabelled code: the reference solutions of `world.pretrain_size`
further tasks (specs disjoint from the seed and held-out sets), without their questions.
init-models pretrains the tiny student on it, so that the base student is like a base code
model: it has seen code, but no question.
"""

from __future__ import annotations

from soda.io import InputError, read_jsonl, write_jsonl
from soda.params import World, input_path
from stages import In, Out, StageConfig


class Config(StageConfig):
    seed: int
    world: World


def run(cfg: Config, *, seed_dir: In, seed_out: Out, heldout_out: Out, pretrain_out: Out) -> dict:
    w = cfg.world
    if w.source == "procedural":
        from soda.world import FAMILIES, make_world

        unknown = sorted(set(w.families or ()) - set(FAMILIES))
        if unknown:
            raise InputError(f"params: world.families: unknown family {unknown[0]!r}; known: {', '.join(sorted(FAMILIES))}")
        # The pool's first seed_size tasks do not depend on how many follow: the seed is the
        # same whatever pretrain_size is.
        pool, heldout_rows = make_world(w.seed_size + w.pretrain_size, w.heldout_size, seed=cfg.seed,
                                        tiers=tuple(w.tiers), families=w.families)
        seed_rows = pool[: w.seed_size]
        pretrain_rows = [{"id": f"pretrain-{i:05d}", "code": t["reference"]} for i, t in enumerate(pool[w.seed_size:])]
    else:
        path = input_path("world.source", w.source, seed_dir)
        seed_rows, heldout_rows, pretrain_rows = read_jsonl(path), [], []
        for i, row in enumerate(seed_rows, 1):
            if not row.get("id") or not isinstance(row.get("question"), str) or not row["question"].strip():
                raise InputError(f"{path}:{i}: a question row needs a non-empty 'id' and 'question'")
    if not seed_rows:
        raise InputError("world: the seed question set is empty")
    write_jsonl(seed_out, seed_rows)
    write_jsonl(heldout_out, heldout_rows)
    write_jsonl(pretrain_out, pretrain_rows)
    return {"seed": len(seed_rows), "heldout": len(heldout_rows), "pretrain": len(pretrain_rows)}
