"""Correct-and-fault knowledge delivery (the teacher-generate stage's logic).

The teacher writes a correct solution (prompt A) for every question and a faulty one
(prompt B) for the FCL share. Each solution is checked by execution where the question has
tests: a "correct" solution that fails and a "faulty" one that passes are dropped and
counted (the paper keeps them; we do not). With a cache dir, those verdicts are kept in
`<cache_dir>/runs.sqlite3` (sandbox.ResultCache), so that a re-run stage, whose teacher calls
come from the call cache, does not execute them again either.

A question without `lang` takes the language of the teacher's correct solution
(soda.extract.question_lang): its faulty solution is asked for and extracted in that language,
and the rows record it. Code in a language the sandbox cannot run is not executed.
"""

from __future__ import annotations

import random
from collections import Counter
from typing import Callable, Iterator

from soda.extract import RUNNABLE, question_lang
from soda.io import InputError, iter_jsonl, jsonl_writer, read_jsonl_at, require_keys
from soda.prompts import student_prompt as render_student

# Questions per round of teacher calls and sandbox runs: memory holds one chunk, whatever the
# number of questions; large enough that the calls in flight at a chunk's end (at most the
# backend's concurrency, waiting on their latency) cost a few percent of the chunk's time.
CHUNK = 8192


def split_order(ids: list[str], fcl_fraction: float, seed: int) -> tuple[list[int], list[int]]:
    """Positions of the CSL and FCL questions, in delivery order: a seeded shuffle of the
    questions sorted by id, the first share to FCL (80/20 by default), the rest to CSL."""
    order = sorted(range(len(ids)), key=ids.__getitem__)
    random.Random(seed).shuffle(order)
    n_fcl = round(len(order) * fcl_fraction)
    return order[n_fcl:], order[:n_fcl]


def _ask(teacher, questions: list[dict], n_csl: int) -> tuple[list[dict], list[dict], list[dict]]:
    """(questions with their language, correct solutions, faulty solutions of questions[n_csl:]).
    A question without `lang` takes the language of the teacher's correct answer, so prompt B
    then waits for prompt A's answers; when every FCL question's language is known, an LLM
    teacher asks A and B as one stream of calls (soda.backends.llm_teacher)."""
    fcl_q = questions[n_csl:]
    if all(q.get("lang") for q in fcl_q) and hasattr(teacher, "solve_and_fault"):
        solved, faulty = teacher.solve_and_fault(questions, fcl_q)
        return [{**q, "lang": question_lang(q, s.get("raw"))} for q, s in zip(questions, solved)], solved, faulty
    solved = teacher.solve(questions)
    questions = [{**q, "lang": question_lang(q, s.get("raw"))} for q, s in zip(questions, solved)]
    return questions, solved, teacher.fault(questions[n_csl:]) if n_csl < len(questions) else []


def _execute(results: list[dict], questions: list[dict], timeout_s: float, cache) -> list:
    """Sandbox results of each teacher output against its question's tests (None where there
    are no tests, no code, or the teacher already verified it: a timeout fault costs its limit)."""
    from sandbox import Job, execute_many

    codes = [r.get("code") for r in results]
    idx = [i for i, (r, q) in enumerate(zip(results, questions)) if r.get("code") and q.get("tests")
           and q["lang"] in RUNNABLE and not r.get("verified")]
    results = execute_many([Job(code=codes[i], tests=questions[i]["tests"], lang=questions[i]["lang"],
                                timeout_s=timeout_s) for i in idx], cache=cache)
    out = [None] * len(codes)
    for i, r in zip(idx, results):
        out[i] = r
    return out


def deliver_file(teacher, questions_path: str, outs: tuple[str, str, str], *, fcl_fraction: float, seed: int,
                 timeout_s: float, cache, student_prompt: str) -> dict:
    """The teacher, CSL and FCL rows (schemas in docs/data.md) of the questions of a JSONL file,
    written to the JSONL files `outs`, streaming: memory holds the questions' offsets and one
    chunk, whatever the file's size. The training rows show each question in the
    `student_prompt` style (soda.prompts.student_prompt). The files are written only if some CSL
    example is usable (else InputError); returns the counts."""
    ids, offsets = [], []
    for offset, row in iter_jsonl(questions_path):
        require_keys([row], ("id", "question"), questions_path, first=len(ids) + 1)
        ids.append(row["id"])
        offsets.append(offset)
    if not ids:
        raise InputError(f"{questions_path}: the question set is empty")
    csl, fcl = split_order(ids, fcl_fraction, seed)
    del ids
    counts: Counter = Counter(questions=len(offsets), csl=0, fcl=0)
    with jsonl_writer(outs[0]) as teacher_out, jsonl_writer(outs[1]) as csl_out, jsonl_writer(outs[2]) as fcl_out:
        writers = {"teacher": teacher_out, "csl": csl_out, "fcl": fcl_out}
        for name, row in _deliver(teacher, lambda positions: read_jsonl_at(questions_path, [offsets[i] for i in positions]),
                                  csl, fcl, counts, timeout_s=timeout_s, cache=cache,
                                  student_prompt=student_prompt):
            writers[name](row)
        if not counts["csl"]:
            raise InputError(f"{questions_path}: no usable CSL example after teacher generation ({dict(counts)})")
    return dict(sorted(counts.items()))


def _deliver(teacher, load: Callable[[list[int]], list[dict]], csl: list[int], fcl: list[int], counts: Counter, *,
             timeout_s: float, cache, student_prompt: str) -> Iterator[tuple[str, dict]]:
    """("teacher" | "csl" | "fcl", row) for the questions at positions csl + fcl (in that order),
    a chunk at a time; counts what was kept and dropped."""
    ordered = csl + fcl
    for start in range(0, len(ordered), CHUNK):
        chunk = load(ordered[start:start + CHUNK])
        n_csl = max(0, min(len(csl) - start, len(chunk)))  # the chunk's CSL questions come first
        questions, solved, faulty = _ask(teacher, chunk, n_csl)
        fcl_q = questions[n_csl:]
        correct_runs = _execute(solved, questions, timeout_s, cache)
        faulty_runs = _execute(faulty, fcl_q, timeout_s, cache)
        for i, (q, sol) in enumerate(zip(questions, solved)):
            is_fcl = i >= n_csl
            fault = faulty[i - n_csl] if is_fcl else None
            dropped = sol.get("dropped")
            if not dropped and correct_runs[i] is not None and not correct_runs[i].passed:
                dropped = f"correct solution fails its tests ({correct_runs[i].status})"
            if not dropped and is_fcl:
                fault_run = faulty_runs[i - n_csl]
                if fault.get("dropped"):
                    dropped = f"faulty: {fault['dropped']}"
                elif fault_run is not None and fault_run.passed:
                    dropped = "faulty solution passes its tests"
            counts["dropped" if dropped else "kept"] += 1
            if dropped:
                counts[f"dropped_{'fcl' if is_fcl else 'csl'}"] += 1
            else:
                counts[f"lang_{q['lang'] or 'unknown'}"] += 1
            yield "teacher", {
                "id": f"{q['id']}", "question_id": q["id"], "split": "fcl" if is_fcl else "csl", "lang": q["lang"],
                "correct": sol.get("code"), "faulty": fault.get("code") if fault else None,
                "fault_type": fault.get("fault_type") if fault else None, "dropped": dropped,
            }
            if dropped:
                continue
            prompt = render_student(q["question"], student_prompt)
            if is_fcl:
                counts[f"fault_{fault.get('fault_type') or 'unknown'}"] += 1
                counts["fcl"] += 1
                yield "fcl", {"id": q["id"], "prompt": prompt, "chosen": sol["code"], "rejected": fault["code"],
                              "fault_type": fault.get("fault_type")}
            else:
                counts["csl"] += 1
                yield "csl", {"id": q["id"], "prompt": prompt, "completion": sol["code"]}


def on_policy_pairs(pairs: list[dict], samples: list[list[str]], verdicts: list[list[dict]], *,
                    keep_teacher: bool) -> tuple[list[dict], dict]:
    """FCL pairs whose rejected solution is the student's own failing answer (on-policy negatives;
    beyond the paper, whose rejected solutions are the teacher's injected faults).

    samples[i], verdicts[i]: the answers the CSL model sampled for pairs[i]'s question and their
    sandbox verdicts (soda.feedback.execute). The first answer, in sample order, that ran and
    failed becomes the rejected solution beside the teacher's correct one (fault_type
    `student-<status>`); a question none of whose answers is a known failure (all passed, or none
    could be run) gets no student pair. keep_teacher: the teacher's pair is kept as well."""
    out: list[dict] = []
    counts: Counter = Counter(student=0, solved=0, unverified=0)
    for pair, answers, runs in zip(pairs, samples, verdicts, strict=True):
        if keep_teacher:
            out.append(pair)
        failed = next(((a, v) for a, v in zip(answers, runs) if v["passed"] is False and a.strip()), None)
        if failed is None:
            counts["solved" if any(v["passed"] for v in runs) else "unverified"] += 1
            continue
        answer, run = failed
        out.append({**pair, "rejected": answer, "fault_type": f"student-{run['status']}"})
        counts["student"] += 1
    return out, dict(counts)
