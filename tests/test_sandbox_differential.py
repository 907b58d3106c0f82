"""The sandbox judges honest Python programs as plain execution does.

Hundreds of (solution, tests) pairs, generated from a fixed seed over the kinds of values
and objects that cross between the solution's process and the tests' (standard-library
value types, numpy, the program's own classes, callables and generators both ways,
arguments changed in place, globals that change), each run through a pool and through a
plain `exec` of solution + tests in one process: the verdicts must agree, pass or fail.
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
import textwrap

import pytest

from sandbox import Job

try:
    import numpy  # noqa: F401

    HAVE_NUMPY = True
except ImportError:
    HAVE_NUMPY = False

SEED = 35
PAIRS = 420

# Each kind: (solution, checks). A check is an expression or statement of the tests, with
# {n} the argument and {m} either n (the right expectation) or another number: the same
# check makes a passing and a failing pair. Whether it passes is plain Python's business.
KINDS: list[tuple[str, list[str]]] = [
    ("from decimal import Decimal\ndef f(n):\n    return Decimal(n) / Decimal(8)\n",
     ["from decimal import Decimal\nassert f({n}) == Decimal({m}) / 8", "assert type(f({n})).__name__ == 'Decimal'",
      "assert f({n}) == {m} / 8", "assert str(f({n})) == str({m} / 8)", "assert f({n}) + 1 > {m} / 8"]),
    ("from fractions import Fraction\ndef f(n):\n    return Fraction(n, 3)\n",
     ["assert f({n}) == {m} / 3", "from fractions import Fraction\nassert f({n}) == Fraction({m}, 3)",
      "assert isinstance(f({n}), float)", "assert f({n}).denominator == 3 and f({n}).numerator == {m}",
      "assert f({n}) * 3 == {m}"]),
    ("def f(n):\n    return range(1, n, 2)\n",
     ["assert f({n}) == range(1, {m}, 2)", "assert list(f({n})) == list(range(1, {m}, 2))",
      "assert f({n}) == list(range(1, {m}, 2))", "assert len(f({n})) == len(range(1, {m}, 2)) and 3 in f({n})",
      "assert f({n})[-1] == {m} - 1 - ({m} % 2 == 1) or not f({n})"]),
    ("from collections import deque\ndef f(n):\n    return deque(range(n), maxlen=5)\n",
     ["from collections import deque\nassert f({n}) == deque(range({m}), maxlen=5)",
      "assert f({n}) == list(range({m}))[-5:]", "assert list(f({n})) == list(range({m}))[-5:]",
      "assert f({n}).maxlen == 5 and f({n})[0] == max(0, {m} - 5)", "d = f({n})\nd.append(9)\nassert d[-1] == 9 and len(d) == min({m} + 1, 5)"]),
    ("from collections import OrderedDict\ndef f(n):\n    return OrderedDict((str(i), i) for i in range(n))\n",
     ["from collections import OrderedDict\nassert f({n}) == OrderedDict((str(i), i) for i in range({m}))",
      "from collections import OrderedDict\nassert f({n}) == OrderedDict((str(i), i) for i in reversed(range({m})))",
      "assert f({n}) == dict((str(i), i) for i in reversed(range({m})))", "assert list(f({n})) == [str(i) for i in range({m})]",
      "d = f({n})\nd.move_to_end('0')\nassert list(d.values())[-1] == 0 and len(d) == {m}"]),
    ("def f(n):\n    d = {{i: i * i for i in range(n)}}\n    return d.keys(), d.values(), d.items()\n",
     ["assert f({n})[0] == set(range({m}))", "assert f({n})[1] == [i * i for i in range({m})]",
      "assert f({n})[2] == {{(i, i * i) for i in range({m})}}", "assert sorted(f({n})[1]) == [i * i for i in range({m})]",
      "assert f({n})[0] & {{0, 1}} == {{0, 1}} & set(range({m}))", "assert type(f({n})[0]).__name__ == 'dict_keys'"]),
    ("def f(n):\n    b = bytearray(b'x' * n)\n    b[0:1] = b'y'\n    return b, bytes(b)\n",
     ["assert f({n}) == (bytearray(b'y' + b'x' * ({m} - 1)), b'y' + b'x' * ({m} - 1))",
      "assert isinstance(f({n})[0], bytes)", "assert f({n})[0] == f({n})[1] and len(f({n})[0]) == {m}",
      "b = f({n})[0]\nb.append(65)\nassert b[-1:] == b'A' and len(b) == {m} + 1"]),
    ("def f(n):\n    return {{n, n + 1}}, frozenset({{n}}), complex(n, -n)\n",
     ["assert f({n}) == ({{{m}, {m} + 1}}, frozenset({{{m}}}), complex({m}, -{m}))",
      "assert f({n})[0] == frozenset({{{m}, {m} + 1}})", "assert type(f({n})[1]) is frozenset and abs(f({n})[2]) > {m}",
      "assert f({n})[2].conjugate() == complex({m}, {m})", "assert f({n})[0] | {{0}} == {{0, {m}, {m} + 1}}"]),
    ("from dataclasses import dataclass, field\n@dataclass\nclass P:\n    x: int\n    y: list = field(default_factory=list)\n"
     "    def norm(self):\n        return abs(self.x) + len(self.y)\ndef f(n):\n    return P(n, [n])\n",
     ["assert f({n}) == P({m}, [{m}])", "assert f({n}) != P({m}, [])", "assert f({n}).x == {m} and f({n}).norm() == {m} + 1",
      "assert repr(f({n})) == 'P(x={m}, y=[{m}])'", "p = f({n})\np.x = {m}\nassert p == P({m}, [{n}])",
      "assert f({n}) == ({m}, [{m}])", "assert isinstance(f({n}), P)", "assert [f({n}), f(1)] == [P({m}, [{m}]), P(1, [1])]"]),
    ("from collections import namedtuple\nPoint = namedtuple('Point', 'x y')\ndef f(n):\n    return Point(n, -n)\n",
     ["assert f({n}) == ({m}, -{m})", "assert f({n}) == Point({m}, -{m})", "assert f({n}).x == {m} and f({n})[1] == -{m}",
      "assert f({n})._replace(y=0) == ({m}, 0)", "assert type(f({n})).__name__ == 'Point' and f({n})._asdict() == {{'x': {m}, 'y': -{m}}}",
      "x, y = f({n})\nassert x + y == 0 and x == {m}"]),
    ("import enum\nclass Color(enum.Enum):\n    RED = 1\n    BLUE = 2\nclass Size(enum.IntEnum):\n    S = 1\n    L = 2\n"
     "def f(n):\n    return (Color.RED if n % 2 else Color.BLUE), (Size.S if n % 2 else Size.L)\n",
     ["assert f({n})[0] is (Color.RED if {m} % 2 else Color.BLUE)", "assert f({n})[0] == (Color.RED if {m} % 2 else Color.BLUE)",
      "assert f({n})[0].name == ('RED' if {m} % 2 else 'BLUE')", "assert f({n})[1] == (1 if {m} % 2 else 2)",
      "assert f({n})[0] == (1 if {m} % 2 else 2)", "assert f({n})[1] < 2 or {m} % 2 == 0", "assert f({n})[0].value == 2 - {m} % 2"]),
    ("import datetime as dt\ndef f(n):\n    return dt.date(2020, 1, n % 28 + 1), dt.timedelta(days=n), dt.datetime(2020, 2, 1, n % 24)\n",
     ["import datetime as dt\nassert f({n})[0] == dt.date(2020, 1, {m} % 28 + 1)", "assert f({n})[1].days == {m}",
      "import datetime as dt\nassert f({n})[0] + f({n})[1] == dt.date(2020, 1, {m} % 28 + 1) + dt.timedelta(days={m})",
      "assert f({n})[2].hour == {m} % 24 and f({n})[2].isoformat().startswith('2020-02-01')",
      "assert f({n})[2] > f({n})[0].__class__(2020, 1, 1).__class__.today().replace(year=2019) or True",
      "import datetime as dt\nassert f({n})[2] - dt.datetime(2020, 2, 1) == dt.timedelta(hours={m} % 24)"]),
    ("def f(n):\n    return 10 ** 5000 + n\n",
     ["assert f({n}) == 10 ** 5000 + {m}", "assert f({n}) % 1000 == {m}", "assert f({n}) - 10 ** 5000 == {m}",
      "assert len(bin(f({n}))) > 16000 and f({n}) > 10 ** 4999 * {m}"]),
    ("def f(n):\n    return {{'a': [n, (n, {{n}})], 'b': {{frozenset({{n}}): [None, True, 1.5]}}, 'c': ((), [[]], {{}})}}\n",
     ["assert f({n}) == {{'a': [{m}, ({m}, {{{m}}})], 'b': {{frozenset({{{m}}}): [None, True, 1.5]}}, 'c': ((), [[]], {{}})}}",
      "assert f({n})['b'][frozenset({{{m}}})][1] is True", "assert f({n})['c'][1] == [[]] and f({n})['a'][1][1] == {{{m}}}",
      "assert type(f({n})['a'][1]) is tuple and f({n})['a'][0] == {m}"]),
    ("def f(n):\n    return float('nan'), float('inf') if n % 2 else -float('inf'), None, n % 2 == 1, -0.0\n",
     ["assert f({n})[0] != f({n})[0]", "import math\nassert math.isnan(f({n})[0]) and math.isinf(f({n})[1])",
      "assert f({n})[1] > 0 and {m} % 2 == 1 or f({n})[1] < 0 and {m} % 2 == 0", "assert f({n})[2] is None and f({n})[3] is ({m} % 2 == 1)",
      "assert str(f({n})[4]) == '-0.0'", "assert f({n})[0] == float('nan')", "assert f({n}) == f({n})"]),
    # the tests give the solution callables, iterators, a Counter, a range, objects of their own
    ("def f(fn, n):\n    return [fn(i) for i in range(n)]\n",
     ["assert f(lambda i: i * {m}, 3) == [0, {n}, {n} * 2]", "def sq(i):\n    return i * i\nassert f(sq, {n}) == [i * i for i in range({m})]",
      "assert f(str, {n}) == [str(i) for i in range({m})]", "assert f(abs, {n}) == list(range({m}))",
      "calls = []\nassert f(calls.append, {n}) == [None] * {n}\nassert calls == list(range({m}))",
      "assert f(lambda i: (_ for _ in ()).throw(KeyError(i)), 1) == []"]),
    ("def f(xs, key=None):\n    return sorted(xs, key=key)\n",
     ["assert f(['bb', 'a', 'ccc'][:{n} % 3 + 1], key=len) == sorted(['bb', 'a', 'ccc'][:{m} % 3 + 1], key=len)",
      "assert f([3, -{n}, 2], key=lambda v: -v) == [3, 2, -{m}]", "assert f(['B', 'a', 'C'], key=str.lower) == ['a', 'B', 'C'] and {n} == {m}"]),
    ("def f(it):\n    total = 0\n    for x in it:\n        total += x\n    return total\n",
     ["assert f(i * i for i in range({n})) == sum(i * i for i in range({m}))", "assert f(iter([{n}, 1])) == {m} + 1",
      "assert f(map(int, '123')) == 6 and {n} == {m}", "assert f(range({n})) == sum(range({m}))",
      "g = (i for i in range({n}))\nassert f(g) == sum(range({m}))\nassert list(g) == []",
      "def gen():\n    yield {n}\n    yield 1\nassert f(gen()) == {m} + 1"]),
    ("def f(c):\n    return c.most_common(1)[0], type(c).__name__, sum(c.values())\n",
     ["from collections import Counter\nassert f(Counter('a' * {n} + 'bb')) == (('a', {m}) if {m} > 2 else ('b', 2), 'Counter', {m} + 2)",
      "from collections import Counter\nassert f(Counter({{'x': {n}}}))[1] == 'Counter' and f(Counter({{'x': {n}}}))[2] == {m}"]),
    ("def f(obj):\n    return obj.width * obj.height + obj.extra()\n",
     ["class Box:\n    def __init__(self, w, h):\n        self.width, self.height = w, h\n    def extra(self):\n        return 1\n"
      "assert f(Box({n}, 2)) == {m} * 2 + 1"]),
    ("def f(it):\n    return next(it), next(it)\n",
     ["it = iter(range({n}, 100))\nassert f(it) == ({m}, {m} + 1)\nassert next(it) == {n} + 2",
      "def g():\n    yield {n}\nf_ok = True\ntry:\n    f(g())\nexcept StopIteration:\n    f_ok = False\nassert f_ok is ({m} < 0)"]),
    # the solution's own objects: methods, attributes, truth, iteration, arithmetic
    ("class Stack:\n    def __init__(self):\n        self.items = []\n    def push(self, x):\n        self.items.append(x)\n        return self\n"
     "    def pop(self):\n        return self.items.pop()\n    def __len__(self):\n        return len(self.items)\n"
     "    def __iter__(self):\n        return iter(self.items)\ndef f(n):\n    s = Stack()\n    for i in range(n):\n        s.push(i)\n    return s\n",
     ["assert len(f({n})) == {m}", "assert f({n}).pop() == {m} - 1", "assert list(f({n})) == list(range({m}))",
      "assert bool(f({n})) == ({m} > 0)", "assert not f(0) and {n} == {m}", "s = f({n})\ns.push(7)\nassert s.items[-1] == 7 and len(s.items) == {m} + 1",
      "assert f({n}).items == list(range({m}))", "assert f({n}) == f({n})", "s = f({n})\nassert s is s.push(1) and len(s) == {m} + 1"]),
    ("class V:\n    def __init__(self, x):\n        self.x = x\n    def __add__(self, o):\n        return V(self.x + o.x)\n"
     "    def __eq__(self, o):\n        return isinstance(o, V) and self.x == o.x\n    def __hash__(self):\n        return hash(self.x)\n"
     "    def __lt__(self, o):\n        return self.x < o.x\n    def __repr__(self):\n        return f'V({{self.x}})'\ndef f(n):\n    return V(n)\n",
     ["assert f({n}) + V(1) == V({m} + 1)", "assert sorted([f({n}), V(0)])[-1] == V({m}) or {n} < 0", "assert {{f({n}), V({m})}} == {{V({n})}}",
      "assert repr(f({n}) + f(1)) == 'V({m1})'", "assert f({n}) == {m}", "assert f({n}).x == {m}"]),
    ("def f(n):\n    for i in range(n):\n        yield i * i\ndef inf():\n    i = 0\n    while True:\n        yield i\n        i += 1\n",
     ["assert list(f({n})) == [i * i for i in range({m})]", "g = f({n})\nassert next(g) == 0 and next(g) == 1 and len(list(g)) == {m} - 2",
      "import itertools\nassert list(itertools.islice(inf(), {n})) == list(range({m}))", "assert sum(f({n})) == sum(i * i for i in range({m}))",
      "assert dict(enumerate(f({n}))) == {{i: i * i for i in range({m})}}", "assert [x for x in f({n}) if x % 2] == [i * i for i in range({m}) if i % 2]"]),
    ("def f(n):\n    if n > 5:\n        raise ValueError('big', n)\n    return n\nclass Bad(KeyError):\n    pass\n"
     "def g(n):\n    raise Bad(n)\n",
     ["try:\n    f({n})\n    ok = {m} <= 5\nexcept ValueError as e:\n    ok = e.args == ('big', {m})\nassert ok",
      "try:\n    g({n})\nexcept Bad as e:\n    assert e.args == ({m},)\nelse:\n    assert False",
      "try:\n    g({n})\nexcept LookupError as e:\n    assert str(e) == '{m}'", "try:\n    g({n})\nexcept Exception as e:\n    assert type(e) is Bad and isinstance(e, KeyError) and {n} == {m}"]),
    ("def f(xs):\n    return sorted(xs), min(xs), max(xs, key=lambda o: o.w)\n",
     ["class W:\n    def __init__(self, w):\n        self.w = w\n    def __lt__(self, o):\n        return self.w < o.w\n"
      "ws = [W(3), W({n}), W(1)]\ns, lo, hi = f(ws)\nassert [w.w for w in s] == sorted([3, {m}, 1]) and lo is ws[2] and hi.w == max(3, {m})"]),
    ("def f(n):\n    def add(x):\n        return x + n\n    return add, {{(i, -i): [i] for i in range(n)}}, {{i % 3 for i in range(n)}}\n",
     ["assert f({n})[0](1) == {m} + 1", "assert f({n})[1][(1, -1)] == [1] and len(f({n})[1]) == {m}",
      "assert f({n})[2] == {{0, 1, 2}} and {n} == {m}", "assert list(map(f({n})[0], [0, 1])) == [{m}, {m} + 1]"]),
    ("def f(n):\n    for i in range(n):\n        if i == 3:\n            raise ValueError(i)\n        yield i\n",
     ["try:\n    out = list(f({n}))\nexcept ValueError as e:\n    out = e.args\nassert out == ((3,) if {m} > 3 else list(range({m})))",
      "g = f({n})\nassert [next(g) for _ in range(3)] == [0, 1, 2] and {n} == {m}"]),
    # arguments changed in place, globals that change
    ("def f(xs, d):\n    xs.sort()\n    xs[0].append(len(xs)) if xs and isinstance(xs[0], list) else None\n    d['n'] = len(xs)\n",
     ["xs = [[{n}], [0]]\nfirst = xs[0]\nd = {{}}\nf(xs, d)\nassert xs == [[0, 2], [{m}]] and d == {{'n': 2}} and xs[0] is first or {n} < 0",
      "xs = [3, {n}, 1]\nd = {{'a': 1}}\nf(xs, d)\nassert xs == sorted([3, {m}, 1]) and d == {{'a': 1, 'n': 3}}"]),
    ("count = 0\ndef f(n):\n    global count\n    for i in range(n):\n        count += 1\n        yield i\n",
     ["g = f({n})\nnext(g)\nnext(g)\nassert count == 2 and {n} == {m}", "assert list(f({n})) == list(range({m})) and count == {m}"]),
    ("calls = 0\nlog = []\ndef f(n):\n    global calls, made\n    calls += 1\n    log.append(n)\n    made = n\n    return calls\n",
     ["f({n})\nf(1)\nassert calls == 2 and log == [{m}, 1]", "assert f({n}) == 1 and made == {m}",
      "assert calls == 0 and log == []\nf({n})\nassert log[-1] == {m}", "f({n})\nassert 'made' in globals() and made == {m}"]),
]
if HAVE_NUMPY:
    KINDS += [
        ("import numpy as np\ndef f(n):\n    return np.int64(n), np.arange(n).reshape(1, n), np.float32(n) / 2, np.array(['a', None], dtype=object)\n",
         ["assert isinstance(f({n})[0], int)", "assert f({n})[0] == {m} and type(f({n})[0]).__name__ == 'int64'",
          "import numpy as np\nassert (f({n})[1] == np.arange({m})).all()", "assert f({n})[1].shape == (1, {m})",
          "assert f({n})[2] == {m} / 2 and str(f({n})[2].dtype) == 'float32'", "assert f({n})[1].sum() == sum(range({m}))",
          "assert list(f({n})[3]) == ['a', None] and {n} == {m}", "assert f({n})[1].tolist() == [list(range({m}))]"]),
        ("def f(a):\n    a[0] = -1\n    return a.sum(), type(a).__name__\n",
         ["import numpy as np\na = np.arange({n})\nassert f(a) == ({m} * ({m} - 1) // 2 - 1, 'ndarray')\nassert a[0] == -1",
          "import numpy as np\nassert f(np.ones({n}, dtype=np.int8))[0] == {m} - 2"]),
    ]


def _pairs() -> list[tuple[str, str]]:
    rng = random.Random(SEED)
    pairs = []
    while len(pairs) < PAIRS:
        solution, checks = KINDS[len(pairs) % len(KINDS)]
        check = rng.choice(checks)
        n = rng.randint(3, 9)
        m = n if rng.random() < 0.6 else n + rng.choice((1, 2))
        pairs.append((solution.format(n=n), check.format(n=n, m=m, m1=m + 1)))
    return pairs


PLAIN = textwrap.dedent("""
    import json, os, resource, signal, sys
    pairs, verdicts = json.load(sys.stdin), []
    for solution, tests in pairs:
        pid = os.fork()
        if pid == 0:
            fd = os.open(os.devnull, os.O_WRONLY)
            os.dup2(fd, 1)
            os.dup2(fd, 2)
            resource.setrlimit(resource.RLIMIT_CPU, (10, 11))  # as the sandbox's timeout_s: CPU time
            signal.alarm(60)
            try:
                exec(compile(solution + "\\n" + tests, "<plain>", "exec"), {"__name__": "__main__"})
            except BaseException:
                os._exit(1)
            os._exit(0)
        verdicts.append(os.waitpid(pid, 0)[1] == 0)
    print(json.dumps(verdicts))
""")


def plain_verdicts(pairs: list[tuple[str, str]]) -> list[bool]:
    """Each pair exec'd in one fresh process (forked from one interpreter), as plain Python would."""
    out = subprocess.run([sys.executable, "-c", PLAIN], input=json.dumps(pairs), capture_output=True, text=True,
                         check=True, timeout=600)
    return json.loads(out.stdout)


def test_sandbox_judges_as_plain_exec(pool):
    pairs = _pairs()
    expected = plain_verdicts(pairs)
    results = pool.map([Job(s, tests=t, timeout_s=10) for s, t in pairs])
    differ = [(s, t, e, r.status, r.reason) for (s, t), e, r in zip(pairs, expected, results) if r.passed != e]
    assert 100 < sum(expected) < len(pairs) - 100  # both verdicts, many of each
    assert not differ, f"{len(differ)} of {len(pairs)} differ; first: " + json.dumps(differ[:5], indent=1)


@pytest.mark.parametrize("tests", [
    "try:\n    f()\nexcept:\n    pass\n",
    "for _ in range(3):\n    try:\n        f()\n    except BaseException:\n        pass\n",
])
@pytest.mark.parametrize("solution", [
    "def f():\n    raise KeyboardInterrupt\n",
    "import os\ndef f():\n    os._exit(0)\n",
    "import sys\ndef f():\n    sys.exit(0)\n",
])
def test_the_solutions_death_is_not_swallowed_by_a_bare_except(pool, solution, tests):
    # Plain exec would pass: a real interrupt or death ends the process, and so the run.
    assert pool.run(Job(solution, tests=tests)).status == "fail"


def test_the_tests_objects_are_out_of_the_solutions_reach(pool):
    # A callable or generator the tests lend can be called or iterated, not opened: no
    # globals, code, closure, frame or module of the tests' process.
    for probe in ("fn.__globals__", "fn.__code__", "fn.__closure__", "fn.gi_frame", "fn.gi_frame.f_globals",
                  "getattr(fn, '__builtins__')", "vars(fn)", "fn.__self__"):
        code = f"def f(fn):\n    try:\n        {probe}\n    except Exception:\n        return 'refused'\n    return 'reached'\n"
        r = pool.run(Job(code, tests="assert f(lambda: 1) == 'refused'\nassert f((i for i in 'x')) == 'refused'\n"))
        assert r.passed, (probe, r.stderr[-2000:])


@pytest.mark.parametrize("when", ["names", "reply"])
def test_a_forged_pickle_runs_nothing_in_the_tests_process(pool, when):
    # The solution writes its own message on its pipe to the tests: a pickle that would call
    # exec there. The tests' side refuses the name; nothing runs.
    forge = ("import os, pickle, struct\nclass X:\n    def __reduce__(self):\n"
             "        return (exec, (\"print('pwned')\\nraise SystemExit(0)\",))\n"
             "def forge():\n    body = pickle.dumps(('v', X(), [], []), 5)\n"
             "    os.write(1000, struct.pack('>I', len(body)) + body)\n    os._exit(0)\n")
    code = forge + ("forge()\n" if when == "names" else "def f(x):\n    forge()\n")
    r = pool.run(Job(code, tests="assert f(1) == 2\n"))
    assert r.status == "fail" and "pwned" not in r.stdout, r


@pytest.mark.parametrize("tests", [
    "assert abs(f(1) - 0.5) < 1e-6\n", "assert f(1) - 0.5 == 0\n", "assert not f(1) < 0.5 and not f(1) > 0.5\n",
    "assert 0.5 - f(1) == 0\n", "assert f(1) == 0.5\n", "assert [f(1)] == [0.5]\n",
])
def test_the_tests_values_never_reach_the_solution_as_operands(pool, tests):
    # An object that takes whatever it is compared or subtracted with and says "equal".
    code = ("class Cheat:\n    def __sub__(self, o):\n        return 0\n    __rsub__ = __sub__\n"
            "    def __abs__(self):\n        return 0\n    def __eq__(self, o):\n        return True\n"
            "    def __lt__(self, o):\n        return False\n    __gt__ = __lt__\n    __hash__ = object.__hash__\n"
            "def f(x):\n    return Cheat()\n")
    assert pool.run(Job(code, tests=tests)).status == "fail"


def test_a_forged_pickle_cannot_change_what_the_tests_lent(pool):
    # A reply that BUILDs state into the tests' function (its defaults): refused.
    code = ("import os, struct\ndef f(fn):\n"
            "    body = (b'\\x80\\x05(\\x8c\\x01v\\x8c\\x04mineK' + bytes([object.__getattribute__(fn, '_id')])"
            " + b'\\x86QN}\\x8c\\x0c__defaults__K\\x05\\x85s\\x86b]]t.')\n"
            "    os.write(1000, struct.pack('>I', len(body)) + body)\n    import time\n    time.sleep(5)\n")
    r = pool.run(Job(code, tests="def g(x=1):\n    return x\ntry:\n    f(g)\nexcept BaseException:\n    pass\n"
                                 "assert g() == 5\n"))
    assert r.status == "fail" and "protocol" in r.reason, r


def test_the_solution_cannot_replace_the_tests_own_names(pool):
    # A solution whose globals change (so the tests' names are refreshed) naming the tests'
    # expected value and helper as changed: the tests keep theirs.
    code = ("import sys\ng = {}\nclass Cheat:\n    def __eq__(self, o):\n        return True\n    __hash__ = object.__hash__\n"
            "def f(x):\n    global expected, check\n    expected, check = Cheat(), lambda v: True\n    g[x] = x\n"
            "    return Cheat()\n")
    tests = "def check(v):\n    return v == expected\nexpected = 2\nassert check(f(1))\n"
    assert pool.run(Job(code, tests=tests)).status == "fail"
    assert pool.run(Job(code.replace("return Cheat()", "return 2"), tests=tests)).passed
