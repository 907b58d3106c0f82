"""The hf backend on a real tiny Llama, the call cache, and make_backend's checks."""

import pytest

from conftest import connection
from soda.backends.base import make_backend
from soda.backends.cache import CallCache
from soda.backends.hf import HFBackend
from soda.io import InputError
from soda.modeling import build_tokenizer, init_model, save_model

PROMPTS = [f"### Question\nWrite a function number {i}{' that adds' * i}.\n### Solution\n" for i in range(6)]


def tiny_model(path, seed=0):
    texts = ["def add(a, b):\n    return a + b\n", "### Question\nWrite a function.\n### Solution\n"] * 10
    tok = build_tokenizer(texts, 300)
    model = init_model(tok, hidden_size=32, num_layers=2, num_heads=2, intermediate_size=64, seed=seed)
    save_model(model, tok, path, {"name": "tiny"})
    return str(path)


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    return tiny_model(tmp_path_factory.mktemp("tiny") / "model")


def test_batched_equals_one_at_a_time(model_dir):
    batched, single = HFBackend(model_dir, batch_size=4), HFBackend(model_dir, batch_size=1)
    assert batched.complete(PROMPTS, max_new_tokens=12) == single.complete(PROMPTS, max_new_tokens=12)
    # Each sample has its own seeded generator: its batch neighbours do not change it.
    kw = dict(n=3, temperature=1.0, top_p=0.9, max_new_tokens=12, seed=7)
    sampled = batched.generate(PROMPTS, **kw)
    assert sampled == single.generate(PROMPTS, **kw)
    assert all(len(row) == 3 and len(set(row)) > 1 for row in sampled)
    assert batched.generate(PROMPTS, **{**kw, "seed": 8}) != sampled
    assert batched.counters["completion_tokens"] > 0


def test_completions_are_cut_at_stop_sequences(model_dir):
    backend = HFBackend(model_dir, batch_size=3)
    free = backend.complete(PROMPTS, temperature=1.0, max_new_tokens=20, seed=1)
    assert all(row[0].finish == "length" for row in free)
    text = free[0][0].text
    stop = text[8:11]
    cut = backend.complete(PROMPTS[:1], temperature=1.0, max_new_tokens=20, seed=1, stop=[stop])[0][0]
    assert cut.finish == "stop"
    assert cut.text == text[:text.find(stop)]


def test_cache_serves_a_rerun_and_misses_for_another_model(model_dir, tmp_path):
    first = HFBackend(model_dir, batch_size=4, cache=CallCache(tmp_path / "cache"))
    out = first.generate(PROMPTS, n=2, temperature=0.8, max_new_tokens=8)
    assert first.counters["calls"] == 12 and first.counters["cache_hits"] == 0

    rerun = HFBackend(model_dir, batch_size=4, cache=CallCache(tmp_path / "cache"))
    assert rerun.generate(PROMPTS, n=2, temperature=0.8, max_new_tokens=8) == out
    assert rerun.counters["calls"] == 0 and rerun.counters["cache_hits"] == 12

    # Greedy: one call per prompt, whatever n.
    rerun.generate(PROMPTS, n=4, max_new_tokens=8)
    assert rerun.counters["calls"] == 6

    other = HFBackend(tiny_model(tmp_path / "other", seed=1), batch_size=4, cache=CallCache(tmp_path / "cache"))
    other.generate(PROMPTS, n=2, temperature=0.8, max_new_tokens=8)
    assert other.counters["calls"] == 12 and other.counters["cache_hits"] == 0


def test_make_backend_builds_hf_with_a_cache(model_dir, tmp_path):
    backend = make_backend("hf", model_dir, "chat", connection(batch_size=2), tmp_path, "generation")
    assert backend.name == "hf" and backend.cache is not None
    assert len(backend.generate(PROMPTS[:3], max_new_tokens=4)) == 3


@pytest.mark.parametrize("kind, model, key", [
    ("tgi", "m", "generation.backend"),
    ("hf", None, "generation.model"),
    ("openai", "m", "runtime.generation.base_url"),
])
def test_make_backend_names_the_bad_key(kind, model, key):
    with pytest.raises(InputError, match=key):
        make_backend(kind, model, "chat", connection(), None, "generation")


def test_bad_sampling_parameters_are_input_errors(model_dir):
    backend = HFBackend(model_dir)
    with pytest.raises(InputError, match="top_p"):
        backend.generate(PROMPTS, top_p=0)
    with pytest.raises(InputError, match="max_new_tokens"):
        backend.generate(PROMPTS, max_new_tokens=0)


def test_a_fully_cached_rerun_never_loads_the_model(model_dir, tmp_path):
    HFBackend(model_dir, cache=CallCache(tmp_path)).generate(PROMPTS, max_new_tokens=4)
    rerun = HFBackend(model_dir, cache=CallCache(tmp_path))
    rerun.generate(PROMPTS, max_new_tokens=4)
    assert rerun.lm is None and rerun.counters["cache_hits"] == len(PROMPTS)


def test_a_fully_cached_rerun_in_a_new_process_never_imports_torch(model_dir, tmp_path):
    import json
    import subprocess
    import sys

    HFBackend(model_dir, cache=CallCache(tmp_path)).generate(PROMPTS, max_new_tokens=4)
    script = (f"import sys, json; from pathlib import Path; from soda.backends.base import make_backend\n"
              f"from soda.params import Connection\n"
              f"b = make_backend('hf', {model_dir!r}, 'chat', Connection(**{connection().model_dump()!r}), "
              f"Path({str(tmp_path)!r}), 'generation')\n"
              f"b.generate({PROMPTS!r}, max_new_tokens=4)\n"
              f"print(json.dumps([b.counters['cache_hits'], 'torch' in sys.modules, 'transformers' in sys.modules]))")
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout.splitlines()[-1]) == [len(PROMPTS), False, False]
