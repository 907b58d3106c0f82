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

from typing import TYPE_CHECKING

from soda.prompts import render, student_prompt

if TYPE_CHECKING:
    from soda.params import Generation, Runtime

SCORING_FORMATS = ("full", "compact")

# The student's completion ends at the end of its function: a new prompt header or EOS.
STUDENT_STOP = ["\n### "]


def backend_for(model_path: str, gen: Generation, runtime: Runtime, chat_template: str = "auto"):
    """The generation backend for one model (the student's or the scorer's; `generation.model`
    names the served model instead for an openai backend). `chat_template`: params'
    student.chat_template (the student's and the scorer's)."""
    from soda.backends.base import make_backend

    return make_backend(gen.backend, model_path, gen.endpoint, runtime.generation, runtime.cache_path, "generation",
                        chat_template)


def answer(model_path: str, questions: list[dict], gen: Generation, runtime: Runtime, *, n: int = 1,
           temperature: float = 0.0, top_p: float = 1.0, seed: int, chat_template: str = "auto") -> list[list[str]]:
    """n code answers per question (the completion after the student prompt, in the style of
    `generation.student_prompt`)."""
    backend = backend_for(model_path, gen, runtime, chat_template)
    prompts = [student_prompt(q["question"], gen.student_prompt) for q in questions]
    outs = backend.generate(prompts, n=n, temperature=temperature, top_p=top_p,
                            max_new_tokens=gen.max_new_tokens, stop=STUDENT_STOP, seed=seed)
    return [[o.strip("\n") + "\n" for o in per_q] for per_q in outs]


def scorer_card(scorer_path: str) -> tuple[str, str]:
    """(format, head) a scorer was trained with, from its card: `full` and `generative`, the
    paper's, for any other model."""
    from soda.modeling import read_card

    card = read_card(scorer_path)
    fmt = card.get("scoring_format", "full")
    return fmt if fmt in SCORING_FORMATS else "full", card.get("scoring_head", "generative")


def scorer_example(question: str, code: str, annotation: str, fmt: str) -> dict:
    """A (prompt, completion) training pair for the scoring model in format `fmt`."""
    if fmt == "full":
        return {"prompt": render("scoring", question=question, code=code), "completion": annotation}
    start = annotation.find("Score:")
    return {"prompt": render("scoring_compact", question=question, code=code),
            "completion": annotation[start:] if start >= 0 else annotation}


def score(scorer_path: str, questions: list[dict], codes: list[str], gen: Generation, runtime: Runtime, *,
          seed: int, chat_template: str = "auto") -> list:
    """The scoring model's rubric for each (question, code): a list of soda.scoring.ScoreParse.
    A score-head scorer (card's `scoring_head`, soda/score_head.py) gives the score without rule points."""
    from soda.scoring import ScoreParse, parse_score

    fmt, head = scorer_card(scorer_path)
    prompts = [scorer_example(q["question"], c, "", fmt)["prompt"] for q, c in zip(questions, codes)]
    if head != "generative":
        from soda.score_head import predict

        values = predict(scorer_path, head, prompts, batch_size=runtime.generation.batch_size,
                         max_length=gen.scorer_max_length, device=runtime.generation.device,
                         chat_template=chat_template)
        return [ScoreParse(None, v, None) for v in values]
    backend = backend_for(scorer_path, gen, runtime, chat_template)
    outs = backend.generate(prompts, n=1, temperature=0.0, max_new_tokens=getattr(gen.scorer_max_new_tokens, fmt),
                            seed=seed)
    return [parse_score(o[0]) for o in outs]
