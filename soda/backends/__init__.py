"""Generation backends (hf, openai, vllm) behind one interface, the call cache, and the LLM teacher."""

from soda.backends.base import Completion, GenerationBackend, make_backend

__all__ = ["Completion", "GenerationBackend", "make_backend"]
