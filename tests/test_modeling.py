import json

import pytest
import torch

from soda.io import InputError
from soda.modeling import build_tokenizer, init_model, load_model, save_model

TEXTS = ["def add(a, b):\n    return a + b\n", "### Question\nAdd two numbers.\n### Solution\n"] * 20


@pytest.fixture(scope="module")
def tok():
    return build_tokenizer(TEXTS, vocab_size=400)


def test_tokenizer_round_trips_any_text_and_starts_with_bos(tok):
    text = "naïve 世界 {x}\n\tπ"
    ids = tok(text)["input_ids"]
    assert ids[0] == tok.bos_token_id
    assert tok.decode(ids, skip_special_tokens=True) == text
    assert len({tok.bos_token_id, tok.eos_token_id, tok.pad_token_id}) == 3


def test_same_seed_same_weights(tok):
    a, b = init_model(tok, hidden_size=32, num_layers=1, num_heads=2, intermediate_size=64, seed=3), init_model(
        tok, hidden_size=32, num_layers=1, num_heads=2, intermediate_size=64, seed=3
    )
    assert all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values()))
    assert init_model(tok).num_parameters() < 5_000_000


def test_save_load_round_trip(tok, tmp_path):
    model = init_model(tok, hidden_size=32, num_layers=1, num_heads=2, intermediate_size=64)
    save_model(model, tok, tmp_path / "m", {"data_sha256": "abc"})
    card = json.loads((tmp_path / "m" / "card.json").read_text())
    assert card["data_sha256"] == "abc" and len(card["weights_sha256"]) == 64
    loaded, ltok = load_model(str(tmp_path / "m"))
    assert ltok("def add")["input_ids"] == tok("def add")["input_ids"]
    ids = torch.tensor([tok("def add(a, b):")["input_ids"]])
    with torch.no_grad():
        assert torch.allclose(model(ids).logits, loaded(ids).logits)


def test_not_a_model_dir(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="not a model directory"):
        load_model(str(tmp_path / "empty"))


def test_tokenizer_model_mismatch(tok, tmp_path):
    small = build_tokenizer(TEXTS, vocab_size=300)
    model = init_model(small, hidden_size=32, num_layers=1, num_heads=2, intermediate_size=64)
    save_model(model, tok, tmp_path / "m", {})  # the larger tokenizer with the smaller model
    with pytest.raises(InputError, match="do not match"):
        load_model(str(tmp_path / "m"))


def test_model_dir_without_tokenizer(tok, tmp_path):
    save_model(init_model(tok, hidden_size=32, num_layers=1, num_heads=2, intermediate_size=64), tok, tmp_path / "m", {})
    for f in (tmp_path / "m").glob("tokenizer*"):
        f.unlink()
    with pytest.raises(InputError, match="cannot load model or tokenizer"):
        load_model(str(tmp_path / "m"))
