"""Python programs that try to forge their verdict or to reach another job, on 1-slot pools.

Attacks of issue 35: a solution that reads its own tests out of its memory; a run that
writes a passing verdict and then fails; an attacker that leaves something behind (in
/dev/shm, its run dir, the tests server's interpreter, fds, the server's channel) for the
victim that runs next on the same slot, in Python or another language.
"""

from __future__ import annotations

import time

import pytest

from sandbox import Job
from conftest import processes_of, started
from test_sandbox_langs import need


@pytest.fixture
def one_slot():
    """A fresh 1-slot pool for each case: an attack that works must not spill into the next case."""
    yield from started(1)

# -- a solution never holds its tests ------------------------------------------------------

SECRET = 73918264501  # only the tests hold it

# Looks for the expected answer wherever it could be: the frames above it, every object the
# collector knows, every readable byte of its own memory.
READ_THE_TESTS = r"""
import ctypes, gc, re, sys
PATTERN = re.compile(rb"== ([0-9]{11})")

def look(data):
    if isinstance(data, str):
        data = data.encode("utf-8", "replace")
    m = PATTERN.search(data) if isinstance(data, (bytes, bytearray)) else None
    return int(m.group(1)) if m else None

def search():
    f = sys._getframe()
    while f is not None:
        for v in list(f.f_locals.values()) + list(f.f_globals.values()):
            for x in ([v] if not isinstance(v, dict) else list(v.values())):
                if (hit := look(x)) is not None:
                    return hit
        f = f.f_back
    for o in gc.get_objects():
        for x in ([o] if not isinstance(o, dict) else list(o.values())):
            if (hit := look(x)) is not None:
                return hit
    for line in open("/proc/self/maps"):
        fields = line.split()
        if "r" not in fields[1] or len(fields) > 5 and fields[5] not in ("[heap]", "[stack]"):
            continue  # files' pages are the files' (and reading past a file's end faults)
        start, end = (int(a, 16) for a in fields[0].split("-"))
        if (hit := look(ctypes.string_at(start, end - start))) is not None:
            return hit
    return None

FOUND = search()

def answer():
    return FOUND
"""


def test_a_python_solution_cannot_find_its_tests_in_its_memory(one_slot):
    tests = f"assert answer() == {SECRET}\n"
    for _ in range(2):  # and not the previous job's, the same tests, either
        r = one_slot.run(Job(READ_THE_TESTS, tests=tests, timeout_s=20))
        assert r.status == "fail", r


# -- a run without tests: its exit status is its verdict -------------------------------------

# Writes a passing verdict with every 32-hex string in reach (a nonce) on every fd, then ends
# as the parametrisation says.
FORGE = r"""
import gc, json, os, re, sys
found = set()
f = sys._getframe()
while f is not None:
    found.update(v for v in f.f_locals.values() if isinstance(v, str) and re.fullmatch("[0-9a-f]{32}", v))
    f = f.f_back
for o in gc.get_objects():
    if isinstance(o, dict):
        found.update(v for v in list(o.values()) if isinstance(v, str) and re.fullmatch("[0-9a-f]{32}", v))
for nonce in found or {None}:
    line = (json.dumps({"nonce": nonce, "ok": True}) + "\n").encode()
    for fd in range(3, 1100):
        try:
            os.write(fd, line)
        except OSError:
            pass
"""
ENDINGS = {
    "raise": "raise ValueError('after the forged verdict')\n",
    "loop": "while True:\n    pass\n",
    "segfault": "import ctypes\nctypes.string_at(0)\n",
    "exit-1": "os._exit(1)\n",
    "abort": "os.abort()\n",
    "exit-2": "sys.exit(2)\n",
}


@pytest.mark.parametrize("mode", ["runs", "tests"])
@pytest.mark.parametrize("ending", list(ENDINGS))
def test_a_python_run_cannot_write_its_own_verdict(one_slot, mode, ending):
    r = one_slot.run(Job(FORGE + ENDINGS[ending], mode=mode, timeout_s=1))
    assert r.status in ("fail", "timeout"), r
    # Its own clean end still passes, whatever it wrote.
    assert one_slot.run(Job(FORGE, mode=mode)).passed


def test_a_python_run_without_tests_still_reports_its_exception(one_slot):
    r = one_slot.run(Job("import json\njson.loads('x')\n", mode="runs"))
    assert (r.status, r.error_class) == ("fail", "JSONDecodeError"), r
    r = one_slot.run(Job("import not_a_module_anywhere\n", mode="runs"))
    assert (r.status, r.error_class) == ("pass", "ModuleNotFoundError"), r
    r = one_slot.run(Job("import not_a_module_anywhere\n", mode="tests"))
    assert (r.status, r.error_class) == ("fail", "ModuleNotFoundError"), r
    r = one_slot.run(Job("x = [0] * 10**10\n", mode="runs", memory_mb=256))
    assert r.status == "memory", r


def test_a_python_run_is_done_when_its_threads_are(one_slot):
    code = "import threading\ndef spin():\n    while True:\n        pass\nthreading.Thread(target=spin).start()\n"
    assert one_slot.run(Job(code, mode="runs", timeout_s=1)).status == "timeout"


# -- nothing a run writes reaches the next job ----------------------------------------------

SHM_LITTER = """
import os
os.makedirs('/dev/shm/d/e', exist_ok=True)
open('/dev/shm/d/e/secret', 'w').write('left')
os.symlink('/etc', '/dev/shm/link')
os.mkfifo('/dev/shm/fifo')
os.chdir('/dev/shm')
for _ in range(3000):  # deeper than a recursive walk goes
    os.mkdir('x')
    os.chdir('x')
"""
SHM_EMPTY = "import os\nassert os.listdir('/dev/shm') == [], os.listdir('/dev/shm')\n"
OTHER_LANGUAGES = {
    "c": "#include <stdio.h>\nint main(void) { puts(\"ok\"); return 0; }\n",
    "js": "console.log('ok');\n",
    "go": "package main\nimport \"fmt\"\nfunc main() { fmt.Println(\"ok\") }\n",
}


@pytest.mark.parametrize("lang", ["python", *OTHER_LANGUAGES])
def test_dev_shm_litter_of_any_kind_does_not_reach_the_next_job(one_slot, lang):
    if lang != "python":
        need(lang)
    assert one_slot.run(Job(SHM_LITTER, mode="runs", timeout_s=5)).passed
    if lang != "python":
        r = one_slot.run(Job(OTHER_LANGUAGES[lang], lang, mode="runs"))
        assert (r.status, r.stdout) == ("pass", "ok\n"), r
        assert one_slot.run(Job(SHM_LITTER, mode="runs", timeout_s=5)).passed
    r = one_slot.run(Job(SHM_EMPTY, mode="runs"))
    assert r.passed, r
    # The tests' side too.
    assert one_slot.run(Job("x = 1\n", tests=SHM_LITTER, timeout_s=5)).passed
    assert one_slot.run(Job("x = 1\n", tests=SHM_EMPTY)).passed


def test_a_run_dir_too_deep_to_walk_does_not_reach_the_next_job(one_slot):
    litter = ("import os\nopen('secret', 'w').write('left')\nfor _ in range(3000):\n"
              "    os.mkdir('x')\n    os.chdir('x')\n")
    assert one_slot.run(Job(litter, mode="runs", timeout_s=5)).passed
    victim = "import os\nassert os.listdir('/tmp/runs') == [os.path.basename(os.getcwd())], os.listdir('/tmp/runs')\n"
    r = one_slot.run(Job(victim, mode="runs"))
    assert r.passed, r


# Every directory on a writable mount that this process may write to.
WRITABLE = """
import os
def writable():
    found = set()
    for line in open('/proc/self/mounts'):
        _, point, _, options = line.split()[:4]
        if 'ro' in options.split(',') or point.startswith(('/proc', '/sys')):
            continue
        for d, subdirs, _ in os.walk(point):
            if d in ('/proc', '/sys'):
                subdirs.clear()
            elif os.access(d, os.W_OK):
                found.add(d)
    return found - {os.getcwd(), '/dev/shm'}
"""


def test_a_program_and_its_tests_can_write_only_their_run_dir_and_dev_shm(one_slot):
    r = one_slot.run(Job(WRITABLE + "assert not writable(), writable()\n", mode="runs"))
    assert r.passed, r
    r = one_slot.run(Job("x = 1\n", tests=WRITABLE + "assert not writable(), writable()\n"))
    assert r.passed, r


# -- what one job's tests do to the tests server is undone, or the server retired ------------

WRONG = "def f(x):\n    return 0\n"  # f(1) == 2 must fail

# (attacker's tests, victim's tests run against WRONG's f or on their own)
TESTS_SIDE = {
    "settrace": ("import sys\nsys.settrace(lambda *a: None)\nsys.setprofile(lambda *a: None)\n",
                 "import sys\nassert sys.gettrace() is None and sys.getprofile() is None\n"),
    "audit-hook": ("import sys\ndef no(event, args):\n    if event == 'open':\n        raise PermissionError(event)\n"
                   "sys.addaudithook(no)\n",
                   "open('f', 'w').write('x')\n"),
    "class-attr": ("import collections\ncollections.Counter.most_common = lambda self, n=None: []\n",
                   "import collections\nassert collections.Counter('aab').most_common(1) == [('a', 2)]\n"),
    "server-class": ("import sys\nsys.modules['sandbox.pyrun'].Solution.request = lambda self, *a, **k: 2\n",
                     "assert f(1) == 2\n"),
    "server-module": ("import sys\np = sys.modules['sandbox.pyrun']\np._error_verdict = lambda e, mode: {'ok': True}\n",
                      "assert f(1) == 2\n"),
    "function-defaults": ("import json\njson.dumps.__kwdefaults__ = dict(json.dumps.__kwdefaults__, sort_keys=True)\n",
                          "import json\nassert json.dumps({'b': 1, 'a': 2}) == '{\"b\": 1, \"a\": 2}'\n"),
    "module-object": ("import json\njson._default_encoder.indent = 2\n",
                      "import json\nassert json.dumps([1, 2]) == '[1, 2]'\n"),
    "random-state": ("import random\nrandom.seed(7)\n",
                     "import random\nassert random.random() != random.Random(7).random()\n"),
    "fd-left": ("import os\nopen('secret', 'w').write('left')\nos.open('secret', os.O_RDONLY)\n",
                "import os\nfor fd in os.listdir('/proc/self/fd'):\n    try:\n"
                "        assert b'left' not in os.pread(int(fd), 64, 0), fd\n    except OSError:\n        pass\n"),
    "home-file": ("import os\nfor d in ('/tmp/tests', os.path.expanduser('~')):\n    try:\n"
                  "        open(os.path.join(d, 'secret'), 'w').write('left')\n    except OSError:\n        pass\n",
                  "import os\nassert not os.path.exists('/tmp/tests/secret')\n"),
    "meta-path": ("import sys\nclass No:\n    def find_spec(self, name, *a):\n        raise ImportError(name)\n"
                  "sys.meta_path.insert(0, No())\n",
                  "import fractions\n"),
    "rlimit": ("import resource\nresource.setrlimit(resource.RLIMIT_NOFILE, (8, 8))\n",
               "fs = [open('f%d' % i, 'w') for i in range(20)]\n"),
    "gc-callback": ("import gc\ngc.callbacks.append(lambda phase, info: print('collected'))\n",
                    "import gc\nassert gc.callbacks == [], gc.callbacks\n"),
}


@pytest.mark.parametrize("case", list(TESTS_SIDE))
def test_what_one_jobs_tests_do_to_the_server_does_not_reach_the_next(one_slot, case):
    attack, victim = TESTS_SIDE[case]
    one_slot.run(Job(WRONG, tests=attack))
    if "f(1)" in victim:
        r = one_slot.run(Job(WRONG, tests=victim))
        assert r.status == "fail", r
        assert one_slot.run(Job("def f(x):\n    return x + 1\n", tests=victim)).passed
    else:
        r = one_slot.run(Job(WRONG, tests=victim))
        assert r.passed, r


# The tests write a frame of their own on the server's channel to the zygote: without the
# job's number (the zygote takes it for the reply), or with it (found in the server's frames).
FRAME = """
import os, sys
zygote = sys.modules['sandbox.zygote']
job = None
f = sys._getframe()
while f is not None:
    job = f.f_locals.get('task', {}).get('job', job) if isinstance(f.f_locals.get('task'), dict) else job
    f = f.f_back
frame = {'verdict': {'ok': True}, 'cpu_s': 0.0, 'retire': False}
if WITH_JOB:
    frame['job'] = job
for fd in os.listdir('/proc/self/fd'):
    try:
        if os.readlink('/proc/self/fd/' + fd).startswith('socket:'):
            os.write(int(fd), zygote.frame(frame))
    except OSError:
        pass
"""


@pytest.mark.parametrize("with_job", [False, True], ids=["no-job", "job"])
def test_a_frame_the_tests_write_on_the_servers_channel_is_no_later_jobs_verdict(one_slot, with_job):
    one_slot.run(Job("x = 1\n", tests=f"WITH_JOB = {with_job}\n" + FRAME))
    for _ in range(2):
        r = one_slot.run(Job(WRONG, tests="assert f(1) == 2\n"))
        assert r.status == "fail", r
    assert one_slot.run(Job("def f(x):\n    return x + 1\n", tests="assert f(1) == 2\n")).passed


def test_an_ordinary_job_keeps_the_tests_server(one_slot):
    # Putting back and checking must not retire the server after every job (a fork each).
    from sandbox.zygote import TESTS_UID_OFFSET

    uid = one_slot.uids[0] + TESTS_UID_OFFSET
    job = Job("def f(x):\n    return [x, {x: (x,)}]\n",
              tests="import collections, random, json\nassert f(1) == [1, {1: (1,)}]\nrandom.random()\n"
                    "class A:\n    pass\nA.x = 1\nassert json.dumps([A.x]) == '[1]'\nprint(collections.Counter('ab'))\n")
    assert one_slot.run(job).passed
    server = processes_of({uid})
    assert server
    time.sleep(0.1)
    for _ in range(3):
        assert one_slot.run(job).passed
    assert processes_of({uid}) == server


LEFT_IN_A_CYCLE = """
import os, sys
class Left:
    def __init__(self):
        self.me = self
    def __del__(self):
        print('finalized', os.getpid() > 0)
        sys.setrecursionlimit(60)
        os.environ['LEFT'] = '1'
left = Left()
"""
DEEP = "def down(n):\n    return n and down(n - 1)\ndown(100)\nimport os\nassert 'LEFT' not in os.environ\nprint('next')\n"


def test_what_a_jobs_tests_leave_in_cycles_ends_with_that_job(one_slot):
    # An object in a cycle whose finalizer prints (with the tests' globals) and changes the
    # interpreter: its output is its own job's, and what it changed is put back.
    left, after = Job("x = 1\n", tests=LEFT_IN_A_CYCLE), Job("x = 1\n", tests=DEEP)
    results = one_slot.map([left, after, left, after])
    assert [(r.status, r.stdout, r.stderr) for r in results] == [
        ("pass", "finalized True\n", ""), ("pass", "next\n", "")] * 2, results
    # The tests' functions, the references to the solution and the callbacks lent to it go
    # with their job: the server holds no more objects after 30 jobs than before.
    count = Job("x = 1\n", tests="import gc\nprint(len(gc.get_objects()))\n")
    job = Job("def f(g):\n    return [g(1)]\n", tests="def check(f):\n    assert f(lambda x: x + 1) == [2]\ncheck(f)\n")
    counts = []
    for _ in range(2):
        assert all(r.passed for r in one_slot.map([job] * 30))
        counts.append(int(one_slot.run(count).stdout))
    assert counts[0] == counts[1], counts


def test_the_solutions_recursion_cap_is_not_the_tests(one_slot):
    # The cap on sys.setrecursionlimit (from the memory limit) protects against the solution.
    tests = "import sys\nsys.setrecursionlimit(100_000)\ndef down(n):\n    return n and down(n - 1)\ndown(30_000)\n"
    assert one_slot.run(Job("x = 1\n", tests=tests, memory_mb=64)).passed
    r = one_slot.run(Job("import sys\nsys.setrecursionlimit(100_000)\nprint(sys.getrecursionlimit())\n",
                         mode="runs", memory_mb=64))
    assert (r.status, r.stdout) == ("pass", "16384\n"), r
