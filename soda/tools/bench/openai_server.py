"""A local OpenAI-compatible server (aiohttp) for `soda bench teacher` and the tests, and a way to
serve a local model by hand.

It speaks GET /v1/models, POST /v1/chat/completions and POST /v1/completions, with `n` choices
per request (choice j answered with seed + j). Answers come from a responder: by default a
deterministic one (a fenced Python block that depends on the prompt and seed), or a local model
through the hf backend. It can behave like a busy real server: a set latency with jitter, and
random shares of 429s (with Retry-After), 500s and dropped connections (`Weather`). Tests script
failures on the next requests (`faults`: "429", "500", "garbled", "drop", "sleep:SECONDS") and
can hold every request after the first `block_after` until `release` is set (then answers them
503), to stop a client at a known point. It serves at most `max_requests` completions (then 503)
and stops after `max_seconds`: a bench that goes wrong cannot run on forever.

A completion counts as answered (`answered`, `answer_counts`) only when its client is still
connected when the answer is ready: as vLLM does, a request whose client went away is dropped.

    python -m soda.tools.bench.openai_server --model data/base/student --name student --port 8000
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import hashlib
import random
import threading
import time
from dataclasses import dataclass

from aiohttp import web


def echo_responder(prompt: str, max_tokens: int, seed: int | None, temperature: float, top_p: float) -> tuple[str, str]:
    """A fenced Python block unique to (prompt, seed); cut (finish 'length') when max_tokens < 8."""
    tag = hashlib.sha256(f"{seed}\0{prompt}".encode()).hexdigest()[:8]
    text = f"Here it is:\n```python\ndef answer():\n    return '{tag}'\n```\n"
    return (text[:max_tokens * 4], "length") if max_tokens < 8 else (text, "stop")


def hf_responder(model_dir: str):
    from soda.backends.hf import HFBackend

    backend = HFBackend(model_dir, batch_size=1)

    def respond(prompt, max_tokens, seed, temperature, top_p):
        # Called on the server's one event loop: one generation at a time, as the model needs.
        c = backend.complete([prompt], temperature=temperature, top_p=top_p, max_new_tokens=max_tokens,
                             seed=seed or 0)[0][0]
        return c.text, c.finish

    return respond


@dataclass(frozen=True)
class Weather:
    """How a busy server behaves: each completion waits latency_s ± jitter_s, and fails with
    these probabilities (a 429 says Retry-After: retry_after_s)."""
    latency_s: float = 0.0
    jitter_s: float = 0.0
    p429: float = 0.0
    p500: float = 0.0
    pdrop: float = 0.0
    retry_after_s: float = 0.0
    seed: int = 0


class OpenAIServer:
    def __init__(self, models=("tiny",), api_key: str | None = None, respond=echo_responder, port: int = 0,
                 weather: Weather = Weather(), max_requests: int | None = None, max_seconds: float | None = None):
        self.models, self.api_key, self.respond, self.weather = list(models), api_key, respond, weather
        self.max_requests, self.max_seconds = max_requests, max_seconds
        self.rng = random.Random(weather.seed)
        self.faults: collections.deque[str] = collections.deque()
        self.block_after: int | None = None
        self.release = threading.Event()
        self.answered: list[tuple[str, int | None]] = []  # (prompt, seed) of every 200 completion
        self.messages: list[list[dict]] = []  # the chat messages of every chat completion asked
        self.answer_counts: collections.Counter = collections.Counter()  # (prompt, seed, n) -> times answered
        self.requests = 0
        self.inflight = self.max_inflight = 0  # completion requests being handled at once
        self.first_request = self.last_answer = 0.0  # perf_counter times, for a client's calls/s
        self.loop = asyncio.new_event_loop()
        self.stopped = threading.Event()
        self.port = port
        self.url = ""

    def wait_answered(self, count: int, timeout_s: float = 10.0) -> list[tuple[str, int | None]]:
        """`answered` once it holds `count` entries (or after timeout_s): the server books an
        answer after handing it over, so a client can read it a moment before it is counted."""
        deadline = time.perf_counter() + timeout_s
        while len(self.answered) < count and time.perf_counter() < deadline:
            time.sleep(0.01)
        return self.answered

    def reset(self) -> None:
        """Forget what was asked and answered (between a bench's runs)."""
        self.answered.clear()
        self.messages.clear()
        self.answer_counts.clear()
        self.requests = self.max_inflight = 0
        self.first_request = self.last_answer = 0.0

    def __enter__(self):
        started = threading.Event()
        threading.Thread(target=self._serve, args=(started,), daemon=True).start()
        started.wait()
        return self

    def __exit__(self, *exc):
        self.release.set()
        if not self.stopped.is_set():
            self.loop.call_soon_threadsafe(self.stopping.set)
            self.stopped.wait(10)

    def _serve(self, started: threading.Event) -> None:
        asyncio.set_event_loop(self.loop)
        self.stopping = asyncio.Event()
        app = web.Application()
        app.router.add_get("/v1/models", self.models_route)
        app.router.add_post("/v1/chat/completions", self.completion_route)
        app.router.add_post("/v1/completions", self.completion_route)
        runner = web.AppRunner(app, access_log=None, handle_signals=False)
        self.loop.run_until_complete(runner.setup())
        site = web.TCPSite(runner, "127.0.0.1", self.port, backlog=1024)
        self.loop.run_until_complete(site.start())
        self.url = f"http://127.0.0.1:{runner.addresses[0][1]}/v1"
        started.set()
        try:
            self.loop.run_until_complete(asyncio.wait_for(self.stopping.wait(), self.max_seconds))
        except asyncio.TimeoutError:
            pass
        finally:
            self.loop.run_until_complete(runner.cleanup())
            self.stopped.set()

    def _refused(self, request: web.Request) -> web.Response | None:
        if self.api_key is None or request.headers.get("Authorization") == f"Bearer {self.api_key}":
            return None
        return web.json_response({"error": {"message": "Incorrect API key provided", "code": "invalid_api_key"}},
                                 status=401)

    async def models_route(self, request: web.Request) -> web.Response:
        return self._refused(request) or web.json_response(
            {"object": "list", "data": [{"id": m, "object": "model"} for m in self.models]})

    async def completion_route(self, request: web.Request) -> web.StreamResponse:
        if refused := self._refused(request):
            return refused
        body = await request.json()
        if body.get("model") not in self.models:
            return web.json_response({"error": {"message": f"The model `{body.get('model')}` does not exist.",
                                                "type": "NotFoundError", "code": 404}}, status=404)
        self.requests += 1
        self.first_request = self.first_request or time.perf_counter()
        self.inflight += 1
        self.max_inflight = max(self.max_inflight, self.inflight)
        fault = self.faults.popleft() if self.faults else self._weather_fault()
        hold = self.block_after is not None and self.requests > self.block_after
        try:
            return await self._complete(request, body, fault, hold)
        finally:
            self.inflight -= 1

    def _weather_fault(self) -> str | None:
        w, draw = self.weather, self.rng.random()
        for fault, p in (("429", w.p429), ("500", w.p500), ("drop", w.pdrop)):
            if draw < p:
                return fault
            draw -= p
        delay = w.latency_s + self.rng.uniform(-w.jitter_s, w.jitter_s)
        return f"sleep:{delay}" if delay > 0 else None

    async def _complete(self, request: web.Request, body: dict, fault: str | None, hold: bool) -> web.StreamResponse:
        if hold:  # held until released, then turned away: a held request is never answered
            while not self.release.is_set():
                await asyncio.sleep(0.01)
            return web.json_response({"error": {"message": "server going away"}}, status=503)
        if self.max_requests is not None and self.requests > self.max_requests:
            return web.json_response({"error": {"message": "request budget spent"}}, status=503)
        if fault == "429":
            return web.json_response({"error": {"message": "Rate limit reached"}}, status=429,
                                     headers={"Retry-After": str(self.weather.retry_after_s)})
        if fault == "500":
            return web.json_response({"error": {"message": "internal error"}}, status=500)
        if fault == "drop":
            request.transport.close()  # the connection dies without an answer
            return web.Response()
        if fault == "garbled":
            return web.Response(body=b"{\"choices\": [", content_type="application/json")
        if fault and fault.startswith("sleep:"):
            await asyncio.sleep(float(fault[6:]))
        if request.transport is None or request.transport.is_closing():
            return web.Response()  # the client went away: nothing is generated or billed
        chat = request.path.rstrip("/").endswith("/chat/completions")
        prompt = body["messages"][-1]["content"] if chat else body["prompt"]
        if chat:  # booked on arrival, so that a client that has its answer finds it here
            self.messages.append(body["messages"])
        seed, n = body.get("seed"), int(body.get("n") or 1)
        choices, words = [], 0
        for j in range(n):
            text, finish = self.respond(prompt, body.get("max_tokens", 16), None if seed is None else seed + j,
                                        body.get("temperature", 1.0), body.get("top_p", 1.0))
            for stop in body.get("stop") or []:
                if stop in text:
                    text, finish = text[:text.index(stop)], "stop"
            choice = {"index": j, "finish_reason": finish}
            choice.update({"message": {"role": "assistant", "content": text}} if chat else {"text": text})
            choices.append(choice)
            words += len(text.split())
        response = web.json_response({"object": "chat.completion" if chat else "text_completion", "choices": choices,
                                      "usage": {"prompt_tokens": len(prompt.split()), "completion_tokens": words},
                                      "model": body["model"]})
        await response.prepare(request)
        await response.write_eof()
        # Answered (billed) once the answer is handed to the client's connection.
        if request.transport is not None and not request.transport.is_closing():
            self.answered.append((prompt, seed))
            self.answer_counts[(prompt, seed, n)] += 1
            self.last_answer = time.perf_counter()
        return response


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="a local model directory (default: the echo responder)")
    parser.add_argument("--name", default="tiny", help="the model name clients ask for")
    parser.add_argument("--port", type=int, default=8000)
    args = parser.parse_args(argv)
    srv = OpenAIServer([args.name], respond=hf_responder(args.model) if args.model else echo_responder, port=args.port)
    with srv:
        print(f"serving {args.model or 'echo'} as {args.name!r} at {srv.url}", flush=True)
        while not srv.stopped.is_set():
            time.sleep(1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
