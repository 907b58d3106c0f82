"""`soda bench train`: trainer overhead and the tiny preset's stage times, in one JSON line.

- Overhead: CSL on the tiny student through SFTTrainer vs a plain PyTorch loop (AdamW, cosine
  schedule, grad clipping: what the trainer does) on the very same collated batches, in the
  same process, alternated `--repeats` times; the best rate of each is kept, since on shared
  cores the noise only ever slows a run down. overhead = plain rate / trainer rate.
- Stage times: csl, fcl and score-train of one cycle of the embedded world with params.yaml's
  settings, wall clock of the whole call (load, tokenise, train, save).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import time
from pathlib import Path

import torch
from transformers import get_scheduler

from soda.modeling import build_tokenizer, init_model, load_model, save_model
from soda.params import load_params
from soda.prompts import render, student_prompt
from soda.scoring import RULES
from soda.teacher import FAULT_TYPES
from soda.train import prepare, resolve_cfg, train_csl, train_fcl, train_scorer
from soda.world.faults import fault_candidates
from soda.world.generate import make_world


def one_cycle(params: dict, seed: int = 0) -> tuple[list[dict], list[dict], list[dict]]:
    """CSL, FCL and annotation rows sized like one cycle of the embedded default (teacher = references)."""
    questions, _ = make_world(params["world"]["seed_size"], 0, seed=seed, tiers=tuple(params["world"]["tiers"]))
    rng = random.Random(seed)
    csl, fcl, annotations = [], [], []
    n_fcl = round(len(questions) * params["teacher_generate"]["fcl_fraction"])
    for i, q in enumerate(questions):
        prompt = student_prompt(q["question"])
        faulty = next((c for t in rng.sample(FAULT_TYPES, len(FAULT_TYPES)) for c in fault_candidates(q["reference"], t)), None)
        if i < n_fcl and faulty:
            fcl.append({"prompt": prompt, "chosen": q["reference"], "rejected": faulty})
        else:
            csl.append({"prompt": prompt, "completion": q["reference"]})
    # Prompt C around the teacher's and the faulty solutions, with an analysis of the judge's length.
    for q in questions[: params["score_train"]["num_questions"]]:
        # The stage annotates three solutions per question (teacher correct, teacher faulty, student).
        wrong = fault_candidates(q["reference"], "logical")[:1] + fault_candidates(q["reference"], "name")[:1]
        for code, points in [(q["reference"], (2, 1, 1, 1, 1))] + [(c, (0, 0, 0.5, 0.5, 0)) for c in wrong]:
            analysis = (f"Code Analysis:The question asks for a function `{q['entry_point']}`. On execution the code returns "
                        "the expected results on the core cases. On boundary inputs (empty or extreme values) it returns the "
                        "expected results on the edge cases. It is documented with a docstring that explains its purpose.")
            score = "\n".join(f"Rule {i}. {name}: {p:g}" for i, ((name, _), p) in enumerate(zip(RULES, points), 1))
            annotations.append({"prompt": render("scoring", question=q["question"], code=code),
                                "completion": f"{analysis}\nScore:\n{score}"})
    heldout = round(len(annotations) * params["score_train"]["heldout_fraction"])
    return csl, fcl, annotations[heldout:]


def plain_loop(base: str, batches: list[dict], cfg: dict) -> tuple[int, float]:
    """What the trainer does, by hand: forward, backward, clip, AdamW, cosine schedule."""
    model, _ = load_model(base)
    model.train()
    opt = torch.optim.AdamW(model.parameters(), lr=cfg["lr"], weight_decay=cfg["weight_decay"], fused=True)
    sched = get_scheduler(cfg["scheduler"], opt, num_warmup_steps=round(cfg["warmup_ratio"] * len(batches)),
                          num_training_steps=len(batches))
    tokens = 0
    t0 = time.perf_counter()
    for batch in batches:
        loss = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"], labels=batch["labels"]).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        opt.zero_grad(set_to_none=True)
        tokens += int(batch["attention_mask"].sum())
    return tokens, time.perf_counter() - t0


def trainer_epoch(base: str, rows: list[dict], cfg: dict, scratch: Path) -> tuple[list[dict], int, float]:
    """One CSL epoch through SFTTrainer; also returns its collated batches for the plain loop."""
    p = prepare("csl", base, rows, {**cfg, "epochs": 1}, scratch)
    batches = list(p.trainer.get_train_dataloader())
    t0 = time.perf_counter()
    p.trainer.train()
    seconds = time.perf_counter() - t0
    return batches, p.stats["tokens_per_epoch"], seconds


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(prog="soda bench train", description=__doc__)
    ap.add_argument("--params", default="params.yaml")
    ap.add_argument("--repeats", type=int, default=2, help="alternated trainer/plain measurements")
    ap.add_argument("--fraction", type=float, default=1.0, help="share of one cycle's rows to use (quick checks)")
    args = ap.parse_args(argv)
    params = load_params(args.params)
    csl_cfg, fcl_cfg, score_cfg = ({**params[k], "seed": params["seed"]} for k in ("csl_train", "fcl_train", "score_train"))
    for cfg in (fcl_cfg, score_cfg):
        for key in ("enabled", "heldout_fraction", "num_questions"):
            cfg.pop(key, None)
    csl, fcl, annotations = (rows[: max(1, round(len(rows) * args.fraction))] for rows in one_cycle(params, params["seed"]))
    s = params["student"]
    with tempfile.TemporaryDirectory(prefix="soda-bench-train-") as tmp:
        tmp = Path(tmp)
        tok = build_tokenizer([r["prompt"] + r["completion"] for r in csl + annotations], s["vocab_size"])
        model = init_model(tok, hidden_size=s["hidden_size"], num_layers=s["num_layers"], num_heads=s["num_heads"],
                           intermediate_size=s["intermediate_size"], max_position=s["max_position"], seed=params["seed"])
        save_model(model, tok, tmp / "base", {})
        base = str(tmp / "base")

        trainer_rates, plain_rates = [], []
        for r in range(args.repeats):
            batches, tokens, seconds = trainer_epoch(base, csl, csl_cfg, tmp / f"scratch-{r}")
            trainer_rates.append(tokens / seconds)
            tokens, seconds = plain_loop(base, batches, resolve_cfg(csl_cfg, "csl"))
            plain_rates.append(tokens / seconds)

        stage = {}
        t0 = time.perf_counter()
        m_csl = train_csl(base, csl, tmp / "csl", csl_cfg, tmp / "scratch")
        stage["csl"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        m_fcl = train_fcl(str(tmp / "csl"), fcl, tmp / "fcl", fcl_cfg, tmp / "scratch")
        stage["fcl"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        m_score = train_scorer(base, annotations, tmp / "scorer", score_cfg, tmp / "scratch")
        stage["scorer"] = time.perf_counter() - t0

    trainer_rate, plain_rate = max(trainer_rates), max(plain_rates)
    out = {
        "trainer_tokens_per_s": round(trainer_rate, 1),
        "plain_tokens_per_s": round(plain_rate, 1),
        "overhead": round(plain_rate / trainer_rate, 3),
        "overhead_target": 1.25,
        "csl_seconds": round(stage["csl"], 1),
        "fcl_seconds": round(stage["fcl"], 1),
        "scorer_seconds": round(stage["scorer"], 1),
        "stage_target_seconds": 120,
        "rows": {"csl": len(csl), "fcl": len(fcl), "scorer": len(annotations)},
        "steps": {"csl": m_csl["steps"], "fcl": m_fcl["steps"], "scorer": m_score["steps"]},
        "tokens": {"csl": m_csl["tokens"], "fcl": m_fcl["tokens"], "scorer": m_score["tokens"]},
        "truncated": {"csl": m_csl["truncated"], "fcl": m_fcl["truncated"], "scorer": m_score["truncated"]},
        "num_parameters": model.num_parameters(),
        "torch_threads": torch.get_num_threads(),
        "cpus": os.cpu_count(),
        "loadavg_1m": round(os.getloadavg()[0], 2),
        "repeats": args.repeats,
        "fraction": args.fraction,
    }
    print(json.dumps(out, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
