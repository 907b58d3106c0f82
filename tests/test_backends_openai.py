"""The openai backend against a real local HTTP server speaking the OpenAI protocol."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from soda.backends.base import item_seed, make_backend
from soda.backends.cache import CallCache
from soda.backends.hf import HFBackend
from soda.backends.openai import BackendError, OpenAIBackend
from soda.extract import extract_code
from soda.io import InputError

sys.path.insert(0, str(Path(__file__).parent))
from soda.tools.bench.openai_server import OpenAIServer, echo_responder, hf_responder  # noqa: E402
from conftest import connection  # noqa: E402
from test_backends_hf import tiny_model  # noqa: E402

PROMPTS = [f"Write function number {i}." for i in range(10)]


@pytest.fixture
def server():
    with OpenAIServer(["tiny"], api_key="sk-test") as srv:
        yield srv


@pytest.fixture(autouse=True)
def api_key(monkeypatch):
    monkeypatch.setenv("SODA_TEST_KEY", "sk-test")


def backend(srv, **kw):
    kw = {"api_key_env": "SODA_TEST_KEY", "backoff_s": 0.01, "max_retries": 3, "timeout_s": 10, **kw}
    return OpenAIBackend(kw.pop("model", "tiny"), base_url=srv.url, **kw)


def echo(prompt, seed):
    return echo_responder(prompt, 256, seed, 0.0, 1.0)[0]


@pytest.mark.parametrize("endpoint", ["chat", "completions"])
def test_n_samples_come_in_one_request_per_prompt_in_order(server, endpoint):
    b = backend(server, endpoint=endpoint, concurrency=4)
    out = b.complete(PROMPTS, n=3, temperature=0.7, max_new_tokens=64, seed=3)
    answered = server.wait_answered(10)
    assert len(answered) == 10 and {s for _, s in answered} == {item_seed(3, p, 0) for p in PROMPTS}
    for prompt, row in zip(PROMPTS, out):
        # Choice j of the request seeded s is the server's answer with seed s + j.
        assert [c.text for c in row] == [echo(prompt, item_seed(3, prompt, 0) + j) for j in range(3)]
        assert [c.finish for c in row] == ["stop"] * 3
    assert b.counters["calls"] == 10 and b.counters["retries"] == 0


def test_samples_are_cached_per_request_and_n(server, tmp_path):
    first = backend(server, cache=CallCache(tmp_path)).generate(PROMPTS[:3], n=4, temperature=1.0, seed=1)
    again = backend(server, cache=CallCache(tmp_path))
    assert again.generate(PROMPTS[:3], n=4, temperature=1.0, seed=1) == first
    assert again.counters["cache_hits"] == 3 and again.counters["calls"] == 0
    # Another n is another request: its choices are not those of the n=4 request.
    assert again.generate(PROMPTS[:3], n=2, temperature=1.0, seed=1) and again.counters["calls"] == 3
    # Greedy: one sample per prompt, asked once whatever n.
    greedy = again.generate(PROMPTS[:3], n=5, max_new_tokens=64)
    assert all(len(set(row)) == 1 and len(row) == 5 for row in greedy) and again.counters["calls"] == 6


def test_concurrency_is_bounded(server):
    server.faults.extend(["sleep:0.05"] * 12)
    backend(server, concurrency=3).generate(PROMPTS, n=2, temperature=1.0)
    assert server.max_inflight <= 3


def test_429_500_dropped_connections_and_timeouts_are_retried(server):
    server.faults.extend(["429", "500", "drop", "sleep:2"])
    b = backend(server, concurrency=1, timeout_s=0.5, max_retries=4)
    out = b.generate(PROMPTS[:2], max_new_tokens=64)
    assert out == [[echo(PROMPTS[0], 0)], [echo(PROMPTS[1], 0)]]
    assert b.counters["retries"] == 4


def test_persistent_failure_stops_after_max_retries(server):
    server.faults.extend(["500"] * 10)
    with pytest.raises(BackendError, match="after 2 retries"):
        backend(server, concurrency=1, max_retries=2).generate(PROMPTS[:1])


def test_garbled_and_cut_answers_are_flagged_and_not_cached(server, tmp_path):
    b = backend(server, concurrency=1, cache=CallCache(tmp_path))
    server.faults.append("garbled")
    garbled, fine = b.complete(PROMPTS[:2], max_new_tokens=64)
    assert garbled[0].finish == "error" and fine[0].finish == "stop"
    assert b.counters["errors"] == 1
    # The garbled item is asked again; the good one comes from the cache.
    again = backend(server, concurrency=1, cache=CallCache(tmp_path))
    assert again.complete(PROMPTS[:2], max_new_tokens=64)[0][0].finish == "stop"
    assert again.counters["calls"] == 1 and again.counters["cache_hits"] == 1
    assert b.complete(PROMPTS[:1], max_new_tokens=4)[0][0].finish == "length"


def test_configuration_problems_stop_before_any_completion(server, monkeypatch):
    with pytest.raises(InputError, match="model: .* does not serve 'big'"):
        backend(server, model="big").generate(PROMPTS)
    monkeypatch.setenv("SODA_TEST_KEY", "sk-wrong")
    with pytest.raises(InputError, match="api_key_env: .*SODA_TEST_KEY.*401"):
        backend(server).generate(PROMPTS)
    assert server.requests == 0
    with OpenAIServer(["tiny"]) as gone:
        url = gone.url
    with pytest.raises(InputError, match="base_url: cannot reach"):
        OpenAIBackend("tiny", base_url=url, timeout_s=2).generate(PROMPTS)


def test_make_backend_builds_openai(server):
    b = make_backend("openai", "tiny", "completions", connection(base_url=server.url, api_key_env="SODA_TEST_KEY",
                                                                 concurrency=2, max_retries=1, timeout_s=5.0),
                     None, "generation")
    assert b.name == "openai" and b.generate(PROMPTS[:1]) == [[echo(PROMPTS[0], 0)]]


def test_serving_the_tiny_model_matches_the_hf_backend(tmp_path):
    model_dir = tiny_model(tmp_path / "model")
    prompts = ["### Question\nAdd two numbers.\n### Solution\n", "### Question\nReverse a list.\n### Solution\n"]
    with OpenAIServer(["tiny"], respond=hf_responder(model_dir)) as srv:
        served = OpenAIBackend("tiny", base_url=srv.url, endpoint="completions").generate(prompts, max_new_tokens=8)
    assert served == HFBackend(model_dir).generate(prompts, max_new_tokens=8)


CHILD = """
import sys
from soda.backends.cache import CallCache
from soda.backends.openai import OpenAIBackend
prompts = [f"Write function number {i}." for i in range(20)]
b = OpenAIBackend("tiny", base_url=sys.argv[1], concurrency=2, max_retries=0, cache=CallCache(sys.argv[2]))
b.generate(prompts, temperature=1.0, seed=5)
"""


def test_a_stage_killed_halfway_resumes_without_repeating_a_call(tmp_path):
    prompts = [f"Write function number {i}." for i in range(20)]
    with OpenAIServer(["tiny"]) as srv:
        srv.block_after = 8  # answer 8 requests, then hold the rest: the child is killed mid-stage
        child = subprocess.Popen([sys.executable, "-c", CHILD, srv.url, str(tmp_path)],
                                 cwd=Path(__file__).parents[1], stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 120  # a hang guard, not a performance threshold
        while not (tmp_path / "calls.sqlite3").exists() or len(CallCache(tmp_path)) < 8:
            assert child.poll() is None and time.monotonic() < deadline, "the child never got 8 answers"
            time.sleep(0.05)
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
        first = list(srv.answered)
        srv.block_after = None
        srv.release.set()
        assert len(first) == 8 and len(CallCache(tmp_path)) == 8

        srv.answered.clear()
        b = OpenAIBackend("tiny", base_url=srv.url, concurrency=2, cache=CallCache(tmp_path))
        out = b.generate(prompts, temperature=1.0, seed=5)
    assert b.counters["cache_hits"] == 8 and b.counters["calls"] == 12
    assert not {p for p, _ in first} & {p for p, _ in srv.answered}
    assert {p for p, _ in first} | {p for p, _ in srv.answered} == set(prompts)
    assert all(extract_code(row[0], "python") for row in out)


def test_a_fully_cached_rerun_needs_no_server(server, tmp_path):
    out = backend(server, cache=CallCache(tmp_path)).generate(PROMPTS)
    url = server.url
    server.__exit__(None, None, None)
    offline = OpenAIBackend("tiny", base_url=url, cache=CallCache(tmp_path))
    assert offline.generate(PROMPTS) == out and offline.counters["cache_hits"] == len(PROMPTS)
