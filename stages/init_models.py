"""init-models: the base student and the base scorer.

`init: scratch` trains a byte-level BPE tokenizer on the seed questions, their reference
solutions and the prompts, and creates a tiny Llama; any other value is a Hugging Face
model id or local path, loaded and saved here so that the base model is a versioned output.
"""

from __future__ import annotations

import shutil
import tempfile

from soda.io import read_jsonl
from soda.prompts import NAMES, template
from stages._common import parser, run, scratch_dir, setup

STUDENT_TAIL = template("student").rstrip("\n").rsplit("\n", 1)[-1] + "\n"


# The prompts' fixed text (the rubric above all) recurs in every scorer example: weighting it
# gives it whole-word tokens, which shortens every filled prompt C by about a third.
PROMPT_WEIGHT = 50


def corpus(rows: list[dict]) -> list[str]:
    texts = [template(name) for name in NAMES] * PROMPT_WEIGHT
    for row in rows:
        texts.append(row["question"])
        if row.get("reference"):
            texts.append(row["reference"])
    return texts


def make_model(init: str, arch: dict, texts: list[str], out: str, seed: int, role: str) -> None:
    from soda.modeling import build_tokenizer, init_model, load_model, save_model

    if init == "scratch":
        tokenizer = build_tokenizer(texts, arch["vocab_size"])
        model = init_model(tokenizer, hidden_size=arch["hidden_size"], num_layers=arch["num_layers"],
                           num_heads=arch["num_heads"], intermediate_size=arch["intermediate_size"],
                           max_position=arch["max_position"], seed=seed)
    else:
        model, tokenizer = load_model(init)
    params = sum(p.numel() for p in model.parameters())
    save_model(model, tokenizer, out, {"role": role, "init": init, "parameters": params})
    print(f"init-models: {role} ({init}) with {params:,} parameters -> {out}")


def pretrain(path: str, programs: list[dict], cfg: dict, seed: int) -> dict:
    """Next-token training on unlabelled code, shown after the student prompt's last line so
    that the base model continues "### Solution" with code, as at inference."""
    from soda.train import train_csl

    rows = [{"prompt": STUDENT_TAIL, "completion": p["code"]} for p in programs]
    with tempfile.TemporaryDirectory() as tmp:
        metrics = train_csl(path, rows, f"{tmp}/out", {**cfg, "seed": seed}, scratch_dir("init-models"))
        shutil.rmtree(path)
        shutil.move(f"{tmp}/out", path)
    return metrics


def main(argv: list[str] | None = None) -> int:
    p = parser(__doc__)
    p.add_argument("--corpus", required=True, help="question rows used to train the tokenizer")
    p.add_argument("--pretrain", required=True, help="unlabelled programs (id, code) to pretrain a scratch student on")
    p.add_argument("--student-out", required=True)
    p.add_argument("--scorer-out", required=True)
    args = p.parse_args(argv)
    params = setup(args)
    texts = corpus(read_jsonl(args.corpus))
    arch = params["student"]
    programs = read_jsonl(args.pretrain)
    texts += [p["code"] for p in programs]
    make_model(arch["init"], arch, texts, args.student_out, params["seed"], "student")
    if arch["init"] == "scratch" and programs and arch["pretrain_epochs"] > 0:
        metrics = pretrain(args.student_out, programs, {"preset": "tiny", "epochs": arch["pretrain_epochs"]},
                           params["seed"])
        print(f"init-models: pretrained the student on {len(programs)} programs: {metrics}")
    # The scorer shares the student's tiny architecture when built from scratch; `student`: it
    # starts from the base student (pretrained on the world's code), as the paper's scorer
    # starts from the student's base model.
    init = args.student_out if params["scorer"]["init"] == "student" else params["scorer"]["init"]
    make_model(init, arch, texts, args.scorer_out, params["seed"] + 1, "scorer")
    return 0


if __name__ == "__main__":
    run(main)
