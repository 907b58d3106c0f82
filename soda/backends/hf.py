"""Generation with transformers: batched, left-padded, with a KV cache, on CPU or GPU.

The decoding loop is written out rather than delegated to `model.generate` for one reason:
each row samples from its own seeded generator, so a prompt's sample is the same whether
it is generated alone or in a batch of 64 (and so the call cache can key it by its seed).
Prompts are sorted by length so that a batch holds little padding.

torch and transformers are imported when the weights load, at the first call the cache
cannot answer: a fully cached re-run of a stage never pays for them (with a local model: a hub
model's tokenizer is loaded at once, to know whether it has a chat template).
"""

from __future__ import annotations

import functools
import hashlib
from pathlib import Path
from typing import TYPE_CHECKING

from soda.backends.base import Backend, Completion, Sampling, cut_at_stop
from soda.prompts import PromptFormat, check_chat_mode, has_chat_template

if TYPE_CHECKING:
    import torch


class HFBackend(Backend):
    name = "hf"

    def __init__(self, model: str, *, batch_size: int = 16, device: str | None = None, cache=None,
                 chat_template: str = "auto"):
        super().__init__(model, cache=cache, identity={"weights": model_fingerprint(model)})
        # Known before the weights load: whether a prompt is rendered is part of its cache key.
        self.chat = check_chat_mode(chat_template) == "auto" and has_chat_template(model)
        self.device_name = device  # None: cuda if available; resolved in load()
        self.batch_size = batch_size
        self.lm = self.tokenizer = None

    def load(self) -> None:
        """Load the weights; done at the first call the cache cannot answer, so a cached rerun never pays it."""
        if self.lm is not None:
            return
        import torch

        from soda.modeling import load_model

        self.device = torch.device(self.device_name or ("cuda" if torch.cuda.is_available() else "cpu"))
        dtype = torch.bfloat16 if self.device.type == "cuda" else torch.float32
        self.lm, self.tokenizer = load_model(self.model, device=self.device, dtype=dtype)
        self.lm.eval()
        eos = self.lm.generation_config.eos_token_id
        eos = eos if isinstance(eos, list) else [eos]
        self.eos_ids = {t for t in [*eos, self.tokenizer.eos_token_id] if t is not None}
        self.formats = {False: PromptFormat(self.tokenizer, chat=False)}
        if self.chat:
            self.formats[True] = PromptFormat(self.tokenizer, chat=True)
            if len(self.formats[True].end_ids) == 1:  # a template's end of turn ends an answer, EOS or not
                self.eos_ids |= set(self.formats[True].end_ids)

    def _run(self, requests, sp):
        # One sample per request (samples_per_request is False): each row has its own seed.
        self.load()
        encoded = [self.formats[sp.chat].prompt_ids(prompt) for prompt, _, _ in requests]
        # Longest first: an out-of-memory error shows up in the first batch, not after hours.
        order = sorted(range(len(requests)), key=lambda i: -len(encoded[i]))
        for start in range(0, len(order), self.batch_size):
            batch = order[start:start + self.batch_size]
            outs = self._generate_batch([encoded[i] for i in batch], [requests[i][1] for i in batch], sp)
            yield from ((i, [out]) for i, out in zip(batch, outs))

    def _generate_batch(self, prompts: list[list[int]], seeds: list[int], sp: Sampling) -> list[Completion]:
        import torch

        with torch.inference_mode():
            return self._decode(prompts, seeds, sp)

    def _decode(self, prompts: list[list[int]], seeds: list[int], sp: Sampling) -> list[Completion]:
        import torch
        from transformers import DynamicCache
        from transformers.cache_utils import DynamicLayer

        rows, width = len(prompts), max(len(p) for p in prompts)
        pad = self.tokenizer.pad_token_id
        ids = torch.tensor([[pad] * (width - len(p)) + p for p in prompts], device=self.device)
        mask = torch.tensor([[0] * (width - len(p)) + [1] * len(p) for p in prompts], device=self.device)
        # Left padding shifts the prompts; positions must still start at 0 for each one.
        positions = (mask.cumsum(-1) - 1).clamp(min=0)
        kv = DynamicCache(config=self.lm.config)
        kv.layers = [_preallocated_layer()(width + sp.max_new_tokens) if type(layer) is DynamicLayer else layer
                     for layer in kv.layers]
        generators = None if sp.greedy else [torch.Generator(device=self.device).manual_seed(s) for s in seeds]
        # A stop string spans a few tokens; decoding a short tail each step is enough to notice it.
        tail = 2 * max((len(s) for s in sp.stop), default=0) + 4
        out: list[list[int]] = [[] for _ in range(rows)]
        done = [False] * rows
        step_ids = ids
        for _ in range(sp.max_new_tokens):
            logits = self.lm(input_ids=step_ids, attention_mask=mask, position_ids=positions, cache=kv,
                             use_cache=True, logits_to_keep=1).logits[:, -1, :].float()
            # Only unfinished rows pick a token: sampling every row took a fifth of evaluate's time,
            # most of it on finished rows (most of a batch, near its end). A finished row stays in the
            # batch, fed padding, which changes no other row's numbers; dropping it would (the CPU
            # attention kernel's result for a row depends on the batch's size).
            live = [i for i in range(rows) if not done[i]]
            if len(live) == rows:
                next_ids = self._pick(logits, generators, sp)
            else:
                next_ids = torch.full((rows,), pad, dtype=torch.long, device=self.device)
                next_ids[live] = self._pick(logits[live], generators and [generators[i] for i in live], sp)
            for i, token in enumerate(next_ids.tolist()):
                if done[i]:
                    continue
                if token in self.eos_ids:
                    done[i] = True
                    continue
                out[i].append(token)
                if sp.stop and cut_at_stop(self.tokenizer.decode(out[i][-tail:]), sp.stop)[1]:
                    done[i] = True
            if all(done):
                break
            step_ids = next_ids[:, None]
            mask = torch.cat([mask, mask.new_ones(rows, 1)], dim=1)
            positions = positions[:, -1:] + 1
        self.counters["calls"] += rows
        self.counters["prompt_tokens"] += sum(len(p) for p in prompts)
        self.counters["completion_tokens"] += sum(len(o) for o in out)
        results = []
        for i in range(rows):
            text, stopped = cut_at_stop(self.tokenizer.decode(out[i], skip_special_tokens=True), sp.stop)
            results.append(Completion(text, "stop" if done[i] or stopped else "length"))
        return results

    @staticmethod
    def _pick(logits: torch.Tensor, generators, sp: Sampling) -> torch.Tensor:
        import torch

        if sp.greedy:
            return logits.argmax(dim=-1)
        probs = torch.softmax(logits / sp.temperature, dim=-1)
        if sp.top_p < 1:
            # Nucleus: keep the smallest set of tokens whose probability reaches top_p.
            sorted_probs, index = probs.sort(dim=-1, descending=True)
            outside = sorted_probs.cumsum(dim=-1) - sorted_probs > sp.top_p
            probs = probs.scatter(-1, index, sorted_probs.masked_fill(outside, 0.0))
        return torch.cat([torch.multinomial(probs[i], 1, generator=g) for i, g in enumerate(generators)])


@functools.cache
def _preallocated_layer():
    """transformers' DynamicLayer, whose keys and values grow by concatenation (a copy of the whole
    cache at every token), with buffers sized for the whole generation instead: each step writes
    its slice, and attention reads the same numbers through a view (the same outputs, measured)."""
    from transformers.cache_utils import DynamicLayer

    class PreallocatedLayer(DynamicLayer):
        def __init__(self, capacity: int):
            super().__init__()
            self.capacity, self.length = capacity, 0

        def update(self, key_states, value_states, *args, **kwargs):
            if not self.is_initialized:
                self.lazy_initialization(key_states, value_states)
                self.key_buffer = key_states.new_empty(*key_states.shape[:2], self.capacity, key_states.shape[-1])
                self.value_buffer = value_states.new_empty(*value_states.shape[:2], self.capacity,
                                                           value_states.shape[-1])
            end = self.length + key_states.shape[-2]
            self.key_buffer[:, :, self.length:end] = key_states
            self.value_buffer[:, :, self.length:end] = value_states
            self.length = end
            self.keys, self.values = self.key_buffer[:, :, :end], self.value_buffer[:, :, :end]
            return self.keys, self.values

    return PreallocatedLayer


def model_fingerprint(model: str) -> str:
    """A hash of a local model directory's files (so a retrained model never hits a stale cache); an id as is."""
    path = Path(model)
    if not path.is_dir():
        return model
    h = hashlib.sha256()
    for f in sorted(path.iterdir()):
        if f.is_file() and f.name != "card.json":  # the card describes the model; it does not change outputs
            h.update(f.name.encode() + b"\0")
            with f.open("rb") as fh:
                for block in iter(lambda: fh.read(1 << 20), b""):
                    h.update(block)
    return h.hexdigest()
