"""`soda displacement`: what FCL did to the likelihood of its pairs, per fault type.

DPO raises the margin log p(chosen) - log p(rejected) against the frozen reference; on pairs
that differ in a few tokens it can do so by lowering both, the chosen solution too ("likelihood
displacement"). For each pair of an FCL set this measures, under the reference (the CSL model)
and the trained student, the log-probability of the chosen and the rejected solution given the
prompt (summed over the solution's tokens and EOS, as eq. 2), and reports per fault type: the
mean change of each, the share of pairs whose chosen solution became less likely, and the mean
change of the margin. With `--heldout`, the same for the held-out tasks' reference solutions
under the student's prompt: whether what FCL pushed down is correct code in general, not only its
own chosen solutions. One JSON line; e.g.
`soda displacement --reference models/c1/csl --student models/c1/student --pairs data/c1/fcl.jsonl
--heldout data/world/heldout.jsonl`.
"""

from __future__ import annotations

import collections
import json


def sequence_logps(model, fmt, prompt: str, completions: list[str]) -> list[float]:
    """log p(completion + its end | prompt) of each completion, summed over its tokens, in the
    model's own format (soda.prompts.PromptFormat: the chat template's turn, or raw text and
    EOS), tokenised as training tokenises them."""
    import torch

    prompt_ids = fmt.prompt_ids(prompt)
    out = []
    with torch.no_grad():
        for completion in completions:
            ids = prompt_ids + fmt.answer_ids(completion)
            logits = model(torch.tensor([ids])).logits[0, :-1].float()
            logps = torch.log_softmax(logits, dim=-1).gather(1, torch.tensor(ids[1:])[:, None])[:, 0]
            out.append(logps[len(prompt_ids) - 1:].sum().item())
    return out


def measure(reference, student, fmt, pairs: list[dict]) -> dict:
    """Per fault type (and `all`): n, mean change of log p(chosen) and log p(rejected) from the
    reference to the student, share of pairs whose chosen log p fell, mean change of the margin."""
    changes = collections.defaultdict(list)
    for pair in pairs:
        completions = [pair["chosen"], pair["rejected"]]
        before = sequence_logps(reference, fmt, pair["prompt"], completions)
        after = sequence_logps(student, fmt, pair["prompt"], completions)
        change = (after[0] - before[0], after[1] - before[1])
        for key in (pair.get("fault_type") or "unknown", "all"):
            changes[key].append(change)
    report = {}
    for key, values in sorted(changes.items()):
        n = len(values)
        report[key] = {"n": n,
                       "chosen_change": round(sum(c for c, _ in values) / n, 4),
                       "rejected_change": round(sum(r for _, r in values) / n, 4),
                       "chosen_fell": round(sum(c < 0 for c, _ in values) / n, 4),
                       "margin_change": round(sum(c - r for c, r in values) / n, 4)}
    return report


def heldout_change(reference, student, fmt, tasks: list[dict], style: str) -> dict:
    """n, mean change of log p(reference solution | the student's prompt) and the share that fell,
    over held-out tasks: whether FCL lowered correct code it never saw, not only its chosen side."""
    from soda.prompts import student_prompt

    changes = []
    for task in tasks:
        prompt = student_prompt(task["question"], style)
        before, = sequence_logps(reference, fmt, prompt, [task["reference"]])
        after, = sequence_logps(student, fmt, prompt, [task["reference"]])
        changes.append(after - before)
    n = len(changes)
    return {"n": n, "change": round(sum(changes) / n, 4), "fell": round(sum(c < 0 for c in changes) / n, 4)}


def main(argv: list[str] | None = None) -> int:
    import argparse

    from soda.io import read_rows
    from soda.modeling import load_model
    from soda.prompts import PromptFormat

    p = argparse.ArgumentParser(prog="soda displacement", description=__doc__.split("\n\n")[0])
    p.add_argument("--reference", required=True, help="the FCL reference model dir (the cycle's CSL model)")
    p.add_argument("--student", required=True, help="the model after FCL")
    p.add_argument("--pairs", help="the FCL set (JSONL of prompt, chosen, rejected[, fault_type])")
    p.add_argument("--heldout", help="held-out tasks (JSONL of question, reference), e.g. data/world/heldout.jsonl")
    p.add_argument("--student-prompt", default="compact", choices=["compact", "paper"],
                   help="--heldout: the student's prompt (params: generation.student_prompt)")
    p.add_argument("--chat-template", default="auto", choices=["auto", "none"],
                   help="the student's format, as trained (params: student.chat_template)")
    args = p.parse_args(argv)
    if not (args.pairs or args.heldout):
        p.error("give --pairs, --heldout or both")
    pairs = read_rows(args.pairs, "FCL pair", ("prompt", "chosen", "rejected")) if args.pairs else []
    tasks = read_rows(args.heldout, "held-out task", ("question", "reference")) if args.heldout else []
    reference, tokenizer = load_model(args.reference)
    student, _ = load_model(args.student)
    reference.eval(), student.eval()
    fmt = PromptFormat.of(tokenizer, args.chat_template)
    report = {}
    if pairs:
        report.update(pairs=args.pairs, by_fault=measure(reference, student, fmt, pairs))
    if tasks:
        report.update(heldout=args.heldout,
                      heldout_reference=heldout_change(reference, student, fmt, tasks, args.student_prompt))
    print(json.dumps(report))
    return 0
