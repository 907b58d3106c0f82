import pytest

from soda.experiments import commands, load_grid
from soda.io import InputError


def test_shipped_grid_expands_to_variant_by_seed_commands():
    cmds = commands("soda/configs/grid-paper.yaml")
    seeds, variants = load_grid("soda/configs/grid-paper.yaml")
    assert len(cmds) == len(seeds) * len(variants) == 30
    ratio = next(c for c in cmds if "ratio-0-0-4-s1" in c)
    assert ratio[:5] == ["dvc", "exp", "run", "--queue", "-n"]
    assert "evolve.ratio=[0, 0, 4]" in ratio and "seed=1" in ratio
    assert "fcl_train.enabled=false" in next(c for c in cmds if "no-fcl-s0" in c)
    # every variant of the first seed is queued before the next seed
    assert [c[5] for c in cmds[: len(variants)]] == [f"{v}-s{seeds[0]}" for v in variants]


@pytest.mark.parametrize("body,message", [
    ("variants: {a: {csl_train.lrr: 1}}", "variants.a: unknown param csl_train.lrr"),
    ("variants: {a: {nope.x: 1}}", "variants.a: unknown param nope.x"),
    ("variants: {a: {csl_train.epochs: 'many'}}", "csl_train.epochs must be"),
    ("variants: {a: {evolve.ratio: [1, 2]}}", "evolve.ratio must be three"),
    ("seeds: [a]\nvariants: {a: {}}", "seeds must be a non-empty list"),
    ("variant: {}", "unknown key 'variant'"),
])
def test_bad_grid_names_the_variant_and_key(tmp_path, body, message):
    grid = tmp_path / "grid.yaml"
    grid.write_text(body)
    with pytest.raises(InputError, match=message.replace("[", r"\[").replace("]", r"\]")):
        commands(str(grid))
