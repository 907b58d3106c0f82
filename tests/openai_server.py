"""A small OpenAI-compatible HTTP server for tests, and a way to serve a local model by hand.

It speaks GET /v1/models, POST /v1/chat/completions and POST /v1/completions. Answers come from
a responder: by default a deterministic one (a fenced Python block that depends on the prompt
and seed), or a local model through the hf backend. Tests script failures on the next
requests (`faults`: "429", "500", "garbled", "sleep:SECONDS") and can hold every request after
the first `block_after` until `release` is set (then answers them 503), to stop a client at
a known point.

    python tests/openai_server.py --model data/base/student --name student --port 8000
"""

from __future__ import annotations

import argparse
import collections
import hashlib
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def echo_responder(prompt: str, max_tokens: int, seed: int | None, temperature: float, top_p: float) -> tuple[str, str]:
    """A fenced Python block unique to (prompt, seed); cut (finish 'length') when max_tokens < 8."""
    tag = hashlib.sha256(f"{seed}\0{prompt}".encode()).hexdigest()[:8]
    text = f"Here it is:\n```python\ndef answer():\n    return '{tag}'\n```\n"
    return (text[:max_tokens * 4], "length") if max_tokens < 8 else (text, "stop")


def hf_responder(model_dir: str):
    from soda.backends.hf import HFBackend

    backend = HFBackend(model_dir, batch_size=1)
    lock = threading.Lock()  # one generation at a time: the model is not thread-safe

    def respond(prompt, max_tokens, seed, temperature, top_p):
        with lock:
            c = backend.complete([prompt], temperature=temperature, top_p=top_p, max_new_tokens=max_tokens,
                                 seed=seed or 0)[0][0]
        return c.text, c.finish

    return respond


class OpenAIServer:
    def __init__(self, models=("tiny",), api_key: str | None = None, respond=echo_responder, port: int = 0):
        self.models, self.api_key, self.respond = list(models), api_key, respond
        self.faults: collections.deque[str] = collections.deque()
        self.block_after: int | None = None
        self.release = threading.Event()
        self.answered: list[tuple[str, int | None]] = []  # (prompt, seed) of every 200 completion
        self.messages: list[list[dict]] = []  # the chat messages of every 200 chat completion
        self.requests = 0
        self.inflight = self.max_inflight = 0  # completion requests being handled at once
        self.lock = threading.Lock()
        self.httpd = ThreadingHTTPServer(("127.0.0.1", port), self._handler())
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"

    def __enter__(self):
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc):
        self.release.set()
        self.httpd.shutdown()
        self.httpd.server_close()

    def _handler(self):
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet test output
                pass

            def send(self, status, body, headers=()):
                raw = body if isinstance(body, bytes) else json.dumps(body).encode()
                try:
                    self.send_response(status)
                    for key, value in headers:
                        self.send_header(key, value)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(raw)))
                    self.end_headers()
                    self.wfile.write(raw)
                except (BrokenPipeError, ConnectionResetError):  # the client gave up (its timeout)
                    pass

            def authorised(self):
                if server.api_key is None or self.headers.get("Authorization") == f"Bearer {server.api_key}":
                    return True
                self.send(401, {"error": {"message": "Incorrect API key provided", "code": "invalid_api_key"}})
                return False

            def do_GET(self):
                if not self.authorised():
                    return
                if self.path.rstrip("/") != "/v1/models":
                    return self.send(404, {"error": {"message": f"no route {self.path}"}})
                self.send(200, {"object": "list", "data": [{"id": m, "object": "model"} for m in server.models]})

            def do_POST(self):
                if not self.authorised():
                    return
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
                chat = self.path.rstrip("/") == "/v1/chat/completions"
                if not chat and self.path.rstrip("/") != "/v1/completions":
                    return self.send(404, {"error": {"message": f"no route {self.path}"}})
                if body.get("model") not in server.models:
                    return self.send(404, {"error": {"message": f"The model `{body.get('model')}` does not exist.",
                                                     "type": "NotFoundError", "code": 404}})
                with server.lock:
                    server.requests += 1
                    server.inflight += 1
                    server.max_inflight = max(server.max_inflight, server.inflight)
                    fault = server.faults.popleft() if server.faults else None
                    hold = server.block_after is not None and server.requests > server.block_after
                try:
                    self.complete(body, chat, fault, hold)
                finally:
                    with server.lock:
                        server.inflight -= 1

            def complete(self, body, chat, fault, hold):
                if hold:  # held until released, then turned away: a held request is never answered
                    server.release.wait()
                    return self.send(503, {"error": {"message": "server going away"}})
                if fault == "429":
                    return self.send(429, {"error": {"message": "Rate limit reached"}}, [("Retry-After", "0")])
                if fault == "500":
                    return self.send(500, {"error": {"message": "internal error"}})
                if fault == "garbled":
                    return self.send(200, b"{\"choices\": [")
                if fault and fault.startswith("sleep:"):
                    time.sleep(float(fault[6:]))
                prompt = body["messages"][-1]["content"] if chat else body["prompt"]
                text, finish = server.respond(prompt, body.get("max_tokens", 16), body.get("seed"),
                                              body.get("temperature", 1.0), body.get("top_p", 1.0))
                for stop in body.get("stop") or []:
                    if stop in text:
                        text, finish = text[:text.index(stop)], "stop"
                with server.lock:
                    server.answered.append((prompt, body.get("seed")))
                    if chat:
                        server.messages.append(body["messages"])
                choice = {"index": 0, "finish_reason": finish}
                choice.update({"message": {"role": "assistant", "content": text}} if chat else {"text": text})
                usage = {"prompt_tokens": len(prompt.split()), "completion_tokens": len(text.split())}
                self.send(200, {"object": "chat.completion" if chat else "text_completion", "choices": [choice],
                                "usage": usage, "model": body["model"]})

        return Handler


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="a local model directory (default: the echo responder)")
    parser.add_argument("--name", default="tiny", help="the model name clients ask for")
    parser.add_argument("--port", type=int, default=8000)
    args = parser.parse_args()
    srv = OpenAIServer([args.name], respond=hf_responder(args.model) if args.model else echo_responder, port=args.port)
    print(f"serving {args.model or 'echo'} as {args.name!r} at {srv.url}", flush=True)
    with srv:
        threading.Event().wait()
