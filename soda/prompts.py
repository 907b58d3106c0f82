"""Prompts A-D of the SODA paper (Fig. 3) and the student's prompt, kept as files.

The teacher's prompts come in sets (`teacher.prompts`), one directory each under soda/prompts/:
- `paper`: the paper's Fig. 3 texts with their system messages (`<name>.system.txt`), verbatim,
  {ERRORS} filled with the paper's five error types; the language is the question's own;
- `detailed`: longer texts that name the language ({lang}), ask for exactly one hidden error
  and for harder questions from easy ones ({guidance}).

Each set has correct.txt (A: a correct solution), faulty.txt (B: a faulty one), evolve.txt (D:
a new question); prompt C (scoring.txt, the 6-point rubric, as the authors' released
annotations fill it) is shared, and the scoring model reads it too. Shared as well:
student.txt (the `compact` student prompt) and scoring_compact.txt (the scoring model's input
in the `compact` format, see soda/student.py).

The student answers either prompt A of the `paper` set (its system message on the first line)
or the `compact` template (`generation.student_prompt`): what it is trained on in CSL/FCL
is what it answers in feedback and evaluation.

Every stage's MLflow run is tagged with a hash of all of them (soda/tracking.py).

A prompt is one text; a system message, where it has one, is its first line (as student_prompt
and Backend.complete join them). A chat model reads it in its own format: `PromptFormat`, used
by training (soda/train.py, soda/score_head.py) and generation (soda/backends) alike, renders it
with the tokenizer's chat template (`student.chat_template` / `teacher.chat_template`: `auto`
where the tokenizer has one, `none` for the raw text) and ends an answer with the template's end
of turn; without a template, the raw text after BOS and the answer closed by EOS.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

from soda.io import InputError

PROMPT_DIR = Path(__file__).parent / "prompts"
SETS = ("paper", "detailed")
STUDENT_PROMPTS = ("paper", "compact")
TEACHER_NAMES = ("correct", "faulty", "scoring", "evolve")  # prompts A-D
SHARED_NAMES = ("scoring", "scoring_compact", "student")
CHAT_TEMPLATES = ("auto", "none")

# What a prompt that names the language says for a question without one.
ANY_LANG = "the language the question asks for"

# Prompt D's guidance (sets with {guidance}): easy questions inspire harder ones.
EVOLVE_GUIDANCE = {
    True: "The #Created Instruction# should be more difficult than the #Given Instruction#: add constraints, requirements or reasoning steps.",
    False: "The #Created Instruction# should be of similar difficulty to the #Given Instruction# but explore a different aspect of it.",
}


def _path(name: str, prompt_set: str | None, suffix: str = ".txt") -> Path:
    if prompt_set is None:
        if name not in SHARED_NAMES:
            raise KeyError(f"unknown prompt {name!r}; expected one of {SHARED_NAMES} or a set's {TEACHER_NAMES}")
        return PROMPT_DIR / f"{name}{suffix}"
    if prompt_set not in SETS or name not in TEACHER_NAMES:
        raise KeyError(f"unknown prompt {prompt_set}/{name}; sets {SETS}, prompts {TEACHER_NAMES}")
    own = PROMPT_DIR / prompt_set / f"{name}{suffix}"
    return own if own.exists() or suffix != ".txt" else PROMPT_DIR / f"{name}{suffix}"


@cache
def template(name: str, prompt_set: str | None = None) -> str:
    return _path(name, prompt_set).read_text(encoding="utf-8")


@cache
def system(name: str, prompt_set: str | None = None) -> str | None:
    """The system message of a set's prompt, None where it has none."""
    if prompt_set is None:
        return None
    path = _path(name, prompt_set, ".system.txt")
    return path.read_text(encoding="utf-8").strip() if path.exists() else None


def render(name: str, prompt_set: str | None = None, **fields: str) -> str:
    # str.replace, not str.format: questions and code contain braces.
    text = template(name, prompt_set)
    for key, value in fields.items():
        text = text.replace("{" + key + "}", str(value))
    return text


def student_prompt(question: str, style: str = "compact") -> str:
    """The student's prompt: the `paper` set's prompt A (system message, then user content) or
    the `compact` "### Question / ### Solution" template."""
    if style == "paper":
        return f"{system('correct', 'paper')}\n{render('correct', 'paper', question=question.strip())}"
    if style != "compact":
        raise KeyError(f"unknown student prompt {style!r}; expected one of {STUDENT_PROMPTS}")
    return render("student", question=question.strip())


def corpus_templates() -> list[str]:
    """Every template of the `detailed` set and the shared ones, in a fixed order: the fixed
    text a scratch tokenizer learns (stages/init_models.py)."""
    names = ("correct", "faulty", "scoring", "scoring_compact", "evolve", "student")
    return [template(n, "detailed" if n in TEACHER_NAMES else None) for n in names]



# ----------------------------------------------------------------------------- chat templates


@cache
def _systems() -> tuple[str, ...]:
    """Every set's system messages, longest first (so that none matches a longer one's start)."""
    found = {text for s in SETS for n in TEACHER_NAMES if (text := system(n, s))}
    return tuple(sorted(found, key=len, reverse=True))


def chat_messages(prompt: str) -> list[dict]:
    """A prompt as chat messages: a system message of the prompt sets on its first line is the
    system message, the rest the user's."""
    for text in _systems():
        if prompt.startswith(text + "\n"):
            return [{"role": "system", "content": text}, {"role": "user", "content": prompt[len(text) + 1:]}]
    return [{"role": "user", "content": prompt}]


def check_chat_mode(mode: str) -> str:
    if mode not in CHAT_TEMPLATES:
        raise InputError(f"chat_template must be one of {', '.join(CHAT_TEMPLATES)}, got {mode!r}")
    return mode


def has_chat_template(model: str) -> bool:
    """Whether a model's tokenizer has a (default) chat template. A local model directory's files
    tell without importing transformers (a fully cached rerun never does); a hub id's tokenizer is loaded."""
    path = Path(model)
    if path.is_dir():
        config = path / "tokenizer_config.json"
        return (path / "chat_template.jinja").exists() or (
            config.exists() and json.loads(config.read_text(encoding="utf-8")).get("chat_template") is not None)
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(model).chat_template is not None


class PromptFormat:
    """How a model reads a prompt and ends an answer: with its chat template (chat=True) or as raw text.

    Raw: the prompt's tokens after the tokenizer's own special tokens (BOS), the answer closed by
    EOS. Chat: the prompt rendered as system + user messages with the assistant's turn opened
    (apply_chat_template(add_generation_prompt=True)), the answer closed by the template's end
    of turn (Qwen's <|im_end|>), so that the model learns to stop where its template does.
    """

    def __init__(self, tokenizer, chat: bool):
        self.tokenizer, self.chat = tokenizer, chat
        # The text after an answer that closes its turn ("" raw: EOS is appended as a token).
        self.end = end_of_turn(tokenizer) if chat else ""
        self.end_ids = tokenizer(self.end, add_special_tokens=False)["input_ids"] if chat else [tokenizer.eos_token_id]
        # The tokenizer's own leading special tokens (a BOS), which a template writes itself.
        self._lead = tokenizer.decode(tokenizer("")["input_ids"]) if chat else ""

    @classmethod
    def of(cls, tokenizer, mode: str) -> "PromptFormat":
        """The format params' `chat_template` mode gives: `auto` uses a template the tokenizer has."""
        return cls(tokenizer, check_chat_mode(mode) == "auto" and tokenizer.chat_template is not None)

    def text(self, prompt: str) -> str:
        """The prompt as text that tokenizer(text) turns into exactly prompt_ids(prompt): the chat
        rendering less a BOS the tokenizer adds itself (what TRL's DPO tokenises)."""
        if not self.chat:
            return prompt
        from jinja2 import TemplateError

        messages = chat_messages(prompt)
        try:
            rendered = self.tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
        except TemplateError:  # some templates (Gemma's) refuse a system role: it goes first in the user's
            if len(messages) == 1:
                raise
            rendered = self.tokenizer.apply_chat_template([{"role": "user", "content": prompt}], tokenize=False,
                                                          add_generation_prompt=True)
        return rendered.removeprefix(self._lead) if self._lead else rendered

    def prompt_ids(self, prompt: str) -> list[int]:
        """The prompt's token ids, in training and at generation alike (chat: apply_chat_template's)."""
        return self.tokenizer(self.text(prompt))["input_ids"]

    def answer_ids(self, answer: str) -> list[int]:
        """An answer's token ids after its prompt, closed by EOS or the end of turn."""
        return self.tokenizer(answer, add_special_tokens=False)["input_ids"] + self.end_ids


def end_of_turn(tokenizer) -> str:
    """What a template writes after an assistant's answer, less trailing whitespace (Qwen's
    "<|im_end|>"); EOS for a template that writes nothing there."""
    marker = "\x00answer\x00"
    text = tokenizer.apply_chat_template([{"role": "user", "content": "?"}, {"role": "assistant", "content": marker}],
                                         tokenize=False)
    return text[text.rindex(marker) + len(marker):].rstrip() or tokenizer.eos_token
