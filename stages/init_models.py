"""init-models: the base student and the base scorer.

`init: scratch` trains a byte-level BPE tokenizer on the seed questions, their reference
solutions and the prompts, and creates a tiny Llama, which is then pretrained on unlabelled
code (`pretrain`); any other value is a Hugging Face hub id or a model folder inside
models/init/student/ (models/init/scorer/ for the scorer: `--student-init-dir`, `--scorer-init-dir`,
which DVC tracks), loaded and saved here so that the base model is a versioned output.
"""

from __future__ import annotations

import shutil
import tempfile

from soda.io import read_jsonl, require_keys
from soda.params import Launch, Pretrain, Scorer, Student, TrainShared, model_source
from soda.prompts import corpus_templates, template
from soda.io import read_rows
from soda.train import scratch_dir
from stages import In, Out, StageConfig

STUDENT_TAIL = template("student").rstrip("\n").rsplit("\n", 1)[-1] + "\n"

# The prompts' fixed text (the rubric above all) recurs in every scorer example: weighting it
# gives it whole-word tokens, which shortens every filled prompt C by about a third.
PROMPT_WEIGHT = 50


class Config(StageConfig):
    seed: int
    student: Student
    train: TrainShared  # completed into pretrain (soda.params.resolve)
    pretrain: Pretrain
    scorer: Scorer
    launch: Launch


def corpus(rows: list[dict]) -> list[str]:
    texts = corpus_templates() * PROMPT_WEIGHT
    for row in rows:
        texts.append(row["question"])
        if row.get("reference"):
            texts.append(row["reference"])
    return texts


def make_model(init: str, arch: Student, texts: list[str], out, seed: int, role: str) -> int:
    from soda.modeling import build_tokenizer, init_model, load_model, save_model

    if init == "scratch":
        tokenizer = build_tokenizer(texts, arch.vocab_size)
        model = init_model(tokenizer, hidden_size=arch.hidden_size, num_layers=arch.num_layers,
                           num_heads=arch.num_heads, intermediate_size=arch.intermediate_size,
                           max_position=arch.max_position, seed=seed)
    else:
        model, tokenizer = load_model(init)
    params = sum(p.numel() for p in model.parameters())
    save_model(model, tokenizer, str(out), {"role": role, "init": init, "parameters": params})
    return params


def pretrain(path, programs: list[dict], cfg: Pretrain, seed: int, launch: Launch) -> dict:
    """Next-token training on unlabelled code, shown after the student prompt's last line so
    that the base model continues "### Solution" with code, as at inference."""
    from soda.train import train_csl

    rows = [{"prompt": STUDENT_TAIL, "completion": p["code"]} for p in programs]
    with tempfile.TemporaryDirectory() as tmp:
        metrics = train_csl(str(path), rows, f"{tmp}/out", cfg, seed, scratch_dir("init-models"),
                            launch=launch)
        shutil.rmtree(path)
        shutil.move(f"{tmp}/out", path)
    return metrics


def run(cfg: Config, *, corpus_rows: In, pretrain_rows: In, student_init_dir: In, scorer_init_dir: In, student_out: Out,
        scorer_out: Out) -> dict:
    # Both models found before anything is written: a bad path leaves no half-built output.
    student_init = cfg.student.init if cfg.student.init == "scratch" else \
        model_source("student.init", cfg.student.init, student_init_dir)
    scorer_init = cfg.scorer.init if cfg.scorer.init in ("student", "pretrained", "scratch") else \
        model_source("scorer.init", cfg.scorer.init, scorer_init_dir)
    texts = corpus(read_rows(corpus_rows, "seed question", ("question",)))
    programs = read_jsonl(pretrain_rows)
    require_keys(programs, ("code",), str(pretrain_rows))
    texts += [p["code"] for p in programs]
    metrics = {"student_parameters": make_model(student_init, cfg.student, texts, student_out, cfg.seed, "student")}
    if cfg.student.init == "scratch" and programs and cfg.pretrain.epochs > 0:
        metrics["pretrain"] = pretrain(student_out, programs, cfg.pretrain, cfg.seed, cfg.launch)
    # `student`: the scorer starts from the base student, as the paper's scorer starts from the
    # student's base model. `pretrained` / `scratch`: a model of its own size (null keys: the
    # student's), `pretrained` then trained on the same code as the student: a scorer larger than
    # the student (docs/results.md, 2026-12-06 second session).
    size = {k: v for k in ("hidden_size", "num_layers", "num_heads", "intermediate_size")
            if (v := getattr(cfg.scorer, k)) is not None}
    init = {"student": str(student_out), "pretrained": "scratch"}.get(scorer_init, scorer_init)
    metrics["scorer_parameters"] = make_model(init, cfg.student.model_copy(update=size), texts, scorer_out,
                                              cfg.seed + 1, "scorer")
    if cfg.scorer.init == "pretrained" and programs and cfg.pretrain.epochs > 0:
        metrics["scorer_pretrain"] = pretrain(scorer_out, programs, cfg.pretrain, cfg.seed + 1, cfg.launch)
    return metrics
