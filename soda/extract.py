"""Parsing teacher and student outputs: code from markdown and new questions (scores: soda.scoring).

Teachers answer in markdown: prose around fenced code blocks, sometimes several blocks in
several languages (a solution, then a usage example, then its output). `extract_code` picks
the solution: the longest block tagged with the wanted language, else an untagged block that
looks like code, else (no fences at all) the longest run of code-looking lines.

Language names are normalised to the sandbox's labels (`js`, `ts`, `cpp`, `go`, `python`, ...):
`answer_lang` tells the language of a reply when its question does not give one.
"""

from __future__ import annotations

import ast
import re
from typing import NamedTuple

from sandbox.result import LANGS

# The languages the sandbox runs, under the names normalise_lang gives.
RUNNABLE = frozenset(LANGS)

# Opening fence: ``` or ~~~ (3 or more), an optional info string; the same fence closes it.
FENCE = re.compile(r"^[ \t]*(?P<fence>`{3,}|~{3,})[ \t]*(?P<info>[^\n`]*)\n(?P<body>.*?)(?:^[ \t]*(?P=fence)[ \t]*$|\Z)",
                   re.M | re.S)

# Tags that name the same language, mapped to one name: the sandbox's label where it has one.
ALIASES = {
    "py": "python", "python3": "python", "py3": "python",
    "javascript": "js", "node": "js", "nodejs": "js", "jsx": "js",
    "typescript": "ts", "tsx": "ts",
    "c++": "cpp", "cc": "cpp", "cxx": "cpp", "hpp": "cpp", "h": "c",
    "cs": "csharp", "c#": "csharp",
    "golang": "go", "rs": "rust", "kt": "kotlin", "rb": "ruby",
    "sh": "bash", "shell": "bash", "zsh": "bash", "console": "bash",
    "postgresql": "sql", "mysql": "sql", "sqlite": "sql", "plsql": "sql",
}
# Blocks that are not code: program output, prose, data.
NOT_CODE = {"text", "txt", "plaintext", "output", "markdown", "md", "json", "csv", "log", "none"}
# Blocks that install or run things: the solution only when a reply has nothing else.
SHELL = {"bash", "cmd", "powershell", "bat"}

CODE_LINE = re.compile(
    r"^\s*(def |class |import |from \S+ import |return\b|if .*:$|elif .*:$|else:$|for .*:$|while .*:$|try:$|except\b|with .*:$"
    r"|print\(|@\w+|#include|public |private |static |function |const |let |var |fn |func |package |using "
    r"|SELECT\b|INSERT\b|UPDATE\b|CREATE\b|\}|.*[;{]\s*$|\w+(\[.*\])? *[-+*/]?= .+|\w+(\.\w+)*\(.*\)$)"
)
# A comment line continues a run of code ("# Example usage:" before the calls) but starts none.
COMMENT_LINE = re.compile(r"^\s*(#|//|/\*|\*|--)")


class Block(NamedTuple):
    lang: str | None  # the normalised tag, None if untagged
    code: str


def normalise_lang(tag: str | None) -> str | None:
    tag = (tag or "").strip().split()[0].lower() if (tag or "").strip() else ""
    tag = tag.lstrip("{.").rstrip("}")  # pandoc-style {.python}
    return ALIASES.get(tag, tag) or None


def code_blocks(text: str) -> list[Block]:
    """Every fenced block, in order; an unclosed fence (a cut output) runs to the end of the text."""
    return [Block(normalise_lang(m["info"]), m["body"].rstrip("\n")) for m in FENCE.finditer(text)]


def looks_like_code(text: str) -> bool:
    lines = [line for line in text.splitlines() if line.strip()]
    return bool(lines) and sum(bool(CODE_LINE.match(line)) for line in lines) >= max(1, len(lines) / 2)


def _main_lang(blocks: list[Block]) -> str | None:
    """The tag of the longest tagged block, shell blocks only when there is nothing else."""
    tagged = [b for b in blocks if b.lang]
    for candidates in ([b for b in tagged if b.lang not in SHELL], tagged):
        if candidates:
            return max(candidates, key=lambda b: len(b.code)).lang
    return None


def _solution_blocks(text: str) -> list[Block]:
    return [b for b in code_blocks(text) if b.code.strip() and b.lang not in NOT_CODE]


def extract_code(text: str, lang: str | None = None) -> str | None:
    """The solution's code in `text`, or None if there is none. `lang` None accepts the
    reply's own language (`answer_lang`)."""
    want = normalise_lang(lang)
    blocks = _solution_blocks(text)
    if blocks:
        want = want or _main_lang(blocks)
        tagged = [b for b in blocks if b.lang == want]
        if tagged:
            return max(tagged, key=lambda b: len(b.code)).code
        untagged = [b for b in blocks if b.lang is None and looks_like_code(b.code)]
        if untagged:
            return max(untagged, key=lambda b: len(b.code)).code
        return None  # only blocks in other languages: not a solution in `lang`
    if "```" in text or "~~~" in text:
        return None
    return _unfenced_code(text)


def _unfenced_code(text: str) -> str | None:
    """The longest run of code-looking lines (indented, blank and comment lines continue a run;
    a run may go on to the end of the text)."""
    runs: list[list[str]] = [[]]
    for line in text.splitlines():
        if CODE_LINE.match(line) or (runs[-1] and (not line.strip() or line[:1] in " \t" or COMMENT_LINE.match(line))):
            runs[-1].append(line)
        elif runs[-1]:
            runs.append([])
    for run in runs:
        while run and (not run[-1].strip() or COMMENT_LINE.match(run[-1])):
            run.pop()
    best = max(runs, key=len)
    # One code-looking line inside prose is a sentence more often than a program.
    return "\n".join(best) if len(best) >= 2 else None


def _guess_lang(code: str) -> str | None:
    """The language of untagged code: Python when it parses as Python, else unknown."""
    try:
        ast.parse(code)
    except (SyntaxError, ValueError):
        return None
    return "python"


def answer_lang(text: str) -> str | None:
    """The language of a reply's solution: the tag of its longest code block (shell blocks
    only when there is nothing else), else Python if its untagged or unfenced code parses as
    Python; None when it has no code or its language cannot be told."""
    lang = _main_lang(_solution_blocks(text))
    if lang:
        return lang
    code = extract_code(text)
    return _guess_lang(code) if code else None


def question_lang(question: dict, reply: str | None) -> str | None:
    """A question's language: its row's `lang`, else the language of the teacher's reply to it."""
    return normalise_lang(question.get("lang")) or (answer_lang(reply) if reply else None)


CREATED = re.compile(r"#?\s*Created Instruction\s*#?\s*:?", re.I)
GIVEN = re.compile(r"#?\s*Given Instruction\s*#?", re.I)


def extract_created_instruction(text: str) -> str | None:
    """Prompt D's new question: the text after the last "#Created Instruction#" label (or all of it)."""
    parts = CREATED.split(text)
    # Quotes around the whole question go; a docstring's closing triple quote stays.
    question = parts[-1].strip()
    if len(question) > 1 and question[0] == question[-1] == '"' and not question.endswith('"""'):
        question = question[1:-1].strip()
    # A reply that quotes the given question back or names the labels is garbled, not a question.
    if len(question) < 10 or GIVEN.search(question):
        return None
    return question
