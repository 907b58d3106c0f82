"""A scoring model that predicts the score directly, as reward models do, beside the paper's
generative scorer (which writes the rubric's text and is parsed by soda/scoring.py).

The model is the scorer's language model with a score head on its last token
(AutoModelForSequenceClassification). Its input is the scorer's prompt (question and code; with
a chat template, its rendering, soda.prompts.PromptFormat) followed by EOS, a fixed token from
which the head reads. Two heads:

- `regression`: one output trained with the squared error to the annotated score (0-6);
  the prediction is clamped to 0-6 and rounded to the rubric's half points;
- `classes`: 13 classes, the half points 0, 0.5, ..., 6 the rubric's five rules can sum to,
  trained with cross-entropy; the prediction is the most likely one.

The head is recorded in the model's card.json (`scoring_head`); `soda.student.score` reads it.
"""

from __future__ import annotations

import torch
from datasets import Dataset
from transformers import AutoModelForSequenceClassification, AutoTokenizer

from soda.io import InputError
from soda.prompts import PromptFormat
from soda.scoring import MAX_SCORE

HEADS = ("generative", "regression", "classes")
STEP = 0.5  # the rubric's resolution: every rule gives 0, 0.5 or its maximum
NUM_CLASSES = int(MAX_SCORE / STEP) + 1


def _num_labels(head: str) -> int:
    if head == "regression":
        return 1
    if head == "classes":
        return NUM_CLASSES
    raise InputError(f"score_train.head: {head!r} has no score head; expected one of {HEADS[1:]}")


def load_head_model(path: str, head: str):
    """(model, tokenizer); from a causal LM the head is new, from a trained scorer it is its own."""
    tokenizer = AutoTokenizer.from_pretrained(path)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    kind = "regression" if head == "regression" else "single_label_classification"
    model = AutoModelForSequenceClassification.from_pretrained(path, num_labels=_num_labels(head), problem_type=kind,
                                                               dtype=torch.float32)
    # The head finds each row's last token by the pad id: without one, batches cannot be padded.
    model.config.pad_token_id = tokenizer.pad_token_id
    return model, tokenizer


def encode(tokenizer, prompt: str, max_length: int, fmt: PromptFormat | None = None) -> tuple[list[int], bool]:
    """Token ids of the prompt (`fmt`: raw by default) then EOS; too long, the prompt's end is cut
    (the EOS stays). (ids, truncated)."""
    ids = (fmt or PromptFormat(tokenizer, chat=False)).prompt_ids(prompt)
    truncated = len(ids) + 1 > max_length
    return ids[: max_length - 1] + [tokenizer.eos_token_id], truncated


def label(score: float, head: str) -> float | int:
    if not 0 <= score <= MAX_SCORE:
        raise InputError(f"score {score!r} outside 0-{MAX_SCORE:g}")
    return float(score) if head == "regression" else round(score / STEP)


def decode(output: torch.Tensor, head: str) -> float:
    """The score (half points, 0-6) from one row of the head's output."""
    if head == "regression":
        return min(max(round(float(output[0]) / STEP) * STEP, 0.0), MAX_SCORE)
    return int(output.argmax()) * STEP


def head_dataset(tokenizer, rows: list[dict], head: str, max_length: int,
                 fmt: PromptFormat | None = None) -> tuple[Dataset, dict]:
    """Rows {prompt, score} as the trainer's dataset, with the truncation count."""
    examples, truncated, tokens = [], 0, 0
    for row in rows:
        ids, cut = encode(tokenizer, row["prompt"], max_length, fmt)
        truncated += cut
        tokens += len(ids)
        examples.append({"input_ids": ids, "labels": label(row["score"], head)})
    stats = {"examples": len(examples), "truncated": truncated, "dropped": 0, "tokens_per_epoch": tokens}
    return Dataset.from_list(examples), stats


@torch.no_grad()
def predict(path: str, head: str, prompts: list[str], *, batch_size: int, max_length: int,
            device: str | None, chat_template: str) -> list[float]:
    """The score of each prompt, by a trained score-head model, in batches of similar length;
    a prompt longer than `max_length` tokens is cut (`encode`)."""
    model, tokenizer = load_head_model(path, head)
    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    model.to(device).eval()
    fmt = PromptFormat.of(tokenizer, chat_template)
    encoded = [encode(tokenizer, p, max_length, fmt)[0] for p in prompts]
    order = sorted(range(len(encoded)), key=lambda i: len(encoded[i]))
    scores: list[float] = [0.0] * len(encoded)
    for start in range(0, len(order), batch_size):
        batch = order[start:start + batch_size]
        padded = tokenizer.pad({"input_ids": [encoded[i] for i in batch]}, return_tensors="pt").to(device)
        logits = model(**padded).logits.float().cpu()
        for i, row in zip(batch, logits):
            scores[i] = decode(row, head)
    return scores
