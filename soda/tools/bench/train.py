"""`soda bench train`: trainer overhead and the stage times with params.yaml's settings, in one JSON line.

- Overhead: one CSL epoch on the tiny student through SFTTrainer vs a plain PyTorch loop
  (AdamW, cosine schedule, grad clipping: what the trainer does) on the same collated batches,
  interleaved step by step in one process, `--repeats` times; the best rate of each is kept,
  since on shared cores the noise only ever slows a run down. overhead = plain rate / trainer
  rate, in wall time and in CPU time.
- Stage times: csl, fcl and score-train of one cycle of the embedded world with params.yaml's
  settings, wall clock of the whole call (load, tokenise, train, save), and its CPU time.
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
from transformers import TrainerCallback, get_scheduler

from soda.modeling import build_tokenizer, init_model, load_model, save_model
from soda.params import Params, Train, load_params
from soda.prompts import student_prompt
from soda.scoring import RULES
from soda.student import scorer_example
from soda.teacher import FAULT_TYPES
from soda.train import prepare, train_csl, train_fcl, train_scorer
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
    # Prompt C around the teacher's and the faulty solutions, with an analysis of the judge's length,
    # in score_train.format as the stage trains it.
    for q in questions[: params["score_train"]["num_questions"]]:
        # A correct and two faulty solutions per question: the rubric's range, as score_train.solutions can give.
        wrong = fault_candidates(q["reference"], "logical")[:1] + fault_candidates(q["reference"], "name")[:1]
        for code, points in [(q["reference"], (2, 1, 1, 1, 1))] + [(c, (0, 0, 0.5, 0.5, 0)) for c in wrong]:
            analysis = (f"Code Analysis:The question asks for a function `{q['entry_point']}`. On execution the code returns "
                        "the expected results on the core cases. On boundary inputs (empty or extreme values) it returns the "
                        "expected results on the edge cases. It is documented with a docstring that explains its purpose.")
            score = "\n".join(f"Rule {i}. {name}: {p:g}" for i, ((name, _), p) in enumerate(zip(RULES, points), 1))
            annotations.append({**scorer_example(q["question"], code, f"{analysis}\nScore:\n{score}",
                                                 params["score_train"]["format"]),
                                "score": float(sum(points))})  # what a score head learns
    heldout = round(len(annotations) * params["score_train"]["heldout_fraction"])
    return csl, fcl, annotations[heldout:]


def clock() -> tuple[float, float]:
    """(wall, CPU of all threads) now: on shared cores wall time measures the neighbours too."""
    return time.perf_counter(), time.process_time()


def elapsed(start: tuple[float, float]) -> tuple[float, float]:
    now = clock()
    return now[0] - start[0], now[1] - start[1]


class PlainLoop:
    """What the trainer does, by hand: forward, backward, clip, AdamW, cosine schedule."""

    def __init__(self, base: str, n_steps: int, cfg: dict):
        self.model, _ = load_model(base)
        self.model.train()
        self.opt = torch.optim.AdamW(self.model.parameters(), lr=cfg["lr"], weight_decay=cfg["weight_decay"], fused=True)
        self.sched = get_scheduler(cfg["scheduler"], self.opt, num_warmup_steps=round(cfg["warmup_ratio"] * n_steps),
                                   num_training_steps=n_steps)

    def step(self, batch: dict) -> None:
        loss = self.model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"], labels=batch["labels"]).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.model.parameters(), 1.0)
        self.opt.step()
        self.sched.step()
        self.opt.zero_grad(set_to_none=True)


class Paired(TrainerCallback):
    """After each trainer step, one plain-loop step on the next of the same epoch's batches.

    Interleaving step by step exposes both to the same load from the neighbours on shared
    cores, which drifts by minutes: timing them apart measured the neighbours, not the trainer.
    """

    def __init__(self, plain: PlainLoop, batches: list[dict]):
        self.plain, self.batches = plain, iter(batches)
        self.spent = (0.0, 0.0)

    def on_step_end(self, args, state, control, **kwargs):
        start = clock()
        self.plain.step(next(self.batches))
        wall, cpu = elapsed(start)
        self.spent = (self.spent[0] + wall, self.spent[1] + cpu)


def paired_epoch(base: str, rows: list[dict], cfg: Train, seed: int, scratch: Path) -> dict:
    """Wall and CPU seconds of one CSL epoch through SFTTrainer and through the plain loop, interleaved."""
    p = prepare("csl", base, rows, cfg.model_copy(update={"epochs": 1}), seed, scratch)
    batches = list(p.trainer.get_train_dataloader())  # the collator's batches: one epoch of the same rows
    paired = Paired(PlainLoop(base, len(batches), p.cfg), batches)
    p.trainer.add_callback(paired)
    start = clock()
    p.trainer.train()
    total = elapsed(start)
    trainer = (total[0] - paired.spent[0], total[1] - paired.spent[1])
    return {"tokens": p.stats["tokens_per_epoch"], "trainer": trainer, "plain": paired.spent}


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(prog="soda bench train", description=__doc__)
    ap.add_argument("--params", default="params.yaml")
    ap.add_argument("--repeats", type=int, default=2, help="interleaved trainer/plain epochs")
    # A whole epoch of the cycle's CSL set (20 steps): on 10 steps the first step's one-off
    # allocations, paid by whichever loop runs it first, were a third of the measured overhead.
    ap.add_argument("--overhead-rows", type=int, default=320, help="CSL rows of each overhead measurement")
    ap.add_argument("--no-stages", action="store_true", help="measure the overhead only (stage times null)")
    ap.add_argument("--fraction", type=float, default=1.0, help="share of one cycle's rows to use (quick checks)")
    args = ap.parse_args(argv)
    params = load_params(args.params)
    typed = Params.model_validate(params)
    seed, st = typed.seed, typed.score_train
    csl, fcl, annotations = (rows[: max(1, round(len(rows) * args.fraction))] for rows in one_cycle(params, params["seed"]))
    s = params["student"]
    with tempfile.TemporaryDirectory(prefix="soda-bench-train-") as tmp:
        tmp = Path(tmp)
        tok = build_tokenizer([r["prompt"] + r["completion"] for r in csl + annotations], s["vocab_size"])
        model = init_model(tok, hidden_size=s["hidden_size"], num_layers=s["num_layers"], num_heads=s["num_heads"],
                           intermediate_size=s["intermediate_size"], max_position=s["max_position"], seed=params["seed"])
        save_model(model, tok, tmp / "base", {})
        base = str(tmp / "base")

        # rates[who] = [(wall tokens/s, CPU tokens/s), ...]; both loops see every real token of the epoch.
        rates = {"trainer": [], "plain": []}
        for r in range(args.repeats):
            run = paired_epoch(base, csl[: args.overhead_rows], typed.csl_train, seed, tmp / f"scratch-{r}")
            for who in rates:
                rates[who].append((run["tokens"] / run[who][0], run["tokens"] / run[who][1]))

        # CPU time / cores is about what a stage would take on idle cores.
        stage, cpu, metrics = {}, {}, {}
        calls = (("csl", lambda: train_csl(base, csl, tmp / "csl", typed.csl_train, seed, tmp / "scratch")),
                 ("fcl", lambda: train_fcl(str(tmp / "csl"), fcl, tmp / "fcl", typed.fcl_train, seed, tmp / "scratch")),
                 ("scorer", lambda: train_scorer(base, annotations, tmp / "scorer", st, seed, tmp / "scratch", st.head,
                                                 st.format)))
        for kind, call in () if args.no_stages else calls:
            start = clock()
            metrics[kind] = call()
            stage[kind], cpu[kind] = elapsed(start)

    best = {who: (max(w for w, _ in r), max(c for _, c in r)) for who, r in rates.items()}
    out = {
        "trainer_tokens_per_s": round(best["trainer"][0], 1),
        "plain_tokens_per_s": round(best["plain"][0], 1),
        "overhead": round(best["plain"][0] / best["trainer"][0], 3),
        "overhead_cpu": round(best["plain"][1] / best["trainer"][1], 3),  # the same, in CPU time
        "overhead_target": 1.25,
        **{f"{k}_seconds": round(stage[k], 1) if k in stage else None for k, _ in calls},
        **{f"{k}_cpu_seconds": round(cpu[k], 1) if k in cpu else None for k, _ in calls},
        "stage_target_seconds": 120,
        "rows": {"csl": len(csl), "fcl": len(fcl), "scorer": len(annotations)},
        **{key: {k: m[key] for k, m in metrics.items()} for key in ("steps", "tokens", "truncated")},
        "overhead_rows": min(args.overhead_rows, len(csl)),
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
