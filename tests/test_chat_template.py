"""Chat models in their own format (soda.prompts.PromptFormat): a locally built Qwen2-format
model (byte-level BPE, a Qwen-style chat template, eos <|im_end|>, no pad token) is trained and
queried on its template's rendering, the answer closed by <|im_end|>; with `none`, or a model
without a template (the tiny Llama), the raw text as before templates were read."""

from pathlib import Path

import pytest
import torch

from soda.backends.hf import HFBackend
from soda.modeling import build_tokenizer, init_model, load_model, save_model
from soda.params import FclTrain, Params, Train, load_params
from soda.prompts import PromptFormat, has_chat_template, student_prompt, system
from soda.teacher import make_teacher
from soda.tools.e2e import QWEN_TEMPLATE, chat_model
from soda.train import dpo_dataset, prepare, sft_dataset

QUESTION = "Write a function add(a, b) that returns the sum."
ANSWER = "def add(a, b):\n    return a + b\n"
PROMPT = student_prompt(QUESTION, "paper")  # prompt A's system message on its first line, then the question
PARAMS = Params.model_validate(load_params(Path(__file__).resolve().parent.parent / "params.yaml"))
SETTINGS = dict(epochs=1.0, lr=1e-3, batch_size=2, max_length=256, grad_accum=1, scheduler="constant", warmup_ratio=0.0,
                weight_decay=0.0, bf16=False, gradient_checkpointing=False, lora=None, logging_steps=1, save_steps=50)
CFG = Train.model_validate(SETTINGS)
FCL = FclTrain.model_validate({**PARAMS.fcl_train.model_dump(), **SETTINGS, "beta": 0.1, "loss": ["sigmoid"],
                               "loss_weights": None})


def qwen_model(path):
    return chat_model(path, [PROMPT, ANSWER, QWEN_TEMPLATE, "def sub(a, b):\n    return a - b\n"] * 5)


def llama_model(path):
    tok = build_tokenizer([PROMPT, ANSWER] * 5, 300)
    save_model(init_model(tok, hidden_size=32, num_layers=2, num_heads=2, intermediate_size=64), tok, path, {})
    return str(path)


@pytest.fixture(scope="module")
def qwen(tmp_path_factory):
    return qwen_model(tmp_path_factory.mktemp("qwen") / "model")


@pytest.fixture(scope="module")
def llama(tmp_path_factory):
    return llama_model(tmp_path_factory.mktemp("llama") / "model")


def chat_ids(tokenizer, prompt=PROMPT):
    """What the tokenizer's own apply_chat_template gives prompt A: system + user, generation prompt."""
    user = prompt.removeprefix(system("correct", "paper") + "\n")
    messages = [{"role": "system", "content": system("correct", "paper")}, {"role": "user", "content": user}]
    return tokenizer.apply_chat_template(messages, add_generation_prompt=True, return_dict=False)


def test_the_qwen_model_has_a_template_and_no_pad_token(qwen, llama):
    tokenizer = load_model(qwen)[1]  # load_model pads with EOS where the tokenizer has no pad token
    assert has_chat_template(qwen) and not has_chat_template(llama)
    assert tokenizer.eos_token == tokenizer.pad_token == "<|im_end|>" and tokenizer.bos_token is None
    fmt = PromptFormat.of(tokenizer, "auto")
    assert fmt.chat and fmt.end == "<|im_end|>" and fmt.end_ids == [tokenizer.eos_token_id]
    assert fmt.prompt_ids(PROMPT) == chat_ids(tokenizer)
    assert fmt.text(PROMPT).startswith("<|im_start|>system\nYou are an AI code interpreter.<|im_end|>\n<|im_start|>user\n")
    assert not PromptFormat.of(tokenizer, "none").chat


def test_csl_example_is_the_template_rendering_and_the_loss_covers_answer_and_end_of_turn(qwen, tmp_path):
    prepared = prepare("csl", qwen, [{"prompt": PROMPT, "completion": ANSWER}] * 2, CFG, 0, tmp_path)
    tokenizer = prepared.tokenizer
    example = prepared.trainer.train_dataset[0]
    prompt = chat_ids(tokenizer)
    answer = tokenizer(ANSWER, add_special_tokens=False)["input_ids"] + [tokenizer.convert_tokens_to_ids("<|im_end|>")]
    assert example["input_ids"] == prompt + answer
    assert example["labels"] == [-100] * len(prompt) + answer
    assert tokenizer.decode([t for t in example["labels"] if t != -100]) == ANSWER + "<|im_end|>"
    assert prepared.card["chat_template"] is True
    # It trains with no pad token of its own (padding is EOS, masked by the attention mask).
    prepared.trainer.train()
    assert prepared.trainer.state.global_step == 1 and torch.isfinite(torch.tensor(prepared.trainer.state.log_history[0]["loss"]))


def test_without_a_template_or_with_none_the_csl_example_is_the_raw_text(qwen, llama, tmp_path):
    for model, mode in ((llama, "auto"), (qwen, "none")):
        prepared = prepare("csl", model, [{"prompt": PROMPT, "completion": ANSWER}], CFG, 0, tmp_path / mode,
                           chat_template=mode)
        tok = prepared.tokenizer
        prompt = tok(PROMPT)["input_ids"]
        answer = tok(ANSWER, add_special_tokens=False)["input_ids"] + [tok.eos_token_id]
        assert prepared.trainer.train_dataset[0]["input_ids"] == prompt + answer
        assert prepared.trainer.train_dataset[0]["labels"] == [-100] * len(prompt) + answer
        assert "chat_template" not in prepared.card


def test_dpo_pairs_use_the_template_and_end_of_turn(qwen, llama, tmp_path):
    rows = [{"prompt": PROMPT, "chosen": ANSWER, "rejected": ANSWER.replace("+", "-")}] * 2
    prepared = prepare("fcl", qwen, rows, FCL, 0, tmp_path)
    tokenizer, pair = prepared.tokenizer, prepared.trainer.train_dataset[0]
    end = tokenizer.convert_tokens_to_ids("<|im_end|>")
    assert pair["prompt_ids"] == chat_ids(tokenizer)
    # TRL adds no second EOS: the answer already ends with <|im_end|>, the eos.
    assert pair["chosen_ids"] == tokenizer(ANSWER, add_special_tokens=False)["input_ids"] + [end]
    assert pair["rejected_ids"][-1] == end and pair["rejected_ids"].count(end) == 1
    prepared.trainer.train()
    assert prepared.trainer.state.global_step == 1
    # Without a template the pairs are the rows themselves, as before.
    raw, _ = dpo_dataset(load_model(llama)[1], rows, 256)
    assert raw.to_list() == rows


def test_score_head_reads_the_template_rendering(qwen, tmp_path):
    prepared = prepare("scorer", qwen, [{"prompt": PROMPT, "score": 3.0}] * 2, CFG, 0, tmp_path, head="classes",
                       scoring_format="compact")
    tokenizer = prepared.tokenizer
    assert prepared.trainer.train_dataset[0]["input_ids"] == chat_ids(tokenizer) + [tokenizer.eos_token_id]


def test_displacement_scores_answers_in_the_template(qwen):
    from soda.tools.displacement import sequence_logps

    model, tokenizer = load_model(qwen)
    fmt = PromptFormat.of(tokenizer, "auto")
    ids = chat_ids(tokenizer) + tokenizer(ANSWER, add_special_tokens=False)["input_ids"] + [tokenizer.eos_token_id]
    with torch.no_grad():
        logits = model(torch.tensor([ids])).logits[0, :-1].float()
    by_hand = torch.log_softmax(logits, -1).gather(1, torch.tensor(ids[1:])[:, None])[len(chat_ids(tokenizer)) - 1:].sum()
    logp, = sequence_logps(model, fmt, PROMPT, [ANSWER])
    assert abs(logp - by_hand.item()) < 1e-4
    raw, = sequence_logps(model, PromptFormat.of(tokenizer, "none"), PROMPT, [ANSWER])
    assert abs(raw - logp) > 1e-3  # the raw text is another sequence


def captured_ids(backend, monkeypatch, prompts, **kw):
    seen = []
    original = backend._generate_batch

    def spy(ids, seeds, sp):
        seen.extend(ids)
        return original(ids, seeds, sp)

    monkeypatch.setattr(backend, "_generate_batch", spy)
    backend.complete(prompts, max_new_tokens=3, **kw)
    return seen


def test_generation_input_ids_are_apply_chat_templates(qwen, llama, monkeypatch):
    backend = HFBackend(qwen, batch_size=2)
    tokenizer = load_model(qwen)[1]
    assert captured_ids(backend, monkeypatch, [PROMPT]) == [chat_ids(tokenizer)]
    assert backend.eos_ids == {tokenizer.convert_tokens_to_ids("<|im_end|>")}
    # A text to continue (a benchmark's code prompt), or `none`: the raw text.
    assert captured_ids(backend, monkeypatch, [PROMPT], chat=False) == [tokenizer(PROMPT)["input_ids"]]
    raw = HFBackend(qwen, batch_size=2, chat_template="none")
    assert captured_ids(raw, monkeypatch, [PROMPT]) == [tokenizer(PROMPT)["input_ids"]]
    llama_backend = HFBackend(llama)
    assert captured_ids(llama_backend, monkeypatch, [PROMPT]) == [load_model(llama)[1](PROMPT)["input_ids"]]
    # Rendered or not is part of the cache key: a rendered prompt never answers a raw one.
    sp = dict(seed=0, samples=1)
    from soda.backends.base import _sampling
    keys = {b._key(PROMPT, sp=_sampling(1, 0.0, 1.0, 3, None, None, chat), **sp) for b, chat in
            ((backend, True), (raw, False), (backend, False))}
    assert len(keys) == 2


def test_an_hf_teacher_sends_prompts_a_to_d_in_its_template(qwen, monkeypatch, tmp_path):
    # A local teacher model is named inside models/init/teacher, found in the folder the stage's flag gives.
    cfg = PARAMS.teacher.model_copy(update={"backend": "hf", "model": f"models/init/teacher/{Path(qwen).name}",
                                            "prompts": "paper", "lang": "python", "temperature": 0.0,
                                            "max_new_tokens": 3, "chat_template": "auto"})
    runtime = PARAMS.runtime.model_copy(update={"cache_dir": None, "teacher": PARAMS.runtime.teacher.model_copy(
        update={"batch_size": 2, "device": "cpu"})})
    teacher = make_teacher(cfg, runtime, model_dir=Path(qwen).parent, seed=0)
    tokenizer = load_model(qwen)[1]
    seen = []
    original = teacher.backend._generate_batch
    monkeypatch.setattr(teacher.backend, "_generate_batch", lambda ids, seeds, sp: seen.extend(ids) or original(ids, seeds, sp))
    teacher.solve([{"id": "q", "question": QUESTION}])
    assert seen == [chat_ids(tokenizer, f"{system('correct', 'paper')}\n" +
                             teacher._render("correct", {"question": QUESTION}))]
    assert not make_teacher(cfg.model_copy(update={"chat_template": "none"}), runtime, model_dir=Path(qwen).parent,
                            seed=0).backend.chat
