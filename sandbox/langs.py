"""Per-language recipes: how a job becomes confined processes, and how outcomes become a Result.

Runs inside the zygote. Python runs in the forked interpreter itself (sandbox/pyrun.py). The
other languages write the program into the run dir, compile it in confined processes and run
it in another. When tests are given, a small harness writes the run's nonce on the verdict
channel only once the tests ended well, so that exit(0) from the solution before, during or
instead of the tests (a Go init()) is not a pass. The harness reads the nonce from a pipe
(zygote.NONCE_FD) before any of the program's own code runs (C: .preinit_array of its own
translation unit, which runs before constructors; Go: the first package variable initialised;
Java and JS: before the program's classes or scripts load) and keeps it where the program
cannot name it (a static of another translation unit, a local, a closure, an identifier made
up per run).

What the tests rely on is theirs, not the solution's (issue 35):
- C/C++: solution and tests are preprocessed apart (no macro of the solution reaches the
  tests) and compiled as one unit; the tests' assert, exit and abort call the harness under
  names made up per run, and the harness makes raw system calls only (no libc function the
  solution could define in its place). The tests' text is not on disk while the solution is
  preprocessed, nor when it runs.
- JS/TS: the solution and the tests are two scripts of the global scope; the tests are read
  into memory and deleted before the solution's first line, and get their own assert module,
  console, timers, JSON and Math, taken beforehand. Exit status 0 only comes from the event
  loop's natural end: an explicit exit(0) fails, and errors (sync, async, rejections) end the
  run through a callback the solution cannot replace.
- Go: the tests are a file of their own with their own imports; the runner's arguments are
  fixed in the harness's TestMain and every test of the tests must have run and passed.
- Java: a class of the solution that shadows a JDK class the tests use is refused.
Tests that would run nothing (no main, no Go test) fail.

Limits: these programs share their process with the harness (and, in JS, with the tests'
text), so one that scans its own memory (C pointers, /proc/self/mem) could still find the
nonce or the tests; in JS and C++, a solution can also change what the tests' own operations
do (built-in prototypes, operator overloads). Only Python tests, which run in a process of
their own (the slot's tests server), are out of the solution's reach entirely.
"""

from __future__ import annotations

import os
import re
import signal
import time

from sandbox import pyrun
from sandbox.zygote import NONCE_FD, OUTPUT_KEEP, VERDICT_FD

# Raw outcomes of the run's process that are not a verdict from the harness.
SIGNAL_STATUS = {signal.SIGXCPU: ("timeout", "CPU time limit exceeded"),
                 signal.SIGXFSZ: ("fail", "output or file size limit exceeded")}
ENV_PATH = "/usr/local/bin:/usr/bin:/bin"  # where toolchains are looked up, as runs see PATH
COMPILE_TIMEOUT_S = 30.0
COMPILE_MEMORY_MB = 2048
# JVM, V8 and Go reserve address space beyond what they use, so RLIMIT_AS gets headroom over
# the job's memory_mb; the JVM's -Xmx and V8's heap flag enforce memory_mb itself, Go's
# runtime fails cleanly at the limit ("runtime: out of memory").
RUNTIME_HEADROOM_MB = 2048
GO_HEADROOM_MB = 1024
# Messages that mean "this machine lacks a library", not "the program is wrong": the paper's
# runs-check ignores them (Python's ModuleNotFoundError is recognised in pyrun).
ENV_ERROR_MARKERS = re.compile(r"Cannot find module|cannot find package|package [\w.]+ does not exist|"
                               r"fatal error: [^:]+: No such file or directory")
# Messages by which managed runtimes report that they ran out of memory.
OOM_MARKERS = ("java.lang.OutOfMemoryError", "JavaScript heap out of memory", "std::bad_alloc",
               "runtime: out of memory", "cannot allocate memory")


def run_job(zygote, req: dict, workdir: str) -> dict:
    if req["lang"] == "python":
        return run_python(zygote, req, workdir)
    return run_compiled(zygote, req, workdir)


# -- Python --------------------------------------------------------------------------------

def run_python(zygote, req: dict, workdir: str) -> dict:
    code, mode = req["code"], req["mode"]

    if zygote.tests_left:  # the tests go to the slot's tests server unread (see zygote.spawn)
        def serve(replies: int, _nonce: None) -> None:
            pyrun.serve(code, NONCE_FD, replies)

        out = zygote.spawn(workdir, serve, timeout_s=req["timeout_s"], memory_mb=req["memory_mb"], as_init=True,
                           tests=True)
        return python_result(out, req)

    def target(details_fd: int, _nonce: None) -> None:
        pyrun.run(code, mode, details_fd)

    out = zygote.spawn(workdir, target, timeout_s=req["timeout_s"], memory_mb=req["memory_mb"], as_init=True)
    return python_result(out, req)


def python_result(out: dict, req: dict) -> dict:
    result = _base(out)
    verdict = out["verdict"]
    if verdict is not None:
        error = verdict.get("error_class")
        result.update(error_class=error, reason=verdict.get("reason"))
        result["status"] = "pass" if verdict["ok"] else "memory" if error == "MemoryError" else "fail"
        return result
    result.update(error_class=None, **_raw_status(out, req))
    return result


# -- compiled and other interpreted languages -------------------------------------------------

def run_compiled(zygote, req: dict, workdir: str) -> dict:
    import shutil  # noqa: PLC0415 - not in the zygote's image, which every Python run copies (see zygote.PRELOAD)

    lang, mode, code = req["lang"], req["mode"], req["code"]
    tests = req.get("tests") if mode == "tests" else None
    if tests and lang != "java":  # Java's tests stay in the solution's class (MultiPL-E)
        closers = LEADING_CLOSERS.match(tests).group(0)
        code, tests = code + "\n" + closers, tests[len(closers):]
    recipe = RECIPES[lang](code, tests, req["memory_mb"])
    missing = [tool for tool in recipe["tools"] if shutil.which(tool, path=ENV_PATH) is None]
    if missing:
        return {"status": "env-error", "reason": f"{lang}: toolchain not installed: {', '.join(missing)} "
                "(run sandbox/setup.sh)"}
    if "refuse" in recipe:  # tests that would run nothing: an empty run is no pass
        return {"status": "fail", "error_class": None, "reason": recipe["refuse"], "stdout": "", "stderr": "",
                "cpu_s": 0.0, "wall_s": 0.0, "exit_code": None}
    cache = req.get("cache") or ""  # built by the pool (sandbox/warm.py) when the language has one
    for name, text in recipe["files"].items():
        _write(zygote, workdir, name, text)
    env = {k: v.replace("{cache}", cache) for k, v in recipe.get("env", {}).items()}

    built = _compile(zygote, recipe, req, workdir, env, cache)
    if "status" in built:
        return built
    if recipe.get("ts_marker"):
        refused = _split_ts(zygote, workdir, recipe["ts_marker"])
        if refused:
            return {**_base(built), "status": "fail", "error_class": None, "reason": refused}
    run = [a.replace("{cache}", cache) for a in recipe["run"]]
    out = zygote.spawn(workdir, _exec(run, env), timeout_s=req["timeout_s"],
                       memory_mb=req["memory_mb"] + recipe.get("headroom_mb", 0))
    result = _base(out)
    # Figures cover the whole job, compilation included.
    result.update(cpu_s=out["cpu_s"] + built["cpu_s"], wall_s=out["wall_s"] + built["wall_s"])
    guarded = recipe.get("guarded", False)
    if out["exit"] == 0 and (not guarded or out["verdict"] is not None):
        return {**result, "status": "pass", "error_class": None, "reason": None}
    if out["exit"] == 0:
        return {**result, "status": "fail", "error_class": None,
                "reason": "exited with code 0 before the tests finished"}
    env_error = ENV_ERROR_MARKERS.search(out["stderr"])
    if mode == "runs" and env_error:
        return {**result, "status": "pass", "error_class": None,
                "reason": f"environment error ignored: {env_error.group(0)}"}
    if any(m in out["stderr"] for m in OOM_MARKERS):
        return {**result, "status": "memory", "error_class": None, "reason": "out of memory"}
    return {**result, "error_class": None, **_raw_status(out, req)}



# MultiPL-E's tests open by closing the function its prompt leaves open ("}"): those lines
# are the solution's end, and go with it where the solution and the tests are built apart.
LEADING_CLOSERS = re.compile(r"\A(?:[ \t]*\}?[ \t]*;?[ \t]*\r?\n)*")


def _compile(zygote, recipe: dict, req: dict, workdir: str, env: dict, cache: str) -> dict:
    """Build the program; {cpu_s, wall_s} when it built, else the job's Result (a dict with status)."""
    if not recipe.get("compile"):
        return {"cpu_s": 0.0, "wall_s": 0.0}
    timeout_s = max(COMPILE_TIMEOUT_S, req["timeout_s"])
    if req["lang"] == "java" and cache:
        return _compile_java(zygote, recipe, workdir, cache, timeout_s, req["mode"])
    if "preprocess" in recipe:
        return _compile_c_apart(zygote, recipe, req, workdir, env, cache, timeout_s)
    return _compile_step(zygote, recipe["compile"], req, workdir, env, cache, timeout_s, recipe)


def _compile_step(zygote, argv, req, workdir, env, cache, timeout_s, recipe, messages=None) -> dict:
    """One confined compiler run: its outcome, or the job's Result (a dict with status) if it failed."""
    argv = [a.replace("{cache}", cache) for a in argv]
    built = zygote.spawn(workdir, _exec(argv, env), timeout_s=timeout_s,
                         memory_mb=COMPILE_MEMORY_MB + recipe.get("headroom_mb", 0))
    if built["exit"] == 0:
        return built
    result = {**_base(built), "error_class": None}
    status = _raw_status(built, {"timeout_s": timeout_s, "mode": "tests"})
    if status["status"] == "timeout":
        return {**result, "status": "timeout", "reason": "compilation: " + status["reason"]}
    return _compile_error(result, (messages or (lambda m: m))(built["stderr"]) + built["stdout"], req["mode"])


def _compile_c_apart(zygote, recipe, req, workdir, env, cache, timeout_s) -> dict:
    """C/C++ with tests: the solution preprocessed alone, then the tests after the same system
    headers, then the two preprocessed units compiled as one with the harness (_c_family)."""
    ext, run_id = recipe["ext"], recipe["run_id"]
    out = "i" if ext == "c" else "ii"
    not_headers = lambda m: "".join(ln for ln in m.splitlines(keepends=True) if not re.match(r"(\.+|!|x) ", ln))
    steps = []
    solution = _compile_step(zygote, [*recipe["preprocess"], f"sol.{ext}", "-o", f"sol.{out}"], req, workdir, env,
                             cache, timeout_s, recipe, not_headers)
    steps.append(solution)
    if "status" not in solution:
        marker = f"soda_tests_{run_id}"
        includes = "".join(f'#include "{h}"\n' for h in _c_headers(solution["stderr"]))
        _write(zygote, workdir, f"tests.{ext}", f'{includes}#pragma {marker}\n#line 1 "tests"\n{recipe["tests_source"]}')
        tests = _compile_step(zygote, [*recipe["preprocess"], f"tests.{ext}", "-o", f"tests.{out}"], req, workdir,
                              env, cache, timeout_s, recipe, not_headers)
        steps.append(tests)
        if "status" not in tests:
            with open(os.path.join(workdir, f"tests.{out}"), encoding="utf-8", errors="replace") as f:
                part = _c_tests_part(f.read(), marker, run_id, ext == "cpp")
            with open(os.path.join(workdir, f"sol.{out}"), encoding="utf-8", errors="replace") as f:
                unit = f.read()
            if part is None:
                return {**_base(tests), "status": "sandbox-error", "error_class": None,
                        "reason": "the tests' preprocessed text has no marker"}
            _write(zygote, workdir, f"prog.{out}", unit + "\n" + part)
            _write(zygote, workdir, f"soda_harness.{ext}", recipe["harness"])
            steps.append(_compile_step(zygote, recipe["compile"], req, workdir, env, cache, timeout_s, recipe))
    # The run must not find the tests' text in its dir.
    for name in (f"sol.{ext}", f"sol.{out}", f"tests.{ext}", f"tests.{out}", f"prog.{out}", f"soda_harness.{ext}"):
        if os.path.exists(os.path.join(workdir, name)):
            os.unlink(os.path.join(workdir, name))
    cpu, wall = sum(s["cpu_s"] for s in steps), sum(s["wall_s"] for s in steps)
    return {**steps[-1], "cpu_s": cpu, "wall_s": wall}


def _write(zygote, workdir: str, name: str, text: str) -> None:
    path = os.path.join(workdir, name)
    with open(path, "w", encoding="utf-8", errors="replace") as f:
        f.write(text)
    os.chown(path, zygote.uid, zygote.uid)


def _compile_error(result: dict, messages: str, mode: str) -> dict:
    env_error = ENV_ERROR_MARKERS.search(messages)
    if mode == "runs" and env_error:
        return {**result, "status": "pass", "reason": f"environment error ignored: {env_error.group(0)}"}
    first = next((ln for ln in messages.splitlines() if "error" in ln.lower()), "")
    return {**result, "status": "fail", "error_class": "CompileError",
            "reason": ("compilation failed: " + first.strip())[:500]}


def _compile_java(zygote, recipe: dict, workdir: str, cache: str, timeout_s: float, mode: str) -> dict:
    from sandbox import javac  # noqa: PLC0415 - only zygotes that serve Java load it (see zygote.PRELOAD)

    sources = {name: text for name, text in recipe["files"].items() if name.endswith(".java")}
    start = time.monotonic()
    try:
        ok, diagnostics, classes, shadows, cpu = zygote.javac(cache).compile(sources, timeout_s)
    except javac.CompileTimeout:
        zygote.drop_javac()
        return {"status": "timeout", "reason": "compilation: time limit exceeded or compiler out of memory",
                "wall_s": time.monotonic() - start}
    result = {"stdout": "", "stderr": diagnostics[-OUTPUT_KEEP:], "cpu_s": cpu, "wall_s": time.monotonic() - start,
              "exit_code": 0 if ok else 1, "error_class": None}
    if not ok:
        return _compile_error(result, diagnostics, mode)
    tests = recipe.get("tests") or ""
    shadowing = sorted(name for name in shadows if re.search(rf"\b{name}\b", tests)
                       and not re.search(rf"\b(?:class|interface|enum|record)\s+{name}\b", tests))
    if shadowing:
        # The tests mean the JDK's class (imported on demand, or java.lang's): the solution's
        # would stand in for it, e.g. an Arrays.asList that returns an empty list.
        return {**result, "status": "fail", "reason": f"the solution declares {', '.join(shadowing)}, which "
                "would shadow the JDK class of that name that the tests use"}
    for name, data in classes.items():
        path = os.path.join(workdir, *name.split(".")) + ".class"
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(data)
        os.chown(path, zygote.uid, zygote.uid)
    return result


def _exec(argv: list[str], env: dict):
    def target(result_fd: int, nonce: str) -> None:
        os.execvpe(argv[0], argv, {**os.environ, **env})
    return target


# The C/C++ harness, a translation unit of its own linked first: its .preinit_array entry
# runs before any constructor of the program, and its statics are out of the program's names.
# It calls no function the program could define in its place (read, write, exit): raw system
# calls. The tests' failure paths (assert's __assert_fail, exit, abort) are renamed to its
# functions under names made up per run (see _c_tests_part), which the solution cannot name.
C_HARNESS = """\
#include <stdio.h>
#include <sys/syscall.h>
static char soda_nonce[64];
static long soda_sys(long n, long a, long b, long c) {
#if defined(__x86_64__)
  long r;
  __asm__ volatile ("syscall" : "=a"(r) : "a"(n), "D"(a), "S"(b), "d"(c) : "rcx", "r11", "memory");
  return r;
#elif defined(__aarch64__)
  register long x8 __asm__("x8") = n, x0 __asm__("x0") = a, x1 __asm__("x1") = b, x2 __asm__("x2") = c;
  __asm__ volatile ("svc 0" : "+r"(x0) : "r"(x8), "r"(x1), "r"(x2) : "memory");
  return x0;
#else
#error "sandbox: no raw system calls for this architecture"
#endif
}
static void soda_put(int fd, const char *s) {
  long n = 0, w;
  while (s && s[n]) n++;
  while (n > 0 && (w = soda_sys(SYS_write, fd, (long)s, n)) > 0) { s += w; n -= w; }
}
__attribute__((noreturn)) static void soda_end(int code) { for (;;) soda_sys(SYS_exit_group, code, 0, 0); }
static void soda_verdict(void) {
  if (!soda_nonce[0]) return;
  soda_put(VERDICT_FD, "{\\"nonce\\": \\"");
  soda_put(VERDICT_FD, soda_nonce);
  soda_put(VERDICT_FD, "\\", \\"ok\\": true}\\n");
}
static void soda_take_nonce(int argc, char **argv, char **envp) {
  long n = soda_sys(SYS_read, NONCE_FD, (long)soda_nonce, sizeof soda_nonce - 1);
  soda_nonce[n > 0 ? n : 0] = 0;
  soda_sys(SYS_close, NONCE_FD, 0, 0);
}
__attribute__((section(".preinit_array"), used)) static void (*soda_preinit)(int, char **, char **) = soda_take_nonce;
#ifdef __cplusplus
extern "C" {
#endif
/* glibc's message, then abort()'s status (128 + SIGABRT) */
__attribute__((noreturn)) void soda_assert_fail_ID(const char *expr, const char *file, unsigned line, const char *fn) {
  char num[16], *p = num + sizeof num;
  *--p = 0;
  do *--p = (char)('0' + line % 10); while (line /= 10);
  soda_put(2, "prog: "); soda_put(2, file); soda_put(2, ":"); soda_put(2, p); soda_put(2, ": ");
  soda_put(2, fn); soda_put(2, ": Assertion `"); soda_put(2, expr); soda_put(2, "' failed.\\n");
  soda_end(134);
}
__attribute__((noreturn)) void soda_abort_ID(void) { soda_end(134); }
/* the tests' exit(0) ends them as returning 0 from main does */
__attribute__((noreturn)) void soda_exit_ID(int code) {
  fflush(NULL);
  if (code == 0) soda_verdict();
  soda_end(code & 255);
}
#ifdef __cplusplus
}
#endif
int soda_tests_main_ID(ARGS);
int main(int argc, char **argv) {
  int rc = soda_tests_main_ID(CALL);
  fflush(stdout);
  if (rc == 0) soda_verdict();
  return rc;
}
"""
# Their declarations, in the tests' preprocessed part (no directives there).
C_HARNESS_DECLS = ("__attribute__((noreturn)) void soda_assert_fail_ID(const char *, const char *, unsigned, const char *);\n"
                   "__attribute__((noreturn)) void soda_abort_ID(void);\n__attribute__((noreturn)) void soda_exit_ID(int);\n")
# The tests' calls that end a failing run, and the harness's functions that replace them.
C_FAILURE_CALLS = re.compile(r"(?<![\w.>:])(?:std\s*::\s*)?\b(__assert_fail|abort|exit|_Exit|quick_exit)\b(?=\s*\()")
C_LINE_MARKER = re.compile(r'^#\s*\d+\s+"((?:[^"\\]|\\.)*)"')


def _c_family(code: str, tests: str | None, ext: str) -> dict:
    """Files and stages of a C/C++ program. With tests, the solution and the tests are
    preprocessed apart (stages "solution", then "tests" once the solution's headers are known)
    and compiled as one preprocessed unit: no macro of the solution (NDEBUG, a macro for assert
    or __assert_fail, one for a name the tests use) reaches the tests' text, which is not on
    disk while the solution is preprocessed (it can't #include them)."""
    if not tests:
        return {"files": {f"prog.{ext}": code}, "guarded": False}
    if not re.search(r"\bmain\s*\(", tests):
        return {"refuse": "the tests define no main() to run"}
    run_id = os.urandom(8).hex()
    no_args = re.search(r"\bmain\s*\(\s*(void)?\s*\)", tests) is not None
    harness = (C_HARNESS.replace("NONCE_FD", str(NONCE_FD)).replace("VERDICT_FD", str(VERDICT_FD))
               .replace("ARGS", "void" if no_args else "int, char **").replace("CALL", "" if no_args else "argc, argv")
               .replace("ID", run_id))
    return {"files": {f"sol.{ext}": code}, "guarded": True, "run_id": run_id, "harness": harness,
            "tests_source": f"#define main soda_tests_main_{run_id}\n" + _return_at_end_of_main(tests)}


def _c_tests_part(preprocessed: str, marker: str, run_id: str, cpp: bool) -> str | None:
    """The tests' own lines of their preprocessed unit (after the marker), their failure calls
    renamed to the harness's; None if the marker is missing."""
    at = preprocessed.find(f"\n#pragma {marker}\n")
    if at == -1:
        return None
    decls = C_HARNESS_DECLS.replace("ID", run_id)
    out, in_tests = ['extern "C" {\n' + decls + "}\n" if cpp else decls], False
    for line in preprocessed[at:].splitlines(keepends=True)[2:]:
        m = C_LINE_MARKER.match(line)
        if m:
            in_tests = m.group(1) == "tests"
        elif in_tests:
            line = C_FAILURE_CALLS.sub(lambda c: {"__assert_fail": "soda_assert_fail_", "abort": "soda_abort_"}.get(
                c.group(1), "soda_exit_") + run_id, line)
        out.append(line)
    return "".join(out)


def _c_headers(messages: str) -> list[str]:
    """The system headers the solution included itself (gcc -H, depth 1): the tests are
    preprocessed after the same ones, so that they see the same standard macros. Only files
    under /usr: nothing the solution wrote or chose outside the system's headers."""
    return [m.group(1) for m in re.finditer(r"^\. (/usr/\S+)$", messages, re.M) if "/../" not in m.group(1)]


def _return_at_end_of_main(tests: str) -> str:
    """main() may fall off its end (an implicit 0); the renamed function may not: add the return."""
    m = re.search(r"\bmain\s*\([^)]*\)\s*\{", tests)
    if m is None:
        return tests
    depth, i, n = 0, m.end() - 1, len(tests)
    while i < n:
        # Skip comments and literals: braces in them don't count.
        if tests.startswith("//", i):
            i = n if tests.find("\n", i) == -1 else tests.find("\n", i)
        elif tests.startswith("/*", i):
            i = n if tests.find("*/", i) == -1 else tests.find("*/", i) + 1
        elif tests[i] in "\"'":
            quote, i = tests[i], i + 1
            while i < n and tests[i] != quote:
                i += 2 if tests[i] == "\\" else 1
        elif tests[i] == "{":
            depth += 1
        elif tests[i] == "}":
            depth -= 1
            if depth == 0:
                return tests[:i] + "\nreturn 0;\n" + tests[i:]
        i += 1
    return tests


def _libs(source: str) -> list[str]:
    # OpenSSL's digests are what solutions reach for (HumanEval-X's string_to_md5).
    return ["-lm"] + (["-lcrypto"] if re.search(r"#\s*include\s*<openssl/", source) else [])


def recipe_c(code, tests, memory_mb):
    family = _c_family(code, tests, "c")
    libs = _libs(code + (tests or ""))
    if "harness" not in family:
        return {"tools": ["gcc"], **family, "compile": ["gcc", "-std=gnu11", "-O1", "-o", "prog", "prog.c", *libs],
                "run": ["./prog"]}
    cc = ["gcc", "-std=gnu11", "-O1"]
    return {"tools": ["gcc"], **family, "ext": "c", "run": ["./prog"],
            "preprocess": [*cc, "-E", "-H"],
            "compile": [*cc, "-o", "prog", "soda_harness.c", "prog.i", *libs]}


def recipe_cpp(code, tests, memory_mb):
    from sandbox import warm  # noqa: PLC0415 - only zygotes that serve C++ load it (see zygote.PRELOAD)

    family = _c_family(code, tests, "cpp")
    libs = _libs(code + (tests or ""))
    # The precompiled header holds the usual standard headers; its flags must match these.
    # Preprocessed, a unit names it in a pragma (-fpch-preprocess) and the compiler loads it.
    pch = ["-include", "{cache}/soda.h"]
    if "harness" not in family:
        return {"tools": ["g++"], **family, "run": ["./prog"],
                "compile": ["g++", *warm.CPP_FLAGS, *pch, "-o", "prog", "prog.cpp", *libs]}
    return {"tools": ["g++"], **family, "ext": "cpp", "run": ["./prog"],
            "preprocess": ["g++", *warm.CPP_FLAGS, *pch, "-fpch-preprocess", "-E", "-H"],
            "compile": ["g++", *warm.CPP_FLAGS, "-o", "prog", "soda_harness.cpp", "prog.ii", *libs]}


def _java_classes(source: str) -> tuple[str, str]:
    """(file name's class, class holding main) for a Java program: top-level classes only (a
    nested class declared before main does not hold it)."""
    public = re.search(r"\bpublic\s+(?:final\s+|abstract\s+)*class\s+(\w+)", source)
    main_at = re.search(r"\bstatic\s+void\s+main\s*\(", source)
    depth = _brace_depths(source)
    classes = [m for m in re.finditer(r"\bclass\s+(\w+)", source)
               if depth[m.start()] == 0 and (not main_at or m.start() < main_at.start())]
    main = classes[-1].group(1) if classes else "Main"
    return (public.group(1) if public else main), main


def _brace_depths(source: str) -> list[int]:
    """Brace depth at each character, braces in comments and literals not counted."""
    depths, depth, i, n = [0] * (len(source) + 1), 0, 0, len(source)
    while i < n:
        j = i + 1
        if source.startswith("//", i):
            j = n if source.find("\n", i) == -1 else source.find("\n", i)
        elif source.startswith("/*", i):
            j = n if source.find("*/", i + 2) == -1 else source.find("*/", i + 2) + 2
        elif source[i] in "\"'":
            while j < n and source[j] not in (source[i], "\n"):
                j += 2 if source[j] == "\\" else 1
            j = min(j + 1, n)
        depths[i:j] = [depth] * (j - i)
        if source[i] == "{":
            depth += 1
        elif source[i] == "}":
            depth = max(depth - 1, 0)
        i = j
    return depths


def recipe_java(code, tests, memory_mb):
    source = code + "\n" + (tests or "")
    file_class, main_class = _java_classes(source)
    jvm = ["-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-Xshare:auto", "-XX:-UsePerfData"]
    # The cache holds SodaHarness (sandbox/java), which runs main and then writes the verdict.
    # -ea: tests written with `assert` (MultiPL-E) must be able to fail.
    run = ["java", "-ea", f"-Xmx{memory_mb}m", f"-XX:MaxDirectMemorySize={memory_mb}m", "-Xss8m", *jvm,
           "-cp", ".:{cache}", *(["SodaHarness", str(NONCE_FD), str(VERDICT_FD)] if tests else []), main_class]
    return {"tools": ["javac", "java"], "files": {f"{file_class}.java": source}, "guarded": bool(tests), "tests": tests,
            "headroom_mb": RUNTIME_HEADROOM_MB, "compile": ["javac", *(f"-J{o}" for o in jvm), "-nowarn", "-d", ".", f"{file_class}.java"],
            "run": run}


# The JavaScript/TypeScript tests' harness: runs the solution (solution.js), then the tests
# (tests.js, off the disk before the solution's first line), then writes the verdict when the
# event loop ends with nothing failed (async tests included).
JS_HARNESS = r"""
'use strict';
// The tests' harness for JavaScript and TypeScript (see sandbox/langs.py): what the tests rely
// on is taken before any of the solution's code runs, and kept out of its reach.
const fs = require('fs');
const path = require('path');
const vm = require('vm');
const { createRequire } = require('module');

const nonce = fs.readFileSync(NONCE_FD, 'utf8');
fs.closeSync(NONCE_FD);
// The tests leave the disk before the solution runs: it cannot read them.
const tests = fs.readFileSync('tests.js', 'utf8');
fs.unlinkSync('tests.js');
const solutionFile = path.resolve('solution.js');
const solution = fs.readFileSync(solutionFile, 'utf8');

const { writeSync } = fs;
const { apply, ownKeys } = Reflect;
const { getOwnPropertyDescriptor, hasOwn, is } = Object;
const { runInThisContext } = vm;
const realExit = process.exit;
const realReallyExit = process.reallyExit;
const lock = (object, name, value) =>
  Object.defineProperty(object, name, { value, writable: false, configurable: false, enumerable: false });

// Exit status 0 only from the natural end of the event loop: an explicit exit(0), from the
// solution before, during or after the tests, is a failure; an error nobody caught, sync or
// async (rejections are errors: --unhandled-rejections=strict), ends the run at once, with no
// listener of the solution's able to swallow it.
const early = (code) => {
  const n = Number(code === undefined ? process.exitCode : code) || 0;
  if (n === 0) writeSync(2, 'sandbox: exit(0) before the tests finished\n');
  return n === 0 ? 1 : n;
};
lock(process, 'exit', function exit(code) { return apply(realExit, process, [early(code)]); });
lock(process, 'reallyExit', function reallyExit(code) { return apply(realReallyExit, process, [early(code)]); });
process.setUncaughtExceptionCaptureCallback((error) => {
  try {
    writeSync(2, `Uncaught ${error && error.stack ? error.stack : String(error)}\n`);
  } finally {
    apply(realReallyExit, process, [1]);
  }
});
lock(process, 'setUncaughtExceptionCaptureCallback', () => {
  throw new Error('sandbox: the uncaught-exception callback is the harness\'s');
});

// The language's built-ins, as the tests' own operations use them: a solution that changes
// one (Array.prototype.toJSON makes every JSON.stringify of an array alike, a global `let
// JSON` stands in for JSON) fails, checked when the tests' synchronous part returns and at exit.
const BUILTINS = ['Object', 'Function', 'Array', 'Number', 'Boolean', 'String', 'Symbol', 'BigInt', 'Math', 'JSON',
  'Reflect', 'Promise', 'Map', 'Set', 'WeakMap', 'WeakSet', 'RegExp', 'Date', 'Error', 'TypeError', 'RangeError',
  'ArrayBuffer', 'DataView', 'Uint8Array', 'Int32Array', 'Float64Array', 'Proxy'];
const watched = [globalThis, Object.getPrototypeOf(Uint8Array.prototype),
  Object.getPrototypeOf([][Symbol.iterator]()), Object.getPrototypeOf(Object.getPrototypeOf([][Symbol.iterator]()))];
const labels = ['globalThis', '%TypedArray%.prototype', '%ArrayIteratorPrototype%', '%IteratorPrototype%'];
for (const name of BUILTINS) {
  watched.push(globalThis[name]);
  labels.push(name);
  if (typeof globalThis[name] === 'function' && globalThis[name].prototype) {
    watched.push(globalThis[name].prototype);
    labels.push(`${name}.prototype`);
  }
}
const part = (d, k) => (hasOwn(d, k) ? d[k] : undefined);
const recorded = [];
for (const object of watched) {
  const keys = object === globalThis ? BUILTINS : ownKeys(object);
  recorded.push([object, keys.length, keys.map((k) => [k, getOwnPropertyDescriptor(object, k)])]);
}
const builtinsNow = `[${BUILTINS.join(', ')}]`;
function changedBuiltin() {
  for (let i = 0; i < recorded.length; i++) {
    // Indexing only: destructuring would call the (maybe changed) array iterator.
    const object = recorded[i][0], count = recorded[i][1], entries = recorded[i][2];
    if (object !== globalThis && ownKeys(object).length !== count) return labels[i];
    for (let j = 0; j < entries.length; j++) {
      const key = entries[j][0], was = entries[j][1];
      const now = getOwnPropertyDescriptor(object, key);
      if (!now || !is(part(now, 'value'), part(was, 'value')) || part(now, 'get') !== part(was, 'get') ||
          part(now, 'set') !== part(was, 'set')) return `${labels[i]}.${String(key)}`;
    }
  }
  const seen = runInThisContext(builtinsNow);
  for (let i = 0; i < BUILTINS.length; i++) if (seen[i] !== recorded[0][2][i][1].value) return BUILTINS[i];
  return null;
}
function checkBuiltins() {
  const changed = changedBuiltin();
  if (changed !== null) {
    writeSync(2, `sandbox: the program changed the built-in ${changed}, which the tests use\n`);
    apply(realReallyExit, process, [1]);
  }
}

let testsRan = false;
process.on('exit', (code) => {
  if (code !== 0 || !testsRan) return;
  checkBuiltins();
  writeSync(VERDICT_FD, '{"nonce": "' + nonce + '", "ok": true}\n');
});

// The tests' own references: their assert module (a copy the solution cannot patch, not
// loaded through a module loader it could replace), console, timers, JSON and Math.
function copyAssert(original, copies = new Map()) {
  if (copies.has(original)) return copies.get(original);
  const copy = function assert(...args) { return apply(original, this, args); };
  copies.set(original, copy);
  for (const key of Object.keys(original)) {
    copy[key] = key === 'strict' ? copyAssert(original[key], copies) : original[key];
  }
  return Object.freeze(copy);
}
const assert = copyAssert(require('assert'));
const modules = { assert, 'node:assert': assert, 'assert/strict': assert.strict, 'node:assert/strict': assert.strict };
const testsRequire = createRequire(path.resolve('tests.js'));
const own = (object) => Object.defineProperties({}, Object.getOwnPropertyDescriptors(object));
const refs = {
  console: own(console),
  require: (id) => (Object.prototype.hasOwnProperty.call(modules, id) ? modules[id] : testsRequire(id)),
  module: { exports: {} },
  JSON: Object.freeze(own(JSON)),
  Math: Object.freeze(own(Math)),
  setTimeout, setInterval, setImmediate, clearTimeout, clearInterval, clearImmediate, queueMicrotask,
};
refs.exports = refs.module.exports;

// The solution as a script of the global scope, so that the tests (another script) see its
// declarations as they would in one file; CommonJS's names for the solution's own use.
const solutionModule = { exports: {} };
Object.assign(globalThis, {
  require: createRequire(solutionFile), module: solutionModule, exports: solutionModule.exports,
  __filename: solutionFile, __dirname: path.dirname(solutionFile),
});
vm.runInThisContext(solution, { filename: solutionFile });
const names = Object.keys(refs);
const run = vm.runInThisContext(`(function (${names.join(', ')}) {${tests}\n})`, { filename: path.resolve('tests.js') });
apply(run, undefined, names.map((name) => refs[name]));
checkBuiltins();
testsRan = true;
""".lstrip().replace("NONCE_FD", str(NONCE_FD)).replace("VERDICT_FD", str(VERDICT_FD))
# --unhandled-rejections=strict: a rejection nobody handled is an uncaught error (the harness's
# to report), even when the solution listens for unhandled rejections.
NODE_TESTS_FLAGS = ["--unhandled-rejections=strict"]


def recipe_js(code, tests, memory_mb):
    node = ["node", f"--max-old-space-size={memory_mb}", "--stack-size=4000"]
    # Packages installed globally by sandbox/setup.sh (js-md5, which HumanEval-X needs).
    env = {"NODE_PATH": "/usr/lib/node_modules:/usr/local/lib/node_modules"}
    common = {"tools": ["node"], "headroom_mb": RUNTIME_HEADROOM_MB, "env": env}
    if not tests:
        return {**common, "files": {"prog.js": code}, "run": node + ["prog.js"]}
    return {**common, "files": {"solution.js": code, "tests.js": tests, "harness.js": JS_HARNESS}, "guarded": True,
            "run": node + NODE_TESTS_FLAGS + ["harness.js"]}


def recipe_ts(code, tests, memory_mb):
    js = recipe_js("", tests, memory_mb)
    # MultiPL-E's settings: a program that doesn't type-check doesn't compile. With tests, the
    # two are type-checked as one program and split after compilation at a marker statement
    # (made up per run) into the harness's solution.js and tests.js (_split_ts).
    marker = f"soda-tests-{os.urandom(8).hex()}"
    files = {"prog.ts": code + (f'\n;"{marker}";\n' + tests if tests else "")}
    if tests:
        files["harness.js"] = JS_HARNESS
    return {**js, "tools": ["tsc", "node"], "files": files, "ts_marker": marker if tests else None,
            "compile": ["tsc", "--target", "es2022", "--lib", "es2022,dom", "--module", "commonjs",
                        "--skipLibCheck", "--outDir", ".", "prog.ts"]}


def _split_ts(zygote, workdir: str, marker: str) -> str | None:
    """Split tsc's prog.js at the marker into solution.js and tests.js; None, or why it can't."""
    with open(os.path.join(workdir, "prog.js"), encoding="utf-8", errors="replace") as f:
        parts = f.read().split(f'\n"{marker}";\n')
    for name in ("prog.ts", "prog.js"):
        os.unlink(os.path.join(workdir, name))
    if len(parts) != 2:
        return "the tests are not at the top level of the compiled program"
    _write(zygote, workdir, "solution.js", parts[0])
    _write(zygote, workdir, "tests.js", parts[1])
    return None


# The Go tests' harness, in the file compiled first: its variable is the first one initialised
# (before any init() or variable of the program), under names made up per run. The runner's
# arguments are fixed here, not taken from os.Args (which an init() can change), and the
# verdict needs every test of the tests file to have run to its end without failing: a test
# counts from a Cleanup that only testing's own runner calls, so neither a flag changed
# behind the runner's back ("no tests to run") nor a solution calling a test itself is a pass.
GO_HARNESS = """\
package PACKAGE

import (
\t"fmt"
\t"os"
\t"sync"
\t"testing"
)

var sodaNonceID = func() string {
\tf := os.NewFile(NONCE_FD, "nonce")
\tb := make([]byte, 64)
\tn, _ := f.Read(b)
\tf.Close()
\treturn string(b[:n])
}()

var sodaSeenID = map[string]bool{}
var sodaSeenLockID sync.Mutex

func sodaMarkID(t *testing.T, name string) {
\tt.Cleanup(func() {
\t\tif !t.Failed() {
\t\t\tsodaSeenLockID.Lock()
\t\t\tsodaSeenID[name] = true
\t\t\tsodaSeenLockID.Unlock()
\t\t}
\t})
}

func TestMain(m *testing.M) {
\tos.Args = []string{os.Args[0], "-test.paniconexit0", "-test.count=1"}
\tcode := m.Run()
\tsodaSeenLockID.Lock()
\tran := len(sodaSeenID)
\tsodaSeenLockID.Unlock()
\tif code == 0 && ran == TESTS {
\t\tfmt.Fprintf(os.NewFile(VERDICT_FD, "verdict"), "{\\"nonce\\": \\"%s\\", \\"ok\\": true}\\n", sodaNonceID)
\t} else if code == 0 {
\t\tfmt.Fprintf(os.Stderr, "sandbox: %d of TESTS tests ran\\n", ran)
\t\tcode = 1
\t}
\tos.Exit(code)
}
"""
GO_TEST_FUNC = re.compile(r"^func\s+(Test\w*)\s*\(\s*(\w+)\s+\*testing\.T\s*\)\s*\{", re.M)
GO_IMPORTS = re.compile(r"^import\s*(?:\(([^)]*)\)|((?:[\w.]+\s+)?\"[^\"]+\"))", re.M)
# Packages that tests without their own import block may use, by the name they use them by.
GO_TEST_PACKAGES = {"testing": "testing", "assert": "github.com/stretchr/testify/assert", "fmt": "fmt",
                    "math": "math", "strings": "strings", "reflect": "reflect", "sort": "sort", "strconv": "strconv",
                    "errors": "errors", "bytes": "bytes", "regexp": "regexp", "unicode": "unicode", "time": "time",
                    "rand": "math/rand", "md5": "crypto/md5", "utf8": "unicode/utf8", "big": "math/big"}


def _go_uncommented(source: str) -> str:
    return re.sub(r"//[^\n]*|/\*.*?\*/", "", source, flags=re.S)


def _go_blank_unused_imports(code: str) -> str:
    """The solution with the imports it doesn't use made blank: in a file of its own, away from
    the tests, the imports it carries for them (HumanEval-X's test_setup) would not compile."""
    body = _go_uncommented(GO_IMPORTS.sub("", code))

    def spec(m: re.Match) -> str:
        alias, path = m.group(1), m.group(2)
        name = alias or path.rsplit("/", 1)[-1]
        if name in ("_", ".") or re.search(rf"\b{re.escape(name)}\s*\.", body):
            return m.group(0)
        return f'_ "{path}"'

    return GO_IMPORTS.sub(lambda m: re.sub(r'(?:(\w+)\s+)?"([^"]+)"', spec, m.group(0)), code)


def _go_tests_file(tests: str, package: str, run_id: str) -> tuple[str, int]:
    """The tests as a file of their own: their own imports, so that no name they use comes from
    the solution (a package-level `assert` of the solution is a compile error beside them), and
    each test marked when it starts. Returns (file, number of tests)."""
    names = []

    def mark(m: re.Match) -> str:
        names.append(m.group(1))
        t = m.group(2) if m.group(2) != "_" else "sodaT"
        head = m.group(0) if t == m.group(2) else m.group(0).replace("_", t, 1)
        return f'{head} sodaMark{run_id}({t}, "{m.group(1)}");'

    marked = GO_TEST_FUNC.sub(mark, tests)
    if not re.search(r"^package\s+\w+", tests, re.M):
        body = _go_uncommented(tests)
        used = [p for name, p in GO_TEST_PACKAGES.items() if re.search(rf"(?<![\w.]){name}\s*\.", body)]
        imports = "import (\n" + "".join(f'\t"{p}"\n' for p in used) + ")\n" if used else ""
        marked = f"package {package}\n\n{imports}\n{marked}"
    return marked, len(set(names))


def recipe_go(code, tests, memory_mb):
    env = {"GO111MODULE": "off", "GOPATH": "/usr/share/gocode", "GOCACHE": "{cache}/go-build",
           "GOFLAGS": "-buildvcs=false", "GOTOOLCHAIN": "local", "CGO_ENABLED": "0"}
    common = {"tools": ["go"], "env": env, "headroom_mb": GO_HEADROOM_MB}
    package = re.search(r"^package\s+(\w+)", code, re.M)
    if tests and GO_TEST_FUNC.search(tests) and package and not re.search(r"^func\s+TestMain\s*\(", tests, re.M):
        # Three files of the package, the harness's first; -test.paniconexit0 (fixed in the
        # harness) makes os.Exit(0) inside a test a failure, the harness's TestMain one
        # anywhere else (init() included).
        run_id = os.urandom(8).hex()
        tests_file, count = _go_tests_file(tests, package.group(1), run_id)
        harness = (GO_HARNESS.replace("PACKAGE", package.group(1)).replace("NONCE_FD", str(NONCE_FD))
                   .replace("VERDICT_FD", str(VERDICT_FD)).replace("TESTS", str(count)).replace("ID", run_id))
        files = {"0soda_test.go": harness, "1solution_test.go": _go_blank_unused_imports(code),
                 "2tests_test.go": tests_file}
        return {**common, "files": files, "guarded": True,
                "compile": ["go", "test", "-c", "-o", "prog.test", "."], "run": ["./prog.test"]}
    source = code + "\n" + (tests or "")
    if tests and not re.search(r"^func\s+(Test\w*|main)\s*\(", tests, re.M):
        return {**common, "refuse": "the tests define no test to run"}
    if re.search(r"^func\s+Test\w*\s*\(\s*\w+\s+\*testing\.T\s*\)", source, re.M):
        # Tests with a TestMain of their own keep it, unguarded.
        return {**common, "files": {"main_test.go": source}, "guarded": False,
                "compile": ["go", "test", "-c", "-o", "prog.test", "."],
                "run": ["./prog.test", "-test.paniconexit0", "-test.count=1"]}
    return {**common, "files": {"main.go": source}, "compile": ["go", "build", "-o", "prog", "main.go"],
            "run": ["./prog"]}


RECIPES = {"c": recipe_c, "cpp": recipe_cpp, "java": recipe_java, "js": recipe_js, "ts": recipe_ts,
           "go": recipe_go}


# -- raw outcomes ----------------------------------------------------------------------------

def _base(out: dict) -> dict:
    return {"stdout": out["stdout"], "stderr": out["stderr"], "cpu_s": out["cpu_s"], "wall_s": out["wall_s"],
            "exit_code": out["exit"]}


def _raw_status(out: dict, req: dict) -> dict:
    """Status of a run that ended without a verdict from a harness."""
    code = out["exit"]
    if out["wall_killed"] and out["cpu_s"] >= req["timeout_s"]:
        return {"status": "timeout", "reason": "CPU time limit exceeded (all the run's processes)"}
    if out["wall_killed"]:
        return {"status": "timeout", "reason": f"no progress or wall time cap ({out['wall_s']:.1f}s)"}
    if code > 128 and code - 128 in SIGNAL_STATUS:
        status, reason = SIGNAL_STATUS[code - 128]
        return {"status": status, "reason": reason}
    if code > 128 and out["cpu_s"] >= req["timeout_s"]:
        return {"status": "timeout", "reason": "CPU time limit exceeded"}
    if code == 252:
        return {"status": "sandbox-error", "reason": "confinement failed: " + out["stderr"][-300:]}
    if code > 128:
        sig = code - 128
        name = signal.Signals(sig).name if sig in signal.Signals._value2member_map_ else str(sig)
        return {"status": "fail", "reason": f"killed by signal {name}"}
    if req["mode"] == "runs" and code == 0:
        return {"status": "pass", "reason": None}
    return {"status": "fail", "reason": f"exited with code {code}" + ("" if code else " before the tests finished")}
