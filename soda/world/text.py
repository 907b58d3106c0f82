"""Wording: openers, synonyms and comparison words shared by all families.

Wording pieces use `[a|b|c]` for alternatives; `expand` picks one of each at random.
Varied wording keeps questions of one family apart under 5-gram decontamination, while the
slots the code needs (names, constants, comparison words) are always stated literally.
"""

from __future__ import annotations

import random
import re

_ALT = re.compile(r"\[([^\[\]]*\|[^\[\]]*)\]")

# Comparison operator -> its words. The student learns this small mapping once for all families.
CMP = {
    ">": "[greater than|larger than|more than|above]",
    ">=": "[at least|greater than or equal to|no less than]",
    "<": "[less than|smaller than|below]",
    "<=": "[at most|less than or equal to|no more than]",
    "==": "[equal to|exactly]",
    "!=": "[not equal to|different from]",
}

# Arithmetic step -> words, as "{x} OP {k}" and as an instruction "OP {k}".
OP_VALUE = {"+": "{x} plus {k}", "-": "{x} minus {k}", "*": "{x} times {k}"}
OP_STEP = {"+": "add {k}", "-": "subtract {k}", "*": "multiply by {k}"}
ORDINAL = {1: "[first|1st]", 2: "[second|2nd]", 3: "[third|3rd]"}
ORDINAL_WORD = {1: "first", 2: "second", 3: "third"}  # for docstrings, which are not expanded

INT_ARGS = ["n", "x", "num", "value"]
LIST_ARGS = ["nums", "values", "numbers", "xs", "items", "data"]
STR_ARGS = ["s", "text", "word", "line"]
WORDS_ARGS = ["words", "names", "tokens", "strings"]

OPENERS = [
    "Write a Python function `{sig}` to {what}.",
    "Implement `{sig}` so that it will {what}.",
    "Define a function {sig} that should {what}.",
    "Create a function called `{fn}` with parameters {params}. It must {what}.",
    "Your task: write {sig}. The function should {what}.",
    "Complete the function `{sig}`; it needs to {what}.",
    "Using Python, code a function {sig} which will {what}.",
    "Please write `{sig}`, a function to {what}.",
    "In Python, define `{fn}` taking {params}; it should {what}.",
]
EXAMPLES = [
    "For example, {call} returns {value}.",
    "Example: {call} == {value}",
    "e.g. {call} gives {value}.",
    "As an example, {call} should return {value}.",
]


def expand(text: str, rng: random.Random) -> str:
    while True:
        new = _ALT.sub(lambda m: rng.choice(m.group(1).split("|")), text, count=1)
        if new == text:
            return text
        text = new


def params_words(args: list[str]) -> str:
    if len(args) == 1:
        return f"`{args[0]}`"
    return ", ".join(f"`{a}`" for a in args[:-1]) + f" and `{args[-1]}`"


def sentence(text: str) -> str:
    text = text.strip()
    return text[0].upper() + text[1:] + ("" if text[-1] in ".?!" else ".")


def ask(rng: random.Random, fn: str, args: list[str], what: list[str], rules: list[list[str]],
        example: tuple[str, str] | None) -> str:
    """A question: an opener stating the signature and the task, the extra rules in random
    order, and sometimes one worked example."""
    opener = rng.choice(OPENERS).format(sig=f"{fn}({', '.join(args)})", fn=fn,
                                        params=params_words(args), what=rng.choice(what))
    extra = [sentence(expand(rng.choice(r), rng)) for r in rules]
    rng.shuffle(extra)
    parts = [expand(opener, rng), *extra]
    # Expanded before the example goes in: example values may contain brackets.
    if example and rng.random() < 0.5:
        parts.append(rng.choice(EXAMPLES).format(call=example[0], value=example[1]))
    return " ".join(parts)
