"""The embedded world: procedurally generated Python tasks and a reference teacher.

- family.py: what a family is, and how a draw becomes a task (reference, tests, question);
- families/: the task families themselves;
- text.py: shared wording (openers, synonyms, comparison words);
- generate.py: the seed pool, the held-out set and evolution;
- faults.py: injecting one fault of a given type into a reference;
- judge.py: the deterministic 6-point rubric judge;
- teacher.py: ReferenceTeacher, the offline implementation of soda.teacher.Teacher.

API:
    make_world(seed_size, heldout_size, *, seed=0, tiers=(1, 2, 3), families=None) -> (seed rows, held-out rows)
    FAMILIES: name -> Family(name, tiers, draw)
    evolve_task(task, harder, rng, new_id) -> a new row of the same family (one tier up if harder)
    inject_fault(task, fault_type, rng) -> the reference with one (unverified) fault of that type
    judge(task, code, results) -> ("Code Analysis: ... Score: Rule 1 ... Rule 5", score 0-6 or None)
    split_tests(tests) -> (main-case asserts, edge-case asserts)

Every task is a function from its question by pattern: one code style across families
(`x` for numbers, `w` for words, `ch` for characters, `found`/`result`/`total`/`count`
accumulators, comprehensions for filters and counts), and every slot of the code (names,
constants, operators, words) is stated in the question. Tier 1 is one step, tier 2 adds a
condition or an empty-input rule, tier 3 composes both.
"""

from soda.world import families as _families  # noqa: F401  (registers the families)
from soda.world.family import FAMILIES, Family, split_tests
from soda.world.faults import inject_fault
from soda.world.generate import evolve_task, make_world
from soda.world.judge import judge

__all__ = ["FAMILIES", "Family", "evolve_task", "inject_fault", "judge", "make_world", "split_tests"]
