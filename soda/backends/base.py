"""The generation interface shared by the teacher and the student, and what every backend has in common.

A backend turns prompts into completions. `Backend.complete` does the bookkeeping once for all
backends: one *request* per prompt and seed (with all n samples where the backend draws them
together, else one per sample with its own seed), so that a result does not depend on the batch
it lands in; the call cache (a request already answered is never
asked again, even after a crash); a progress bar with rate and ETA; and counters for MLflow.
A subclass only implements `_run`, which yields requests' completions as they finish.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Iterator, NamedTuple, Protocol

from tqdm import tqdm

from soda.io import InputError
from soda.prompts import check_chat_mode

if TYPE_CHECKING:
    from soda.params import Connection


class Completion(NamedTuple):
    text: str  # the completion alone, cut at the first stop sequence
    finish: str  # "stop" (end of sequence or a stop string), "length" (hit max_new_tokens) or "error"


@dataclass(frozen=True)
class Sampling:
    temperature: float
    top_p: float
    max_new_tokens: int
    stop: tuple[str, ...]
    system: str | None = None  # a system message, for backends that take one (chat)
    chat: bool = False  # the prompt is rendered with the model's chat template (hf, vllm: soda.prompts.PromptFormat)

    @property
    def greedy(self) -> bool:
        return self.temperature == 0


class GenerationBackend(Protocol):
    name: str
    model: str
    counters: dict[str, int]

    def generate(self, prompts: list[str], *, n: int = 1, temperature: float = 0.0, top_p: float = 1.0,
                 max_new_tokens: int = 256, stop: list[str] | None = None, seed: int = 0,
                 chat: bool = True) -> list[list[str]]:
        """n completions per prompt (text only, cut at stop sequences); temperature 0 is greedy.
        `chat`: the prompts are messages, rendered with the model's chat template where the backend
        uses one (hf, vllm); False for a text to continue (a benchmark's code prompt)."""

    def complete(self, prompts: list[str], *, n: int = 1, temperature: float = 0.0, top_p: float = 1.0,
                 max_new_tokens: int = 256, stop: list[str] | None = None, seed: int = 0,
                 desc: str = "generate", system: str | None = None, chat: bool = True) -> list[list[Completion]]:
        """As `generate`, with each completion's finish reason (to drop outputs cut at the token limit);
        `system`: a system message (a chat backend sends it as one, others put it before the prompt)."""


def cut_at_stop(text: str, stop: tuple[str, ...] | list[str]) -> tuple[str, bool]:
    """The text before the earliest stop sequence, and whether one was found."""
    cut = min((i for i in (text.find(s) for s in stop if s) if i >= 0), default=-1)
    return (text[:cut], True) if cut >= 0 else (text, False)


def item_seed(seed: int, prompt: str, sample: int) -> int:
    # Hashing the prompt in keeps different prompts' samples uncorrelated; 63 bits fit every RNG.
    digest = hashlib.sha256(f"{seed}\0{sample}\0{prompt}".encode()).digest()
    return int.from_bytes(digest[:8], "big") >> 1


class Backend:
    name = "base"
    samples_per_request = False  # True: a prompt's n samples come from one request (see `complete`)
    takes_system = False  # whether _run sends Sampling.system as a message of its own
    chat = False  # whether _run renders prompts with the model's chat template (hf, vllm with one)

    def __init__(self, model: str, *, cache=None, identity: dict | None = None):
        self.model = model
        self.cache = cache
        # What, besides the prompt and sampling, decides the output: part of every cache key.
        self.identity = {"backend": self.name, "model": model, **(identity or {})}
        self.counters = {"calls": 0, "cache_hits": 0, "retries": 0, "errors": 0,
                         "prompt_tokens": 0, "completion_tokens": 0}

    def generate(self, prompts, *, n=1, temperature=0.0, top_p=1.0, max_new_tokens=256, stop=None, seed=0, chat=True):
        rows = self.complete(prompts, n=n, temperature=temperature, top_p=top_p,
                             max_new_tokens=max_new_tokens, stop=stop, seed=seed, chat=chat)
        return [[c.text for c in row] for row in rows]

    def complete(self, prompts, *, n=1, temperature=0.0, top_p=1.0, max_new_tokens=256, stop=None, seed=0,
                 desc="generate", system=None, chat=True):
        sp = _sampling(n, temperature, top_p, max_new_tokens, stop, system if self.takes_system else None,
                       chat and self.chat)
        if system and not self.takes_system:
            prompts = [f"{system}\n{p}" for p in prompts]
        # A request is (prompt, seed, samples). Greedy samples are all the same: one sample per
        # prompt, whatever n and the seed. Backends that draw a prompt's n samples in one request
        # (openai's `n`, vLLM's SamplingParams(n=...)) ask once, seeded once; the others ask each
        # sample with its own seed, so that a sample does not depend on n or on its batch.
        requests, slots = [], []  # slots[i]: (request, choice) of each of prompt i's n samples
        for p in prompts:
            if sp.greedy or self.samples_per_request:
                k = 1 if sp.greedy else n
                requests.append((p, 0 if sp.greedy else item_seed(seed, p, 0), k))
                slots.append([(len(requests) - 1, 0 if sp.greedy else j) for j in range(n)])
            else:
                slots.append([(len(requests) + j, 0) for j in range(n)])
                requests.extend((p, item_seed(seed, p, j), 1) for j in range(n))
        keys = [self._key(p, s, k, sp) for p, s, k in requests]
        cached = self.cache.get_many({c for key, (_, _, k) in zip(keys, requests) for c in _choice_keys(key, k)}) \
            if self.cache is not None else {}
        results: dict[str, list[Completion]] = {}
        for key, (_, _, k) in zip(keys, requests):
            if all(c in cached for c in _choice_keys(key, k)):
                results[key] = [cached[c] for c in _choice_keys(key, k)]
        self.counters["cache_hits"] += sum(k in results for k in keys)
        todo = list({k: req for k, req in zip(keys, requests) if k not in results}.items())
        with tqdm(total=len(todo), desc=f"{desc} [{self.name}]", unit="call", disable=not todo,
                  dynamic_ncols=True, mininterval=1.0) as bar:
            # Nothing to ask: no model is loaded and no server contacted (a cached rerun works offline).
            for i, completions in self._run([req for _, req in todo], sp) if todo else ():
                key = todo[i][0]
                results[key] = completions
                if any(c.finish == "error" for c in completions):
                    self.counters["errors"] += 1  # not cached: a rerun asks again
                elif self.cache is not None:
                    self.cache.put_many(zip(_choice_keys(key, len(completions)), completions))
                bar.update(1)
        return [[results[keys[r]][j] for r, j in row] for row in slots]

    def _key(self, prompt: str, seed: int, samples: int, sp: Sampling) -> str:
        key = {**self.identity, "prompt": prompt, "seed": seed, "max_new_tokens": sp.max_new_tokens,
               "stop": sorted(sp.stop), "temperature": sp.temperature, "top_p": 1.0 if sp.greedy else sp.top_p}
        if samples > 1:  # the choices of a request with n samples depend on n
            key["n"] = samples
        if sp.system:
            key["system"] = sp.system
        if sp.chat:  # absent without a template: the keys of raw prompts are those before templates were read
            key["chat_template"] = True
        return hashlib.sha256(json.dumps(key, sort_keys=True, ensure_ascii=False).encode()).hexdigest()

    def _run(self, requests: list[tuple[str, int, int]], sp: Sampling) -> Iterator[tuple[int, list[Completion]]]:
        """Yield (index in requests, its completions) for every (prompt, seed, samples) request, in
        any order, as each finishes."""
        raise NotImplementedError


def _choice_keys(key: str, samples: int) -> list[str]:
    """The cache keys of a request's choices: the request's own key when it has one sample."""
    return [key] if samples == 1 else [f"{key}/{j}" for j in range(samples)]


def _sampling(n, temperature, top_p, max_new_tokens, stop, system=None, chat=False) -> Sampling:
    if not isinstance(n, int) or n < 1:
        raise InputError(f"generation: n must be a positive integer, got {n!r}")
    if temperature < 0:
        raise InputError(f"generation: temperature must be >= 0, got {temperature!r}")
    if not 0 < top_p <= 1:
        raise InputError(f"generation: top_p must be in (0, 1], got {top_p!r}")
    if not isinstance(max_new_tokens, int) or max_new_tokens < 1:
        raise InputError(f"generation: max_new_tokens must be a positive integer, got {max_new_tokens!r}")
    return Sampling(float(temperature), float(top_p), max_new_tokens, tuple(stop or ()), system or None, chat)


BACKENDS = ("hf", "openai", "vllm")


def make_backend(kind: str, model: str | None, endpoint: str, connection: Connection, cache_dir: Path | None,
                 role: str, chat_template: str = "auto"):
    """A backend: `kind`, `model` and `endpoint` from a params section (`role`: `teacher` or
    `generation`), how it is reached and run from `runtime.<role>` (`connection`); `cache_dir`:
    the call cache's folder (None: no cache); `chat_template` (`auto` or `none`; hf, vllm): whether
    prompts are rendered with the model's chat template (openai: the server's own)."""
    if kind not in BACKENDS:
        raise InputError(f"{role}.backend must be one of {', '.join(BACKENDS)}, got {kind!r}")
    if not model:
        raise InputError(f"{role}.model: backend {kind!r} needs a model (a path or an id), got {model!r}")
    cache = None
    if cache_dir is not None:
        from soda.backends.cache import CallCache
        cache = CallCache(cache_dir)
    chat_template = check_chat_mode(chat_template)
    if kind == "hf":
        from soda.backends.hf import HFBackend
        return HFBackend(model, batch_size=connection.batch_size, device=connection.device, cache=cache,
                         chat_template=chat_template)
    if kind == "openai":
        if not connection.base_url:
            raise InputError(f"runtime.{role}.base_url: the openai backend needs the server's URL, "
                             "e.g. http://localhost:8000/v1")
        from soda.backends.openai import OpenAIBackend
        return OpenAIBackend(model, base_url=connection.base_url, api_key_env=connection.api_key_env, endpoint=endpoint,
                             concurrency=connection.concurrency, max_retries=connection.max_retries,
                             timeout_s=connection.timeout_s, cache=cache)
    from soda.backends.vllm import VLLMBackend
    return VLLMBackend(model, tensor_parallel_size=connection.tensor_parallel_size, batch_size=connection.batch_size,
                       cache=cache, chat_template=chat_template)
