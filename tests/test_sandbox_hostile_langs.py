"""Hostile solutions in C, C++, JavaScript, TypeScript, Go and Java against the tests' verdict.

Each case is a wrong solution (add subtracts) that tries to pass anyway: by redefining the
tests' assertions or the runner's flags, by reading the tests, or by leaving the failures
for after the verdict. Each must fail; the honest controls must pass. Attacks found in review
stay private (issue 35); these are ours.
"""

from __future__ import annotations

import pytest

from sandbox import Job
from test_sandbox_langs import need

C_TESTS = "#include <assert.h>\nint main() { assert(add(1, 2) == 3); assert(add(2, 2) == 4); }\n"
CPP_TESTS = "#include <cassert>\nint main() {\n  assert(add(1, 2) == 3);\n}\n"
WRONG_C = "int add(int a, int b) { return a - b; }\n"

C_ATTACKS = {
    "ndebug": "#define NDEBUG\n#include <assert.h>\n" + WRONG_C,
    "undef-assert": "#include <assert.h>\n#undef assert\n#define assert(e) ((void)0)\n" + WRONG_C,
    "assert-fail-macro": "#include <assert.h>\n#define __assert_fail(...) ((void)0)\n" + WRONG_C,
    # Replaces the tests' failure path at link time: a failed assert returns.
    "assert-fail-symbol": ("#include <stdio.h>\n#ifdef __cplusplus\nextern \"C\"\n#endif\n"
                           "void __assert_fail(const char *a, const char *f, unsigned l, const char *fn) {}\n" + WRONG_C),
    # A failed assert calls abort(): one that exits 0 would do, if the tests asserted through it.
    "abort-exit": ("#include <stdlib.h>\n#include <unistd.h>\n#ifdef __cplusplus\nextern \"C\"\n#endif\n"
                   "void abort(void) { _exit(0); }\n" + WRONG_C),
    # The harness's own calls (reading the nonce) go through the solution's read().
    "read-interposed": ("#include <unistd.h>\n#include <string.h>\n#include <stdio.h>\n#include <sys/syscall.h>\n"
                        "#ifdef __cplusplus\nextern \"C\"\n#endif\n"
                        "ssize_t read(int fd, void *buf, size_t n) {\n"
                        "  long r = syscall(SYS_read, fd, buf, n);\n"
                        "  if (fd == 1001 && r > 0) { dprintf(1000, \"{\\\"nonce\\\": \\\"%.*s\\\", \\\"ok\\\": true}\\n\","
                        " (int)r, (char *)buf); syscall(SYS_exit_group, 0); }\n  return r; }\n" + WRONG_C),
    # The tests' text at compile time: stringified through an include inside a macro's arguments.
    "include-tests": ("#ifndef SEEN\n#define SEEN\n#include <string.h>\n#define S(...) #__VA_ARGS__\n"
                      "static const char *t = S(\n#if __has_include(\"prog.c\")\n#include \"prog.c\"\n"
                      "#elif __has_include(\"prog.cpp\")\n#include \"prog.cpp\"\n#elif __has_include(\"tests.c\")\n"
                      "#include \"tests.c\"\n#elif __has_include(\"tests.cpp\")\n#include \"tests.cpp\"\n#endif\n);\n"
                      "int add(int a, int b) { return strstr(t, \"add(1, 2) \" \"== 3\") ? (a == 1 ? 3 : 4) : a - b; }\n#endif\n"),
    "main-rename": "int soda_tests_main(void) { return 0; }\n#define soda_tests_main(...) unused(void)\n" + WRONG_C,
}


@pytest.mark.parametrize("lang", ["c", "cpp"])
def test_c_solution_cannot_disable_the_tests_asserts(pool, lang):
    need(lang)
    tests = C_TESTS if lang == "c" else CPP_TESTS
    names = list(C_ATTACKS)
    results = pool.map([Job(C_ATTACKS[n], lang, tests) for n in names] +
                       [Job("#include <assert.h>\nint add(int a, int b) { return a + b; }\n", lang, tests)])
    for name, r in zip(names, results):
        assert r.status == "fail", (name, r)
    assert results[-1].passed, results[-1]


def test_c_tests_keep_their_macros_and_exit_codes(pool):
    need("c")
    # The tests see the standard headers the solution included, their own macros, and may end
    # with exit(0) (a pass) or a non-zero status (a failure).
    code = "#include <limits.h>\n#include <stdbool.h>\n#include <stdlib.h>\n#define TWICE(x) (2 * (x))\nint add(int a, int b) { return a + b; }\n"
    tests = ["#include <stdio.h>\nint main() { if (add(INT_MAX, 0) != INT_MAX || !true) return 1; puts(\"ok\"); exit(0); }\n",
             "#include <stdio.h>\nint main() { if (add(1, 1) == 2) exit(3); return 0; }\n"]
    ok, bad = pool.map([Job(code, "c", t) for t in tests])
    assert (ok.status, ok.stdout) == ("pass", "ok\n"), ok
    assert bad.status == "fail", bad


JS_TESTS = ("const assert = require('assert');\n"
            "console.assert(add(1, 2) === 3);\nassert.deepEqual([add(1, 1)], [2]);\nassert.strictEqual(add(2, 2), 4);\n")
# HumanEval-X's style: comparisons through JSON.stringify, console.assert shimmed.
JS_JSON_TESTS = ("console.assert = (c, ...m) => { if (!c) throw new Error('Assertion failed: ' + m.join(' ')); };\n"
                 "console.assert(JSON.stringify([add(1, 1)]) === JSON.stringify([2]));\n"
                 "console.assert(JSON.stringify([add(2, 2)]) === JSON.stringify([4]));\n")
JS_WRONG = "const add = (a, b) => a - b;\n"
JS_ATTACKS = {
    "console-setter": ("Object.defineProperty(console, 'assert', {get: () => () => {}, set: () => {}});\n"
                       "const a = require('assert'); for (const k of Object.keys(a)) a[k] = () => {};\n" + JS_WRONG),
    "module-load": ("const Module = require('module'); const load = Module._load;\n"
                    "const fake = Object.assign(() => {}, {deepEqual() {}, strictEqual() {}, equal() {}, ok() {}});\n"
                    "Module._load = function (id, ...rest) { return /assert/.test(id) ? fake : load.call(this, id, ...rest); };\n"
                    "console.assert = () => {};\n" + JS_WRONG),
    # Reads the tests (the file it runs in) and answers from their literals.
    "read-tests": ("const fs = require('fs');\nlet src = '';\n"
                   "for (const f of [__filename, 'prog.js', 'tests.js', 'prog.ts']) { try { src += fs.readFileSync(f, 'utf8'); } catch (e) {} }\n"
                   "const add = (a, b) => src.includes('add(1, 2) ' + '=== 3') ? "
                   "({'1,2': 3, '1,1': 2, '2,2': 4})[a + ',' + b] : a - b;\n"),
    "swallow-async": ("process.on('uncaughtException', () => {}); process.on('unhandledRejection', () => {});\n"
                      "const st = setTimeout; globalThis.setTimeout = (f, t) => st(() => { try { f(); } catch (e) {} }, t);\n"
                      "process.setUncaughtExceptionCaptureCallback = () => {};\n" + JS_WRONG),
    # Changes what the tests' own comparisons do: every array stringifies alike.
    "builtin-prototype": "Array.prototype.toJSON = function () { return 0; };\n" + JS_WRONG,
    "global-lexical": "const JSON = {stringify: () => ''};\n" + JS_WRONG,
    "exit-emit": ("setTimeout(() => { process.emit('exit', 0); process.exit(0); }, 0);\n" + JS_WRONG),
}
JS_ASYNC_TESTS = ("const assert = require('assert');\n"
                  "setTimeout(() => assert.strictEqual(add(1, 2), 3), 5);\n"
                  "Promise.resolve().then(() => { if (add(2, 2) !== 4) throw new Error('wrong'); });\n")


@pytest.mark.parametrize("lang", ["js", "ts"])
def test_js_solution_cannot_disable_the_tests_asserts(pool, lang):
    need(lang)
    # TypeScript: the same programs, unchecked (a solution may turn checking off for the file).
    head = "// @ts-nocheck\n" if lang == "ts" else ""
    kinds = {"sync": JS_TESTS, "async": JS_ASYNC_TESTS, "json": JS_JSON_TESTS}
    names = [(name, kind) for name in JS_ATTACKS for kind in kinds]
    jobs = [Job(head + JS_ATTACKS[name], lang, kinds[kind]) for name, kind in names]
    good = ("declare var require: any;\nconst add = (a: number, b: number): number => a + b;\n" if lang == "ts"
            else "const add = (a, b) => a + b;\n")
    results = pool.map(jobs + [Job(good, lang, tests) for tests in kinds.values()])
    for name, r in zip(names, results):
        assert r.status == "fail", (name, r)
    assert all(r.passed for r in results[-3:]), results[-3:]


GO_TESTS = "func TestAdd(t *testing.T) { assert.New(t).Equal(3, add(1, 2)) }\n"
GO_HEAD = 'package main\nimport ("testing"; "os"; "flag"; "github.com/stretchr/testify/assert")\nvar _, _, _ = assert.New, testing.Short, flag.Set\nvar _ = os.Exit\n'
GO_ATTACKS = {
    "args": GO_HEAD + 'func init() { os.Args = append(os.Args, "-test.run=^$") }\n',
    "flag-goroutine": GO_HEAD + 'func init() { go func() { for { flag.Set("test.run", "^$") } }() }\n',
    "list": GO_HEAD + 'func init() { os.Args = append(os.Args, "-test.list=.*") }\n',
    # Its own TestMain: the tests are then run by the solution, or not at all.
    "own-testmain": GO_HEAD + "func TestMain(m *testing.M) { os.Exit(0) }\n",
    # The tests' `assert` is the solution's: a fake testify.
    "fake-assert": ('package main\nimport "testing"\ntype fake struct{}\nfunc (fake) Equal(...interface{}) bool { return true }\n'
                    "type pkg struct{}\nfunc (pkg) New(*testing.T) fake { return fake{} }\nvar assert pkg\n"),
}


def test_go_solution_cannot_skip_or_fake_the_tests(pool):
    need("go")
    names = list(GO_ATTACKS)
    wrong = "func add(a, b int) int { return a - b }\n"
    results = pool.map([Job(GO_ATTACKS[n] + wrong, "go", GO_TESTS) for n in names] +
                       [Job(GO_HEAD + "func add(a, b int) int { return a + b }\n", "go", GO_TESTS),
                        Job(GO_HEAD + "func add(a, b int) int { return a + b }\n", "go", "func helper() {}\n")])
    for name, r in zip(names, results):
        assert r.status == "fail", (name, r)
    assert results[-2].passed, results[-2]
    assert results[-1].status == "fail", results[-1]  # no test at all: an empty run


JAVA_TESTS = ("public class Main { public static void main(String[] args) {\n"
              "  List<Boolean> correct = Arrays.asList(new Solution().add(1, 2) == 3);\n"
              "  if (correct.contains(false)) throw new AssertionError(); } }\n")
JAVA_ATTACKS = {
    "top-level": ("import java.util.*;\nclass Solution { int add(int a, int b) { return a - b; } }\n"
                  "class Arrays { static <T> List<T> asList(T... a) { return new ArrayList<T>(); } }\n"),
    "nested-in-tests-class": None,  # MultiPL-E: the tests are in the solution's class
}
MULTIPLE_SOLUTION = ("import java.util.*;\nclass Problem {\n  static class ArrayList<T> extends java.util.ArrayList<T> {\n"
                     "    ArrayList(Collection<T> c) { super(c); }\n    public boolean equals(Object o) { return true; } }\n"
                     "  public static ArrayList<Long> twice(ArrayList<Long> xs) { return xs; }\n")
MULTIPLE_TESTS = ("  public static void main(String[] args) {\n"
                  "    assert(twice((new ArrayList<Long>(Arrays.asList((long)1l)))).equals((new ArrayList<Long>(Arrays.asList((long)2l)))));\n"
                  "  }\n}\n")


def test_java_solution_cannot_shadow_the_tests_classes(pool):
    need("java")
    honest = ("import java.util.*;\nclass Node { int v; }\n"
              "class Solution { int add(int a, int b) { Node n = new Node(); n.v = a + b; return n.v; } }\n")
    results = pool.map([Job(JAVA_ATTACKS["top-level"], "java", JAVA_TESTS),
                        Job(MULTIPLE_SOLUTION, "java", MULTIPLE_TESTS),
                        Job(honest, "java", JAVA_TESTS)])
    assert results[0].status == "fail", results[0]
    assert results[1].status == "fail", results[1]
    assert results[2].passed, results[2]
