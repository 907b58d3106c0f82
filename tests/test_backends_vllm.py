"""The vllm backend: a clear error without vllm, and (on a CUDA machine with vllm) the same
interface as the hf backend on the tiny model."""

import importlib.util

import pytest

from conftest import connection
from soda.backends.base import make_backend
from soda.io import InputError

HAS_VLLM = importlib.util.find_spec("vllm") is not None


@pytest.mark.skipif(HAS_VLLM, reason="vllm is installed here")
def test_choosing_vllm_without_it_is_an_input_error():
    with pytest.raises(InputError, match="backend: 'vllm' needs the vllm package"):
        make_backend("vllm", "m", "chat", connection(), None, "generation")


@pytest.mark.gpu
@pytest.mark.skipif(not HAS_VLLM, reason="needs vllm and a CUDA GPU")
def test_vllm_draws_n_samples_per_request_with_seeds_and_stops(tmp_path):
    import torch

    if not torch.cuda.is_available():
        pytest.skip("needs a CUDA GPU")
    from test_backends_hf import PROMPTS, tiny_model

    backend = make_backend("vllm", tiny_model(tmp_path / "model"), "chat", connection(), tmp_path / "c", "generation")
    kw = dict(n=2, temperature=1.0, max_new_tokens=16, seed=3)
    first = backend.generate(PROMPTS, **kw)
    assert all(len(row) == 2 for row in first) and backend.counters["completion_tokens"] > 0
    assert backend.generate(PROMPTS, **kw) == first and backend.counters["cache_hits"] == len(PROMPTS)
    text = first[0][0]
    # The n samples are one request (SamplingParams(n=2)): the same seed and n draw the same tokens.
    cut = backend.complete(PROMPTS[:1], stop=[text[4:6]], **kw)[0][0]
    assert cut.text == text[:text.find(text[4:6])] and cut.finish == "stop"


@pytest.mark.gpu
@pytest.mark.skipif(not HAS_VLLM, reason="needs vllm and a CUDA GPU")
def test_vllm_sends_a_chat_models_prompt_as_its_template_rendering(tmp_path):
    import torch

    if not torch.cuda.is_available():
        pytest.skip("needs a CUDA GPU")
    from test_chat_template import PROMPT, chat_ids, qwen_model
    from transformers import AutoTokenizer

    model = qwen_model(tmp_path / "qwen")
    expected = len(chat_ids(AutoTokenizer.from_pretrained(model)))
    backend = make_backend("vllm", model, "chat", connection(), None, "generation", "auto")
    backend.complete([PROMPT], max_new_tokens=4)
    assert backend.chat and backend.counters["prompt_tokens"] == expected
    backend.complete([PROMPT], max_new_tokens=4, chat=False)  # a text to continue: the raw prompt
    assert backend.counters["prompt_tokens"] == expected + len(AutoTokenizer.from_pretrained(model)(PROMPT)["input_ids"])
