import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import yaml
import torch.nn.functional as F

from soda.io import InputError
from soda.modeling import build_tokenizer, init_model, load_model, save_model
from soda.params import FclTrain, load_params, validate
from soda.prompts import render, student_prompt
from soda.train import finish, prepare, resolve_cfg, train_csl, train_fcl, train_scorer

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT / ".." / "shared" / "sodacoder-samples" / "scoring_data.json"

QUESTIONS = [f"Write a function add_{i}(x) that returns x plus {i}; raise ValueError on None." for i in range(12)]
CORRECT = [f"def add_{i}(x):\n    if x is None:\n        raise ValueError('x')\n    return x + {i}\n" for i in range(12)]
FAULTY = [f"def add_{i}(x):\n    return x - {i}\n" for i in range(12)]
CSL = [{"id": f"q{i}", "prompt": student_prompt(q), "completion": c} for i, (q, c) in enumerate(zip(QUESTIONS, CORRECT))]
FCL = [{"id": f"q{i}", "prompt": student_prompt(q), "chosen": c, "rejected": f}
       for i, (q, c, f) in enumerate(zip(QUESTIONS, CORRECT, FAULTY))]
FAST = FclTrain.model_validate({**load_params(ROOT / "params.yaml")["fcl_train"], "epochs": 1, "batch_size": 4,
                                 "logging_steps": 1, "lr": 1e-2})


def fast(change: dict) -> FclTrain:
    """FAST with `change`, validated as a stage's settings are (3 epochs are 3.0: the same run hash in every process)."""
    return FclTrain.model_validate({**FAST.model_dump(), **change})


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    path = tmp_path_factory.mktemp("base") / "model"
    tok = build_tokenizer([r["prompt"] + r["completion"] for r in CSL] + FAULTY, vocab_size=320)
    save_model(init_model(tok, hidden_size=32, num_layers=2, num_heads=2, intermediate_size=64), tok, path, {})
    return str(path)


def state(model):
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def same_files(a: Path, b: Path) -> None:
    files = sorted(p.name for p in a.iterdir())
    assert files == sorted(p.name for p in b.iterdir())
    for name in files:
        assert (a / name).read_bytes() == (b / name).read_bytes(), name


def test_label_mask_token_by_token(base, tmp_path):
    p = prepare("csl", base, CSL, FAST, 0, tmp_path)
    tok = p.tokenizer
    for row, ex in zip(CSL, p.trainer.train_dataset):
        prompt = tok(row["prompt"])["input_ids"]
        completion = tok(row["completion"], add_special_tokens=False)["input_ids"] + [tok.eos_token_id]
        assert ex["input_ids"] == prompt + completion
        assert ex["labels"] == [-100] * len(prompt) + completion
        assert tok.decode([t for t in ex["labels"] if t != -100]) == row["completion"] + tok.eos_token
    # The collated batch pads with -100 labels and keeps every completion token.
    examples = [p.trainer.train_dataset[i] for i in range(3)]
    batch = p.trainer.data_collator(examples)
    for ex, ids, labels, mask in zip(examples, batch["input_ids"], batch["labels"], batch["attention_mask"]):
        n = len(ex["input_ids"])
        assert labels[:n].tolist() == ex["labels"] and (labels[n:] == -100).all() and mask[:n].all() and not mask[n:].any()


def test_csl_loss_is_completion_cross_entropy_by_hand(base, tmp_path):
    """The CPU loss (the model's own) equals TRL's fused-head loss and the mean NLL of the completion tokens."""
    from trl import SFTTrainer

    p = prepare("csl", base, CSL, FAST, 0, tmp_path)
    batch = p.trainer.data_collator([p.trainer.train_dataset[i] for i in range(4)])
    model = p.trainer.model.eval()
    with torch.no_grad():
        loss = p.trainer.compute_loss(model, dict(batch))
        fused = SFTTrainer.compute_loss(p.trainer, model, dict(batch))
        logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
    targets = batch["labels"][:, 1:]
    nll = F.cross_entropy(logits[:, :-1].reshape(-1, logits.size(-1)), targets.reshape(-1), reduction="none")
    expected = nll[targets.reshape(-1) != -100].mean()
    assert torch.allclose(loss, expected, atol=1e-5) and torch.allclose(fused, expected, atol=1e-5), (loss, fused, expected)


@pytest.mark.shared
@pytest.mark.skipif(not SHARED.exists(), reason="needs ../shared/sodacoder-samples")
def test_scorer_mask_on_real_annotations(base, tmp_path):
    rows = [{"prompt": r["instruction"], "completion": r["response"]} for r in json.loads(SHARED.read_text())[:20]]
    tok = build_tokenizer([r["prompt"] + r["completion"] for r in rows], vocab_size=1024)
    save_model(init_model(tok, hidden_size=32, num_layers=1, num_heads=2, intermediate_size=64), tok, tmp_path / "m", {})
    max_length = 1024
    p = prepare("scorer", str(tmp_path / "m"), rows, fast({"max_length": max_length}), 0, tmp_path)
    stats = p.stats
    kept = [r for r in rows if len(tok(r["prompt"])["input_ids"]) < max_length]
    too_long = [r for r in kept if len(tok(r["prompt"])["input_ids"] + tok(r["completion"], add_special_tokens=False)["input_ids"]) + 1 > max_length]
    assert 0 < len(too_long) < len(kept) < len(rows)  # this sample exercises every case
    assert stats["dropped"] == len(rows) - len(kept) and stats["examples"] == len(kept)
    assert stats["truncated"] == len(too_long)
    for row, ex in zip(kept, p.trainer.train_dataset):
        n_prompt = len(tok(row["prompt"])["input_ids"])
        assert len(ex["input_ids"]) <= max_length
        assert all(label == -100 for label in ex["labels"][:n_prompt])
        assert ex["labels"][n_prompt:] == ex["input_ids"][n_prompt:]


def token_logps(model, tok, prompt: str, completion: str) -> torch.Tensor:
    """log p of each token of completion + EOS given what precedes it, computed from scratch."""
    ids = tok(prompt + completion)["input_ids"] + [tok.eos_token_id]
    n_prompt = len(tok(prompt)["input_ids"])
    logits = model(torch.tensor([ids])).logits[0, :-1]
    logps = F.log_softmax(logits.float(), dim=-1).gather(1, torch.tensor(ids[1:])[:, None])[:, 0]
    return logps[n_prompt - 1:]


def sequence_logp(model, tok, prompt: str, completion: str) -> torch.Tensor:
    """log p(completion + EOS | prompt): eq. 2's log pi(y|x)."""
    return token_logps(model, tok, prompt, completion).sum()


def test_dpo_loss_is_eq2_by_hand(base, tmp_path):
    beta = 0.3
    p = prepare("fcl", base, FCL, fast({"beta": beta}), 0, tmp_path)
    policy, ref, tok = p.trainer.model, p.trainer.ref_model, p.tokenizer
    with torch.no_grad():  # move the policy away from the reference so the log-ratios are not zero
        for param in policy.parameters():
            param.add_(0.05 * torch.randn_like(param))
    rows = FCL[:3]
    batch = p.trainer.data_collator([p.trainer.train_dataset[i] for i in range(3)])
    with torch.no_grad():
        trainer_loss = p.trainer.compute_loss(policy, batch)
        by_hand = []
        for row in rows:
            chosen = sequence_logp(policy, tok, row["prompt"], row["chosen"]) - sequence_logp(ref, tok, row["prompt"], row["chosen"])
            rejected = sequence_logp(policy, tok, row["prompt"], row["rejected"]) - sequence_logp(ref, tok, row["prompt"], row["rejected"])
            by_hand.append(-F.logsigmoid(beta * (chosen - rejected)))
    expected = torch.stack(by_hand).mean()
    assert abs(expected.item() - torch.log(torch.tensor(2.0)).item()) > 1e-3  # a non-trivial value
    assert torch.allclose(trainer_loss, expected, atol=1e-5), (trainer_loss, expected)


def test_dpo_plus_sft_adds_the_chosen_solutions_token_nll(base, tmp_path):
    """fcl_train.loss [sigmoid, sft]: the paper's DPO plus the mean NLL of the chosen
    solutions' tokens (weights 1, 1), against the same batch by hand."""
    rows = FCL[:3]
    losses = {}
    for loss in (["sigmoid"], ["sigmoid", "sft"]):
        p = prepare("fcl", base, FCL, fast({"loss": loss}), 0, tmp_path / "-".join(loss))
        torch.manual_seed(0)
        with torch.no_grad():
            for param in p.trainer.model.parameters():
                param.add_(0.05 * torch.randn_like(param))
            batch = p.trainer.data_collator([p.trainer.train_dataset[i] for i in range(3)])
            losses["-".join(loss)] = p.trainer.compute_loss(p.trainer.model, batch)
            nll = -torch.cat([token_logps(p.trainer.model, p.tokenizer, r["prompt"], r["chosen"]) for r in rows]).mean()
    assert nll > 0.1
    assert torch.allclose(losses["sigmoid-sft"] - losses["sigmoid"], nll, atol=1e-4), (losses, nll)


def test_fcl_reference_frozen_policy_moves(base, tmp_path, capsys):
    p = prepare("fcl", base, FCL, FAST, 0, tmp_path / "scratch")
    ref_before = state(p.trainer.ref_model)
    metrics = finish(p, tmp_path / "fcl")
    assert metrics["ref_unchanged"] and metrics["steps"] == 3
    assert all(torch.equal(v, ref_before[k]) for k, v in p.trainer.ref_model.state_dict().items())
    start, _ = load_model(base)
    trained, _ = load_model(str(tmp_path / "fcl"))
    assert all(torch.equal(v, ref_before[k]) for k, v in start.state_dict().items())
    assert not all(torch.equal(v, ref_before[k]) for k, v in trained.state_dict().items())
    assert {"rewards_margins", "rewards_accuracies", "rewards_chosen", "rewards_rejected"} <= set(metrics)
    # soda displacement on the same pairs: the reference against itself changes nothing; the
    # trained student has a larger margin, and its changes are the trainer's own log-ratios.
    from soda.prompts import PromptFormat
    from soda.tools.displacement import measure

    tok = p.tokenizer
    fmt = PromptFormat.of(tok, "auto")
    pairs = [{**r, "fault_type": "logical" if i % 2 else "name"} for i, r in enumerate(FCL)]
    same = measure(start, start, fmt, pairs)
    assert same["all"] == {"n": len(FCL), "chosen_change": 0.0, "rejected_change": 0.0, "chosen_fell": 0.0, "margin_change": 0.0}
    moved = measure(start, trained, fmt, pairs)
    assert set(moved) == {"all", "logical", "name"} and moved["logical"]["n"] + moved["name"]["n"] == len(FCL)
    assert moved["all"]["margin_change"] > 0
    row = FCL[0]
    by_hand = (sequence_logp(trained, tok, row["prompt"], row["chosen"]) - sequence_logp(start, tok, row["prompt"], row["chosen"])).item()
    assert abs(measure(start, trained, fmt, [row])["all"]["chosen_change"] - round(by_hand, 4)) < 1e-3
    # --heldout: the reference solutions of tasks FCL never saw, under the student's prompt.
    from soda.tools.displacement import heldout_change
    from soda.tools.displacement import main as displacement

    tasks = [{"question": q, "reference": c} for q, c in zip(QUESTIONS, CORRECT)]
    assert heldout_change(start, start, fmt, tasks, "compact") == {"n": len(tasks), "change": 0.0, "fell": 0.0}
    by_hand = [(sequence_logp(trained, tok, student_prompt(t["question"]), t["reference"])
                - sequence_logp(start, tok, student_prompt(t["question"]), t["reference"])).item() for t in tasks]
    held = heldout_change(start, trained, fmt, tasks, "compact")
    assert abs(held["change"] - sum(by_hand) / len(tasks)) < 1e-3 and held["fell"] == sum(c < 0 for c in by_hand) / len(tasks)
    heldout = tmp_path / "heldout.jsonl"
    heldout.write_text("".join(json.dumps(t) + "\n" for t in tasks))
    capsys.readouterr()
    assert displacement(["--reference", base, "--student", str(tmp_path / "fcl"), "--heldout", str(heldout)]) == 0
    assert json.loads(capsys.readouterr().out) == {"heldout": str(heldout), "heldout_reference": held}
    with pytest.raises(SystemExit):  # neither --pairs nor --heldout
        displacement(["--reference", base, "--student", base])


def test_csl_writes_model_with_card_and_cleans_scratch(base, tmp_path):
    metrics = train_csl(base, CSL, tmp_path / "csl", FAST, 0, tmp_path / "scratch")
    card = json.loads((tmp_path / "csl" / "card.json").read_text())
    assert card["kind"] == "csl" and card["data_rows"] == len(CSL) and len(card["data_sha256"]) == 64
    assert card["metrics"]["steps"] == metrics["steps"] == 3 and metrics["truncated"] == 0
    assert metrics["tokens"] > metrics["completion_tokens"] > 0 and metrics["train_loss"] > 0
    assert not any((tmp_path / "scratch").iterdir())
    assert not (tmp_path / "csl" / "training_args.bin").exists()
    load_model(str(tmp_path / "csl"))
    # Same start, data and settings: the same output, byte for byte (DVC sees the same hash).
    train_csl(base, CSL, tmp_path / "again", FAST, 0, tmp_path / "scratch")
    same_files(tmp_path / "csl", tmp_path / "again")


def test_overlong_examples_are_truncated_and_counted(base, tmp_path):
    long_completion = {"prompt": CSL[0]["prompt"], "completion": CORRECT[0] * 30}
    long_prompt = {"prompt": CSL[1]["prompt"] * 30, "completion": CORRECT[1]}
    tok = load_model(base)[1]
    fits = max(len(tok(r["prompt"] + r["completion"])["input_ids"]) for r in CSL + [{**r, "completion": r["rejected"]} for r in FCL]) + 1
    cfg = fast({"max_length": fits + 4})
    p = prepare("csl", base, CSL[2:6] + [long_completion, long_prompt], cfg, 0, tmp_path / "s")
    assert p.stats["truncated"] == 1 and p.stats["dropped"] == 1 and p.stats["examples"] == 5
    assert max(len(ex["input_ids"]) for ex in p.trainer.train_dataset) == fits + 4
    metrics = finish(p, tmp_path / "csl")
    assert metrics["truncated"] == 1 and metrics["dropped"] == 1
    fcl = train_fcl(base, FCL[:4] + [{**FCL[4], "rejected": FAULTY[4] * 30}], tmp_path / "fcl", cfg, 0, tmp_path / "s")
    assert fcl["truncated"] == 1 and fcl["dropped"] == 0


def test_bad_input(base, tmp_path):
    with pytest.raises(InputError, match="empty dataset"):
        train_csl(base, [], tmp_path / "o", FAST, 0, tmp_path / "s")
    with pytest.raises(InputError, match=r"row 2 .*'rejected'"):
        train_fcl(base, [FCL[0], {"prompt": "p", "chosen": "c"}], tmp_path / "o", FAST, 0, tmp_path / "s")
    with pytest.raises(InputError, match="max_length"):
        train_scorer(base, [{"prompt": "x " * 100, "completion": "y"}], tmp_path / "o", fast({"max_length": 8}), 0, tmp_path / "s",
                     "generative", "full")
    # most prompts too long for max_length: a wrong setting, not a scorer trained on the few left
    overlong = [{"prompt": "x " * 100, "completion": "y"}] * 3 + [{"prompt": "x", "completion": "y"}] * 2
    with pytest.raises(InputError, match="3 of 5 examples .* max_length=8"):
        train_scorer(base, overlong, tmp_path / "o", fast({"max_length": 8}), 0, tmp_path / "s",
                     "generative", "full")
    with pytest.raises(InputError, match="3 of 5 examples .* max_length=8"):
        train_fcl(base, [{"prompt": r["prompt"], "chosen": "a", "rejected": "b"} for r in overlong], tmp_path / "o",
                  fast({"max_length": 8}), 0, tmp_path / "s")
    with pytest.raises(InputError, match="not a model directory"):
        train_csl(str(tmp_path), CSL, tmp_path / "o", FAST, 0, tmp_path / "s")
    assert not (tmp_path / "o").exists()


def test_every_training_setting_comes_from_params_and_the_paper_fragment_is_valid():
    assert "enabled" not in resolve_cfg(FAST, 0, "fcl") and "beta" not in resolve_cfg(FAST, 0, "csl")
    assert resolve_cfg(FAST, 7, "csl")["seed"] == 7
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    paper = yaml.safe_load((ROOT / "soda/configs/paper.yaml").read_text())
    for section, values in paper.items():
        params[section].update(values)
    params = validate(params)
    csl, fcl = params["csl_train"], params["fcl_train"]
    assert (csl["lr"], fcl["lr"], csl["max_length"], csl["epochs"]) == (2e-5, 5e-7, 2048, 3)
    assert csl["batch_size"] * csl["grad_accum"] * 8 == 512 and csl["scheduler"] == "cosine"


# Trains as train_csl does and kills itself (SIGKILL) after the first micro-batch of step STEP.
KILLED_RUN = """
import json, os, signal, sys
from transformers import TrainerCallback
from soda.train import finish, prepare

from soda.params import FclTrain

base, rows, cfg, out, scratch, step = json.loads(sys.argv[1])
cfg = FclTrain.model_validate(cfg)

class Kill(TrainerCallback):
    def on_substep_end(self, args, state, control, **kwargs):
        if state.global_step + 1 == step:
            os.kill(os.getpid(), signal.SIGKILL)

prepared = prepare("csl", base, rows, cfg, 0, scratch)
prepared.trainer.add_callback(Kill())
finish(prepared, out)
"""


@pytest.mark.parametrize("save_steps, killed_in, resumed_from", [(2, 6, 4), (3, 8, 6)], ids=["mid-epoch", "epoch-end"])
def test_killed_run_publishes_the_same_bytes(base, tmp_path, save_steps, killed_in, resumed_from):
    """kill -9 in epoch 2 or 3, mid-accumulation, then a re-run: the uninterrupted run's model and
    card, byte for byte (data order, RNG, optimizer, scheduler and logged losses all resumed)."""
    # 12 rows in batches of 2, accumulated by 2: 3 steps an epoch, 9 in all.
    cfg = fast({"epochs": 3, "batch_size": 2, "grad_accum": 2, "save_steps": save_steps, "logging_steps": 2,
           "scheduler": "cosine", "warmup_ratio": 0.2})
    train_csl(base, CSL, tmp_path / "straight", cfg, 0, tmp_path / "s1")
    args = json.dumps([base, CSL, cfg.model_dump(), str(tmp_path / "killed"), str(tmp_path / "s2"), killed_in])
    child = subprocess.run([sys.executable, "-c", KILLED_RUN, args], env={**os.environ, "PYTHONPATH": str(ROOT)},
                           capture_output=True, text=True, timeout=600)
    assert child.returncode == -signal.SIGKILL, child.stderr[-2000:]
    assert not (tmp_path / "killed").exists()
    # A later checkpoint that a kill during its save left half-written (no trainer state yet).
    (run_dir,) = (tmp_path / "s2").iterdir()
    partial = run_dir / f"checkpoint-{killed_in}"
    shutil.copytree(run_dir / f"checkpoint-{resumed_from}", partial)
    (partial / "trainer_state.json").unlink()
    metrics = train_csl(base, CSL, tmp_path / "resumed", cfg, 0, tmp_path / "s2")
    assert metrics["resumed_from"] == f"checkpoint-{resumed_from}" and metrics["steps"] == 9
    same_files(tmp_path / "straight", tmp_path / "resumed")
    # Other data: another run, which does not pick up this checkpoint.
    assert train_csl(base, CSL[:6], tmp_path / "other", cfg, 0, tmp_path / "s2")["resumed_from"] is None


def test_metrics_logged_to_active_mlflow_run(base, tmp_path):
    import mlflow

    mlflow.set_tracking_uri(f"sqlite:///{tmp_path / 'mlflow.db'}")
    with mlflow.start_run() as run:
        train_fcl(base, FCL, tmp_path / "fcl", FAST, 0, tmp_path / "s")
    client = mlflow.MlflowClient()
    keys = set(client.get_run(run.info.run_id).data.metrics)
    assert {"fcl/loss", "fcl/learning_rate", "fcl/rewards/margins", "fcl/rewards/accuracies"} <= keys
    assert len(client.get_metric_history(run.info.run_id, "fcl/loss")) == 3  # one per step


def test_lora_adapter_is_merged_into_a_plain_model(base, tmp_path):
    lora = {"r": 4, "alpha": 8.0, "dropout": 0.0, "target_modules": "all-linear"}
    metrics = train_csl(base, CSL, tmp_path / "csl", fast({"lora": lora}), 0, tmp_path / "s")
    assert metrics["steps"] == 3
    trained, _ = load_model(str(tmp_path / "csl"))  # loads as a plain Llama: no adapter files needed
    start, _ = load_model(base)
    assert not any(p.exists() for p in (tmp_path / "csl").glob("adapter_*"))
    assert set(trained.state_dict()) == set(start.state_dict())
    assert not all(torch.equal(trained.state_dict()[k], v) for k, v in start.state_dict().items())


@pytest.mark.parametrize("name", ["ddp", "fsdp", "zero3"])
def test_accelerate_configs_load(name):
    from accelerate.commands.config.config_args import load_config_from_file

    config = load_config_from_file(str(Path(__file__).resolve().parents[1] / "soda" / "configs" / f"accelerate_{name}.yaml"))
    assert config.distributed_type.value == {"ddp": "MULTI_GPU", "fsdp": "FSDP", "zero3": "DEEPSPEED"}[name]
    assert config.num_processes == 8


def test_on_policy_pairs_take_the_first_failing_answer():
    from soda.teacher_generate import on_policy_pairs

    pairs = [{"id": f"q{i}", "prompt": "p", "chosen": "good", "rejected": "fault", "fault_type": "logical"} for i in range(3)]
    run = lambda passed, status: {"passed": passed, "status": status}  # noqa: E731
    samples = [["ok", "bad 1", "bad 2"], ["ok", "ok"], ["", "?"]]
    verdicts = [[run(True, "pass"), run(False, "fail"), run(False, "timeout")], [run(True, "pass")] * 2,
                [run(False, "fail"), run(None, "unknown")]]  # an empty answer is no solution to train against
    out, counts = on_policy_pairs(pairs, samples, verdicts, keep_teacher=False)
    assert out == [{**pairs[0], "rejected": "bad 1", "fault_type": "student-fail"}]
    assert counts == {"student": 1, "solved": 1, "unverified": 1}
    both, _ = on_policy_pairs(pairs, samples, verdicts, keep_teacher=True)
    assert both == [pairs[0], out[0], pairs[1], pairs[2]]


def test_on_policy_rejected_are_the_csl_models_own_failing_answers(base, tmp_path, monkeypatch):
    """fcl_train.rejected: student pairs the teacher's correct solution with an answer the CSL
    model itself sampled for the question and the sandbox failed."""
    from stages.fcl_train import Config, run, student_rejected
    from soda.student import answer

    monkeypatch.chdir(tmp_path)
    params = load_params(ROOT / "params.yaml")
    params["fcl_train"].update(FAST.model_dump(), rejected="student", student_samples=2)
    params["generation"]["max_new_tokens"] = 24
    cfg = Config.from_params(params)
    questions = [{"id": r["id"], "question": q, "lang": "python", "tests": f"assert add_{i}(1) == {1 + i}"}
                 for i, (r, q) in enumerate(zip(FCL, QUESTIONS))]
    for name, rows in (("questions", questions), ("teacher", [{"id": q["id"]} for q in questions]), ("fcl", FCL)):
        (tmp_path / f"{name}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    files = {k: tmp_path / f"{k if k != 'data' else 'fcl'}.jsonl" for k in ("data", "questions", "teacher")}
    pairs, counts = student_rejected(cfg, FCL, base, files["data"], files["questions"], files["teacher"])
    samples = answer(base, questions, cfg.generation, cfg.runtime, n=2, temperature=1.0, seed=0)
    assert counts["student"] == len(pairs) > 0  # an untrained model's answers fail
    by_id = dict(zip([r["id"] for r in FCL], samples))
    for pair in pairs:
        original = next(r for r in FCL if r["id"] == pair["id"])
        assert pair["chosen"] == original["chosen"] and pair["prompt"] == original["prompt"]
        assert pair["rejected"] in by_id[pair["id"]] and pair["fault_type"].startswith("student-")
    metrics = run(cfg, cycle="c1", model=Path(base), **files, out=tmp_path / "student")
    assert metrics["on_policy_student"] == len(pairs) and metrics["steps"] > 0
    load_model(str(tmp_path / "student"))


def test_on_policy_without_any_failing_answer_is_an_error_naming_the_data(base, tmp_path):
    from stages.fcl_train import Config, student_rejected

    params = load_params(ROOT / "params.yaml")
    params["fcl_train"].update(rejected="student", student_samples=1)
    params["generation"]["max_new_tokens"] = 8
    cfg = Config.from_params(params)
    # A language the sandbox cannot run: no answer is a known failure.
    (tmp_path / "q.jsonl").write_text("".join(json.dumps({"id": r["id"], "question": "x", "lang": "cobol"}) + "\n" for r in FCL))
    with pytest.raises(InputError, match="fcl.jsonl: fcl_train.rejected: student: none of the CSL model's 1 answers"):
        student_rejected(cfg, FCL, base, tmp_path / "fcl.jsonl", tmp_path / "q.jsonl", tmp_path / "q.jsonl")
