"""Per-language recipes: how a job becomes confined processes, and how outcomes become a Result.

Runs inside the zygote. Python runs in the forked interpreter itself (sandbox/pyrun.py). The
other languages write the program (code, then tests) into the run dir, compile it in one
confined process and run it in another. When tests are given, the tests' entry point is
wrapped by a small harness that writes the run's nonce on the verdict channel only once the
tests returned, so that exit(0) from the solution before, during or instead of the tests (a
Go init()) is not a pass. The harness reads the nonce from a pipe (zygote.NONCE_FD) before any
of the program's own code runs (C: .preinit_array of its own translation unit, which runs
before constructors; Go: the first package variable initialised; Java and JS: before the
program's classes or module load) and keeps it where the program cannot name it (a static
of another translation unit, a local, a closure, an identifier made up per run).

Limit: these programs share their process with the harness, so one that scans its own
memory (C pointers, /proc/self/mem) could still find the nonce; only Python tests, which
run in a process of their own (the slot's tests server), are out of the solution's reach entirely.
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

    lang, mode = req["lang"], req["mode"]
    tests = req.get("tests") if mode == "tests" else None
    recipe = RECIPES[lang](req["code"], tests, req["memory_mb"])
    missing = [tool for tool in recipe["tools"] if shutil.which(tool, path=ENV_PATH) is None]
    if missing:
        return {"status": "env-error", "reason": f"{lang}: toolchain not installed: {', '.join(missing)} "
                "(run sandbox/setup.sh)"}
    cache = req.get("cache") or ""  # built by the pool (sandbox/warm.py) when the language has one
    for name, text in recipe["files"].items():
        path = os.path.join(workdir, name)
        with open(path, "w", encoding="utf-8", errors="replace") as f:
            f.write(text)
        os.chown(path, zygote.uid, zygote.uid)
    env = {k: v.replace("{cache}", cache) for k, v in recipe.get("env", {}).items()}

    built = _compile(zygote, recipe, req, workdir, env, cache)
    if "status" in built:
        return built
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



def _compile(zygote, recipe: dict, req: dict, workdir: str, env: dict, cache: str) -> dict:
    """Build the program; {cpu_s, wall_s} when it built, else the job's Result (a dict with status)."""
    if not recipe.get("compile"):
        return {"cpu_s": 0.0, "wall_s": 0.0}
    timeout_s = max(COMPILE_TIMEOUT_S, req["timeout_s"])
    if req["lang"] == "java" and cache:
        return _compile_java(zygote, recipe, workdir, cache, timeout_s, req["mode"])
    argv = [a.replace("{cache}", cache) for a in recipe["compile"]]
    built = zygote.spawn(workdir, _exec(argv, env), timeout_s=timeout_s,
                         memory_mb=COMPILE_MEMORY_MB + recipe.get("headroom_mb", 0))
    if built["exit"] == 0:
        return built
    result = {**_base(built), "error_class": None}
    status = _raw_status(built, {"timeout_s": timeout_s, "mode": "tests"})
    if status["status"] == "timeout":
        return {**result, "status": "timeout", "reason": "compilation: " + status["reason"]}
    return _compile_error(result, built["stderr"] + built["stdout"], req["mode"])


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
        ok, diagnostics, classes, cpu = zygote.javac(cache).compile(sources, timeout_s)
    except javac.CompileTimeout:
        zygote.drop_javac()
        return {"status": "timeout", "reason": "compilation: time limit exceeded or compiler out of memory",
                "wall_s": time.monotonic() - start}
    result = {"stdout": "", "stderr": diagnostics[-OUTPUT_KEEP:], "cpu_s": cpu, "wall_s": time.monotonic() - start,
              "exit_code": 0 if ok else 1, "error_class": None}
    if not ok:
        return _compile_error(result, diagnostics, mode)
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
C_HARNESS = """\
#include <stdio.h>
#include <unistd.h>
static char soda_nonce[64];
static void soda_take_nonce(int argc, char **argv, char **envp) {
  ssize_t n = read(NONCE_FD, soda_nonce, sizeof soda_nonce - 1);
  soda_nonce[n > 0 ? n : 0] = 0;
  close(NONCE_FD);
}
__attribute__((section(".preinit_array"), used)) static void (*soda_preinit)(int, char **, char **) = soda_take_nonce;
int soda_tests_main(ARGS);
int main(int argc, char **argv) {
  int rc = soda_tests_main(CALL);
  fflush(stdout);
  if (rc == 0 && soda_nonce[0]) dprintf(VERDICT_FD, "{\\"nonce\\": \\"%s\\", \\"ok\\": true}\\n", soda_nonce);
  return rc;
}
"""


def _c_family(code: str, tests: str | None, ext: str) -> tuple[dict, bool]:
    """Source for C/C++: the tests' main() is renamed and called from the harness's main()."""
    if not tests or not re.search(r"\bmain\s*\(", tests):
        return {f"prog.{ext}": code + "\n" + (tests or "")}, False
    no_args = re.search(r"\bmain\s*\(\s*(void)?\s*\)", tests) is not None
    harness = (C_HARNESS.replace("NONCE_FD", str(NONCE_FD)).replace("VERDICT_FD", str(VERDICT_FD))
               .replace("ARGS", "void" if no_args else "int, char **").replace("CALL", "" if no_args else "argc, argv"))
    return {f"soda_harness.{ext}": harness,
            f"prog.{ext}": code + "\n#define main soda_tests_main\n" + _return_at_end_of_main(tests)}, True


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


def _sources(files: dict) -> list[str]:
    return sorted(files)  # soda_harness.* first, so that its .preinit_array entry runs first


def _libs(source: str) -> list[str]:
    # OpenSSL's digests are what solutions reach for (HumanEval-X's string_to_md5).
    return ["-lm"] + (["-lcrypto"] if re.search(r"#\s*include\s*<openssl/", source) else [])


def recipe_c(code, tests, memory_mb):
    files, guarded = _c_family(code, tests, "c")
    return {"tools": ["gcc"], "files": files, "guarded": guarded,
            "compile": ["gcc", "-std=gnu11", "-O1", "-o", "prog", *_sources(files), *_libs(files["prog.c"])],
            "run": ["./prog"]}


def recipe_cpp(code, tests, memory_mb):
    from sandbox import warm  # noqa: PLC0415 - only zygotes that serve C++ load it (see zygote.PRELOAD)

    files, guarded = _c_family(code, tests, "cpp")
    # The precompiled header holds the usual standard headers; its flags must match these.
    return {"tools": ["g++"], "files": files, "guarded": guarded,
            "compile": ["g++", *warm.CPP_FLAGS, "-include", "{cache}/soda.h", "-o", "prog", *_sources(files),
                        *_libs(files["prog.cpp"])],
            "run": ["./prog"]}


def _java_classes(source: str) -> tuple[str, str]:
    """(file name's class, class holding main) for a Java program."""
    public = re.search(r"\bpublic\s+(?:final\s+|abstract\s+)*class\s+(\w+)", source)
    main_at = re.search(r"\bstatic\s+void\s+main\s*\(", source)
    classes = [m for m in re.finditer(r"\bclass\s+(\w+)", source) if not main_at or m.start() < main_at.start()]
    main = classes[-1].group(1) if classes else "Main"
    return (public.group(1) if public else main), main


def recipe_java(code, tests, memory_mb):
    source = code + "\n" + (tests or "")
    file_class, main_class = _java_classes(source)
    jvm = ["-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-Xshare:auto", "-XX:-UsePerfData"]
    # The cache holds SodaHarness (sandbox/java), which runs main and then writes the verdict.
    # -ea: tests written with `assert` (MultiPL-E) must be able to fail.
    run = ["java", "-ea", f"-Xmx{memory_mb}m", f"-XX:MaxDirectMemorySize={memory_mb}m", "-Xss8m", *jvm,
           "-cp", ".:{cache}", *(["SodaHarness", str(NONCE_FD), str(VERDICT_FD)] if tests else []), main_class]
    return {"tools": ["javac", "java"], "files": {f"{file_class}.java": source}, "guarded": bool(tests),
            "headroom_mb": RUNTIME_HEADROOM_MB, "compile": ["javac", *(f"-J{o}" for o in jvm), "-nowarn", "-d", ".", f"{file_class}.java"],
            "run": run}


JS_HARNESS = f"""\
const fs = require('fs');
const nonce = fs.readFileSync({NONCE_FD}, 'utf8');
fs.closeSync({NONCE_FD});
require('./prog.js');
process.stdout.write('', () => {{}});
fs.writeSync({VERDICT_FD}, JSON.stringify({{nonce, ok: true}}) + '\\n');
"""


def recipe_js(code, tests, memory_mb):
    files = {"prog.js": code + "\n" + (tests or "")}
    node = ["node", f"--max-old-space-size={memory_mb}", "--stack-size=4000"]
    if tests:
        files["harness.js"] = JS_HARNESS
    # Packages installed globally by sandbox/setup.sh (js-md5, which HumanEval-X needs).
    env = {"NODE_PATH": "/usr/lib/node_modules:/usr/local/lib/node_modules"}
    return {"tools": ["node"], "files": files, "guarded": bool(tests), "headroom_mb": RUNTIME_HEADROOM_MB, "env": env,
            "run": node + ["harness.js" if tests else "prog.js"]}


def recipe_ts(code, tests, memory_mb):
    js = recipe_js("", tests, memory_mb)
    files = {"prog.ts": code + "\n" + (tests or "")}
    if tests:
        files["harness.js"] = JS_HARNESS
    # MultiPL-E's settings: a program that doesn't type-check doesn't compile.
    return {**js, "tools": ["tsc", "node"], "files": files,
            "compile": ["tsc", "--target", "es2022", "--lib", "es2022,dom", "--module", "commonjs",
                        "--skipLibCheck", "--outDir", ".", "prog.ts"]}


# The Go tests' harness, in the file compiled first: its variable is the first one initialised
# (before any init() or variable of the program), under a name made up per run.
GO_HARNESS = """\
package PACKAGE

import (
\t"fmt"
\t"os"
\t"testing"
)

var sodaNonceID = func() string {
\tf := os.NewFile(NONCE_FD, "nonce")
\tb := make([]byte, 64)
\tn, _ := f.Read(b)
\tf.Close()
\treturn string(b[:n])
}()

func TestMain(m *testing.M) {
\tcode := m.Run()
\tif code == 0 {
\t\tfmt.Fprintf(os.NewFile(VERDICT_FD, "verdict"), "{\\"nonce\\": \\"%s\\", \\"ok\\": true}\\n", sodaNonceID)
\t}
\tos.Exit(code)
}
"""


def recipe_go(code, tests, memory_mb):
    source = code + "\n" + (tests or "")
    env = {"GO111MODULE": "off", "GOPATH": "/usr/share/gocode", "GOCACHE": "{cache}/go-build",
           "GOFLAGS": "-buildvcs=false", "GOTOOLCHAIN": "local", "CGO_ENABLED": "0"}
    if re.search(r"^func\s+Test\w*\s*\(\s*\w+\s+\*testing\.T\s*\)", source, re.M):
        # A `go test` file; -test.paniconexit0 makes os.Exit(0) inside a test a failure, and
        # the harness's TestMain one anywhere else (init() included). Tests with their own
        # TestMain keep it, unguarded.
        files = {"main_test.go": source}
        package = re.search(r"^package\s+(\w+)", source, re.M)
        guarded = bool(tests) and package is not None and not re.search(r"^func\s+TestMain\s*\(", source, re.M)
        if guarded:
            files["0soda_test.go"] = GO_HARNESS.replace("PACKAGE", package.group(1)).replace(
                "NONCE_FD", str(NONCE_FD)).replace("VERDICT_FD", str(VERDICT_FD)).replace("ID", os.urandom(8).hex())
        return {"tools": ["go"], "files": files, "env": env, "headroom_mb": GO_HEADROOM_MB, "guarded": guarded,
                "compile": ["go", "test", "-c", "-o", "prog.test", "."],
                "run": ["./prog.test", "-test.paniconexit0", "-test.count=1"]}
    return {"tools": ["go"], "files": {"main.go": source}, "env": env, "headroom_mb": GO_HEADROOM_MB,
            "compile": ["go", "build", "-o", "prog", "main.go"], "run": ["./prog"]}


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
