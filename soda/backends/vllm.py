"""The in-process vLLM engine on CUDA GPUs (tensor parallel), imported only when chosen.

vLLM schedules its own batches; requests are handed to it `batch_size` at a time only so that
the call cache commits results as they come (a crash loses at most one chunk). A prompt's n
samples are one request, SamplingParams(n=n, seed=seed): they share the prompt's prefill and
KV cache, and are reproducible for the same seed and n. With a chat template (`chat_template:
auto`), a prompt is handed over as its token ids, soda.prompts.PromptFormat's as in training.
"""

from __future__ import annotations

from soda.backends.base import Backend, Completion, cut_at_stop
from soda.backends.hf import model_fingerprint
from soda.io import InputError
from soda.prompts import PromptFormat, check_chat_mode, has_chat_template


class VLLMBackend(Backend):
    name = "vllm"
    samples_per_request = True

    def __init__(self, model: str, *, tensor_parallel_size: int = 1, batch_size: int = 256, cache=None,
                 chat_template: str = "auto"):
        try:
            from vllm import LLM, SamplingParams
        except ImportError as e:
            raise InputError(f"backend: 'vllm' needs the vllm package and a CUDA GPU (pip install 'soda[gpu]'): {e}") from None
        super().__init__(model, cache=cache, identity={"weights": model_fingerprint(model)})
        self.SamplingParams = SamplingParams
        self.llm = LLM(model=model, tensor_parallel_size=tensor_parallel_size, seed=0)
        self.batch_size = batch_size
        self.chat = check_chat_mode(chat_template) == "auto" and has_chat_template(model)
        if self.chat:
            from transformers import AutoTokenizer

            self.format = PromptFormat(AutoTokenizer.from_pretrained(model), chat=True)

    def _run(self, requests, sp):
        for start in range(0, len(requests), self.batch_size):
            chunk = requests[start:start + self.batch_size]
            # A chat answer ends at the template's end of turn, whether or not the model's EOS is it.
            end = {"stop_token_ids": self.format.end_ids} if sp.chat else {}
            params = [self.SamplingParams(n=k, temperature=sp.temperature, top_p=sp.top_p, max_tokens=sp.max_new_tokens,
                                          stop=list(sp.stop) or None, seed=None if sp.greedy else seed, **end)
                      for _, seed, k in chunk]
            # Token ids: vLLM would tokenise a rendered text with a second BOS.
            prompts = [{"prompt_token_ids": self.format.prompt_ids(p)} if sp.chat else p for p, _, _ in chunk]
            outputs = self.llm.generate(prompts, params, use_tqdm=False)
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
