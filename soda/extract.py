"""Parsing teacher and student outputs: code from markdown and new questions (scores: soda.scoring).

Teachers answer in markdown: prose around fenced code blocks, sometimes several blocks in
several languages (a solution, then a usage example, then its output). `extract_code` picks
the solution: the longest block tagged with the wanted language, else an untagged block that
looks like code, else (no fences at all) the longest run of code-looking lines.
"""

from __future__ import annotations

import re
from typing import NamedTuple

# Opening fence: ``` or ~~~ (3 or more), an optional info string; the same fence closes it.
FENCE = re.compile(r"^[ \t]*(?P<fence>`{3,}|~{3,})[ \t]*(?P<info>[^\n`]*)\n(?P<body>.*?)(?:^[ \t]*(?P=fence)[ \t]*$|\Z)",
                   re.M | re.S)

# Tags that name the same language, mapped to one name.
ALIASES = {
    "py": "python", "python3": "python", "py3": "python",
    "js": "javascript", "node": "javascript", "jsx": "javascript",
    "ts": "typescript", "tsx": "typescript",
    "c++": "cpp", "cc": "cpp", "cxx": "cpp", "hpp": "cpp",
    "cs": "csharp", "c#": "csharp",
    "golang": "go", "rs": "rust", "kt": "kotlin", "rb": "ruby",
    "sh": "bash", "shell": "bash", "zsh": "bash", "console": "bash",
    "postgresql": "sql", "mysql": "sql", "sqlite": "sql", "plsql": "sql",
}
# Blocks that are not code: program output, prose, data.
NOT_CODE = {"text", "txt", "plaintext", "output", "markdown", "md", "json", "csv", "log", "none"}

CODE_LINE = re.compile(
    r"^\s*(def |class |import |from \S+ import |return\b|if .*:$|elif .*:$|else:$|for .*:$|while .*:$|try:$|except\b|with .*:$"
    r"|print\(|@\w+|#include|public |private |static |function |const |let |var |fn |func |package |using "
    r"|SELECT\b|INSERT\b|UPDATE\b|CREATE\b|\}|.*[;{]\s*$|\w+(\[.*\])? *[-+*/]?= .+|\w+(\.\w+)*\(.*\)$)"
)


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


def extract_code(text: str, lang: str | None = None) -> str | None:
    """The solution's code in `text`, or None if there is none. `lang` None accepts any language."""
    want = normalise_lang(lang)
    blocks = [b for b in code_blocks(text) if b.code.strip() and b.lang not in NOT_CODE]
    if blocks:
        tagged = [b for b in blocks if b.lang == want] if want else [b for b in blocks if b.lang]
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
    """The longest run of code-looking lines (indented lines and blank lines continue a run)."""
    best: list[str] = []
    run: list[str] = []
    for line in text.splitlines() + [""]:
        if CODE_LINE.match(line) or (run and (not line.strip() or line[:1] in " \t")):
            run.append(line)
            continue
        while run and not run[-1].strip():
            run.pop()
        if len(run) > len(best):
            best = run
        run = []
    # One code-looking line inside prose is a sentence more often than a program.
    return "\n".join(best) if len(best) >= 2 else None


CREATED = re.compile(r"#?\s*Created Instruction\s*#?\s*:?", re.I)
GIVEN = re.compile(r"#?\s*Given Instruction\s*#?", re.I)


def extract_created_instruction(text: str) -> str | None:
    """Prompt D's new question: the text after the last "#Created Instruction#" label (or all of it)."""
    parts = CREATED.split(text)
    question = parts[-1].strip().strip('"').strip()
    # A reply that quotes the given question back or names the labels is garbled, not a question.
    if len(question) < 10 or GIVEN.search(question):
        return None
    return question
