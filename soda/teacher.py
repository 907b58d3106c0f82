"""The teacher interface used by teacher-generate, score-train and evolve.

Two implementations:
- `soda.world.teacher.ReferenceTeacher`: the offline embedded teacher (reference
  solutions, verified injected faults, a rubric judge, procedural evolution);
- `soda.backends.llm_teacher.LLMTeacher`: prompts A-D sent to any generation backend
  (`openai`, `vllm`, `hf`).

Each method takes question rows (see docs/data.md) and returns one result per row, in order.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from soda.params import model_source
from soda.verdicts import result_cache

FAULT_TYPES = ("syntax", "logical", "type", "name", "timeout")
REFERENCE_TIMEOUT_S = 0.5


class Teacher(Protocol):
    def solve(self, questions: list[dict]) -> list[dict]:
        """Prompt A. Each result: {"code": str | None, "raw": str, "dropped": str | None}, and
        "verified": True when the teacher itself ran the code against the question's tests."""

    def fault(self, questions: list[dict]) -> list[dict]:
        """Prompt B. Each result: {"code", "raw", "fault_type", "dropped"} (and "verified" as for solve)."""

    def annotate(self, questions: list[dict], codes: list[str]) -> list[dict]:
        """Prompt C. Each result: {"prompt": filled prompt C, "text": "Code Analysis: ... Score: ...", "score": float | None}."""

    def evolve(self, questions: list[dict], harder: list[bool]) -> list[dict]:
        """Prompt D. Each result: a new question row (docs/data.md) or {"dropped": reason}."""


def make_teacher(cfg: dict, *, model_dir: Path, seed: int = 0, cache_dir: str | None = None, verdicts=None) -> Teacher:
    """The teacher named by params' `teacher` section. `model_dir`: the stage's models/init/teacher,
    where a local `hf`/`vllm` teacher model lies. `verdicts`: the sandbox verdict store the
    reference teacher verifies its faults with (default: the one in `cache_dir`), so that a
    stage that also runs code counts one store."""
    if cfg["backend"] == "reference":
        from soda.world.teacher import ReferenceTeacher

        # The world's programs run in milliseconds: half a CPU second is ample to tell a
        # timeout fault, and every timeout fault and hanging answer costs this much to verify.
        return ReferenceTeacher(seed=seed, timeout_s=REFERENCE_TIMEOUT_S, cache=verdicts if verdicts is not None else result_cache(cache_dir))
    from soda.backends.base import make_backend
    from soda.backends.llm_teacher import LLMTeacher

    backend_cfg = {k: v for k, v in cfg.items() if k not in ("prompts", "lang", "temperature", "max_new_tokens")}
    backend_cfg["cache_dir"] = cache_dir
    if cfg["backend"] in ("hf", "vllm") and cfg["model"]:  # openai's model is the name the server serves
        backend_cfg["model"] = model_source("teacher.model", cfg["model"], model_dir)
    return LLMTeacher(make_backend(backend_cfg), prompts=cfg.get("prompts", "paper"), lang=cfg.get("lang"),
                      max_new_tokens=cfg.get("max_new_tokens", 1024), temperature=cfg.get("temperature", 0.0),
                      seed=seed)


def teacher_counters(teacher) -> dict:
    """Calls, cache hits, retries and drop reasons of an LLM teacher (and its backend), for MLflow."""
    counters = dict(getattr(teacher, "counters", {}) or {})
    backend = getattr(teacher, "backend", None)
    counters.update({f"backend_{k}": v for k, v in (getattr(backend, "counters", {}) or {}).items()})
    return counters
