"""soda.decontaminate: normalisation, exactness against brute force over views, containment, exact
short questions, odd input, reports."""

from __future__ import annotations

import json
import random

import numpy as np
import pytest
from datasketch import MinHash

from soda.decontaminate import (
    decontaminate,
    lsh_params,
    normalize,
    read_questions,
    signature,
    write_report,
)
from soda.io import InputError

WORDS = (
    "list string integer return value sorted element index number largest smallest even odd "
    "prime count sum product reverse unique duplicate vowel character digit array matrix "
    "palindrome substring prefix suffix binary decimal average median maximum minimum"
).split()


def grams(text: str, n: int = 5) -> set[tuple[str, ...]]:
    tokens = normalize(text)
    return {tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1)}


def jaccard(a: set, b: set) -> float:
    return len(a & b) / len(a | b) if a and b else 0.0


def make_item(rng: random.Random, k: int) -> dict:
    """A toy item as `decontaminate` takes it: a statement and the whole text as views."""
    words = [rng.choice(WORDS) for _ in range(40)]
    name = "_".join(rng.sample(WORDS, 2))
    statement = " ".join(words)
    whole = f"def {name}(xs):\n    \"\"\"{statement}\"\"\"\n    return sorted(xs)[{k}]\nassert {name}([{k}, {k + 1}]) == {k}\n"
    return {"benchmark": "toy", "task_id": f"toy/{k}", "views": {"statement": statement, "whole": whole}}


def whole(item: dict) -> str:
    return item["views"]["whole"]


def edit(rng: random.Random, text: str, rate: float) -> str:
    """Substitute, insert or delete words at `rate`, and change case and spacing."""
    out = []
    for word in text.split():
        r = rng.random()
        if r < rate / 3:
            out.append(rng.choice(WORDS))
        elif r < 2 * rate / 3:
            out += [word, rng.choice(WORDS)]
        elif r >= rate:
            out.append(word.upper() if rng.random() < 0.1 else word)
    return "  \n ".join(out)


@pytest.fixture(scope="module")
def corpus():
    rng = random.Random(7)
    items = [make_item(rng, k) for k in range(60)]
    questions = []
    for n in range(600):
        if n % 3 == 0:  # an edited copy spanning Jaccard ~0.3-1.0
            questions.append(edit(rng, whole(rng.choice(items)), rng.uniform(0.0, 0.2)))
        else:
            questions.append(" ".join(rng.choice(WORDS) for _ in range(rng.randint(0, 120))))
    return items, [{"id": f"q{n}", "question": q} for n, q in enumerate(questions)]


def test_normalize_folds_case_whitespace_and_code_punctuation():
    assert normalize("def Foo_bar(x):\n\treturn  X+1") == ["def", "foo", "bar", "x", "return", "x", "1"]
    assert normalize("def foo_bar (x) :") == normalize("DEF   foo_bar(x):")
    assert normalize("Ünïcode café, naïve!") == ["ünïcode", "café", "naïve"]
    assert normalize("  ... !!! ()") == []


@pytest.mark.parametrize("disguised", [
    "Ｗｒｉｔｅ ａ ｆｕｎｃｔｉｏｎ ｔｏ ｓｏｒｔ ｔｈｅ ｌｉｓｔ.",  # fullwidth
    "Wri\u200bte a fun\u200cction to so\u200drt the li\u2060st.",  # zero-width space, (non-)joiner, word joiner
    "Write a func\u00adtion to sort the\ufeff list.",  # soft hyphen, BOM
    "Write\u00a0a\u2009function\u3000to sort the list.",  # no-break, thin and ideographic spaces
    "𝐖𝐫𝐢𝐭𝐞 a 𝑓𝑢𝑛𝑐𝑡𝑖𝑜𝑛 to sort the list.",  # mathematical letters
    "WRITE A FUNCTION TO SORT THE LIST.",
    "Write a func\ufe0ftion to sort the list.",  # a variation selector
])
def test_normalize_undoes_unicode_disguises(disguised):
    assert normalize(disguised) == ["write", "a", "function", "to", "sort", "the", "list"]
    assert normalize("cafe\u0301 Straße") == normalize("CAFÉ STRASSE") == ["café", "strasse"]


def test_ngram_hashes_depend_only_on_the_tokens():
    from soda.decontaminate import _canonical, _ngram_hashes

    texts = ["x y Alpha beta gamma delta eps", "ALPHA  beta, gamma(delta) eps z", "", "no", "é alpha beta gamma delta eps"]
    hashes, offsets = _ngram_hashes([_canonical(t) for t in texts], 5)
    per_text = [hashes[offsets[i] : offsets[i + 1]].tolist() for i in range(len(texts))]
    assert [len(h) for h in per_text] == [max(len(normalize(t)) - 4, 0) for t in texts]
    assert per_text[0][2] == per_text[1][0] == per_text[4][1]  # "alpha beta gamma delta eps"
    assert len(set(per_text[0]) | set(per_text[1])) == 4


def test_signature_is_datasketch_minhash():
    rng = np.random.default_rng(0)
    hashes = np.unique(rng.integers(0, 2**63, 300, dtype=np.uint64))
    reference = MinHash(num_perm=128, seed=3, hashfunc=lambda x: x)
    reference.update_batch([int(h) >> 32 for h in hashes])
    assert np.array_equal(signature(hashes, reference.permutations), reference.hashvalues)


def test_lsh_params_bound_the_miss_probability_at_the_threshold():
    for threshold in (0.5, 0.7, 0.8):
        bands, rows = lsh_params(threshold, 128)
        assert bands * rows <= 128
        assert (1 - threshold**rows) ** bands <= 1e-6
        assert (1 - threshold ** (rows + 1)) ** (128 // (rows + 1)) > 1e-6  # most rows that qualify
    with pytest.raises(InputError, match="num_perm"):
        lsh_params(0.01, 16)


def test_paper_rule_removes_exactly_the_brute_force_pairs(corpus):
    items, questions = corpus
    truth = {
        (q["id"], it["task_id"], view): jaccard(grams(q["question"]), grams(text))
        for q in questions
        for it in items
        for view, text in it["views"].items()
    }
    expected = {pair for pair, j in truth.items() if j >= 0.7}
    assert 20 < len(expected) < 300  # the fixture plants pairs on both sides of the threshold
    assert any(0.5 < j < 0.7 for j in truth.values())
    assert {view for _, _, view in expected} == {"statement", "whole"}
    result = decontaminate(questions, items, containment_threshold=None, processes=1)
    found = {(m["question_id"], m["task_id"], m["view"]) for m in result.matches}
    assert found == expected
    for m in result.matches:
        assert m["jaccard"] == pytest.approx(truth[m["question_id"], m["task_id"], m["view"]], abs=1e-6)
    removed = {r["question_id"] for r in result.removed}
    assert removed == {q for q, _, _ in expected}
    assert {r["id"] for r in result.clean} == {q["id"] for q in questions} - removed
    assert result.counts["removed"] == result.counts["removed_by_benchmark"]["toy"] == len(removed)
    assert result.counts["removed_by_reason"] == {"jaccard": len(removed), "containment": 0, "exact": 0}
    assert (result.counts["items"], result.counts["items_by_benchmark"], result.counts["views"]) == (60, {"toy": 60}, 120)


@pytest.mark.parametrize("containment", [0.3, 0.6, 0.8])
def test_containment_removes_exactly_the_brute_force_pairs(corpus, containment):
    """Jaccard against every view, containment against statements only."""
    items, questions = corpus
    expected = set()
    for q in questions:
        g = grams(q["question"])
        for it in items:
            for view, text in it["views"].items():
                vg = grams(text)
                contained = view == "statement" and len(g & vg) >= containment * len(vg) - 1e-9
                if jaccard(g, vg) >= 0.7 or contained:
                    expected.add((q["id"], it["task_id"], view))
    result = decontaminate(questions, items, containment_threshold=containment, processes=1)
    assert {(m["question_id"], m["task_id"], m["view"]) for m in result.matches} == expected
    assert result.counts["removed_by_reason"]["containment"] > 0


def test_worker_processes_give_the_same_result(corpus, monkeypatch):
    import soda.decontaminate as d

    items, questions = corpus
    single = decontaminate(questions, items, processes=1)
    assert single.counts["removed_by_reason"]["containment"] > 0  # the default rule
    monkeypatch.setattr(d, "_CHUNK_TEXTS", 50)  # several chunks, so the pool is really used
    pooled = decontaminate(questions, items, processes=2)
    assert (pooled.clean, pooled.removed, pooled.skipped, pooled.counts) == (
        single.clean, single.removed, single.skipped, single.counts,
    )


def test_containment_catches_a_statement_pasted_into_a_long_question():
    rng = random.Random(1)
    items = [make_item(rng, k) for k in range(5)]
    filler = " ".join(rng.choice(WORDS) + str(n) for n in range(600))
    statement = items[2]["views"]["statement"]
    question = {"id": "long", "question": f"{filler}\nPlease solve: {statement.upper()}\n{filler}"}
    assert decontaminate([question], items, containment_threshold=None, processes=1).removed == []
    result = decontaminate([question], items, processes=1)
    [row] = result.removed
    assert (row["task_id"], row["view"], row["reason"], row["containment"]) == ("toy/2", "statement", "containment", 1.0)
    assert row["jaccard"] < 0.2
    assert row["span"] == statement.upper()
    assert result.counts["removed_by_reason"] == {"jaccard": 0, "containment": 1, "exact": 0}
    assert result.counts["removed_by_view"] == {"statement": 1, "whole": 0}


def test_containment_is_not_applied_to_other_views():
    rng = random.Random(3)
    items = [make_item(rng, 0)]
    filler = " ".join(f"w{n}" for n in range(400))
    question = {"id": "q", "question": f"{filler}\n{whole(items[0])}"}  # holds the statement too
    [row] = decontaminate([question], items, processes=1).removed
    assert row["view"] == "statement"  # the whole view, also contained, is not a containment match
    items[0]["views"]["statement"] = None
    assert decontaminate([question], items, processes=1).removed == []


def test_short_questions_are_compared_by_exact_normalised_text():
    items = [{"benchmark": "b", "task_id": "t", "views": {"statement": "Add two numbers.", "whole": "def add(a, b): return a + b"}}]
    questions = [{"id": "same", "question": "ＡＤＤ two\u200b numbers!"}, {"id": "other", "question": "Add three numbers."},
                 {"id": "part", "question": "two numbers"}]
    result = decontaminate(questions, items, processes=1)
    assert result.removed == [{"question_id": "same", "benchmark": "b", "task_id": "t", "view": "statement", "jaccard": 1.0,
                               "containment": 1.0, "span": "ＡＤＤ two\u200b numbers!", "reason": "exact"}]
    assert [s["question_id"] for s in result.skipped if s["reason"] == "no_ngrams"] == ["other", "part"]
    paper = decontaminate(questions, items, containment_threshold=None, processes=1)
    assert paper.removed == [] and paper.counts["no_ngrams"] == 3


def test_views_with_the_same_text_are_compared_once_under_the_first_name():
    text = "one two three four five six seven"
    items = [{"benchmark": "b", "task_id": "t", "views": {"statement": text, "prompt": text.upper(), "solution": None, "whole": text + " eight"}}]
    result = decontaminate([{"id": "q", "question": text}], items, processes=1)
    assert result.counts["views"] == 2
    assert {m["view"] for m in result.matches} == {"statement", "whole"}
    assert result.removed[0]["view"] == "statement"


def test_span_is_the_matching_question_text():
    item = {"benchmark": "b", "task_id": "t", "views": {"whole": "one two three four five six seven eight"}}
    question = "Intro words here. ONE two, three four five six seven eight! trailing"
    [row] = decontaminate([{"id": "q", "question": question}], [item], threshold=0.3, processes=1).removed
    assert row["span"] == "ONE two, three four five six seven eight"
    disguised = "Intro: ｏｎｅ two thr\u200bee fo\u0301ur ﬁve six seven eight. trailing"
    item["views"]["whole"] = "one two three fóur five six seven eight"
    [row] = decontaminate([{"id": "q", "question": disguised}], [item], threshold=0.3, processes=1).removed
    assert row["span"] == "ｏｎｅ two thr\u200bee fo\u0301ur ﬁve six seven eight"


def test_odd_input_is_counted_not_fatal(tmp_path):
    rng = random.Random(2)
    items = [make_item(rng, 0), {"benchmark": "b", "task_id": "tiny", "views": {"whole": "f(x)"}}]
    copy = whole(items[0])
    path = tmp_path / "q.jsonl"
    lines = [
        json.dumps({"id": "empty", "question": ""}).encode(),
        json.dumps({"id": "punct", "question": "?!... ;;; {}()"}).encode(),
        json.dumps({"id": "short", "question": "sort the list"}).encode(),
        json.dumps({"id": "big", "question": " ".join(rng.choice(WORDS) for _ in range(150_000))}).encode(),
        json.dumps({"id": "copy", "question": copy}).encode(),
        json.dumps({"id": "copy", "question": "another row with the same id"}).encode(),
        b'{"id": "bytes", "question": "caf\xe9 \xff ' + copy.encode().replace(b"\n", b"\\n").replace(b'"', b'\\"') + b'"}',
    ]
    path.write_bytes(b"\n".join(lines) + b"\n")
    assert len(path.read_bytes()) > 1_000_000
    result = decontaminate(read_questions(path), items, containment_threshold=None, processes=1)
    c = result.counts
    assert (c["questions"], c["no_ngrams"], c["duplicate_ids"], c["invalid_utf8"], c["items_no_ngrams"]) == (7, 3, 1, 1, 1)
    assert {r["question_id"] for r in result.removed} == {"copy", "bytes"}
    assert {r["id"] for r in result.clean} == {"empty", "punct", "short", "big"}
    reasons = {(s["question_id"], s["reason"]) for s in result.skipped}
    assert {("empty", "no_ngrams"), ("punct", "no_ngrams"), ("short", "no_ngrams"),
            ("copy", "duplicate_id"), ("bytes", "invalid_utf8"), (None, "item_no_ngrams")} == reasons
    bytes_row = next(r for r in result.removed if r["question_id"] == "bytes")
    assert bytes_row["span"] == copy.strip() and bytes_row["containment"] == 1.0
    write_report(result, tmp_path / "r.jsonl", tmp_path / "r.csv")  # every output encodes as UTF-8


def test_bytes_question_is_decoded_and_repaired():
    result = decontaminate([{"id": "b", "question": b"ok \xff text"}], [], processes=1)
    assert result.clean == [{"id": "b", "question": "ok \ufffd text"}]
    assert result.counts["invalid_utf8"] == 1


@pytest.mark.parametrize(
    "questions, items, message",
    [
        ([{"question": "x"}], [], r"questions\[0\]"),
        ([{"id": "a", "question": None}], [], "question a"),
        ([], [{"benchmark": "b"}], r"items\[0\].*task_id"),
        ([], [{"benchmark": "b", "task_id": "t", "prompt": "x"}], "benchmark b task t.*views"),
        ([], [{"benchmark": "b", "task_id": "t", "views": {"prompt": 3}}], "benchmark b task t.*prompt"),
    ],
)
def test_malformed_rows_raise_input_error_naming_them(questions, items, message):
    with pytest.raises(InputError, match=message):
        decontaminate(questions, items, processes=1)


def test_bad_params_raise_input_error():
    with pytest.raises(InputError, match="threshold"):
        decontaminate([], [], threshold=1.5)
    with pytest.raises(InputError, match="containment_threshold"):
        decontaminate([], [], containment_threshold=0)
    with pytest.raises(InputError, match="ngram"):
        decontaminate([], [], ngram=0)


def test_report_is_byte_identical_and_atomic(corpus, tmp_path):
    items, questions = corpus
    outputs = []
    for run in range(2):
        result = decontaminate(questions + [{"id": "e", "question": ""}], items, processes=1)
        jsonl, csv_path = tmp_path / f"{run}.jsonl", tmp_path / f"{run}.csv"
        write_report(result, jsonl, csv_path)
        outputs.append((jsonl.read_bytes(), csv_path.read_bytes()))
    assert outputs[0] == outputs[1]
    rows = [json.loads(line) for line in outputs[0][0].decode().splitlines()]
    assert len(rows) == result.counts["removed"] + result.counts["no_ngrams"]
    assert rows[-1] == {"question_id": "e", "action": "kept", "reason": "no_ngrams", "benchmark": None,
                        "task_id": None, "view": None, "jaccard": None, "containment": None, "span": None}
    assert {r["view"] for r in rows if r["action"] == "removed"} == {"statement", "whole"}
    header = outputs[0][1].decode().splitlines()[0]
    assert header == "question_id,action,reason,benchmark,task_id,view,jaccard,containment,span"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["0.csv", "0.jsonl", "1.csv", "1.jsonl"]


def test_reformatted_humaneval_prompt_is_removed():
    from soda.benchmarks import item_views, load_benchmark

    problems = load_benchmark("humaneval")
    items = [{"benchmark": p["benchmark"], "task_id": p["task_id"], "views": item_views(p)} for p in problems]
    target = problems[17]
    question = "Please solve:\n" + (target["prompt"] + target["solution"]).upper().replace("    ", "\t")
    result = decontaminate([{"id": "q", "question": question}], items, processes=1)
    [row] = result.removed
    assert (row["task_id"], row["view"]) == (target["task_id"], "prompt")
    assert row["jaccard"] > 0.7 and row["containment"] == 1.0
