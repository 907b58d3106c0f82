"""The embedded world: procedurally generated Python tasks and a reference teacher.

- family.py: what a family is, and how a draw becomes a task (reference, tests, question);
- families/: the task families themselves;
- text.py: shared wording (openers, synonyms, comparison words);
- generate.py: the seed pool, the held-out set and evolution;
- faults.py: injecting one fault of a given type into a reference;
- judge.py: the deterministic 6-point rubric judge;
- teacher.py: ReferenceTeacher, the offline implementation of soda.teacher.Teacher.
"""

from soda.world import families as _families  # noqa: F401  (registers the families)
from soda.world.family import FAMILIES, Family, split_tests
from soda.world.faults import inject_fault
from soda.world.generate import evolve_task, make_world
from soda.world.judge import judge

__all__ = ["FAMILIES", "Family", "evolve_task", "inject_fault", "judge", "make_world", "split_tests"]
