"""Any OpenAI-compatible server: `vllm serve`, llama.cpp's server, Ollama, a hosted API.

One HTTP request per prompt and seed, carrying all n samples (`n`: the server shares the
prompt's prefill among them), through aiohttp's client: at most `concurrency` requests at once
on one event loop (aiohttp rather than httpx: httpx's connection pool costs milliseconds of CPU
per request at a concurrency of 100 or more, which caps a 2-core machine far below the server), driven from `_run` so that each answer is handed to the call cache (and
committed) as soon as it arrives. Transient failures (429, 5xx, timeouts, dropped connections)
are retried with exponential backoff and jitter, honouring Retry-After. Configuration problems
(server unreachable, wrong key, unknown model) raise InputError at once, before anything is
spent: the first call checks `GET /models`. A request the server refuses as bad (400, e.g. a
prompt longer than the context) is an error for that request only, unless none has succeeded yet.
"""

from __future__ import annotations

import asyncio
import json
import os
import random

import aiohttp

from soda.backends.base import Backend, Completion, cut_at_stop
from soda.io import InputError

MAX_STOP = 4  # the most stop sequences the OpenAI API accepts; the rest are cut here
NETWORK_ERRORS = (aiohttp.ClientError, asyncio.TimeoutError)


class BackendError(RuntimeError):
    """A call failed after all its retries: the stage stops; the cache keeps what returned."""


class OpenAIBackend(Backend):
    name = "openai"
    samples_per_request = True

    def __init__(self, model: str, *, base_url: str, api_key_env: str = "OPENAI_API_KEY", endpoint: str = "chat",
                 concurrency: int = 8, max_retries: int = 5, timeout_s: float = 120.0, backoff_s: float = 1.0,
                 cache=None):
        if endpoint not in ("chat", "completions"):
            raise InputError(f"endpoint must be 'chat' or 'completions', got {endpoint!r}")
        # The chat template changes what the model sees, so the endpoint is part of the cache key.
        super().__init__(model, cache=cache, identity={"endpoint": endpoint})
        self.base_url = base_url.rstrip("/")
        self.api_key_env = api_key_env
        self.api_key = os.environ.get(api_key_env)  # local servers need none
        self.endpoint = endpoint
        self.path = "/chat/completions" if endpoint == "chat" else "/completions"
        self.takes_system = endpoint == "chat"
        self.concurrency, self.max_retries, self.timeout_s, self.backoff_s = concurrency, max_retries, timeout_s, backoff_s
        self.checked = False
        self.succeeded = False
        self.loop = asyncio.new_event_loop()  # driven only inside _run and check, from the caller's thread
        self.session: aiohttp.ClientSession | None = None

    def _session(self) -> aiohttp.ClientSession:
        if self.session is None:
            headers = {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}
            connector = aiohttp.TCPConnector(limit=self.concurrency)
            self.session = aiohttp.ClientSession(headers=headers, connector=connector,
                                                 timeout=aiohttp.ClientTimeout(total=self.timeout_s))
        return self.session

    async def _http(self, method: str, path: str, payload: dict | None = None) -> tuple[int, dict, float | None]:
        """(status, JSON body, Retry-After seconds or None); network failures raise aiohttp.ClientError
        or asyncio.TimeoutError."""
        data = json.dumps(payload) if payload is not None else None
        async with self._session().request(method, self.base_url + path, data=data,
                                           headers={"Content-Type": "application/json"}) as response:
            return response.status, _json(await response.read()), _seconds(response.headers.get("Retry-After"))

    # -- configuration check ------------------------------------------------------------------
    def check(self) -> None:
        """Raise InputError unless the server answers, accepts the key and serves the model."""
        try:
            status, body, _ = self.loop.run_until_complete(self._http("GET", "/models"))
        except NETWORK_ERRORS as e:
            raise InputError(f"base_url: cannot reach {self.base_url} ({_reason(e)})") from None
        finally:
            self._close()
        if status in (401, 403):
            raise InputError(f"api_key_env: {self.base_url} refused the key in ${self.api_key_env} "
                             f"({'unset' if self.api_key is None else 'set'}): HTTP {status}")
        if status == 200:
            served = [m.get("id") for m in body.get("data", []) if isinstance(m, dict)]
            if self.model not in served:
                raise InputError(f"model: {self.base_url} does not serve {self.model!r}; it serves {served[:10]}")
        # Any other answer (a server without /models): the first real call will tell.
        self.checked = True

    # -- generation ------------------------------------------------------------------------------
    def _run(self, requests, sp):
        if not self.checked:
            self.check()
        todo = iter(enumerate(requests))
        done: asyncio.Queue = asyncio.Queue()

        async def worker():
            # Workers take the next request only when free: on a fatal error little else has started.
            for i, (prompt, seed, n) in todo:
                try:
                    await done.put((i, await self._call(prompt, seed, n, sp)))
                except Exception as e:  # noqa: BLE001 (handed to the caller, which raises it)
                    await done.put((i, e))
                    return

        async def next_batch():
            batch = [await done.get()]
            while not done.empty():
                batch.append(done.get_nowait())
            return batch

        workers = [self.loop.create_task(worker()) for _ in range(min(self.concurrency, len(requests)))]
        remaining = len(requests)
        try:
            while remaining:
                for i, result in self.loop.run_until_complete(next_batch()):
                    if isinstance(result, BaseException):
                        raise result
                    remaining -= 1
                    yield i, result
        finally:
            for task in workers:
                task.cancel()
            self.loop.run_until_complete(asyncio.gather(*workers, return_exceptions=True))
            self._close()

    def _close(self) -> None:
        # Connections live for one `complete` call: none is left open (or warned about) between calls.
        if self.session is not None:
            self.loop.run_until_complete(self.session.close())
            self.session = None

    async def _call(self, prompt: str, seed: int, n: int, sp) -> list[Completion]:
        payload = {"model": self.model, "max_tokens": sp.max_new_tokens, "temperature": sp.temperature,
                   "top_p": sp.top_p, "seed": seed}
        if n > 1:
            payload["n"] = n
        if sp.stop and len(sp.stop) <= MAX_STOP:
            payload["stop"] = list(sp.stop)
        if self.endpoint == "chat":
            system = [{"role": "system", "content": sp.system}] if sp.system else []
            payload["messages"] = [*system, {"role": "user", "content": prompt}]
        else:
            payload["prompt"] = prompt
        for attempt in range(self.max_retries + 1):
            try:
                status, body, retry_after = await self._http("POST", self.path, payload)
            except NETWORK_ERRORS as e:  # timeouts and refused or dropped connections
                status, body, retry_after = None, {"error": _reason(e)}, None
            if status == 200:
                return self._parse(body, n, sp)
            if status in (401, 403):
                raise InputError(f"api_key_env: {self.base_url} refused the key in ${self.api_key_env}: HTTP {status}")
            if status == 404:
                raise InputError(f"model: {self.base_url}{self.path} answered 404 for model {self.model!r}: {_message(body)}")
            if status is not None and not _transient(status):
                if not self.succeeded:  # every request is refused: a configuration problem, stop now
                    raise InputError(f"{self.base_url}{self.path} refused the first request: HTTP {status}: {_message(body)}")
                return [Completion("", "error")] * n
            if attempt == self.max_retries:
                break
            self.counters["retries"] += 1
            delay = retry_after if retry_after is not None else self.backoff_s * 2 ** attempt * (0.5 + random.random())
            await asyncio.sleep(min(delay, 60.0))
        raise BackendError(f"{self.base_url}{self.path}: no answer after {self.max_retries} retries "
                           f"(last: {status or 'no response'}: {_message(body)})")

    def _parse(self, body: dict, n: int, sp) -> list[Completion]:
        try:
            choices = sorted(body["choices"], key=lambda c: c.get("index", 0))
            texts = [c["message"]["content"] if self.endpoint == "chat" else c["text"] for c in choices]
        except (KeyError, IndexError, TypeError, AttributeError):
            texts = []
        if len(texts) != n:
            return [Completion("", "error")] * n  # garbled answer: dropped and counted, never cached
        self.succeeded = True
        usage = body.get("usage") or {}
        self.counters["calls"] += 1
        self.counters["prompt_tokens"] += int(usage.get("prompt_tokens") or 0)
        self.counters["completion_tokens"] += int(usage.get("completion_tokens") or 0)
        out = []
        for choice, text in zip(choices, texts):
            text, stopped = cut_at_stop(text or "", sp.stop)
            out.append(Completion(text, "length" if choice.get("finish_reason") == "length" and not stopped else "stop"))
        return out


def _transient(status: int) -> bool:
    return status in (408, 429) or status >= 500


def _seconds(value: str | None) -> float | None:
    try:
        return float(value) if value is not None else None
    except ValueError:  # an HTTP date: use our own backoff
        return None


def _json(raw: bytes) -> dict:
    try:
        body = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError):
        return {"error": raw[:200].decode("utf-8", "replace")}
    return body if isinstance(body, dict) else {"error": body}


def _message(body) -> str:
    error = body.get("error") if isinstance(body, dict) else body
    if isinstance(error, dict):
        error = error.get("message")
    return str(error if error is not None else body)[:300]


def _reason(e: Exception) -> str:
    return "timed out" if isinstance(e, asyncio.TimeoutError) else (str(e) or type(e).__name__)
