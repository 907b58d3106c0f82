"""Hostile programs against the sandbox's verdicts, its view of the host and its lifetime.

Each case is an attack that worked on an earlier sandbox: a wrong solution that reports its
own pass, a run that reads the host, a run that outlives its caller, a run that ends wrongly
(deep recursion, multiprocessing), a killed batch whose verdicts are lost.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sandbox import Job
from conftest import processes_of
from test_sandbox_langs import need

ROOT = Path(__file__).resolve().parents[1]


# -- forged verdicts -----------------------------------------------------------------------

# Walks up the call stack from the solution to the harness, takes the verdict fd and nonce
# from its locals, writes a passing verdict and leaves before the tests run.
FRAME_WALK = """
import sys, os, json
f = sys._getframe()
while f is not None:
    names = f.f_locals
    fd = next((v for k, v in names.items() if 'fd' in k and isinstance(v, int) and v > 2), None)
    if isinstance(names.get('nonce'), str) and fd is not None:
        os.write(fd, (json.dumps({'nonce': names['nonce'], 'ok': True}) + '\\n').encode())
        os._exit(0)
    f = f.f_back
def f(x):
    return 0
"""

# Finds the nonce anywhere in the interpreter's objects instead.
GC_SCAN = """
import gc, os, json, re
for o in gc.get_objects():
    if isinstance(o, dict):
        for v in list(o.values()):
            if isinstance(v, str) and re.fullmatch('[0-9a-f]{32}', v):
                for fd in range(3, 1100):
                    try: os.write(fd, (json.dumps({'nonce': v, 'ok': True}) + '\\n').encode())
                    except OSError: pass
os._exit(0)
"""


@pytest.mark.parametrize("code", [FRAME_WALK, GC_SCAN], ids=["frame-walk", "gc-scan"])
def test_python_solution_cannot_write_its_own_verdict(pool, code):
    r = pool.run(Job(code, tests="assert f(1) == 2\n"))
    assert r.status == "fail", r


def test_python_always_equal_object_is_not_a_pass(pool):
    code = ("class Yes:\n    def __eq__(self, other):\n        return True\n    __hash__ = object.__hash__\n"
            "class Str(str):\n    def __eq__(self, other):\n        return True\n    __hash__ = str.__hash__\n"
            "def f(x):\n    return Yes()\ndef g(x):\n    return Str('no')\n")
    assert pool.run(Job(code, tests="assert f(1) == 2\n")).status == "fail"
    assert pool.run(Job(code, tests="assert g(1) == 'yes'\n")).status == "fail"
    # The tests' own comparisons still see the values the solution returns.
    assert pool.run(Job(code, tests="assert g(1) == 'no' and f(1) is not None\n")).passed


def test_python_tests_still_see_the_solutions_names(pool):
    code = ("import math\nclass Pair:\n    def __init__(self, a, b):\n        self.a, self.b = a, b\n"
            "def longest(pairs):\n    return max(p.b - p.a for p in pairs)\n"
            "def sort_in_place(xs):\n    xs.sort()\n"
            "def parts(x):\n    return (x, [x], {x: {x}}, frozenset([x]), b'x', 1.5, None, 2**70)\n"
            "def boom():\n    raise ValueError('no')\n")
    tests = ("assert longest([Pair(1, 5), Pair(2, 3)]) == 4\nassert math.isclose(math.sqrt(4), 2)\n"
             "xs = [3, 1, 2]\nsort_in_place(xs)\nassert xs == [1, 2, 3]\n"
             "assert parts(1) == (1, [1], {1: {1}}, frozenset([1]), b'x', 1.5, None, 2**70)\n"
             "try:\n    boom()\nexcept ValueError as e:\n    assert str(e) == 'no'\nelse:\n    assert False\n")
    r = pool.run(Job(code, tests=tests))
    assert r.passed, r


C_FORGE = """
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
__attribute__((constructor(101))) static void forge(void) {
  const char *n = getenv("SODA_NONCE"), *fd = getenv("SODA_VERDICT_FD");
  for (int i = 3; i < 1100; i++)
    dprintf(fd ? atoi(fd) : i, "{\\"nonce\\": \\"%s\\", \\"ok\\": true}\\n", n ? n : "0");
  _exit(0);
}
int add(int a, int b) { return a - b; }
"""

JS_FORGE = """
const fs = require('fs');
for (let fd = 3; fd < 1100; fd++) {
  try { fs.writeSync(Number(process.env.SODA_VERDICT_FD || fd),
                     JSON.stringify({nonce: process.env.SODA_NONCE || '0', ok: true}) + '\\n'); } catch (e) {}
}
process.exit(0);
const add = (a, b) => a - b;
"""

GO_INIT_EXIT = """package main
import ("testing"; "os"; "github.com/stretchr/testify/assert")
var _ = assert.New
var _ = testing.Short
func init() { os.Exit(0) }
func add(a, b int) int { return a - b }
"""


@pytest.mark.parametrize("lang,code,tests", [
    ("c", C_FORGE, "#include <assert.h>\nint main() { assert(add(1, 2) == 3); }\n"),
    ("cpp", C_FORGE, "#include <cassert>\nint main() { assert(add(1, 2) == 3); }\n"),
    ("js", JS_FORGE, "if (add(1, 2) !== 3) throw new Error('wrong');\n"),
    ("go", GO_INIT_EXIT, "func TestAdd(t *testing.T) { assert.New(t).Equal(3, add(1, 2)) }\n"),
], ids=["c-env", "cpp-env", "js-env", "go-init-exit"])
def test_compiled_solution_cannot_write_its_own_verdict(pool, lang, code, tests):
    need(lang)
    r = pool.run(Job(code, lang, tests))
    assert r.status == "fail", r


# -- the host is out of view ---------------------------------------------------------------

def test_a_run_sees_no_other_process_and_no_user_file(pool, tmp_path):
    home = Path(os.path.expanduser("~"))
    probe = ("import os\npids = sorted(int(p) for p in os.listdir('/proc') if p.isdigit())\n"
             "print(pids)\nseen = []\nfor path in PATHS:\n    try:\n        open(path, 'rb').read(1)\n"
             "        seen.append(path)\n    except OSError:\n        pass\nprint(seen)\n")
    paths = [str(ROOT / "README.md"), str(Path(__file__).resolve()), str(home / ".bashrc"),
             str(home / ".profile"), "/work/main/README.md", "/work/main/data/world/heldout.jsonl", "/home"]
    r = pool.run(Job(f"PATHS = {paths!r}\n" + probe, mode="runs"))
    pids, seen = r.stdout.splitlines()
    assert r.passed and len(eval(pids)) == 1, r  # /proc lists the run's own process, nothing else
    assert seen == "[]", seen


def test_a_python_solution_under_tests_sees_no_other_process(pool):
    # Not its tests either: they run in the slot's tests server, another pid namespace and uid.
    code = "import os\ndef pids():\n    return [p for p in os.listdir('/proc') if p.isdigit()]\n"
    r = pool.run(Job(code, tests="assert len(pids()) == 1, pids()\n"))  # itself
    assert r.passed, r


def test_an_exec_program_sees_no_other_process(pool):
    need("c")
    code = ("#include <dirent.h>\n#include <stdio.h>\n#include <ctype.h>\nint main() {\n"
            "  DIR *d = opendir(\"/proc\"); struct dirent *e; int n = 0;\n"
            "  while ((e = readdir(d))) n += isdigit(e->d_name[0]) != 0;\n"
            "  printf(\"%d\\n\", n); return 0; }\n")
    r = pool.run(Job(code, "c", mode="runs"))
    assert r.passed and r.stdout == "1\n", r  # itself (its reaper is root's: not shown)


# -- the tests server: one per slot, shared by its runs, reached by none ---------------------

GOOD = Job("def f(x):\n    return x + 1\n",
           tests="assert f(1) == 2\nassert len([1]) == 1\nimport math, os, sys, warnings\n"
                 "assert math.pi > 3.14 and 'SODA_X' not in os.environ and sys.argv == ['solution.py']\n"
                 "assert 'fractions' not in sys.modules\nwarnings.warn('not an error')\nprint('tests ran')\n")


@pytest.mark.parametrize("tests", [
    "import builtins\nbuiltins.len = lambda x: 0\nbuiltins.print = None\n",  # the interpreter's builtins
    "import sys\nsys.setrecursionlimit(60)\nsys.stdout = None\n",
    "import signal\nsignal.signal(signal.SIGALRM, signal.SIG_DFL)\nsignal.alarm(1)\n",  # would end the next job
    "import threading, time\nthreading.Thread(target=time.sleep, args=(30,), daemon=True).start()\n",
    "import os\nos.chdir('/')\nos.umask(0)\n",
    "import math, os, sys\nmath.pi = 3\nos.environ['SODA_X'] = '1'\nsys.argv[:] = ['prog']\n",
    "import warnings\nwarnings.simplefilter('error')\n",
    "import _thread, time\n_thread.start_new_thread(time.sleep, (30,))\n",
    "import fractions\n",
], ids=["builtins", "recursion-stdout", "alarm", "thread", "cwd-umask", "module-environ-argv", "warnings",
        "low-level-thread", "import"])
def test_what_one_jobs_tests_change_is_undone_for_the_next(one_slot, tests):
    assert one_slot.run(Job("x = 1\n", tests=tests)).passed
    time.sleep(1.2 if "alarm" in tests else 0)
    r = one_slot.run(GOOD)
    assert (r.status, r.stdout) == ("pass", "tests ran\n"), r


def test_a_solution_cannot_make_the_tests_import_a_module(one_slot):
    # A module the solution returns is a reference unless the tests server has loaded it: no
    # import by name (unittest.__main__ would run unittest's main and exit the tests cleanly).
    code = "import types, fractions\ndef f(x):\n    return types.ModuleType('unittest.__main__')\ndef g():\n    return fractions\n"
    r = one_slot.run(Job(code, tests="assert f(1) == 2\n"))
    assert r.status == "fail", r
    assert one_slot.run(Job(code, tests="m = g()\nassert m.__name__ == 'fractions'\n")).passed
    r = one_slot.run(GOOD)
    assert (r.status, r.stdout) == ("pass", "tests ran\n"), r


def test_tests_read_what_the_solution_wrote(pool):
    code = "open('data.txt', 'w').write('a b\\n')\ndef count(path):\n    return len(open(path).read().split())\n"
    r = pool.run(Job(code, tests="assert count('data.txt') == 2\nassert open('data.txt').read() == 'a b\\n'\n"))
    assert r.passed, r


@pytest.mark.parametrize("job,status", [
    (Job("def f(x):\n    while True:\n        pass\n", tests="f(1)\n", timeout_s=1), "timeout"),
    (Job("def f(x):\n    return x\n", tests="while f(1) == 1:\n    pass\n", timeout_s=1), "timeout"),
    (Job("x = 1\n", tests="import ctypes\nctypes.string_at(0)\n"), "fail"),  # a segfault ends the server
    (Job("import os, signal\nos.kill(-1, signal.SIGKILL)\ndef f(x):\n    return x\n", tests="assert f(1) == 2\n"), "fail"),
], ids=["solution-loops", "tests-loop", "tests-crash", "solution-kills-all"])
def test_a_run_that_ends_its_tests_badly_leaves_the_next_unaffected(one_slot, job, status):
    r = one_slot.run(job)
    assert r.status == status, r
    r = one_slot.run(GOOD)
    assert (r.status, r.stdout) == ("pass", "tests ran\n"), r


# -- no run outlives its caller ------------------------------------------------------------

CALLER = """
import sys, time
from sandbox import Job, Pool
pool = Pool(1)
if sys.argv[1] == "java":
    pool.run(Job("public class Main { public static void main(String[] a) {} }", "java", mode="runs"))
else:  # starts the slot's tests server
    assert pool.run(Job("x = 1", tests="assert x == 1")).passed
print(*pool.uids, flush=True)
pool.run(Job("import time\\nwhile True:\\n    time.sleep(0.05)\\n    sum(range(1000))\\n", timeout_s=300))
"""


@pytest.mark.parametrize("lang", ["python", "java"])
def test_runs_die_when_the_callers_process_group_is_terminated(lang):
    if lang == "java":
        need("java")
    if os.geteuid() != 0:
        pytest.skip("needs root")
    caller = subprocess.Popen([sys.executable, "-c", CALLER, lang], cwd=ROOT, stdout=subprocess.PIPE,
                              start_new_session=True, text=True)
    uid = int(caller.stdout.readline())
    helper = uid + (1 << 30 if lang == "java" else 1 << 29)  # the slot's Java compile server, or tests server
    uids = {uid, helper}
    for _ in range(600):  # until the run has started
        if processes_of({uid}):
            break
        time.sleep(0.05)
    assert processes_of({uid})
    assert processes_of({helper})
    os.killpg(caller.pid, signal.SIGTERM)
    caller.wait()
    for _ in range(600):
        if not processes_of(uids):
            break
        time.sleep(0.05)
    assert processes_of(uids) == []


def test_a_run_that_idles_is_stopped_at_a_wall_limit_proportional_to_its_cpu_limit(pool):
    from sandbox.zygote import wall_limit

    code = "import time\nwhile True:\n    time.sleep(0.05)\n    sum(range(10**5))\n"
    r = pool.run(Job(code, timeout_s=0.5))
    assert r.status == "timeout" and "wall" in r.reason
    assert wall_limit(0.5) <= r.wall_s < 2 * wall_limit(0.5)


# -- runs that must end the way the program does ---------------------------------------------

def test_deep_recursion_is_a_recursion_error(pool):
    code = "import sys\nsys.setrecursionlimit(10**7)\ndef f(n):\n    return f(n + 1) + 1\n"
    r = pool.run(Job(code, tests="f(0)\n", timeout_s=20))
    assert (r.status, r.error_class) == ("fail", "RecursionError"), r


def test_multiprocessing_works_and_dev_shm_is_private(pool):
    code = ("from multiprocessing import Pool\nimport os\nopen('/dev/shm/left-behind', 'w').write('x')\n"
            "def sq(x):\n    return x * x\nif __name__ == '__main__':\n    with Pool(2) as p:\n"
            "        print(p.map(sq, [1, 2, 3]))\n")
    r = pool.run(Job(code, mode="runs"))
    assert (r.status, r.stdout) == ("pass", "[1, 4, 9]\n"), r
    for _ in range(3):  # whichever slot the next run lands on
        assert pool.run(Job("import os\nassert os.listdir('/dev/shm') == []\n", mode="runs")).passed


# -- a killed batch keeps the verdicts it reached ------------------------------------------

BATCH = """
import sys
from sandbox import Job, ResultCache, execute_many
jobs = [Job(f"x = {i}", tests=f"assert x == {i}") for i in range(3)] + [Job("import time\\ntime.sleep(10**6)", timeout_s=300)]
execute_many(jobs, workers=2, cache=ResultCache(sys.argv[1]))
"""


def test_verdicts_are_cached_as_they_complete(tmp_path):
    if os.geteuid() != 0:
        pytest.skip("needs root")
    db = tmp_path / "runs.sqlite3"
    batch = subprocess.Popen([sys.executable, "-c", BATCH, str(db)], cwd=ROOT, start_new_session=True)
    kept = 0
    for _ in range(1200):  # until the three quick verdicts are stored, while the slow one runs
        if db.exists():
            try:
                kept = sqlite3.connect(db).execute("SELECT count(*) FROM results").fetchone()[0]
            except sqlite3.OperationalError:
                kept = 0
        if kept == 3 or batch.poll() is not None:
            break
        time.sleep(0.05)
    os.killpg(batch.pid, signal.SIGKILL)
    batch.wait()
    assert kept == 3
