"""Build caches that compiled languages reuse across runs, built once per machine and toolchain.

- C++: a precompiled header of the usual standard headers (`-include soda.h`).
- Java: the compile server and the verdict harness (sandbox/java), compiled.
- Go: a build cache holding the standard library and testify, compiled once; runs read it
  (GOCACHE read-only for them: they can't add to it, so nothing passes from run to run).

Caches are built by the pool, outside the sandbox, from the fixed sources below (never from
a job's code), into a temporary dir renamed into place, under a lock shared by processes.
"""

from __future__ import annotations

import fcntl
import functools
import hashlib
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

WARMED = ("cpp", "go", "java")
JAVA_SOURCES = Path(__file__).resolve().parent / "java"
CACHE_ROOT = Path(os.environ.get("SODA_SANDBOX_CACHE", "/var/cache/soda-sandbox"))
# -fsanitize=return traps (SIGILL) where a function falls off its end without a value: that is
# undefined behaviour, and at -O1 execution can run on into the next function of the binary, e.g.
# the harness's main that writes the verdict (an empty body passed 5 of 10 HumanEval-X tasks).
CPP_FLAGS = ["-std=gnu++17", "-O1", "-fsanitize=return", "-fsanitize-undefined-trap-on-error"]

CPP_HEADER = "".join(f"#include <{h}>\n" for h in (
    "stdio.h", "stdlib.h", "string.h", "math.h", "assert.h", "climits", "cmath", "cstring", "cstdlib",
    "iostream", "sstream", "string", "vector", "map", "set", "unordered_map", "unordered_set", "algorithm",
    "numeric", "functional", "utility", "queue", "stack", "deque", "list", "tuple", "iomanip"))

GO_SEED = """\
package main

import (
    "bytes"; "errors"; "fmt"; "math"; "math/rand"; "reflect"; "regexp"; "sort"; "strconv"; "strings"
    "testing"; "unicode"; "github.com/stretchr/testify/assert"
)

var _ = []interface{}{bytes.Compare, errors.New, fmt.Sprint, math.Abs, rand.Int, reflect.DeepEqual,
    regexp.MustCompile, sort.Ints, strconv.Itoa, strings.Split, unicode.IsUpper}

func TestSeed(t *testing.T) { assert.New(t).Equal(1, 1) }
"""


@functools.lru_cache(maxsize=None)
def _version(lang: str) -> str | None:
    cmd = {"cpp": ["g++", "--version"], "go": ["go", "version"], "java": ["javac", "-version"]}[lang]
    if shutil.which(cmd[0]) is None:
        return None
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    sources = "".join(p.read_text() for p in sorted(JAVA_SOURCES.glob("*.java")))
    key = done.stdout + done.stderr + CPP_HEADER + GO_SEED + " ".join(CPP_FLAGS) + sources
    return hashlib.sha256(key.encode()).hexdigest()[:16]


def path(lang: str) -> Path | None:
    version = _version(lang) if lang in WARMED else None
    return None if version is None else CACHE_ROOT / f"{lang}-{version}"


def ensure(lang: str) -> str | None:
    """The cache dir of `lang`, built first if missing; None when the language needs none."""
    target = path(lang)
    if target is None:
        return None
    if target.is_dir():
        return str(target)
    CACHE_ROOT.mkdir(parents=True, exist_ok=True)
    with open(CACHE_ROOT / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not target.is_dir():
            tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=CACHE_ROOT))
            try:
                BUILDERS[lang](tmp)
                for p in [tmp, *tmp.rglob("*")]:
                    p.chmod(0o755 if p.is_dir() else 0o644)
                os.replace(tmp, target)
            finally:
                shutil.rmtree(tmp, ignore_errors=True)
    return str(target)


def _build_cpp(out: Path) -> None:
    (out / "soda.h").write_text(CPP_HEADER)
    subprocess.run(["g++", *CPP_FLAGS, "-x", "c++-header", "soda.h", "-o", "soda.h.gch"], cwd=out, check=True)


def _build_go(out: Path) -> None:
    with tempfile.TemporaryDirectory() as src:
        Path(src, "main_test.go").write_text(GO_SEED)
        env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": src, "GO111MODULE": "off",
               "GOPATH": "/usr/share/gocode", "GOCACHE": str(out / "go-build"), "GOFLAGS": "-buildvcs=false",
               "CGO_ENABLED": "0"}
        subprocess.run(["go", "test", "-c", "-o", "seed.test", "."], cwd=src, env=env, check=True)
        subprocess.run(["go", "build", "-o", "seed", "main_test.go"], cwd=src, env=env, check=False,
                       capture_output=True)


def _build_java(out: Path) -> None:
    sources = sorted(str(p) for p in JAVA_SOURCES.glob("*.java"))
    subprocess.run(["javac", "-nowarn", "-d", str(out), *sources], check=True)


BUILDERS = {"cpp": _build_cpp, "go": _build_go, "java": _build_java}
