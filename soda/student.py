"""The student answering questions and the scoring model scoring answers, through any
generation backend (params' `generation` section). Used by feedback, evaluate and score-train."""

from __future__ import annotations

from soda.prompts import render, student_prompt

# The student's completion ends at the end of its function: a new prompt header or EOS.
STUDENT_STOP = ["\n### "]


def backend_for(model_path: str, gen_cfg: dict):
    from soda.backends.base import make_backend

    cfg = {k: v for k, v in gen_cfg.items() if k != "max_new_tokens"}
    cfg["model"] = model_path
    return make_backend(cfg)


def answer(model_path: str, questions: list[dict], gen_cfg: dict, *, n: int = 1, temperature: float = 0.0,
           top_p: float = 1.0, seed: int = 0) -> list[list[str]]:
    """n code answers per question (the completion after the student prompt)."""
    backend = backend_for(model_path, gen_cfg)
    prompts = [student_prompt(q["question"]) for q in questions]
    outs = backend.generate(prompts, n=n, temperature=temperature, top_p=top_p,
                            max_new_tokens=gen_cfg["max_new_tokens"], stop=STUDENT_STOP, seed=seed)
    return [[o.strip("\n") + "\n" for o in per_q] for per_q in outs]


def score(scorer_path: str, questions: list[dict], codes: list[str], gen_cfg: dict, *, seed: int = 0) -> list:
    """The scoring model's rubric for each (question, code): a list of soda.scoring.ScoreParse."""
    prompts = [render("scoring", question=q["question"], code=c) for q, c in zip(questions, codes)]
    return score_prompts(scorer_path, prompts, gen_cfg, seed=seed)


def score_prompts(scorer_path: str, prompts: list[str], gen_cfg: dict, *, seed: int = 0) -> list:
    """Score already-filled prompt C texts."""
    from soda.scoring import parse_score

    backend = backend_for(scorer_path, gen_cfg)
    # Annotations are longer than solutions: "Code Analysis: ... Score: Rule 1 ... Rule 5".
    outs = backend.generate(prompts, n=1, temperature=0.0, max_new_tokens=max(gen_cfg["max_new_tokens"], 256),
                            seed=seed)
    return [parse_score(o[0]) for o in outs]
