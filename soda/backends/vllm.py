"""The in-process vLLM engine on CUDA GPUs (tensor parallel), imported only when chosen.

vLLM schedules its own batches; items are handed to it `batch_size` at a time only so that
the call cache commits results as they come (a crash loses at most one chunk). Each item
carries its seed in its SamplingParams, as with the other backends.
"""

from __future__ import annotations

from soda.backends.base import Backend, Completion, cut_at_stop
from soda.backends.hf import model_fingerprint
from soda.io import InputError


class VLLMBackend(Backend):
    name = "vllm"

    def __init__(self, model: str, *, tensor_parallel_size: int = 1, batch_size: int = 256, cache=None):
        try:
            from vllm import LLM, SamplingParams
        except ImportError as e:
            raise InputError(f"backend: 'vllm' needs the vllm package and a CUDA GPU (pip install 'soda[gpu]'): {e}") from None
        super().__init__(model, cache=cache, identity={"weights": model_fingerprint(model)})
        self.SamplingParams = SamplingParams
        self.llm = LLM(model=model, tensor_parallel_size=tensor_parallel_size, seed=0)
        self.batch_size = batch_size

    def _run(self, items, sp):
        for start in range(0, len(items), self.batch_size):
            chunk = items[start:start + self.batch_size]
            params = [self.SamplingParams(n=1, temperature=sp.temperature, top_p=sp.top_p, max_tokens=sp.max_new_tokens,
                                          stop=list(sp.stop) or None, seed=None if sp.greedy else seed)
                      for _, seed in chunk]
            outputs = self.llm.generate([prompt for prompt, _ in chunk], params, use_tqdm=False)
            for k, request in enumerate(outputs):
                out = request.outputs[0]
                self.counters["calls"] += 1
                self.counters["prompt_tokens"] += len(request.prompt_token_ids or ())
                self.counters["completion_tokens"] += len(out.token_ids)
                text, stopped = cut_at_stop(out.text, sp.stop)
                yield start + k, Completion(text, "length" if out.finish_reason == "length" and not stopped else "stop")
