"""Code and new questions parsed out of teacher outputs, on made-up and real replies."""

import collections
import json
from pathlib import Path

import pytest

from soda.extract import code_blocks, extract_code, extract_created_instruction

PAIRS = Path(__file__).resolve().parents[2] / "shared" / "sodacoder-samples" / "pairwise_data.json"


def test_tagged_block_in_the_wanted_language_wins():
    text = ("Here is SQL first:\n```sql\nSELECT 1;\n```\nAnd the solution:\n```Python\ndef f(x):\n    return x + 1\n```\n"
            "Usage:\n```python\nprint(f(1))\n```\nOutput:\n```\n2\n```\n")
    assert extract_code(text, "python") == "def f(x):\n    return x + 1"
    assert extract_code(text, "py") == "def f(x):\n    return x + 1"
    assert extract_code(text, "sql") == "SELECT 1;"
    # Blocks only in other languages are not a Python solution.
    assert extract_code("```java\nclass A {}\n```", "python") is None


def test_untagged_and_unfenced_code_is_detected():
    assert extract_code("Try this:\n```\ndef f():\n    return 1\n```\n", "python") == "def f():\n    return 1"
    assert extract_code("Output:\n```\nThe answer is 42\n```", "python") is None
    prose = "The function below works.\n\ndef f(a):\n    total = a * 2\n\n    return total\n\nIt doubles its input."
    assert extract_code(prose) == "def f(a):\n    total = a * 2\n\n    return total"
    assert extract_code("It is not possible to answer this with code.") is None
    assert extract_code("") is None


def test_a_cut_output_keeps_its_unclosed_block():
    assert extract_code("```python\ndef f():\n    return [1, 2,", "python") == "def f():\n    return [1, 2,"


def test_created_instruction():
    assert extract_created_instruction("#Created Instruction#:\nWrite a function that reverses a list.") == \
        "Write a function that reverses a list."
    assert extract_created_instruction("Write a function that sorts words by length.") == \
        "Write a function that sorts words by length."
    assert extract_created_instruction("#Created Instruction#: ") is None
    assert extract_created_instruction("#Created Instruction#: Same as the #Given Instruction# but longer") is None


@pytest.mark.shared
@pytest.mark.skipif(not PAIRS.exists(), reason="needs ../shared/sodacoder-samples")
def test_all_real_pairs_parse():
    pairs = json.loads(PAIRS.read_text())
    assert len(pairs) == 100
    langs, fenced, found = collections.Counter(), 0, 0
    for pair in pairs:
        for reply in pair["response"]:
            blocks = code_blocks(reply)
            code = extract_code(reply)
            if blocks:
                fenced += 1
                langs.update(b.lang for b in blocks)
                # A reply with code blocks yields one of them, verbatim.
                if code is not None:
                    assert code in {b.code for b in blocks}
            found += code is not None
            python = extract_code(reply, "python")
            if python is not None and any(b.lang == "python" for b in blocks):
                assert python in {b.code for b in blocks if b.lang == "python"}
    assert fenced >= 180 and found >= 180
    assert {"python", "sql", "javascript", "java", "cpp"} <= set(langs)
