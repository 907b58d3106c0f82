"""Training: CSL (paper eq. 1), FCL (eq. 2) and the scoring model, with TRL.

- CSL and the generative scorer: SFTTrainer on prompt/completion pairs, loss on the completion only;
- a score-head scorer (soda/score_head.py): Trainer on prompt/score pairs, regression or classes;
- FCL: DPOTrainer with the sigmoid loss; the policy starts from the CSL model and the
  reference is a second copy of it, loaded explicitly, frozen, and checked unchanged at the end.

Each entry point turns rows into the trainer's dataset (over-long examples are truncated and
counted, never a crash), trains in a scratch directory outside out_dir so that a killed run
resumes from its last checkpoint, and writes the final model to out_dir atomically with a
card naming the data it was trained on. The same code runs under `accelerate launch` (DDP,
FSDP, DeepSpeed ZeRO-3: see soda/configs/accelerate_*.yaml).
"""

from __future__ import annotations

import hashlib
import json
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import torch
from datasets import Dataset
from transformers import DataCollatorWithPadding, PrinterCallback, Trainer, TrainerCallback, TrainingArguments, set_seed
from transformers.trainer import TRAINER_STATE_NAME
from transformers.trainer_pt_utils import LengthGroupedSampler, get_length_grouped_indices
from trl import DPOConfig, DPOTrainer, SFTConfig, SFTTrainer

from soda.io import InputError, atomic_path, dumps, require_keys
from soda.modeling import file_sha256, load_model, read_card, write_card
from soda.params import FclTrain, Train
from soda.prompts import PromptFormat
from soda.score_head import HEADS, head_dataset, load_head_model
from soda.io import produced

KINDS = ("csl", "fcl", "scorer")
ROW_KEYS = {"csl": ("prompt", "completion"), "fcl": ("prompt", "chosen", "rejected"), "scorer": ("prompt", "completion")}
# Trainer files that are not part of the model (pickled args, an auto-written README).
NOT_MODEL = ("training_args.bin", "README.md")


# ----------------------------------------------------------------------------- configuration


def resolve_cfg(cfg: Train, seed: int, kind: str) -> dict:
    """The trainer's settings as recorded in the card and the checkpoint's run hash: a training
    section's (soda.params.Train, completed from `train`) plus the seed and, for FCL, its loss."""
    keys = {*Train.model_fields, *(("beta", "loss", "loss_weights") if kind == "fcl" else ())}
    if kind == "fcl" and not isinstance(cfg, FclTrain):
        raise TypeError(f"FCL needs the fcl_train settings (soda.params.FclTrain), got {type(cfg).__name__}")
    return {**cfg.model_dump(include=keys), "seed": seed}


def lora_config(lora: dict | None):
    """peft's LoraConfig from a `lora` setting (soda.params.Lora, every field given); None: full fine-tuning."""
    if lora is None:
        return None
    from peft import LoraConfig

    return LoraConfig(r=lora["r"], lora_alpha=lora["alpha"], lora_dropout=lora["dropout"],
                      target_modules=lora["target_modules"], task_type="CAUSAL_LM")


def trainer_args(config_cls, cfg: dict, output_dir: Path, **extra):
    """Every setting that matters is set here: TRL's defaults (bf16, gradient checkpointing) are GPU defaults."""
    return config_cls(
        output_dir=str(output_dir),
        num_train_epochs=cfg["epochs"],
        learning_rate=cfg["lr"],
        per_device_train_batch_size=cfg["batch_size"],
        gradient_accumulation_steps=cfg["grad_accum"],
        lr_scheduler_type=cfg["scheduler"],
        warmup_steps=cfg["warmup_ratio"],  # a float in [0, 1) is a ratio of the total steps
        weight_decay=cfg["weight_decay"],
        bf16=cfg["bf16"],
        activation_checkpointing=cfg["gradient_checkpointing"],  # transformers 5's name for it
        seed=cfg["seed"],
        data_seed=cfg["seed"],
        # Every step's logs into the trainer state, which each checkpoint keeps: the card's losses
        # are then the same whether or not the run was resumed (the trainer's own mean covers only
        # the steps of its last call). StepLog reports every `logging_steps`.
        logging_steps=1,
        save_strategy="steps",
        save_steps=cfg["save_steps"],
        save_total_limit=1,
        report_to="none",  # StepLog logs into the stage's run; the built-in callback would open its own
        disable_tqdm=True,
        use_cpu=not torch.cuda.is_available(),
        dataloader_num_workers=0,
        **extra,
    )


class EpochSeededSampler(torch.utils.data.Sampler):
    """The training order as a function of (data seed, epoch) alone, the epoch read from the
    trainer's state, which a resumed run restores from its checkpoint.

    transformers' group_by_length sampler draws its permutation from the global torch RNG when
    an epoch starts; a resumed run starts its epoch before restoring the checkpoint's RNG
    state, so it trained on other batches than the run it resumes (a model different by 0.016
    on the tests' tiny one, by 0.041 on csl-train). Accelerate's seedable sampler, the plain
    random order, hears of the epoch through set_epoch, which does not reach it under the
    wrappers of a multi-process resume. Same orders as both when they work: a permutation drawn
    from a generator seeded with seed + epoch, grouped by length or not.
    """

    def __init__(self, size: int, seed: int, epoch, lengths: list[int] | None = None, batch_size: int = 1):
        self.size, self.seed, self.epoch, self.lengths, self.batch_size = size, seed, epoch, lengths, batch_size

    def __len__(self):
        return self.size

    def __iter__(self):
        generator = torch.Generator().manual_seed(self.seed + self.epoch())
        if self.lengths is None:
            return iter(torch.randperm(self.size, generator=generator).tolist())
        return iter(get_length_grouped_indices(self.lengths, self.batch_size, generator=generator))


class SeededOrder:
    """A trainer mixin: the trainer's sampler (grouped by length or random) replaced by
    EpochSeededSampler."""

    def _get_train_sampler(self, train_dataset=None):
        sampler = super()._get_train_sampler(train_dataset)
        grouped = isinstance(sampler, LengthGroupedSampler)
        return EpochSeededSampler(len(sampler), self.args.data_seed, lambda: int(self.state.epoch or 0),
                                  sampler.lengths if grouped else None, sampler.batch_size if grouped else 1)


class SeededDPOTrainer(SeededOrder, DPOTrainer):
    pass


class SeededTrainer(SeededOrder, Trainer):
    """The score head's trainer (soda/score_head.py)."""


class CompletionSFTTrainer(SeededOrder, SFTTrainer):
    """SFTTrainer whose loss on CPU is the model's own cross-entropy over the same labels.

    Off Triton devices TRL's fused LM head scores every position in tiles, recomputes them in
    the backward pass and adds entropy and accuracy metrics: on the tiny CPU student that made
    the trainer 1.6x slower per token than a plain loop (`soda bench train`). The labels carry
    -100 outside the completion either way, so the loss is the same number (tests/test_train.py).
    On GPUs the fused head saves the (batch, length, vocab) logits' memory: kept there.
    """

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        if self.args.use_cpu:
            # no KV cache in training, as TRL's own loss sets it
            return Trainer.compute_loss(self, model, {**inputs, "use_cache": False}, return_outputs, num_items_in_batch)
        return super().compute_loss(model, inputs, return_outputs, num_items_in_batch)


class StepLog(TrainerCallback):
    """Every `every` steps, the means of the trainer's per-step logs over those steps (loss, lr,
    DPO rewards/margins/accuracies): into the active MLflow run if there is one (the stage opens
    it), and one short line on stderr (stdout is the stage's)."""

    SHOWN = ("loss", "learning_rate", "rewards/margins", "rewards/accuracies")

    def __init__(self, prefix: str, every: int):
        import mlflow

        self.mlflow, self.prefix, self.every = mlflow, prefix, every

    def on_log(self, args, state, control, logs=None, **kwargs):
        step = state.global_step
        if not state.is_world_process_zero or "loss" not in (logs or {}) or (step % self.every and step < state.max_steps):
            return
        metrics = recent_means(state.log_history, self.every)
        shown = " ".join(f"{k}={metrics[k]:.4g}" for k in self.SHOWN if k in metrics)
        print(f"{self.prefix} step {step}/{state.max_steps} {shown}", file=sys.stderr, flush=True)
        if self.mlflow.active_run() is not None:
            self.mlflow.log_metrics({f"{self.prefix}/{k}": v for k, v in metrics.items()}, step=step)


def recent_means(history: list[dict], n: int) -> dict[str, float]:
    """Each numeric log key's mean over the last n steps' logs (the trainer logs every step)."""
    steps = [h for h in history if "loss" in h][-n:]
    values: dict[str, list[float]] = {}
    for h in steps:
        for k, v in h.items():
            if isinstance(v, (int, float)) and not isinstance(v, bool) and k not in ("step", "epoch"):
                values.setdefault(k, []).append(float(v))
    return {k: sum(v) / len(v) for k, v in values.items()}


# ----------------------------------------------------------------------------- data


def data_sha256(rows: list[dict]) -> str:
    h = hashlib.sha256()
    for row in rows:
        h.update(dumps(row).encode() + b"\n")
    return h.hexdigest()


def check_rows(rows: list[dict], keys: tuple[str, ...], kind: str) -> None:
    if not rows:
        raise InputError(f"{kind}: empty dataset: no rows to train on")
    require_keys(rows, keys, f"{kind} rows")


def check_dropped(dropped: int, total: int, max_length: int) -> None:
    """Most examples dropped means the setting is wrong, not the data (measured: the paper's full
    scorer format at max_length 384 kept 2 of 480 annotations and trained a scorer on them)."""
    if 2 * dropped > total:
        raise InputError(f"{dropped} of {total} examples have a prompt of max_length={max_length} tokens or more: "
                         "raise the stage's max_length (within the model's context) or shorten the prompts")


def sft_dataset(tokenizer, rows: list[dict], max_length: int, fmt: PromptFormat | None = None) -> tuple[Dataset, dict]:
    """Tokenised prompt/completion examples with a completion mask.

    The prompt is tokenised alone, exactly as at inference (`fmt`: raw text, or the chat
    template's rendering), and the completion after it (+EOS, or the template's end of turn),
    so the mask boundary is exact whatever the tokenizer merges. Too long: the end of the
    completion is cut (counted); a prompt that fills max_length alone leaves nothing to learn
    and is dropped (counted; more than half dropped is an error).
    """
    fmt = fmt or PromptFormat(tokenizer, chat=False)
    examples, truncated, dropped, tokens, completion_tokens = [], 0, 0, 0, 0
    for row in rows:
        prompt = fmt.prompt_ids(row["prompt"])
        completion = fmt.answer_ids(row["completion"])
        if len(prompt) >= max_length:
            dropped += 1
            continue
        truncated += len(prompt) + len(completion) > max_length
        ids = (prompt + completion)[:max_length]
        examples.append({"input_ids": ids, "completion_mask": ([0] * len(prompt) + [1] * len(completion))[:max_length]})
        tokens += len(ids)
        completion_tokens += len(ids) - len(prompt)
    check_dropped(dropped, len(rows), max_length)
    stats = {"examples": len(examples), "truncated": truncated, "dropped": dropped,
             "tokens_per_epoch": tokens, "completion_tokens_per_epoch": completion_tokens}
    return Dataset.from_list(examples), stats


def dpo_dataset(tokenizer, rows: list[dict], max_length: int, fmt: PromptFormat | None = None) -> tuple[Dataset, dict]:
    """Preference pairs for DPOTrainer (which tokenises them), with the same truncation accounting.
    With a chat template the prompt is its rendering and each answer ends with the end of turn;
    DPOTrainer appends EOS to an answer that does not end with it."""
    fmt = fmt or PromptFormat(tokenizer, chat=False)
    kept, truncated, dropped, tokens = [], 0, 0, 0
    for row in rows:
        prompt = fmt.text(row["prompt"])
        n_prompt = len(tokenizer(prompt)["input_ids"])
        if n_prompt >= max_length:
            dropped += 1
            continue
        pair = {k: row[k] + fmt.end for k in ("chosen", "rejected")}
        lengths = [len(tokenizer(prompt + pair[k])["input_ids"]) + (not pair[k].endswith(tokenizer.eos_token))
                   for k in ("chosen", "rejected")]
        truncated += max(lengths) > max_length
        tokens += sum(min(n, max_length) for n in lengths)
        kept.append({"prompt": prompt, **pair})
    check_dropped(dropped, len(rows), max_length)
    return Dataset.from_list(kept), {"examples": len(kept), "truncated": truncated, "dropped": dropped,
                                     "tokens_per_epoch": tokens}


# ----------------------------------------------------------------------------- trainers


def base_fingerprint(path: str) -> str:
    """What the run starts from: the weights' hash for a local model, the id for a hub model."""
    p = Path(path)
    if (p / "model.safetensors").exists():
        return read_card(p).get("weights_sha256") or file_sha256(p / "model.safetensors")
    return str(path)


def param_fingerprint(model) -> torch.Tensor:
    """Sum and absolute sum of every parameter, in float64: any update changes them."""
    with torch.no_grad():
        return torch.stack([torch.stack([p.double().sum(), p.double().abs().sum()]) for p in model.parameters()]).cpu()


@dataclass
class Prepared:
    kind: str
    trainer: object
    tokenizer: object
    stats: dict
    cfg: dict
    run_dir: Path
    card: dict


def scratch_dir(stage: str, cycle: str | None = None) -> str:
    """Trainer scratch space (checkpoints for resume), outside DVC outputs which DVC deletes
    before a re-run. Under the working copy, not DVC_ROOT: queued experiments run in copies
    of their own and must not resume from each other's checkpoints."""
    name = f"{stage}@{cycle}" if cycle else stage
    return str(Path.cwd() / ".soda" / "scratch" / name)


def prepare(kind: str, base_path: str, rows: list[dict], cfg: Train, seed: int, scratch_dir, head: str = "generative",
            scoring_format: str | None = None, chat_template: str = "auto") -> Prepared:
    """The configured trainer for one stage: used by train_* and, directly, by the tests.
    `head` (scorer only): `generative` trains on prompt/completion rows, a score head on prompt/score rows;
    `scoring_format` (scorer only): the format its prompts are in, recorded in the card (soda.student).
    `chat_template` (params' student.chat_template): `auto` renders prompts with the model's chat
    template where its tokenizer has one (soda.prompts.PromptFormat), `none` keeps the raw text."""
    if kind not in KINDS:
        raise ValueError(f"unknown kind {kind!r}")
    if head not in HEADS or (head != "generative" and kind != "scorer"):
        raise InputError(f"head: {head!r} is not a head for {kind}; the scorer's heads are {HEADS}")
    cfg = resolve_cfg(cfg, seed, kind)
    if head != "generative" and cfg["lora"]:
        raise InputError("lora: not supported with a score head (Trainer takes no peft config; the head trains fully)")
    check_rows(rows, ROW_KEYS[kind] if head == "generative" else ("prompt",), kind)  # the score: head_dataset
    data_hash = data_sha256(rows)
    base = base_fingerprint(base_path)
    set_seed(cfg["seed"])  # a new score head or adapter is drawn from the global RNG: seeded, or each run differs
    model, tokenizer = load_model(base_path) if head == "generative" else load_head_model(base_path, head)
    fmt = PromptFormat.of(tokenizer, chat_template)
    chat = {"chat_template": True} if fmt.chat else {}  # absent: the raw text, as before templates were read
    # A checkpoint is reused only by the run that wrote it: same start, same data, same settings.
    run_hash = hashlib.sha256(dumps({"kind": kind, "head": head, "base": base, "data": data_hash, "cfg": cfg, **chat}).encode()).hexdigest()
    run_dir = Path(scratch_dir) / f"{kind}-{run_hash[:16]}"
    peft = lora_config(cfg["lora"])
    callbacks = [StepLog(kind, cfg["logging_steps"])]
    if head != "generative":
        dataset, stats = head_dataset(tokenizer, rows, head, cfg["max_length"], fmt)
        args = trainer_args(TrainingArguments, cfg, run_dir, train_sampling_strategy="group_by_length")
        trainer = SeededTrainer(model=model, args=args, train_dataset=dataset, processing_class=tokenizer,
                                data_collator=DataCollatorWithPadding(tokenizer), callbacks=callbacks)
    elif kind == "fcl":
        ref, _ = load_model(base_path)
        ref.eval().requires_grad_(False)
        dataset, stats = dpo_dataset(tokenizer, rows, cfg["max_length"], fmt)
        args = trainer_args(DPOConfig, cfg, run_dir, beta=cfg["beta"], loss_type=list(cfg["loss"]),
                            loss_weights=cfg["loss_weights"],
                            precompute_ref_log_probs=False, max_length=cfg["max_length"])
        trainer = SeededDPOTrainer(model=model, ref_model=ref, args=args, train_dataset=dataset, processing_class=tokenizer,
                             peft_config=peft, callbacks=callbacks)
    else:
        dataset, stats = sft_dataset(tokenizer, rows, cfg["max_length"], fmt)
        # Batches of similar lengths: random batches of code solutions are half padding (measured
        # 1.5x the real tokens on the embedded world's CSL set), grouped ones a few percent.
        args = trainer_args(SFTConfig, cfg, run_dir, completion_only_loss=True, packing=False,
                            train_sampling_strategy="group_by_length", max_length=cfg["max_length"])
        trainer = CompletionSFTTrainer(model=model, args=args, train_dataset=dataset, processing_class=tokenizer,
                             peft_config=peft, callbacks=callbacks)
    trainer.remove_callback(PrinterCallback)  # StepLog reports instead, off stdout
    card = {"kind": kind, "base": str(base_path), "base_weights_sha256": base, "data_sha256": data_hash,
            "data_rows": len(rows), "cfg": cfg, **chat,
            **({"scoring_head": head, "scoring_format": scoring_format} if kind == "scorer" else {})}
    return Prepared(kind, trainer, tokenizer, stats, cfg, run_dir, card)


def publish(prepared: Prepared, out_dir) -> None:
    """The trained model into out_dir, atomically, on the main process only."""
    trainer = prepared.trainer
    if prepared.cfg["lora"]:
        # The pipeline passes plain models between stages: fold the adapter into the weights.
        model = trainer.accelerator.unwrap_model(trainer.model).merge_and_unload()
        staged = prepared.run_dir / "final"
        if trainer.is_world_process_zero():
            model.save_pretrained(staged, safe_serialization=True)
            prepared.tokenizer.save_pretrained(staged)
    else:
        staged = prepared.run_dir / "final"
        trainer.save_model(str(staged))  # on every rank: gathers FSDP / ZeRO-3 shards
    if trainer.is_world_process_zero():
        with atomic_path(out_dir) as tmp:
            shutil.copytree(staged, tmp, ignore=shutil.ignore_patterns(*NOT_MODEL))
            write_card(tmp, prepared.card)
    trainer.accelerator.wait_for_everyone()


def last_complete_checkpoint(run_dir: Path) -> str | None:
    """The newest checkpoint the trainer finished writing: trainer_state.json is the last file it
    writes. Newer ones, half-written by a kill during a save, are removed."""
    steps = [p for p in run_dir.glob("checkpoint-*") if p.name.removeprefix("checkpoint-").isdigit()]
    for path in sorted(steps, key=lambda p: int(p.name.removeprefix("checkpoint-")), reverse=True):
        try:
            json.loads((path / TRAINER_STATE_NAME).read_text(encoding="utf-8"))
            return str(path)
        except (OSError, ValueError):
            shutil.rmtree(path, ignore_errors=True)
    return None


def finish(prepared: Prepared, out_dir) -> dict:
    """Train (resuming from the run's last checkpoint), publish, clean the scratch dir; return metrics.

    A resumed run publishes the bytes an uninterrupted one would (tests/test_train.py,
    tests/test_crash.py): the checkpoint holds the weights, optimizer, scheduler, RNG states and
    every step's logs, and the data order is a function of the seed and epoch.
    """
    trainer, run_dir = prepared.trainer, prepared.run_dir
    last = last_complete_checkpoint(run_dir)
    ref_before = param_fingerprint(trainer.ref_model) if prepared.kind == "fcl" else None
    t0 = time.perf_counter()
    trainer.train(resume_from_checkpoint=last)
    seconds = time.perf_counter() - t0
    history = trainer.state.log_history  # every step's, the resumed ones' included
    final = recent_means(history, prepared.cfg["logging_steps"])
    tokens = prepared.stats["tokens_per_epoch"] * prepared.cfg["epochs"]
    metrics = {
        **{k: v for k, v in prepared.stats.items() if not k.endswith("_per_epoch")},
        "train_loss": recent_means(history, len(history))["loss"],
        "final_loss": final["loss"],
        "steps": trainer.state.global_step,
        "tokens": tokens,
        "seconds": round(seconds, 3),
        "tokens_per_s": round(tokens / seconds, 1) if seconds > 0 else None,
        "resumed_from": Path(last).name if last else None,
    }
    if "completion_tokens_per_epoch" in prepared.stats:
        metrics["completion_tokens"] = prepared.stats["completion_tokens_per_epoch"] * prepared.cfg["epochs"]
    if prepared.kind == "fcl":
        if not torch.equal(ref_before, param_fingerprint(trainer.ref_model)):
            raise RuntimeError("the FCL reference model changed during training")
        metrics["ref_unchanged"] = True
        for key in ("rewards/chosen", "rewards/rejected", "rewards/margins", "rewards/accuracies"):
            metrics[key.replace("/", "_")] = final.get(key)
    # The card is part of the DVC output: leave out what varies between identical runs (timing),
    # so that a deterministic CPU run reproduces the output byte for byte.
    prepared.card["metrics"] = produced(metrics)
    publish(prepared, out_dir)
    if trainer.is_world_process_zero():
        shutil.rmtree(run_dir, ignore_errors=True)
    return metrics


def train_csl(model_path: str, rows: list[dict], out_dir, cfg: Train, seed: int, scratch_dir,
              chat_template: str = "auto") -> dict:
    """CSL, eq. 1: maximise log p(correct solution | prompt A question) on completion tokens only."""
    return finish(prepare("csl", model_path, rows, cfg, seed, scratch_dir, chat_template=chat_template), out_dir)


def train_fcl(csl_path: str, rows: list[dict], out_dir, cfg: FclTrain, seed: int, scratch_dir,
              chat_template: str = "auto") -> dict:
    """FCL, eq. 2: DPO with correct (chosen) vs faulty (rejected) solutions, reference = CSL model frozen."""
    return finish(prepare("fcl", csl_path, rows, cfg, seed, scratch_dir, chat_template=chat_template), out_dir)


def train_scorer(base_path: str, rows: list[dict], out_dir, cfg: Train, seed: int, scratch_dir, head: str,
                 scoring_format: str, chat_template: str = "auto") -> dict:
    """The scoring model. generative: filled prompt C -> the teacher's "Code Analysis: ... Score: Rule 1 ..."
    text (rows: prompt, completion); a score head: prompt -> the score (rows: prompt, score). The
    card records the head and the prompts' format (soda.student.scorer_card)."""
    return finish(prepare("scorer", base_path, rows, cfg, seed, scratch_dir, head, scoring_format, chat_template),
                  out_dir)
