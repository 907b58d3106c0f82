import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from soda.io import InputError
from soda.modeling import build_tokenizer, init_model, save_model
from soda.params import Params, ScoreTrain, load_params
from soda.score_head import NUM_CLASSES, decode, encode, head_dataset, label, load_head_model
from soda.student import score, scorer_example
from soda.train import prepare, train_scorer

QUESTIONS = [f"Write a function add_{i}(x) that returns x plus {i}." for i in range(8)]
CORRECT = [f"def add_{i}(x):\n    \"\"\"x plus {i}.\"\"\"\n    return x + {i}\n" for i in range(8)]
ROWS = [{"prompt": scorer_example(q, c, "", "compact")["prompt"], "score": 6.0} for q, c in zip(QUESTIONS, CORRECT)]
ROWS += [{"prompt": scorer_example(q, "\n", "", "compact")["prompt"], "score": 0.5} for q in QUESTIONS]
PARAMS = Params.model_validate(load_params(Path(__file__).resolve().parent.parent / "params.yaml"))
RUNTIME = PARAMS.runtime.model_copy(update={"cache_dir": None,
                                            "generation": PARAMS.runtime.generation.model_copy(update={"batch_size": 5})})


def score_train(**change) -> ScoreTrain:
    """params.yaml's score_train settings with `change`, validated (as a stage's: 3 epochs are 3.0)."""
    return ScoreTrain.model_validate({**PARAMS.score_train.model_dump(), **change})


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    path = tmp_path_factory.mktemp("base") / "model"
    tok = build_tokenizer([r["prompt"] for r in ROWS], vocab_size=320)
    save_model(init_model(tok, hidden_size=32, num_layers=2, num_heads=2, intermediate_size=64), tok, path, {})
    return str(path)


def test_labels_and_decoding():
    assert NUM_CLASSES == 13 and label(5.5, "classes") == 11 and label(5.5, "regression") == 5.5
    assert decode(torch.tensor([7.2]), "regression") == 6.0 and decode(torch.tensor([1.3]), "regression") == 1.5
    assert decode(torch.tensor([-0.4]), "regression") == 0.0
    assert decode(torch.nn.functional.one_hot(torch.tensor(3), NUM_CLASSES).float(), "classes") == 1.5
    with pytest.raises(InputError, match="score 6.5 outside 0-6"):
        label(6.5, "classes")


def test_the_head_reads_each_rows_eos_whatever_the_padding(base):
    """Padded in a batch, each row gets the logits it gets alone: the head reads its EOS, not a pad."""
    model, tok = load_head_model(base, "classes")
    ids = [encode(tok, r["prompt"], PARAMS.generation.scorer_max_length)[0] for r in (ROWS[0], ROWS[-1])]
    assert all(i[-1] == tok.eos_token_id for i in ids) and len(ids[0]) != len(ids[1])
    with torch.no_grad():
        batch = model(**tok.pad({"input_ids": ids}, return_tensors="pt")).logits
        alone = [model(input_ids=torch.tensor([i])).logits[0] for i in ids]
    assert all(torch.allclose(b, a, atol=1e-5) for b, a in zip(batch, alone))


@pytest.mark.parametrize("head", ["classes", "regression"])
def test_trained_head_scores_through_student_score(base, tmp_path, head):
    """A score head learns a separable set, records its head in the card, and soda.student.score
    (what feedback and evaluate call) returns its scores as ScoreParse."""
    cfg = score_train(epochs=30, batch_size=4, lr=1e-2, logging_steps=10)
    metrics = train_scorer(base, ROWS, tmp_path / "scorer", cfg, 0, tmp_path / "scratch", head, "compact")
    assert metrics["examples"] == len(ROWS) and metrics["truncated"] == 0
    card = json.loads((tmp_path / "scorer" / "card.json").read_text())
    assert card["scoring_head"] == head and card["scoring_format"] == "compact"
    codes = CORRECT + ["\n"] * len(QUESTIONS)
    parsed = score(str(tmp_path / "scorer"), [{"question": q} for q in QUESTIONS * 2], codes, PARAMS.generation,
                   RUNTIME, seed=0)
    assert [p.score for p in parsed] == [r["score"] for r in ROWS]
    assert all(p.error is None and p.points is None for p in parsed)


def test_truncation_keeps_the_eos_and_is_counted(base):
    _, tok = load_head_model(base, "regression")
    ds, stats = head_dataset(tok, ROWS[:2], "regression", 8)
    assert stats["truncated"] == 2 and all(len(x) == 8 and x[-1] == tok.eos_token_id for x in ds["input_ids"])


def test_bad_input(base, tmp_path):
    with pytest.raises(InputError, match="head: 'classes' is not a head for csl"):
        prepare("csl", base, [{"prompt": "p", "completion": "c"}], PARAMS.csl_train, 0, tmp_path, "classes")
    with pytest.raises(InputError, match="lora: not supported with a score head"):
        prepare("scorer", base, ROWS, score_train(lora={"r": 4, "alpha": 8.0, "dropout": 0.0, "target_modules": "all-linear"}), 0, tmp_path, "regression", "compact")
    with pytest.raises(InputError, match="'prompt' must be a non-empty string"):
        prepare("scorer", base, [{"prompt": "", "score": 1.0}], score_train(), 0, tmp_path, "classes", "compact")


# Trains a score head and SIGKILLs itself once optimizer step STEP is done (not yet saved).
KILLED_RUN = """
import json, os, signal, sys
from transformers import TrainerCallback
from soda.params import ScoreTrain
from soda.train import finish, prepare

base, rows, cfg, out, scratch, step = json.loads(sys.argv[1])

class Kill(TrainerCallback):
    def on_step_end(self, args, state, control, **kwargs):
        if state.global_step == step:
            os.kill(os.getpid(), signal.SIGKILL)

prepared = prepare("scorer", base, rows, ScoreTrain.model_validate(cfg), 0, scratch, "classes", "compact")
prepared.trainer.add_callback(Kill())
finish(prepared, out)
"""


def test_a_score_head_run_gives_the_same_bytes_twice_and_after_a_kill(base, tmp_path):
    """The new head's initial weights come from the seed (not from whatever the global RNG holds),
    so two runs, and a run killed -9 mid-training then resumed, publish the same files."""
    cfg = score_train(epochs=3, batch_size=2, save_steps=3, logging_steps=1)
    torch.manual_seed(1)  # a global RNG state of its own: the runs must not depend on it
    train_scorer(base, ROWS, tmp_path / "a", cfg, 0, tmp_path / "sa", "classes", "compact")
    torch.manual_seed(2)
    train_scorer(base, ROWS, tmp_path / "b", cfg, 0, tmp_path / "sb", "classes", "compact")
    args = json.dumps([base, ROWS, cfg.model_dump(), str(tmp_path / "c"), str(tmp_path / "sc"), 7])
    root = Path(__file__).resolve().parent.parent
    child = subprocess.run([sys.executable, "-c", KILLED_RUN, args], env={**os.environ, "PYTHONPATH": str(root)},
                           capture_output=True, text=True, timeout=600)
    assert child.returncode == -signal.SIGKILL, child.stderr[-2000:]
    metrics = train_scorer(base, ROWS, tmp_path / "c", cfg, 0, tmp_path / "sc", "classes", "compact")
    assert metrics["resumed_from"] == "checkpoint-6"
    for run in ("b", "c"):
        for f in sorted(p.name for p in (tmp_path / "a").iterdir()):
            assert (tmp_path / run / f).read_bytes() == (tmp_path / "a" / f).read_bytes(), (run, f)
