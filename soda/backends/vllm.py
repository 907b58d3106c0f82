"""The in-process vLLM engine on CUDA GPUs (tensor parallel), imported only when chosen.

vLLM schedules its own batches; requests are handed to it `batch_size` at a time only so that
the call cache commits results as they come (a crash loses at most one chunk). A prompt's n
samples are one request, SamplingParams(n=n, seed=seed): they share the prompt's prefill and
KV cache, and are reproducible for the same seed and n.
"""

from __future__ import annotations

from soda.backends.base import Backend, Completion, cut_at_stop
from soda.backends.hf import model_fingerprint
from soda.io import InputError


class VLLMBackend(Backend):
    name = "vllm"
    samples_per_request = True

    def __init__(self, model: str, *, tensor_parallel_size: int = 1, batch_size: int = 256, cache=None):
        try:
            from vllm import LLM, SamplingParams
        except ImportError as e:
            raise InputError(f"backend: 'vllm' needs the vllm package and a CUDA GPU (pip install 'soda[gpu]'): {e}") from None
        super().__init__(model, cache=cache, identity={"weights": model_fingerprint(model)})
        self.SamplingParams = SamplingParams
        self.llm = LLM(model=model, tensor_parallel_size=tensor_parallel_size, seed=0)
        self.batch_size = batch_size

    def _run(self, requests, sp):
        for start in range(0, len(requests), self.batch_size):
            chunk = requests[start:start + self.batch_size]
            params = [self.SamplingParams(n=k, temperature=sp.temperature, top_p=sp.top_p, max_tokens=sp.max_new_tokens,
                                          stop=list(sp.stop) or None, seed=None if sp.greedy else seed)
                      for _, seed, k in chunk]
            outputs = self.llm.generate([prompt for prompt, _, _ in chunk], params, use_tqdm=False)
            for k, request in enumerate(outputs):
                self.counters["calls"] += 1
                self.counters["prompt_tokens"] += len(request.prompt_token_ids or ())
                completions = []
                for out in sorted(request.outputs, key=lambda o: o.index):
                    self.counters["completion_tokens"] += len(out.token_ids)
                    text, stopped = cut_at_stop(out.text, sp.stop)
                    completions.append(Completion(text, "length" if out.finish_reason == "length" and not stopped
                                                  else "stop"))
                yield start + k, completions
