"""LLMTeacher: soda.teacher.Teacher through prompts A-D and any generation backend.

Each method renders its prompt per question, sends all of them in one `complete` call (so the
backend batches, caches and shows progress), and parses the replies. A reply that cannot be
used is dropped with its reason and counted in `counters`; it is never guessed at:
- "error": the backend got no usable answer (garbled, refused);
- "empty": nothing but whitespace;
- "truncated": cut at max_new_tokens (the code or question is likely incomplete);
- "no_code" / "no_question": nothing to extract.
Whether a solution is really correct or really faulty is decided by executing it
(soda.teacher_generate); the fault type of an LLM's faulty solution is not known here (None).
A question's language is its row's `lang`, else `lang` given here, else (None) the language
the teacher answered in.
"""

from __future__ import annotations

import collections

from soda.extract import extract_code, extract_created_instruction
from soda.prompts import ANY_LANG, EVOLVE_GUIDANCE, render, system
from soda.scoring import parse_score


class LLMTeacher:
    def __init__(self, backend, *, prompts: str = "paper", lang: str | None = None, max_new_tokens: int = 1024,
                 temperature: float = 0.0, seed: int = 0):
        self.backend = backend
        self.prompts = prompts  # the prompt set (soda.prompts.SETS)
        self.lang = lang
        self.max_new_tokens = max_new_tokens
        self.temperature = temperature
        self.seed = seed
        self.drops: collections.Counter[str] = collections.Counter()

    @property
    def counters(self) -> dict[str, int]:
        """Drops per prompt and reason, and the backend's calls, cache hits, retries and errors: for MLflow."""
        return {**{f"teacher_{k}": v for k, v in sorted(self.drops.items())},
                **{f"backend_{k}": v for k, v in self.backend.counters.items()}}

    def _render(self, name: str, q: dict, **fields: str) -> str:
        return render(name, self.prompts, question=q["question"], lang=self._lang(q) or ANY_LANG, **fields)

    def _ask(self, name: str, prompts: list[str], desc: str, seed: int | None = None):
        rows = self.backend.complete(prompts, temperature=self.temperature, max_new_tokens=self.max_new_tokens,
                                     seed=self.seed if seed is None else seed, desc=desc,
                                     system=system(name, self.prompts))
        return [row[0] for row in rows]

    def _drop(self, what: str, completion) -> str | None:
        """Why a reply is unusable before parsing, or None."""
        if completion.finish == "error":
            reason = "error"
        elif not completion.text.strip():
            reason = "empty"
        elif completion.finish == "length":
            reason = "truncated"
        else:
            return None
        self.drops[f"{what}_dropped_{reason}"] += 1
        return reason

    def _code(self, what: str, question: dict, completion) -> tuple[str | None, str | None]:
        reason = self._drop(what, completion)
        if reason:
            return None, reason
        code = extract_code(completion.text, self._lang(question))
        if code is None:
            self.drops[f"{what}_dropped_no_code"] += 1
            return None, "no_code"
        return code, None

    def _lang(self, q: dict) -> str | None:
        return q.get("lang") or self.lang

    def solve(self, questions: list[dict]) -> list[dict]:
        return self.solve_and_fault(questions, [])[0]

    def fault(self, questions: list[dict]) -> list[dict]:
        return self.solve_and_fault([], questions)[1]

    def solve_and_fault(self, questions: list[dict], fcl_questions: list[dict]) -> tuple[list[dict], list[dict]]:
        """`solve(questions)` and `fault(fcl_questions)` as one stream of calls: the backend keeps
        its requests in flight across both prompts instead of waiting for A's last answers.
        Prompts A and B share their system message (the paper's "AI code interpreter")."""
        assert system("correct", self.prompts) == system("faulty", self.prompts)
        prompts = ([self._render("correct", q) for q in questions] + [self._render("faulty", q) for q in fcl_questions])
        desc = "teacher " + " + ".join(name for name, qs in (("solve (A)", questions), ("fault (B)", fcl_questions)) if qs)
        replies = self._ask("correct", prompts, desc)
        solved = []
        for q, c in zip(questions, replies):
            code, dropped = self._code("solve", q, c)
            solved.append({"code": code, "raw": c.text, "dropped": dropped})
        faulty = []
        for q, c in zip(fcl_questions, replies[len(questions):]):
            code, dropped = self._code("fault", q, c)
            faulty.append({"code": code, "raw": c.text, "fault_type": None, "dropped": dropped})
        return solved, faulty

    def annotate(self, questions: list[dict], codes: list[str]) -> list[dict]:
        if len(questions) != len(codes):
            raise ValueError(f"annotate: {len(questions)} questions but {len(codes)} codes")
        prompts = [self._render("scoring", q, code=code) for q, code in zip(questions, codes)]
        out = []
        for prompt, c in zip(prompts, self._ask("scoring", prompts, "teacher annotate (C)")):
            score = None if self._drop("annotate", c) else parse_score(c.text).score
            if score is None and c.finish == "stop" and c.text.strip():
                self.drops["annotate_dropped_no_score"] += 1
            out.append({"prompt": prompt, "text": c.text.strip(), "score": score})
        return out

    def evolve(self, questions: list[dict], harder: list[bool]) -> list[dict]:
        if len(questions) != len(harder):
            raise ValueError(f"evolve: {len(questions)} questions but {len(harder)} harder flags")
        prompts = [self._render("evolve", q, guidance=EVOLVE_GUIDANCE[bool(h)]) for q, h in zip(questions, harder)]
        # A question sampled k times must inspire k different questions: its r-th copy is asked
        # with seed + r (when sampling; greedy decoding gives one answer whatever the seed).
        copies = collections.Counter()
        rounds: dict[int, list[int]] = collections.defaultdict(list)
        for i, p in enumerate(prompts):
            rounds[copies[p]].append(i)
            copies[p] += 1
        replies = [None] * len(prompts)
        for r, index in sorted(rounds.items()):
            for i, c in zip(index, self._ask("evolve", [prompts[i] for i in index], "teacher evolve (D)",
                                             seed=self.seed + r)):
                replies[i] = c
        out = []
        for q, c in zip(questions, replies):
            reason = self._drop("evolve", c)
            text = None if reason else extract_created_instruction(c.text)
            if reason is None and text is None:
                self.drops["evolve_dropped_no_question"] += 1
                reason = "no_question"
            out.append({"dropped": reason} if reason else
                       {"question": text, "lang": self._lang(q), "entry_point": None, "tests": None, "reference": None})
        return out
