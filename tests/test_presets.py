"""The presets in soda/configs are params fragments a user applies (`soda params flags`) or merges
into params.yaml: each must give valid params on top of the committed ones."""

from pathlib import Path

import pytest
import yaml

from conftest import merge
from soda.params import override_flags, validate

PRESETS = sorted(p for p in (Path(__file__).resolve().parent.parent / "soda" / "configs").glob("*.yaml")
                 if not p.name.startswith(("grid-", "accelerate_")))


@pytest.mark.parametrize("preset", PRESETS, ids=lambda p: p.name)
def test_a_preset_applied_to_the_committed_params_is_valid(preset, params):
    fragment = yaml.safe_load(preset.read_text())
    validate(merge(params, fragment))
    flags = override_flags(preset)
    assert len(flags) >= sum(len(v) if isinstance(v, dict) else 1 for v in fragment.values())


def test_the_real_preset_raises_the_tiny_worlds_lengths(params):
    real = validate(merge(params, yaml.safe_load((PRESETS[0].parent / "real.yaml").read_text())))
    assert real["generation"]["max_new_tokens"] >= 1024 and real["csl_train"]["max_length"] >= 2048
    assert real["generation"]["student_prompt"] == "paper" and real["teacher"]["prompts"] == "paper"
