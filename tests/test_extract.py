"""Code and new questions parsed out of teacher outputs, on made-up and real replies."""

import collections
import json
from pathlib import Path

import pytest

from soda.extract import answer_lang, code_blocks, extract_code, extract_created_instruction, normalise_lang

SAMPLES = Path(__file__).resolve().parents[2] / "shared" / "sodacoder-samples"
PAIRS = SAMPLES / "pairwise_data.json"
NEW = SAMPLES / "new_data.json"
needs_samples = pytest.mark.skipif(not PAIRS.exists(), reason="needs ../shared/sodacoder-samples")


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


def test_unfenced_code_running_to_the_end_of_the_reply():
    # A reply that is nothing but code, its last line the last of the text (no newline).
    assert extract_code("def f(msg):\n    return(print(msg)\n\nf('hi')") == "def f(msg):\n    return(print(msg)\n\nf('hi')"
    assert extract_code("x = 21  # an example\n\nprint(x)") == "x = 21  # an example\n\nprint(x)"
    # Comment lines inside the code stay; a trailing comment is no code.
    reply = "def f():\n    return 1\n\n# Example usage:\nprint(f())  # 1\n# the end"
    assert extract_code(reply) == "def f():\n    return 1\n\n# Example usage:\nprint(f())  # 1"


def test_languages_are_the_sandbox_labels():
    assert [normalise_lang(t) for t in ("javascript", "Node", "c++", "golang", "TypeScript", "py", "{.python}", "")] == \
        ["js", "js", "cpp", "go", "ts", "python", "python", None]
    assert extract_code("```javascript\nconst a = 1;\n```", "js") == "const a = 1;"


def test_answer_lang():
    assert answer_lang("Install:\n```bash\npip install numpy\n```\n```python\nimport numpy\n```") == "python"
    assert answer_lang("```sh\nls -la | wc -l\n```") == "bash"
    assert answer_lang("```c++\nint main() { return 0; }\n```\nOutput:\n```text\n0\n```") == "cpp"
    assert answer_lang("def f(x):\n    return x\n\nf(1)") == "python"  # unfenced, parses as Python
    assert answer_lang("```\nlet x = 1;\nconsole.log(x);\n```") is None  # untagged, not Python
    assert answer_lang("No code can answer this question.") is None
    # Without a wanted language, the code comes from the reply's own language.
    assert extract_code("```bash\nnpm install leftpad\n```\n```js\nconst x = 1;\n```") == "const x = 1;"


def test_a_cut_output_keeps_its_unclosed_block():
    assert extract_code("```python\ndef f():\n    return [1, 2,", "python") == "def f():\n    return [1, 2,"


def test_created_instruction():
    assert extract_created_instruction("#Created Instruction#:\nWrite a function that reverses a list.") == \
        "Write a function that reverses a list."
    assert extract_created_instruction("Write a function that sorts words by length.") == \
        "Write a function that sorts words by length."
    assert extract_created_instruction("#Created Instruction#: ") is None
    assert extract_created_instruction("#Created Instruction#: Same as the #Given Instruction# but longer") is None
    assert extract_created_instruction('#Created Instruction#: "Reverse a list."') == "Reverse a list."
    docstring = 'def f(x):\n    """Return x doubled.\n    >>> f(2)\n    4\n    """'
    assert extract_created_instruction("#Created Instruction#:\n" + docstring) == docstring


@pytest.mark.shared
@pytest.mark.skipif(not NEW.exists(), reason="needs ../shared/sodacoder-samples")
def test_real_evolved_questions_survive_extraction():
    # Each released evolved question, as the teacher's reply to prompt D, comes back whole
    # (docstrings keep their closing quotes); only surrounding whitespace goes.
    for row in json.loads(NEW.read_text()):
        question = row["instruction"]
        assert extract_created_instruction("#Created Instruction#: " + question) == question.strip()


@pytest.mark.shared
@needs_samples
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
    assert {"python", "sql", "js", "java", "cpp"} <= set(langs)


@pytest.mark.shared
@needs_samples
def test_real_faulty_answers_without_fences():
    # Released faulty answers that are bare code to the end of the reply (no fence, no prose).
    bare = [pair["response"][1] for pair in json.loads(PAIRS.read_text()) if "```" not in pair["response"][1]
            and pair["response"][1].lstrip().startswith(("def ", "age ", "from "))]
    assert len(bare) >= 6
    for reply in bare:
        code = extract_code(reply, "python")
        assert code is not None
        # The whole program: its last code line is the reply's last line.
        assert code.splitlines()[-1] == reply.rstrip().splitlines()[-1]
