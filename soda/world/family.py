"""What a task family is, and how one draw of it becomes a task row.

A family is a function `draw(tier, rng) -> Draft`: it picks the parameters (function and
argument names, constants, operators), the wording pieces and the test inputs. Everything
else is shared: the reference is assembled from the draft in one code style, the question
from the wording pieces (soda.world.text), and the hidden tests by running the reference
on the inputs. Sharing the style across families is what makes the world learnable by a
tiny student: the same idioms and variable names recur, and every slot of the code is
copied from the question.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Callable

from soda.world import text

MAIN_MARK = "# main cases"
EDGE_MARK = "# edge cases"


@dataclass
class Draft:
    fn: str                      # function name the tests call
    args: list[str]              # parameter names
    params: dict                 # the drawn constants (JSON-serialisable)
    what: list[str]              # paraphrases of the main requirement, imperative: "return ..."
    doc: str                     # the reference's one-line docstring
    body: str                    # the reference's body, unindented lines
    main: list[tuple]            # argument tuples of the main tests
    edge: list[tuple]            # argument tuples of the edge-case tests
    rules: list[list[str]] = field(default_factory=list)  # extra requirements, each as paraphrases


@dataclass(frozen=True)
class Family:
    name: str
    tiers: tuple[int, ...]
    draw: Callable[[int, random.Random], Draft]


FAMILIES: dict[str, Family] = {}


def family(name: str, tiers: tuple[int, ...] = (1, 2, 3)):
    """Register `draw` as the family `name`."""
    def register(draw):
        if name in FAMILIES:
            raise ValueError(f"family {name!r} registered twice")
        FAMILIES[name] = Family(name, tiers, draw)
        return draw
    return register


def reference_code(draft: Draft) -> str:
    lines = [f"def {draft.fn}({', '.join(draft.args)}):", f'    """{draft.doc}"""']
    lines += ["    " + line for line in draft.body.strip("\n").split("\n")]
    return "\n".join(lines) + "\n"


def call(code: str, fn: str, args: tuple):
    # Our own reference on our own inputs: trusted, so it runs in-process (students' code
    # only ever runs in the sandbox).
    namespace: dict = {}
    exec(code, namespace)
    return namespace[fn](*[_copy(a) for a in args])


def _copy(value):
    return eval(repr(value))  # literals only: lists, dicts, strings, numbers


def test_lines(fn: str, code: str, cases: list[tuple]) -> list[str]:
    return [f"assert {fn}({', '.join(map(repr, args))}) == {call(code, fn, args)!r}" for args in cases]


def split_tests(tests: str) -> tuple[str, str]:
    """The main-case and edge-case halves of a world task's tests."""
    main, _, edge = tests.partition(EDGE_MARK)
    return main.replace(MAIN_MARK, "").strip() + "\n", edge.strip() + "\n"


def build(name: str, tier: int, rng: random.Random) -> dict:
    """One task of family `name` at `tier` (without id/origin/parent)."""
    draft = FAMILIES[name].draw(tier, rng)
    code = reference_code(draft)
    main = test_lines(draft.fn, code, draft.main)
    edge = test_lines(draft.fn, code, draft.edge)
    example = None
    if draft.main:
        args = draft.main[0]
        example = (f"{draft.fn}({', '.join(map(repr, args))})", repr(call(code, draft.fn, args)))
    question = text.ask(rng, draft.fn, draft.args, draft.what, draft.rules, example)
    return {
        "question": question,
        "entry_point": draft.fn,
        "reference": code,
        "tests": "\n".join([MAIN_MARK, *main, EDGE_MARK, *edge]) + "\n",
        "family": name,
        "tier": tier,
        "spec": {"fn": draft.fn, "args": list(draft.args), **draft.params},
        "lang": "python",
    }


# Drawing helpers shared by the families.

def pick_cmp(rng: random.Random, ops=(">", ">=", "<", "<=")) -> str:
    return rng.choice(ops)


def around(rng: random.Random, k: int, n: int = 6, spread: int = 6) -> list[int]:
    """A list of ints near k that contains k itself, so that > and >= (or < and <=) differ."""
    values = [rng.randint(k - spread, k + spread) for _ in range(n - 1)] + [k]
    rng.shuffle(values)
    return values


def ints(rng: random.Random, n: int, lo: int = -9, hi: int = 9) -> list[int]:
    return [rng.randint(lo, hi) for _ in range(n)]
