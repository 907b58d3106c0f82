"""The student answering questions and the scoring model scoring answers, through any
generation backend (params' `generation` section). Used by feedback, evaluate and score-train.

The scoring model reads and writes one of two formats, recorded in its card.json:
- `full` (the paper's): input = the filled prompt C, output = the teacher's whole
  annotation, "Code Analysis: ... Score: Rule 1. ...: x ... Rule 5. ...: x";
- `compact`: input = the question and the code under short headers, output = the "Score:"
  block alone. Same rubric and same points, about a quarter of the tokens: what lets a tiny
  scorer learn it on a CPU within minutes.
"""

from __future__ import annotations

import json
from pathlib import Path

from soda.prompts import render, student_prompt

SCORING_FORMATS = ("full", "compact")

# The student's completion ends at the end of its function: a new prompt header or EOS.
STUDENT_STOP = ["\n### "]


def backend_for(model_path: str, gen_cfg: dict):
    """The backend of params' `generation` section for this model; gen_cfg's `chat_template` is
    params' student.chat_template (the student's and the scorer's)."""
    from soda.backends.base import make_backend

    cfg = {k: v for k, v in gen_cfg.items() if k not in ("max_new_tokens", "student_prompt")}
    cfg["model"] = model_path
    return make_backend(cfg)


def answer(model_path: str, questions: list[dict], gen_cfg: dict, *, n: int = 1, temperature: float = 0.0,
           top_p: float = 1.0, seed: int = 0) -> list[list[str]]:
    """n code answers per question (the completion after the student prompt, in the style of
    `generation.student_prompt`)."""
    backend = backend_for(model_path, gen_cfg)
    prompts = [student_prompt(q["question"], gen_cfg.get("student_prompt", "compact")) for q in questions]
    outs = backend.generate(prompts, n=n, temperature=temperature, top_p=top_p,
                            max_new_tokens=gen_cfg["max_new_tokens"], stop=STUDENT_STOP, seed=seed)
    return [[o.strip("\n") + "\n" for o in per_q] for per_q in outs]


def scoring_format(scorer_path: str) -> str:
    """The format a scorer was trained on (its card), `full` for any other model."""
    card = Path(scorer_path) / "card.json"
    fmt = json.loads(card.read_text()).get("scoring_format", "full") if card.exists() else "full"
    return fmt if fmt in SCORING_FORMATS else "full"


def scorer_example(question: str, code: str, annotation: str, fmt: str) -> dict:
    """A (prompt, completion) training pair for the scoring model in format `fmt`."""
    if fmt == "full":
        return {"prompt": render("scoring", question=question, code=code), "completion": annotation}
    start = annotation.find("Score:")
    return {"prompt": render("scoring_compact", question=question, code=code),
            "completion": annotation[start:] if start >= 0 else annotation}


def score(scorer_path: str, questions: list[dict], codes: list[str], gen_cfg: dict, *, seed: int = 0) -> list:
    """The scoring model's rubric for each (question, code): a list of soda.scoring.ScoreParse.
    A score-head scorer (card's `scoring_head`, soda/score_head.py) gives the score without rule points."""
    from soda.modeling import read_card
    from soda.scoring import ScoreParse, parse_score

    fmt = scoring_format(scorer_path)
    prompts = [scorer_example(q["question"], c, "", fmt)["prompt"] for q, c in zip(questions, codes)]
    head = read_card(scorer_path).get("scoring_head", "generative")
    if head != "generative":
        from soda.score_head import predict

        values = predict(scorer_path, head, prompts, batch_size=gen_cfg["batch_size"], device=gen_cfg.get("device"),
                         chat_template=gen_cfg.get("chat_template") or "auto")
        return [ScoreParse(None, v, None) for v in values]
    backend = backend_for(scorer_path, gen_cfg)
    # A full annotation (analysis + five rules) is longer than a solution; the score block is not.
    max_new = max(gen_cfg["max_new_tokens"], 256) if fmt == "full" else 64
    outs = backend.generate(prompts, n=1, temperature=0.0, max_new_tokens=max_new, seed=seed)
    return [parse_score(o[0]) for o in outs]
