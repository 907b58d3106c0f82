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
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from soda.params import Runtime, Teacher as TeacherParams

FAULT_TYPES = ("syntax", "logical", "type", "name", "timeout")


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


def make_teacher(cfg: TeacherParams, runtime: Runtime, *, model_dir: Path, seed: int, verdicts=None) -> Teacher:
    """The teacher named by params' `teacher` section, reached as `runtime.teacher` says.
    `model_dir`: the stage's models/init/teacher (its DVC dep), where a local `hf`/`vllm` teacher
    model lies. `verdicts`: the sandbox verdict store the reference teacher verifies its faults with
    (default: the one in runtime's cache folder), so that a stage that also runs code counts one store."""
    if cfg.backend == "reference":
        from sandbox.cache import result_cache
        from soda.world.teacher import ReferenceTeacher

        return ReferenceTeacher(seed=seed, timeout_s=cfg.reference_timeout_s,
                                cache=verdicts if verdicts is not None else result_cache(runtime.cache_path))
    from soda.backends.base import make_backend
    from soda.backends.llm_teacher import LLMTeacher

    from soda.params import model_source

    model = cfg.model
    if cfg.backend in ("hf", "vllm") and model:  # openai's model is the name the server serves
        model = model_source("teacher.model", model, model_dir)
    backend = make_backend(cfg.backend, model, cfg.endpoint, runtime.teacher, runtime.cache_path, "teacher",
                           cfg.chat_template)
    return LLMTeacher(backend, prompts=cfg.prompts, lang=cfg.lang, max_new_tokens=cfg.max_new_tokens,
                      temperature=cfg.temperature, seed=seed)


def teacher_counters(teacher) -> dict:
    """Calls, cache hits, retries and drop reasons of an LLM teacher (and its backend), for MLflow."""
    counters = dict(getattr(teacher, "counters", {}) or {})
    backend = getattr(teacher, "backend", None)
    counters.update({f"backend_{k}": v for k, v in (getattr(backend, "counters", {}) or {}).items()})
    return counters
