"""The student and scoring models: a byte-level BPE tokenizer, a tiny Llama, and their files.

A model directory holds `model.safetensors`, `config.json`, the tokenizer files and `card.json`
(what the model was trained on and how well it did). Everything is created locally: the
pipeline never needs the network, but `load_model` also accepts a Hugging Face model id so
that a real student can replace the tiny one.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Iterable

import torch
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
from transformers import AutoModelForCausalLM, AutoTokenizer, LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

from soda.io import InputError, atomic_path

BOS, EOS, PAD = "<|bos|>", "<|eos|>", "<|pad|>"
CARD = "card.json"


def build_tokenizer(texts: Iterable[str], vocab_size: int) -> PreTrainedTokenizerFast:
    """Byte-level BPE trained on `texts`: every string round-trips, whatever its alphabet."""
    tok = Tokenizer(models.BPE())
    # GPT-2's split keeps a newline apart from the word after it, so a prompt ending in "\n"
    # tokenises the same alone and followed by its completion.
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=[PAD, BOS, EOS],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(texts, trainer=trainer)
    # tokenizer(prompt) starts with BOS, in training and at inference alike.
    bos_id = tok.token_to_id(BOS)
    tok.post_processor = processors.TemplateProcessing(single=f"{BOS} $A", pair=f"{BOS} $A $B", special_tokens=[(BOS, bos_id)])
    return PreTrainedTokenizerFast(tokenizer_object=tok, bos_token=BOS, eos_token=EOS, pad_token=PAD)


def init_model(
    tokenizer,
    *,
    hidden_size: int = 128,
    num_layers: int = 4,
    num_heads: int = 4,
    intermediate_size: int = 384,
    max_position: int = 512,
    seed: int = 0,
) -> LlamaForCausalLM:
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=hidden_size,
        intermediate_size=intermediate_size,
        num_hidden_layers=num_layers,
        num_attention_heads=num_heads,
        num_key_value_heads=num_heads,
        max_position_embeddings=max_position,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        tie_word_embeddings=True,  # a third of a tiny model's parameters would otherwise be the output layer
    )
    # A private RNG state: the same seed gives the same weights whatever ran before.
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = LlamaForCausalLM(config)
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    return model


def file_sha256(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def write_card(model_dir: Path, card: dict) -> None:
    """card.json: the caller's facts (data hashes, metrics) plus the hash of the weights beside it."""
    card = {**card, "weights_sha256": file_sha256(model_dir / "model.safetensors")}
    (model_dir / CARD).write_text(json.dumps(card, sort_keys=True, indent=2) + "\n", encoding="utf-8")


def save_model(model, tokenizer, out_dir: str | Path, card: dict) -> None:
    """Write the model directory in one piece: a crash leaves the old one or nothing."""
    with atomic_path(out_dir) as tmp:
        model.save_pretrained(tmp, safe_serialization=True)
        tokenizer.save_pretrained(tmp)
        write_card(tmp, {**card, "num_parameters": model.num_parameters()})


def read_card(path: str | Path) -> dict:
    p = Path(path) / CARD
    return json.loads(p.read_text(encoding="utf-8")) if p.exists() else {}


def check_weights(model_dir: Path) -> None:
    """Each safetensors file's header parses and its tensors cover the file exactly (a truncated
    or overwritten file fails here with its name, not deep inside from_pretrained)."""
    from safetensors import SafetensorError, safe_open

    for f in sorted(model_dir.glob("*.safetensors")):
        try:
            with safe_open(str(f), "pt"):
                pass
        except SafetensorError as e:
            raise InputError(f"{f}: not a complete safetensors file ({e})") from None


def load_model(path: str, *, device=None, dtype=None):
    """(model, tokenizer) from a model directory or a Hugging Face model id."""
    p = Path(path)
    if p.exists():
        if not p.is_dir() or not (p / "config.json").exists():
            raise InputError(f"{path}: not a model directory (no config.json)")
        if not any(p.glob("*.safetensors")) and not any(p.glob("*.bin")):
            raise InputError(f"{path}: not a model directory (no weights file)")
        check_weights(p)
    try:
        tokenizer = AutoTokenizer.from_pretrained(str(path))
        model = AutoModelForCausalLM.from_pretrained(str(path), dtype=dtype or torch.float32)
    except (OSError, ValueError) as e:
        raise InputError(f"{path}: cannot load model or tokenizer ({e})") from None
    rows = model.get_input_embeddings().num_embeddings
    if len(tokenizer) > rows:
        raise InputError(f"{path}: tokenizer has {len(tokenizer)} tokens but the model embeds only {rows}: tokenizer and model do not match")
    if tokenizer.pad_token is None:  # HF causal LMs often ship without one; batching needs it
        tokenizer.pad_token = tokenizer.eos_token
    if device is not None:
        model.to(device)
    return model, tokenizer
