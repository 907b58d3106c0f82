"""Any OpenAI-compatible server: `vllm serve`, llama.cpp's server, Ollama, a hosted API.

One HTTP request per item (its seed in the request), at most `concurrency` at once from
threads. Transient failures (429, 5xx, timeouts, dropped connections) are retried with
exponential backoff and jitter, honouring Retry-After. Configuration problems (server
unreachable, wrong key, unknown model) raise InputError at once, before anything is spent:
the first call checks `GET /models`. A request the server refuses as bad (400, e.g. a prompt
longer than the context) is an error for that item only, unless no request has succeeded yet.
"""

from __future__ import annotations

import json
import os
import random
import socket
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait

from soda.backends.base import Backend, Completion, cut_at_stop
from soda.io import InputError

MAX_STOP = 4  # the most stop sequences the OpenAI API accepts; the rest are cut here


class BackendError(RuntimeError):
    """A call failed after all its retries: the stage stops; the cache keeps what returned."""


class OpenAIBackend(Backend):
    name = "openai"

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
        self.takes_system = endpoint == "chat"
        self.concurrency, self.max_retries, self.timeout_s, self.backoff_s = concurrency, max_retries, timeout_s, backoff_s
        self.checked = False
        self.succeeded = False
        self.lock = threading.Lock()  # counters are updated from the worker threads

    # -- configuration check ------------------------------------------------------------------
    def check(self) -> None:
        """Raise InputError unless the server answers, accepts the key and serves the model."""
        try:
            status, body, _ = self._http("GET", "/models")
        except (urllib.error.URLError, OSError) as e:
            raise InputError(f"base_url: cannot reach {self.base_url} ({_reason(e)})") from None
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
    def _run(self, items, sp):
        if not self.checked:
            self.check()
        todo = iter(enumerate(items))
        with ThreadPoolExecutor(self.concurrency) as pool:
            # A bounded window of requests in flight: on a fatal error, little else has started.
            running = {}
            try:
                while True:
                    while len(running) < 2 * self.concurrency:
                        nxt = next(todo, None)
                        if nxt is None:
                            break
                        i, (prompt, seed) = nxt
                        running[pool.submit(self._call, prompt, seed, sp)] = i
                    if not running:
                        return
                    finished, _ = wait(running, return_when=FIRST_COMPLETED)
                    for future in finished:
                        yield running.pop(future), future.result()
            finally:
                for future in running:
                    future.cancel()

    def _call(self, prompt: str, seed: int, sp) -> Completion:
        payload = {"model": self.model, "max_tokens": sp.max_new_tokens, "temperature": sp.temperature,
                   "top_p": sp.top_p, "seed": seed}
        if sp.stop and len(sp.stop) <= MAX_STOP:
            payload["stop"] = list(sp.stop)
        if self.endpoint == "chat":
            system = [{"role": "system", "content": sp.system}] if sp.system else []
            payload["messages"] = [*system, {"role": "user", "content": prompt}]
        else:
            payload["prompt"] = prompt
        path = "/chat/completions" if self.endpoint == "chat" else "/completions"
        for attempt in range(self.max_retries + 1):
            try:
                status, body, retry_after = self._http("POST", path, payload)
            except (urllib.error.URLError, OSError) as e:  # timeouts and refused or dropped connections
                status, body, retry_after = None, {"error": _reason(e)}, None
            if status == 200:
                return self._parse(body, sp)
            if status in (401, 403):
                raise InputError(f"api_key_env: {self.base_url} refused the key in ${self.api_key_env}: HTTP {status}")
            if status == 404:
                raise InputError(f"model: {self.base_url}{path} answered 404 for model {self.model!r}: {_message(body)}")
            if status is not None and not _transient(status):
                if not self.succeeded:  # every request is refused: a configuration problem, stop now
                    raise InputError(f"{self.base_url}{path} refused the first request: HTTP {status}: {_message(body)}")
                return Completion("", "error")
            if attempt == self.max_retries:
                break
            with self.lock:
                self.counters["retries"] += 1
            delay = retry_after if retry_after is not None else self.backoff_s * 2 ** attempt * (0.5 + random.random())
            time.sleep(min(delay, 60.0))
        raise BackendError(f"{self.base_url}{path}: no answer after {self.max_retries} retries "
                           f"(last: {status or 'no response'}: {_message(body)})")

    def _parse(self, body: dict, sp) -> Completion:
        try:
            choice = body["choices"][0]
            text = choice["message"]["content"] if self.endpoint == "chat" else choice["text"]
        except (KeyError, IndexError, TypeError):
            return Completion("", "error")  # garbled answer: dropped and counted, never cached
        text, stopped = cut_at_stop(text or "", sp.stop)
        usage = body.get("usage") or {}
        with self.lock:
            self.succeeded = True
            self.counters["calls"] += 1
            self.counters["prompt_tokens"] += int(usage.get("prompt_tokens") or 0)
            self.counters["completion_tokens"] += int(usage.get("completion_tokens") or 0)
        return Completion(text, "length" if choice.get("finish_reason") == "length" and not stopped else "stop")

    def _http(self, method: str, path: str, payload: dict | None = None) -> tuple[int, dict, float | None]:
        """(status, JSON body, Retry-After seconds or None); network failures raise."""
        headers = {"Content-Type": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        data = json.dumps(payload).encode() if payload is not None else None
        request = urllib.request.Request(self.base_url + path, data=data, headers=headers, method=method)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s) as response:
                return response.status, _json(response.read()), None
        except urllib.error.HTTPError as e:
            try:
                retry_after = float(e.headers.get("Retry-After", ""))
            except ValueError:  # absent, or an HTTP date: use our own backoff
                retry_after = None
            return e.code, _json(e.read()), retry_after


def _transient(status: int) -> bool:
    return status in (408, 429) or status >= 500


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
    reason = getattr(e, "reason", e)
    return "timed out" if isinstance(reason, (socket.timeout, TimeoutError)) else str(reason)
