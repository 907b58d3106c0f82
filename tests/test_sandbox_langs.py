"""The sandbox on C, C++, Java, JavaScript, TypeScript and Go: verdicts, exit guards, bombs.

Each language's cases skip when its toolchain is not installed (sandbox/setup.sh installs
them); compiling is slow, so cases are few and batched through one pool.
"""

from __future__ import annotations

import shutil

import pytest

from sandbox import Job

TOOLS = {"c": "gcc", "cpp": "g++", "java": "javac", "js": "node", "ts": "tsc", "go": "go"}

# (lang, code, tests): a correct solution, the same with a wrong answer, and one that exits 0
# from inside the solution before the tests can fail.
ADD = {
    "c": ("int add(int a, int b) { return a + b; }\n",
          "#include <assert.h>\nint main() { assert(add(1, 2) == 3); }\n"),
    "cpp": ("int add(int a, int b) { return a + b; }\n",
            "#include <cassert>\nint main() {\n  assert(add(1, 2) == 3);\n}\n"),
    "java": ("class Solution { int add(int a, int b) { return a + b; } }\n",
             "public class Main { public static void main(String[] a) {\n"
             "  if (new Solution().add(1, 2) != 3) throw new AssertionError(); } }\n"),
    "js": ("const add = (a, b) => a + b;\n", "if (add(1, 2) !== 3) throw new Error('wrong');\n"),
    "ts": ("function add(a: number, b: number): number { return a + b; }\n",
           "if (add(1, 2) !== 3) throw new Error('wrong');\n"),
    "go": ("package main\nimport (\"testing\"; \"os\"; \"github.com/stretchr/testify/assert\")\nvar _ = os.Exit\n"
           "func add(a, b int) int { return a + b }\n",
           "func TestAdd(t *testing.T) { assert.New(t).Equal(3, add(1, 2)) }\n"),
}
WRONG = {"c": ("a + b", "a - b"), "cpp": ("a + b", "a - b"), "java": ("a + b", "a - b"),
            "js": ("a + b", "a - b"), "ts": ("a + b", "a - b"), "go": ("a + b", "a - b")}
EXIT0 = {"c": ("return a + b;", "exit(0);"), "cpp": ("return a + b;", "exit(0);"),
            "java": ("return a + b;", "System.exit(0); return 0;"), "js": ("a + b", "process.exit(0)"),
            "ts": ("return a + b;", "process.exit(0); return 0;"), "go": ("return a + b", "os.Exit(0); return 0")}
EXIT_HEADERS = {"c": "#include <stdlib.h>\n", "cpp": "#include <cstdlib>\n"}
TS_DECLARE = "declare var process: any;\n"
BROKEN = {"c": "int add(int a, int b) { return a + }\n", "cpp": "int add(int a, int b) { return a + }\n",
          "java": "class Solution { int add(int a, int b) { return a + } }\n",
          "ts": "function add(a: number, b: number): number { return 'x'; }\n",
          "go": "package main\nfunc add(a, b int) int { return a + }\n"}


def need(lang):
    if shutil.which(TOOLS[lang]) is None:
        pytest.skip(f"{TOOLS[lang]} is not installed (run sandbox/setup.sh)")


@pytest.mark.parametrize("lang", list(ADD))
def test_verdicts_and_exit_guard(pool, lang):
    need(lang)
    code, tests = ADD[lang]
    exit_code = EXIT_HEADERS.get(lang, "") + (TS_DECLARE if lang == "ts" else "") + code.replace(*EXIT0[lang])
    jobs = [Job(code, lang, tests), Job(code.replace(*WRONG[lang]), lang, tests), Job(exit_code, lang, tests)]
    if lang in BROKEN:
        jobs.append(Job(BROKEN[lang], lang, tests))
    results = pool.map(jobs)
    assert results[0].status == "pass", results[0]
    assert results[1].status == "fail", results[1]
    assert results[2].status == "fail", results[2]  # exit(0) before the tests finished
    if lang in BROKEN:
        assert (results[3].status, results[3].error_class) == ("fail", "CompileError"), results[3]
        assert results[3].reason.startswith("compilation failed")


def test_c_hostile(pool):
    need("c")
    cases = {
        "fork bomb": ("#include <unistd.h>\nint main() { for (;;) fork(); }\n", {"timeout"}),
        "loop ignoring signals": ("#include <signal.h>\nint main() { signal(SIGXCPU, SIG_IGN); "
                                  "signal(SIGTERM, SIG_IGN); for (;;) ; }\n", {"timeout"}),
        "sleep forever": ("#include <unistd.h>\nint main() { for (;;) pause(); }\n", {"timeout"}),
        "memory bomb": ("#include <stdlib.h>\n#include <string.h>\nint main() { for (;;) { char *p = malloc(1 << 24);"
                        " if (!p) return 3; memset(p, 1, 1 << 24); } }\n", {"fail", "memory"}),
        "huge output": ("#include <stdio.h>\nint main() { for (;;) puts(\"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\"); }\n",
                        {"fail"}),
        "write /etc": ("#include <stdio.h>\nint main() { return fopen(\"/etc/sandbox-probe\", \"w\") ? 0 : 1; }\n",
                       {"fail"}),
        "kill everyone": ("#include <signal.h>\nint main() { kill(-1, SIGKILL); return 0; }\n", {"pass"}),
        "compile-time bomb": ("#include \"/dev/zero\"\nint main() {}\n", {"fail", "timeout"}),
    }
    # 256 MB: the memory bomb reaches the cap in well under the 1 s CPU limit even on a loaded machine.
    jobs = [Job(code, "c", timeout_s=1, memory_mb=256, mode="runs") for code, _ in cases.values()]
    for (name, (_, expected)), r in zip(cases.items(), pool.map(jobs)):
        assert r.status in expected, (name, r)
        assert len(r.stdout) <= 64 * 1024
    assert pool.run(Job("int main() { return 0; }\n", "c", mode="runs")).passed


def test_java_js_go_memory_bombs(pool):
    jobs = []
    if shutil.which("go"):
        jobs.append(Job("package main\nfunc main() {\n  var s [][]byte\n  for { s = append(s, make([]byte, 1<<24)) }\n}\n",
                        "go", memory_mb=256, mode="runs"))
    if shutil.which("javac"):
        jobs.append(Job("public class Main { public static void main(String[] a) {\n"
                        "  java.util.List<long[]> l = new java.util.ArrayList<>();\n"
                        "  for (;;) l.add(new long[1 << 20]); } }\n", "java", memory_mb=256, mode="runs"))
    if shutil.which("node"):
        jobs.append(Job("const a = []; for (;;) a.push(new Array(1e6).fill(1));\n", "js", memory_mb=256, mode="runs"))
    if not jobs:
        pytest.skip("none of java, node, go installed")
    for r in pool.map(jobs):
        assert r.status == "memory", r


def test_java_assert_statements_are_enabled(pool):
    need("java")
    r = pool.run(Job("class Problem { static int add(int x, int y) { return x - y; } }\n", "java",
                     "public class Main { public static void main(String[] a) { assert Problem.add(1, 2) == 3; } }\n"))
    assert r.status == "fail" and "AssertionError" in r.stderr


def test_java_file_is_named_after_its_public_class(pool):
    need("java")
    r = pool.run(Job("public class Foo { public static void main(String[] a) { System.out.println(7); } }\n",
                     "java", mode="runs"))
    assert (r.status, r.stdout) == ("pass", "7\n")


def test_js_busy_loop_and_missing_module(pool):
    need("js")
    loop, missing = pool.map([Job("for (;;) {}\n", "js", timeout_s=1, mode="runs"),
                              Job("require('no-such-module-xyz');\n", "js", mode="runs")])
    assert loop.status == "timeout"
    assert missing.status == "pass" and "environment error ignored" in missing.reason


def test_isolation_holds_for_exec_programs(pool):
    """The jail is the same for every language; checked here through C and JavaScript programs."""
    jobs = []
    if shutil.which("gcc"):
        jobs += [Job("#include <stdio.h>\nint main() { return fopen(\"/etc/probe\", \"w\") ? 0 : 1; }\n", "c", mode="runs"),
                 Job("#include <sys/socket.h>\n#include <netinet/in.h>\n#include <arpa/inet.h>\n"
                     "int main() { int s = socket(AF_INET, SOCK_STREAM, 0); struct sockaddr_in a = {0};\n"
                     "  a.sin_family = AF_INET; a.sin_port = htons(80); a.sin_addr.s_addr = inet_addr(\"1.1.1.1\");\n"
                     "  return connect(s, (struct sockaddr *)&a, sizeof a) == 0 ? 0 : 1; }\n", "c", mode="runs"),
                 Job("#include <stdio.h>\nint main() { return fopen(\"/etc/shadow\", \"r\") ? 0 : 1; }\n", "c", mode="runs")]
    if shutil.which("node"):
        jobs += [Job("require('fs').writeFileSync(process.env.HOME + '/../probe', 'x');\n", "js", mode="runs"),
                 Job("setInterval(() => {}, 1000);\n", "js", timeout_s=1, mode="runs")]
    if not jobs:
        pytest.skip("neither gcc nor node installed")
    results = pool.map(jobs)
    for job, r in zip(jobs, results):
        expected = "timeout" if "setInterval" in job.code else "fail"
        assert r.status == expected, (job.code, r)


def test_multipl_e_continuations(pool):
    """MultiPL-E's tests close the function its prompt opens: built apart from the solution
    (C, C++, JS, TS, Go) or in its class (Java), they still run against it."""
    jobs = [
        Job("#include<assert.h>\n#include<bits/stdc++.h>\n// doc\nlong add(long a, long b) {\n    return a + b;\n", "cpp",
            "}\nint main() {\n    auto candidate = add;\n    assert(candidate((1), (2)) == (3));\n}\n"),
        Job("#include<assert.h>\n#include<bits/stdc++.h>\nstd::vector<long> f(std::vector<long> x) {\n    std::sort(x.begin(), x.end()); return x;\n", "cpp",
            "}\nint main() {\n    auto candidate = f;\n    assert(candidate((std::vector<long>({(long)3, (long)1}))) == (std::vector<long>({(long)1, (long)3})));\n}\n"),
        Job("//doc\nfunction add(a, b){\n  return a + b;\n", "js",
            "}\n\nconst assert = require('node:assert');\n\n\nfunction test() {\n  let candidate = add;\n  assert.deepEqual(candidate(1, 2),3);\n  assert.deepEqual([candidate(1, 1)],[2]);\n}\n\ntest();"),
        Job("//doc\nfunction add(a: number, b: number): number {\n  return a + b;\n", "ts",
            "}\n\ndeclare var require: any;\nconst assert = require('node:assert');\nfunction test() {\n  let candidate = add;\n  assert.deepEqual(candidate(1, 2),3);\n}\n\ntest();"),
        Job("//doc\nfunction add(a: number, b: number): number {\n  return a - b;\n", "ts",
            "}\n\ndeclare var require: any;\nconst assert = require('node:assert');\nfunction test() {\n  let candidate = add;\n  assert.deepEqual(candidate(1, 2),3);\n}\n\ntest();"),
        Job("export function add(a: number, b: number): number { return a + b; }\n", "ts",
            "declare var require: any;\nconst assert = require('node:assert');\nassert.strictEqual(add(1, 2), 3);\n"),
        Job("import java.util.*;\nclass Problem {\n    static class Pair2 { long a; }\n    public static long add(long a, long b) {\n        return a + b;\n", "java",
            "    }\n    public static void main(String[] args) {\n    assert(add((1l), (2l)) == (3l));\n    }\n\n}\n"),
        Job("package add_test\n\nimport (\n    \"testing\"\n    \"fmt\"\n)\n\nfunc add(a int, b int) int {\n    return a + b\n", "go",
            "}\n\nfunc TestAdd(t *testing.T) {\n  candidate := add\n\ttype test struct {\n\t\tactual   interface{}\n\t\texpected interface{}\n\t}\n   tests := []test{\n     { actual: candidate(1, 2), expected: 3 },\n   }\n\n\tfor i, tc := range tests {\n\t\tt.Run(fmt.Sprintf(\"test num % d\", i), func(t *testing.T) {\n\t\t\tif fmt.Sprintf(\"%v\", tc.actual) != fmt.Sprintf(\"%v\", tc.expected) {\n\t\t\t\tt.Errorf(\"expected '%s', got '%s'\", tc.expected, tc.actual)\n\t\t\t}\n\t\t})\n\t}\n}\n"),
    ]
    expected = ["pass", "pass", "pass", "pass", "fail", "pass", "pass", "pass"]  # the fifth subtracts
    cases = [(job, want) for job, want in zip(jobs, expected) if shutil.which(TOOLS[job.lang])]
    for (job, want), r in zip(cases, pool.map([job for job, _ in cases])):
        assert r.status == want, (job.lang, r)


def test_cli_runs_other_languages(tmp_path, capsys):
    need("c")
    from sandbox.cli import main

    src, tests = tmp_path / "add.c", tmp_path / "tests.c"
    src.write_text("int add(int a, int b) { return a + b; }\n")
    tests.write_text("int main(void) { return add(1, 2) == 3 ? 0 : 1; }\n")
    assert main(["run", str(src), "--lang", "c", "--tests", str(tests)]) == 0
    assert '"status": "pass"' in capsys.readouterr().out
