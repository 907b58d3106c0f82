"""Benchmark decontamination: word 5-gram MinHash LSH, every candidate verified exactly.

Each benchmark item comes as named *views*, the texts of it a question could have copied
(see `soda.benchmarks.item_views`: the statement alone, the statement with its signature or
asserts, the solution, the whole item). A question is removed when, for some view of some item:
- jaccard: the exact Jaccard similarity of their word n-gram sets is >= `threshold`
  (the paper's rule: 5-grams at 0.7);
- containment: the view is the item's `statement` and the question holds at least
  `containment_threshold` of its n-grams (a statement pasted into a longer request dilutes
  Jaccard but not containment);
- exact: the question is too short to have an n-gram and its normalised text equals the view's.
The last two go beyond the paper; `containment_threshold=None` turns both off, which is the
paper's Jaccard-only rule exactly (too-short questions are then kept). The report names, per
removed question, its best match (highest Jaccard, then containment): item, view, both
similarities, the rule and the question's matching text.

Normalisation (`normalize`), identical for questions and views: invisible characters (Unicode
category Cf: zero-width spaces and joiners, soft hyphens, bidi controls; and the other
default-ignorable ones: variation selectors, fillers) are removed, then NFKC (fullwidth,
mathematical and ligature letters become plain ones, odd spaces plain spaces) and case
folding. A token is then a maximal run of Unicode letters and digits, so whitespace,
punctuation, operators and underscores only separate tokens (`def foo_bar(x):` and
`def foo_bar (x) :` both give `def foo bar x`). camelCase is not split. N-grams are taken over
this token sequence; text with fewer than `ngram` tokens has no n-grams.

How nothing is missed, cheaply:
1. Every n-gram is hashed to 64 bits; "exact" below means exact on these hashes (two
   distinct n-grams collide with probability 2^-64).
2. Lossless prefilter: J(Q, V) <= |Q & B| / |Q| where B is the union of all view n-grams,
   and J <= |V| / |Q|, so only questions passing both bounds can reach the threshold.
   |Q & B| is over-counted through a bitmap of B (a looser bound, still safe); |Q| is
   counted on 48 hash bits (a merge of two of a question's n-grams: < 1e-10).
3. For those, MinHash signatures (datasketch's `affine32` scheme, computed with numpy) are
   looked up in a banded LSH index over the views, whose bands/rows are chosen so that a
   pair at exactly `threshold` is missed with probability <= 1e-6 (`lsh_params`). The index
   is numpy (one sorted array of 64-bit band keys): datasketch's `MinHashLSH` costs ~1 ms of
   Python per view inserted, seconds for the ~5,000 views of the usual benchmarks. A key
   collision only adds a candidate.
4. Containment (prefix filtering): order a statement's n-grams rarest first; a question
   holding need = ceil(c|S|) of them holds at least k of the first |S| - need + k, for any
   k <= need. Only those prefixes are indexed, and pairs with k = min(3, need) prefix hits
   are verified (one shared common phrase is not enough to make a candidate).
5. Every candidate pair is verified with exact set intersection; nothing unverified is
   removed.

Policies for odd input (each counted in `counts` and listed in `skipped`):
- a question with no n-grams (and, under the extended rule, equal to no short view) is kept
  (`no_ngrams`);
- a view with no n-grams can match only by the exact rule (`item_no_ngrams`); views of one
  item with the same normalised text are compared once, under the first name;
- a repeated question id: the first row is used, later rows are dropped (`duplicate_id`);
- a question that is bytes, or a str holding unpaired surrogates (what non-UTF-8 bytes
  become, e.g. through `read_questions`), is decoded with U+FFFD replacement and the clean
  row carries the repaired text so that every output is valid UTF-8 (`invalid_utf8`).
"""

from __future__ import annotations

import csv
import functools
import gc
import multiprocessing
import os
import re
import unicodedata
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
from datasketch import MinHash

from soda.io import InputError, atomic_path, dumps, read_jsonl

if TYPE_CHECKING:
    from soda.params import Decontaminate

REPORT_FIELDS = ("question_id", "action", "reason", "benchmark", "task_id", "view", "jaccard", "containment", "span")
STATEMENT = "statement"  # the view the containment rule applies to
REASONS = ("jaccard", "containment", "exact")
MAX_LSH_MISS = 1e-6  # probability of missing a pair whose Jaccard is exactly the threshold
_EPS = 1e-9  # threshold comparisons are inclusive despite float rounding
_CHUNK_TEXTS = 2048  # questions per unit of work; must stay below 2**16 (see _unique_counts)
_CHUNK_BYTES = 1 << 20  # bounds the uint64 temporaries of _ngram_hashes (~40 bytes per byte)
_PREFIX_HITS = 3  # containment candidates need this many prefix hits (see step 4 above)
_BITMAP_BITS = 24  # 16 MB membership bitmaps: ~1.5% false hits for 250k item n-grams


# ---------------------------------------------------------------- normalisation and hashing

# ASCII fast path of the tokenisation rule: letters lower-cased, digits kept, all else a space.
_ASCII = bytes(
    b + 32 if 65 <= b <= 90 else b if (97 <= b <= 122 or 48 <= b <= 57) else 32 for b in range(256)
)
_WORD = re.compile(r"[^\W_]+")  # a run of Unicode letters/digits (\w minus underscore)
# Default-ignorable code points outside category Cf: combining grapheme joiner, Hangul and
# Khmer fillers, Mongolian and other variation selectors.
_IGNORABLE = (0x034F, 0x115F, 0x1160, 0x17B4, 0x17B5, 0x3164, 0xFFA0, *range(0x180B, 0x1810),
              *range(0xFE00, 0xFE10), *range(0xE0100, 0xE01F0))


@functools.cache
def _invisible() -> re.Pattern:
    """A pattern matching one invisible character. Every Cf code point lies below U+20000 or
    in the tags block (U+E0000-E0FFF); built on the first non-ASCII text (~0.1 s). A regex,
    because str.translate with a dict looks up every character in Python."""
    planes = (range(0x20000), range(0xE0000, 0xE1000))
    points = sorted({cp for r in planes for cp in r if unicodedata.category(chr(cp)) == "Cf"} | set(_IGNORABLE))
    runs = [[points[0], points[0]]]
    for cp in points[1:]:  # as ranges: re tests a long list of single characters one by one
        if cp == runs[-1][1] + 1:
            runs[-1][1] = cp
        else:
            runs.append([cp, cp])
    return re.compile("[" + "".join(f"{re.escape(chr(a))}-{re.escape(chr(b))}" for a, b in runs) + "]")


def _fold(text: str) -> str:
    """`text` without invisible characters, NFKC-normalised and case-folded (NFKC again after
    folding, which can decompose)."""
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", _invisible().sub("", text)).casefold())


def _canonical(text: str) -> bytes:
    """The tokens of `text` after folding, separated by (possibly several) spaces, as UTF-8."""
    if text.isascii():
        return text.encode("ascii").translate(_ASCII)
    return " ".join(_WORD.findall(_fold(text))).encode("utf-8")


def normalize(text: str) -> list[str]:
    """Word tokens of `text` after the normalisation described in the module docstring."""
    return _canonical(text).decode("utf-8").split()


def _token_spans(text: str) -> list[tuple[int, int]] | None:
    """(start, end) in `text` of each token of `normalize(text)`, or None where folding a
    piece at a time tokenises differently from folding the whole text. Folding never joins
    text across whitespace, so each whitespace-free chunk is tokenised alone; in one that is
    not ASCII each character is folded with the combining marks after it."""
    if text.isascii():
        return [m.span() for m in _WORD.finditer(text)]
    tokens, spans = [], []
    for chunk in re.finditer(r"\S+", text):
        if chunk.group().isascii():
            found = [(m.group().lower(), m.start(), m.end()) for m in _WORD.finditer(chunk.group())]
        else:
            found = _folded_tokens(chunk.group())
        for token, start, end in found:
            tokens.append(token)
            spans.append((chunk.start() + start, chunk.start() + end))
    return spans if tokens == normalize(text) else None


def _folded_tokens(text: str) -> list[tuple[str, int, int]]:
    """Tokens of `text` folded a character (with its combining marks) at a time, and where each lies."""
    pieces: list[list] = []  # [text, start, end] per character and its combining marks
    for i, c in enumerate(text):
        if pieces and unicodedata.combining(c):
            pieces[-1][0] += c
            pieces[-1][2] = i + 1
        else:
            pieces.append([c, i, i + 1])
    folded, origin = [], []
    for raw, start, end in pieces:
        f = _fold(raw)
        folded.append(f)
        origin += [(start, end)] * len(f)
    return [(m.group(), origin[m.start()][0], origin[m.end() - 1][1]) for m in _WORD.finditer("".join(folded))]


_MUL = np.uint64(0x9E3779B97F4A7C15)  # odd, so multiplying by it mod 2^64 loses no bits
_INV = np.uint64(pow(0x9E3779B97F4A7C15, -1, 1 << 64))


def _mix64(h: np.ndarray) -> np.ndarray:
    """splitmix64 finaliser: a bijection that spreads a linear hash over all 64 bits."""
    h = h ^ (h >> np.uint64(30))
    h *= np.uint64(0xBF58476D1CE4E5B9)
    h ^= h >> np.uint64(27)
    h *= np.uint64(0x94D049BB133111EB)
    return h ^ (h >> np.uint64(31))


def _powers(base: np.uint64, n: int) -> np.ndarray:
    out = np.full(n, base, np.uint64)
    out[0] = 1
    return np.cumprod(out, out=out)  # wraps mod 2^64, as intended


def _ngram_hashes(canon: list[bytes], ngram: int) -> tuple[np.ndarray, np.ndarray]:
    """64-bit hashes of every word n-gram of each canonical text, concatenated text after text
    (duplicates included), and the offsets where each text's n-grams start and end.

    Tokens are hashed without creating a Python object per token: over the joined bytes
    buf, prefix[i] = sum of buf[j] * M^j (mod 2^64), so a token buf[s:e] hashes to
    (prefix[e] - prefix[s]) * M^-s, the same value wherever it occurs. Content-addressed, so
    every process and run agrees (outputs stay byte-identical)."""
    buf = np.frombuffer(b" ".join(canon) + b" ", np.uint8)
    inside = np.concatenate(([False], buf != 32, [False])).view(np.int8)
    edges = np.diff(inside)
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    prefix = np.zeros(len(buf) + 1, np.uint64)
    np.cumsum(buf * _powers(_MUL, len(buf)), out=prefix[1:])
    th = _mix64((prefix[ends] - prefix[starts]) * _powers(_INV, len(buf))[starts])
    # which text each token belongs to: texts start after each separator
    text_starts = np.concatenate(([0], np.cumsum([len(c) + 1 for c in canon])[:-1]))
    text_of_token = np.searchsorted(text_starts, starts, "right") - 1
    lens = np.bincount(text_of_token, minlength=len(canon))
    offsets = np.concatenate(([0], np.cumsum(np.maximum(lens - ngram + 1, 0))))
    n = len(th) - ngram + 1
    if n <= 0:
        return np.zeros(0, np.uint64), offsets
    h = th[:n].copy()
    for k in range(1, ngram):  # polynomial combination of the n token hashes
        h *= _MUL
        h += th[k : k + n]
    inside_one_text = text_of_token[:n] == text_of_token[ngram - 1 :]
    return _mix64(h[inside_one_text]), offsets


def _text_of(offsets: np.ndarray) -> np.ndarray:
    return np.repeat(np.arange(len(offsets) - 1), np.diff(offsets))


# ---------------------------------------------------------------- MinHash and LSH parameters

_FMIX32 = (np.uint32(16), np.uint32(0x85EBCA6B), np.uint32(13), np.uint32(0xC2B2AE35))


def signature(hashes: np.ndarray, permutations: np.ndarray) -> np.ndarray:
    """MinHash signature of a set of 64-bit n-gram hashes, identical to datasketch's
    `MinHash(scheme="affine32")` updated with the top 32 bits of each hash (with an
    identity hashfunc), but computed with numpy instead of one Python call per n-gram."""
    s1, m1, s2, m2 = _FMIX32
    h = (hashes >> np.uint64(32)).astype(np.uint32)
    h = h ^ (h >> s1)
    h *= m1
    h ^= h >> s2
    h *= m2
    h ^= h >> s1
    a, b = permutations
    sig = np.full(len(a), np.iinfo(np.uint32).max, np.uint32)
    for start in range(0, len(h), 4096):  # bounded memory for huge questions
        sig = np.minimum(sig, (h[start : start + 4096, None] * a + b).min(axis=0))
    return sig


def _band_keys(signatures: np.ndarray, bands: int, rows: int) -> np.ndarray:
    """(n, bands) 64-bit key of each band of each signature, distinct between bands."""
    x = signatures[:, : bands * rows].reshape(len(signatures), bands, rows).astype(np.uint64)
    keys = np.broadcast_to(np.arange(bands, dtype=np.uint64), x.shape[:2]).copy()
    for k in range(rows):
        keys = _mix64(keys * _MUL + x[:, :, k])
    return keys


def _postings(sorted_keys: np.ndarray, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each key, where its run starts in `sorted_keys` and how long it is."""
    lo = np.searchsorted(sorted_keys, keys, "left")
    return lo, np.searchsorted(sorted_keys, keys, "right") - lo


def _expand(lo: np.ndarray, n: np.ndarray) -> np.ndarray:
    """Every position of every run (lo[k], n[k]), run after run."""
    return np.repeat(lo - np.cumsum(n) + n, n) + np.arange(n.sum())


def lsh_params(threshold: float, num_perm: int, max_miss: float = MAX_LSH_MISS) -> tuple[int, int]:
    """(bands, rows) with the most rows per band (fewest false candidates to verify) such that a
    pair whose Jaccard is exactly `threshold` is missed with probability <= max_miss; pairs
    above the threshold are missed even less often."""
    for rows in range(num_perm, 0, -1):
        bands = num_perm // rows
        if bands >= 2 and (1.0 - threshold**rows) ** bands <= max_miss:
            return bands, rows
    raise InputError(
        f"decontaminate: num_perm={num_perm} cannot reach recall at threshold={threshold}; raise num_perm"
    )


# ---------------------------------------------------------------- the benchmark index


@dataclass
class _Index:
    """Everything a worker needs to match questions against the benchmark views."""

    ngram: int
    threshold: float
    containment_threshold: float | None
    sets: list[np.ndarray]  # sorted unique n-gram hashes per view
    sizes: np.ndarray
    statements: np.ndarray  # per view: is it a statement (containment rule)
    bitmap: np.ndarray  # bit set for every view n-gram (prefilter bound)
    prefix_bitmap: np.ndarray | None  # the same for the statements' containment prefixes
    prefix_hashes: np.ndarray | None  # sorted prefix n-grams ...
    prefix_views: np.ndarray | None  # ... and the view each belongs to
    prefix_hits: np.ndarray | None  # prefix n-grams a question must hold, per view
    exact: dict[bytes, int]  # tokens of each view too short for an n-gram -> the view (exact rule)
    permutations: np.ndarray
    bands: int
    rows: int
    band_keys: np.ndarray  # sorted band keys of every view's signature ...
    band_views: np.ndarray  # ... and the view each belongs to


def _bitmap(hashes: np.ndarray) -> np.ndarray:
    bitmap = np.zeros(1 << _BITMAP_BITS, bool)
    bitmap[hashes >> np.uint64(64 - _BITMAP_BITS)] = True
    return bitmap


def _needed(share: float, size: np.ndarray | int):
    """Smallest intersection that reaches `share` of `size` (inclusive despite rounding)."""
    return np.ceil(np.asarray(size) * share - _EPS).astype(np.int64)


def _build_index(texts, statements, ngram, threshold, containment_threshold, num_perm, seed) -> _Index:
    """`texts`: one per view; `statements`: whether each is a statement (containment rule)."""
    canon = [_canonical(t) for t in texts]
    hashes, offsets = _ngram_hashes(canon, ngram)
    sets = [np.unique(hashes[offsets[i] : offsets[i + 1]]) for i in range(len(texts))]
    sizes = np.fromiter(map(len, sets), np.int64, len(sets))
    everything = np.concatenate(sets) if sets else np.zeros(0, np.uint64)
    permutations = MinHash(num_perm=num_perm, seed=seed).permutations
    bands, rows = lsh_params(threshold, num_perm)
    indexed = np.flatnonzero(sizes)
    sigs = np.array([signature(sets[i], permutations) for i in indexed], np.uint32).reshape(len(indexed), num_perm)
    keys = _band_keys(sigs, bands, rows)
    order = np.argsort(keys.ravel(), kind="stable")
    band_keys, band_views = keys.ravel()[order], np.repeat(indexed, bands)[order]
    prefix_bitmap = prefix_hashes = prefix_views = prefix_hits = None
    exact = {}
    if containment_threshold is not None:
        exact = {b" ".join(c.split()): i for i, c in enumerate(canon) if sizes[i] == 0 and c.split()}
        # rarest n-grams first (fewest views holding them), so prefixes rarely hit by chance
        uniq, df = np.unique(everything, return_counts=True)
        need = _needed(containment_threshold, sizes)
        prefix_hits = np.minimum(_PREFIX_HITS, need)
        keep = np.where(statements, sizes - need + prefix_hits, 0)
        prefixes = [s[np.lexsort((s, df[np.searchsorted(uniq, s)]))][:k] for s, k in zip(sets, keep)]
        owner = np.repeat(np.arange(len(sets)), [len(p) for p in prefixes])
        flat = np.concatenate(prefixes) if prefixes else np.zeros(0, np.uint64)
        order = np.argsort(flat, kind="stable")
        prefix_hashes, prefix_views = flat[order], owner[order]
        prefix_bitmap = _bitmap(prefix_hashes)
    return _Index(
        ngram, threshold, containment_threshold, sets, sizes, np.asarray(statements, bool), _bitmap(everything),
        prefix_bitmap, prefix_hashes, prefix_views, prefix_hits, exact, permutations, bands, rows, band_keys,
        band_views,
    )


# ---------------------------------------------------------------- matching (runs in workers)


def _unique_counts(hashes: np.ndarray, offsets: np.ndarray, bitmap: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per text: number of distinct n-grams, and an upper bound of how many are item n-grams.
    One sort of (text << 48 | top 48 bits of hash) dedupes within every text at once."""
    text = _text_of(offsets).astype(np.uint64)
    keys = np.sort((text << np.uint64(48)) | (hashes >> np.uint64(16)))
    first = np.ones(len(keys), bool)
    first[1:] = keys[1:] != keys[:-1]
    keys = keys[first]
    owner = (keys >> np.uint64(48)).astype(np.int64)
    hit = bitmap[(keys >> np.uint64(48 - _BITMAP_BITS)) & np.uint64((1 << _BITMAP_BITS) - 1)]
    n_texts = len(offsets) - 1
    return np.bincount(owner, minlength=n_texts), np.bincount(owner[hit], minlength=n_texts)


def _prefix_candidates(index: _Index, hashes: np.ndarray, offsets: np.ndarray) -> set[tuple[int, int]]:
    """(text, view) pairs where the text holds enough of the statement's containment prefix."""
    pos = np.flatnonzero(index.prefix_bitmap[hashes >> np.uint64(64 - _BITMAP_BITS)])
    text, h = _text_of(offsets)[pos], hashes[pos]
    order = np.lexsort((h, text))  # each distinct n-gram of a text counts once
    text, h = text[order], h[order]
    first = np.ones(len(h), bool)
    first[1:] = (h[1:] != h[:-1]) | (text[1:] != text[:-1])
    text, h = text[first], h[first]
    lo, n = _postings(index.prefix_hashes, h)
    pairs = np.repeat(text, n) * len(index.sets) + index.prefix_views[_expand(lo, n)]
    pairs, hits = np.unique(pairs, return_counts=True)
    pairs = pairs[hits >= index.prefix_hits[pairs % len(index.sets)]]
    return set(zip((pairs // len(index.sets)).tolist(), (pairs % len(index.sets)).tolist()))


def _span(text: str, hashes: np.ndarray, view_set: np.ndarray, ngram: int) -> str:
    """The text covered by its longest run of consecutive n-grams (`hashes`, in text order)
    that occur in the view's sorted n-gram set (its normalised tokens where the original
    characters cannot be told apart, see `_token_spans`)."""
    pos = np.minimum(np.searchsorted(view_set, hashes), len(view_set) - 1)
    hit = np.concatenate(([0], (view_set[pos] == hashes).view(np.int8), [0]))
    edges = np.diff(hit)
    run_starts, run_ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    if len(run_starts) == 0:
        return ""
    longest = int(np.argmax(run_ends - run_starts))  # first of equally long runs
    first, last = run_starts[longest], run_ends[longest] + ngram - 2  # tokens of the run
    spans = _token_spans(text)
    if spans is None:
        return " ".join(normalize(text)[first : last + 1])
    return text[spans[first][0] : spans[last][1]]


def _match(index: _Index, texts: list[str]) -> tuple[list[int], list[tuple], dict, int]:
    """Match a batch of question texts. Returns the positions of texts kept for having no
    n-grams; the verified pairs (position, view, jaccard, containment) that meet a rule; per
    matched position its best pair (view, jaccard, containment, reason, span), best meaning
    highest (jaccard, containment), ties to the first view; and how many candidate pairs
    were verified."""
    canon = [_canonical(t) for t in texts]
    hashes, offsets = _ngram_hashes(canon, index.ngram)
    n_unique, hits = _unique_counts(hashes, offsets, index.bitmap)
    # lossless bounds on Jaccard (module docstring, step 2)
    passes = (n_unique > 0) & (hits >= index.threshold * n_unique - _EPS)
    passes &= n_unique * index.threshold <= index.sizes.max(initial=0) + _EPS
    queried = np.flatnonzero(passes)
    sigs = [signature(np.unique(hashes[offsets[t] : offsets[t + 1]]), index.permutations) for t in queried]
    sigs = np.array(sigs, np.uint32).reshape(len(queried), index.permutations.shape[1])
    keys = _band_keys(sigs, index.bands, index.rows).ravel()
    lo, n = _postings(index.band_keys, keys)
    texts_of_hits = np.repeat(np.repeat(queried, index.bands), n)
    candidates = set(zip(texts_of_hits.tolist(), index.band_views[_expand(lo, n)].tolist()))
    if index.containment_threshold is not None:
        candidates |= _prefix_candidates(index, hashes, offsets)
    pairs, best, sets = [], {}, {}
    for t, i in sorted(candidates):
        if t not in sets:
            sets[t] = np.unique(hashes[offsets[t] : offsets[t + 1]])
        q, view = sets[t], index.sets[i]
        inter = int(np.intersect1d(q, view, assume_unique=True).size)
        union = len(q) + len(view) - inter
        by_jaccard = inter >= index.threshold * union - _EPS
        by_containment = (
            index.containment_threshold is not None and index.statements[i]
            and inter >= _needed(index.containment_threshold, len(view))
        )
        if by_jaccard or by_containment:
            jac, con = inter / union, inter / len(view)
            pairs.append((t, i, jac, con))
            if t not in best or (jac, con) > best[t][1:3]:
                best[t] = (i, jac, con, "jaccard" if by_jaccard else "containment")
    for t, (i, jac, con, reason) in best.items():
        span = _span(texts[t], hashes[offsets[t] : offsets[t + 1]], index.sets[i], index.ngram)
        best[t] = (i, jac, con, reason, span)
    no_ngrams = []
    for t in np.flatnonzero(n_unique == 0).tolist():
        i = index.exact.get(b" ".join(canon[t].split()))
        if i is None:
            no_ngrams.append(t)
        else:  # identical token sequences: both similarities are 1
            pairs.append((t, i, 1.0, 1.0))
            best[t] = (i, 1.0, 1.0, "exact", texts[t].strip())
    return no_ngrams, pairs, best, len(candidates)


_WORKER_INDEX: _Index | None = None  # set once per worker process by _init_worker


def _init_worker(index: _Index) -> None:
    global _WORKER_INDEX
    _WORKER_INDEX = index


def _match_in_worker(texts: list[str]):
    return _match(_WORKER_INDEX, texts)


def _chunks(texts: list[str]):
    start, size = 0, 0
    for end, text in enumerate(texts):
        size += len(text)
        if end + 1 - start >= _CHUNK_TEXTS or size >= _CHUNK_BYTES:
            yield start, texts[start : end + 1]
            start, size = end + 1, 0
    if start < len(texts):
        yield start, texts[start:]


# ---------------------------------------------------------------- public API


@dataclass
class DecontamResult:
    clean: list[dict]  # question rows kept, in input order
    removed: list[dict]  # one row per removed question: its best-matching item and view
    skipped: list[dict]  # question_id, reason, action ('kept'/'dropped') for odd inputs
    counts: dict  # figures for MLflow and `dvc metrics`
    matches: list[dict] = field(default_factory=list)  # every verified pair at a threshold


@dataclass
class _Views:
    """The views of all items, flattened: text, owning item and name of each."""

    texts: list[str] = field(default_factory=list)
    items: list[int] = field(default_factory=list)
    names: list[str] = field(default_factory=list)


def _check_items(items: list[dict]) -> _Views:
    views = _Views()
    for n, item in enumerate(items):
        where = f"benchmark items[{n}]"
        if not isinstance(item, dict):
            raise InputError(f"{where}: expected a dict, got {type(item).__name__}")
        for key in ("benchmark", "task_id"):
            if not isinstance(item.get(key), (str, int)):
                raise InputError(f"{where}: missing or invalid key {key!r}")
        where = f"benchmark {item['benchmark']} task {item['task_id']}"
        if not isinstance(item.get("views"), dict):
            raise InputError(f"{where}: missing key 'views' (a mapping of view name to text)")
        seen = set()
        for name, text in item["views"].items():
            if not isinstance(text, (str, type(None))):
                raise InputError(f"{where}: view {name!r} must be a string or null")
            if text is None:
                continue
            text = _valid_utf8(text)[0]
            tokens = " ".join(normalize(text))
            if tokens not in seen:  # the same text under another name is compared once
                seen.add(tokens)
                views.texts.append(text)
                views.items.append(n)
                views.names.append(str(name))
    return views


def _valid_utf8(text: str | bytes) -> tuple[str, bool]:
    """`text` as a str that encodes to UTF-8, and whether it had to be repaired."""
    if isinstance(text, bytes):
        repaired = text.decode("utf-8", "replace")
        return repaired, repaired.encode("utf-8") != text
    if text.isascii():
        return text, False
    try:
        text.encode("utf-8")
        return text, False
    except UnicodeEncodeError:  # unpaired surrogates
        return text.encode("utf-8", "surrogatepass").decode("utf-8", "replace"), True


def _check_params(threshold, containment_threshold, ngram, num_perm) -> None:
    if not 0.0 < threshold <= 1.0:
        raise InputError(f"decontaminate: threshold must be in (0, 1], got {threshold}")
    if containment_threshold is not None and not 0.0 < containment_threshold <= 1.0:
        raise InputError(f"decontaminate: containment_threshold must be in (0, 1] or null, got {containment_threshold}")
    if not isinstance(ngram, int) or ngram < 1:
        raise InputError(f"decontaminate: ngram must be a positive integer, got {ngram!r}")
    if not isinstance(num_perm, int) or num_perm < 2:
        raise InputError(f"decontaminate: num_perm must be an integer >= 2, got {num_perm!r}")


def decontaminate(
    questions: list[dict],
    items: list[dict],
    *,
    threshold: float = 0.7,
    containment_threshold: float | None = 0.8,
    ngram: int = 5,
    num_perm: int = 128,
    seed: int = 1,
    processes: int | None = None,
) -> DecontamResult:
    """Split `questions` (rows with 'id' and 'question') into clean and removed, against
    benchmark `items` (dicts with 'benchmark', 'task_id' and 'views': {view name: text or
    None}, see `soda.benchmarks.item_views`). `containment_threshold=None`: the paper's
    Jaccard-only rule. `processes`: worker processes (default: all CPUs; 1 = in this process)."""
    _check_params(threshold, containment_threshold, ngram, num_perm)
    views = _check_items(items)
    rows, texts, skipped, seen = [], [], [], set()
    n_invalid = n_duplicates = 0
    for n, row in enumerate(questions):
        if not isinstance(row, dict) or "id" not in row or "question" not in row:
            raise InputError(f"questions[{n}]: expected a row with keys 'id' and 'question'")
        qid, text = row["id"], row["question"]
        if not isinstance(qid, (str, int)) or isinstance(qid, bool):
            raise InputError(f"questions[{n}]: 'id' must be a string or an integer, got {type(qid).__name__}")
        if not isinstance(text, (str, bytes)):
            raise InputError(f"question {qid}: 'question' must be a string, got {type(text).__name__}")
        if qid in seen:
            n_duplicates += 1
            skipped.append({"question_id": qid, "reason": "duplicate_id", "action": "dropped"})
            continue
        seen.add(qid)
        text, repaired = _valid_utf8(text)
        if text is not row["question"]:  # the clean row must hold a str that encodes to UTF-8
            row = {**row, "question": text}
        if repaired:
            n_invalid += 1
            skipped.append({"question_id": qid, "reason": "invalid_utf8", "action": "repaired"})
        rows.append(row)
        texts.append(text)

    statements = [name == STATEMENT for name in views.names]
    index = _build_index(views.texts, statements, ngram, threshold, containment_threshold, num_perm, seed)
    processes = processes or os.cpu_count() or 1
    chunks = list(_chunks(texts))
    if processes > 1 and len(chunks) > 1:
        # Forked workers' garbage collector would otherwise write to (and so copy) every page
        # holding this process's objects: the question rows, hundreds of MB for a large set.
        gc.freeze()
        try:
            with multiprocessing.Pool(min(processes, len(chunks)), _init_worker, (index,)) as pool:
                results = pool.map(_match_in_worker, [c for _, c in chunks], chunksize=1)
        finally:
            gc.unfreeze()
    else:
        results = [_match(index, c) for _, c in chunks]

    no_ngrams, matches, best, n_candidates = [], [], {}, 0
    for (start, _), (empty, pairs, chunk_best, n_cand) in zip(chunks, results):
        no_ngrams += [start + t for t in empty]
        matches += [(start + t, i, jac, con) for t, i, jac, con in pairs]
        best.update((start + t, b) for t, b in chunk_best.items())
        n_candidates += n_cand
    for q in no_ngrams:
        skipped.append({"question_id": rows[q]["id"], "reason": "no_ngrams", "action": "kept"})
    view_no_ngrams = [v for v, s in enumerate(index.sets) if len(s) == 0]
    for v in view_no_ngrams:
        skipped.append({"question_id": None, "reason": "item_no_ngrams", "action": "kept", **_named(items, views, v)})

    removed = []
    for q in sorted(best):
        v, jac, con, reason, span = best[q]
        removed.append({"question_id": rows[q]["id"], **_named(items, views, v), "jaccard": round(jac, 6),
                        "containment": round(con, 6), "span": span, "reason": reason})
    clean = [row for q, row in enumerate(rows) if q not in best]
    benchmarks = sorted({str(it["benchmark"]) for it in items})
    counts = {
        "questions": len(questions),
        "clean": len(clean),
        "removed": len(removed),
        "removed_by_benchmark": _tally(benchmarks, (str(r["benchmark"]) for r in removed)),
        "removed_by_reason": _tally(REASONS, (r["reason"] for r in removed)),
        "removed_by_view": _tally(sorted(set(views.names)), (r["view"] for r in removed)),
        "no_ngrams": len(no_ngrams),
        "duplicate_ids": n_duplicates,
        "invalid_utf8": n_invalid,
        "items": len(items),
        "items_by_benchmark": _tally(benchmarks, (str(it["benchmark"]) for it in items)),
        "views": len(views.names),
        "items_no_ngrams": len(view_no_ngrams),
        "candidate_pairs": n_candidates,
        "matched_pairs": len(matches),
        "lsh_bands": index.bands,
        "lsh_rows": index.rows,
    }
    match_rows = [{"question_id": rows[q]["id"], **_named(items, views, v), "jaccard": round(j, 6),
                   "containment": round(c, 6)} for q, v, j, c in matches]
    return DecontamResult(clean, removed, skipped, counts, match_rows)


def _named(items: list[dict], views: _Views, v: int) -> dict:
    item = items[views.items[v]]
    return {"benchmark": item["benchmark"], "task_id": item["task_id"], "view": views.names[v]}


def _tally(keys, values) -> dict:
    counts = dict.fromkeys(keys, 0)
    for value in values:
        counts[value] += 1
    return counts


def write_report(result: DecontamResult, jsonl_path, csv_path) -> None:
    """One row per removed question, then one per skipped input, as JSONL and CSV with the
    same columns (REPORT_FIELDS). Atomic, and byte-identical for identical results."""
    rows = [{**r, "action": "removed"} for r in result.removed]
    rows += [{k: s.get(k) for k in REPORT_FIELDS} for s in result.skipped]
    rows = [{k: r.get(k) for k in REPORT_FIELDS} for r in rows]
    with atomic_path(jsonl_path) as tmp, tmp.open("w", encoding="utf-8") as f:
        for r in rows:
            f.write(dumps(r) + "\n")
    with atomic_path(csv_path) as tmp, tmp.open("w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=REPORT_FIELDS, lineterminator="\n")
        writer.writeheader()
        writer.writerows({k: "" if v is None else v for k, v in r.items()} for r in rows)


def read_questions(path) -> list[dict]:
    """Read a question JSONL that may hold non-UTF-8 bytes: they become unpaired surrogates
    (surrogateescape), which `decontaminate` repairs and counts instead of failing."""
    return read_jsonl(path, errors="surrogateescape")


def clean(questions: list[dict], cfg: Decontaminate, heldout_path: str, benchmarks: str):
    """The questions not similar to an item of the benchmarks selected in `cfg` (local files
    under `benchmarks`), with the report: for the `decontaminate` stage (the seed) and for
    `evolve` (every set of new questions, so that they cannot bring benchmark items back)."""
    from soda.benchmarks import item_views, load_selected

    # Any prompt style: the views compared (item_views) are the items' own texts, not the student's prompt.
    items, skipped = load_selected(cfg, heldout_path, "decontaminate", "compact", benchmarks)
    items = [{"benchmark": it["benchmark"], "task_id": it["task_id"], "views": item_views(it)} for it in items]
    result = decontaminate(questions, items, threshold=cfg.threshold, containment_threshold=cfg.containment_threshold,
                           ngram=cfg.ngram, num_perm=cfg.num_perm)
    result.counts["skipped_benchmarks"] = skipped
    return result
