"""A pool of zygotes (one per slot, each with its own uid and /tmp), fed from threads.

`execute_many` keeps every slot busy; `execute` uses a small pool kept for the process.
"""

from __future__ import annotations

import atexit
import os
import random
import shutil
import site
import subprocess
import sys
import tempfile
import threading
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path

from sandbox import warm
from sandbox.cache import source_digest
from sandbox import zygote as zy
from sandbox.result import LANGS, MODES, Job, Result

ROOT = Path(__file__).resolve().parent.parent
MAX_SOURCE = 4 * 1024 * 1024  # larger programs are refused, not run
SLOT_TMP_MB = 512              # each slot's private /tmp (run dirs, outputs, build cache)


class SandboxUnavailable(RuntimeError):
    pass


def _code_root() -> Path:
    """The directory the zygote imports `sandbox` from: a copy of the package in the machine's
    sandbox cache (keyed by its content), as the checkout is out of the jail's view."""
    dest = warm.CACHE_ROOT / "src" / source_digest()[:16]
    if not (dest / "sandbox").is_dir():
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(dir=dest.parent))
        shutil.copytree(ROOT / "sandbox", tmp / "sandbox", ignore=shutil.ignore_patterns("__pycache__"))
        os.chmod(tmp, 0o755)
        try:
            os.rename(tmp, dest)
        except OSError:  # another process copied it first
            shutil.rmtree(tmp, ignore_errors=True)
    return dest


def _uid_base() -> int:
    # Unprivileged uids nobody else uses, different for each pool so that two pools on one
    # machine never share RLIMIT_NPROC counts.
    return 1_000_000 + random.SystemRandom().randrange(1 << 20) * 64


# What the jail shows, read-only: the system's programs, libraries and configuration. Plus the
# interpreter's own dirs (which may be in a home dir: pyenv, a venv) and the build caches;
# nothing else of the machine (home dirs, the checkout, data).
SYSTEM_DIRS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc")


# The zygote mounts a private /tmp over the jail's, which hides a venv made under /tmp once the
# interpreter has started: its packages are shown here too, and imported from here.
TMP_MIRROR = "/opt/soda-tmp"


def _outside_tmp(path: str) -> str:
    return TMP_MIRROR + path[len("/tmp"):] if path == "/tmp" or path.startswith("/tmp/") else path


def _jail_prefix() -> list[str]:
    """bubblewrap around the zygote: a new root holding only what runs need."""
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        raise SandboxUnavailable("the sandbox needs bubblewrap (bwrap): run sandbox/setup.sh")
    args = [bwrap]
    for path in SYSTEM_DIRS:  # merged-/usr systems have /bin -> usr/bin
        if os.path.islink(path):
            args += ["--symlink", os.readlink(path), path]
        elif os.path.isdir(path):
            args += ["--ro-bind", path, path]
    # The jail's /tmp first: an interpreter or cache under /tmp (a venv made there) is bound on top of it.
    args += ["--tmpfs", "/tmp"]
    own = [sys.base_prefix, sys.prefix, os.path.dirname(sys.executable), *site.getsitepackages(), str(warm.CACHE_ROOT)]
    shown = [*SYSTEM_DIRS]
    for path in sorted({os.path.realpath(p) for p in own if os.path.isdir(p)}):
        if not any(path == d or path.startswith(d.rstrip("/") + "/") for d in shown):
            for where in {path, _outside_tmp(path)}:
                # Its parents are made traversable, and show nothing else (/root is 0700).
                parents = [str(p) for p in reversed(Path(where).parents) if str(p) != "/"]
                args += [arg for p in parents for arg in ("--perms", "0755", "--dir", p)] + ["--ro-bind", path, where]
            shown.append(path)
    return args + ["--dev", "/dev", "--proc", "/proc", "--unshare-pid", "--as-pid-1", "--unshare-net", "--unshare-ipc",
                   "--unshare-uts", "--cap-add", "ALL", "--"]
    # No --die-with-parent: it fires when the *thread* that started bwrap ends. The zygote
    # exits when the pool's end of its request pipe closes, even during a run.


class Slot:
    """One zygote process and the pipes to it; used by one thread at a time."""

    def __init__(self, uid: int, cpu: int) -> None:
        if os.geteuid() != 0:
            raise SandboxUnavailable("the sandbox needs root to drop each run to its own uid")
        self.uid, self.cpu = uid, cpu
        req_r, self.req_w = os.pipe()
        self.rep_r, rep_w = os.pipe()
        code_root = _code_root()  # before the jail is set up: it shows the cache that holds it
        cmd = _jail_prefix() + [
            sys.executable, "-I", "-S", "-c",
            # -S: no site (a smaller interpreter forks faster), so the packages a solution may import
            # are this interpreter's (a venv's, which `python -I -S` would not find by itself).
            f"import sys; sys.path.insert(0, {str(code_root)!r}); sys.path += {[_outside_tmp(os.path.realpath(p)) for p in site.getsitepackages()]!r}; "
            "from sandbox.zygote import main; main(sys.argv[1:])",
            str(uid), str(req_r), str(rep_w), str(SLOT_TMP_MB), str(cpu)]
        self.proc = subprocess.Popen(cmd, pass_fds=(req_r, rep_w), env={"PATH": zy.ENV["PATH"]},
                                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
        os.close(req_r)
        os.close(rep_w)
        hello = zy.recv(self.rep_r)
        if not hello or not hello.get("ready"):
            self.close()
            raise SandboxUnavailable(f"sandbox zygote failed to start (exit {self.proc.wait()})")

    def run(self, job: Job) -> Result:
        # The tests follow the request as raw bytes (see sandbox/zygote.py); only "tests" mode runs them.
        tests = (job.tests or "").encode("utf-8", "surrogatepass") if job.mode == "tests" else b""
        zy.send(self.req_w, {"code": job.code, "lang": job.lang, "tests_bytes": len(tests),
                             "timeout_s": float(job.timeout_s), "memory_mb": int(job.memory_mb),
                             "mode": job.mode, "cache": warm.ensure(job.lang)})
        view = memoryview(tests)
        while view:
            view = view[os.write(self.req_w, view):]
        reply = zy.recv(self.rep_r)
        if reply is None:
            raise SandboxUnavailable("sandbox zygote died")
        return Result(**reply)

    def close(self) -> None:
        for fd in (self.req_w, self.rep_r):
            try:
                os.close(fd)
            except OSError:
                pass
        self.proc.wait()


def _bad_input(job: Job) -> Result | None:
    """Jobs refused before reaching a zygote, with the reason."""
    def refuse(status: str, reason: str) -> Result:
        return Result(status=status, reason=reason)

    if job.lang not in LANGS:
        return refuse("env-error", f"unknown language {job.lang!r}; expected one of {', '.join(LANGS)}")
    if job.mode not in MODES:
        return refuse("sandbox-error", f"unknown mode {job.mode!r}; expected one of {', '.join(MODES)}")
    if not isinstance(job.code, str) or not job.code.strip():
        return refuse("fail", "empty program")
    for name, text in (("code", job.code), ("tests", job.tests or "")):
        if "\0" in text:
            return refuse("fail", f"{name} contains NUL bytes")
        if len(text) > MAX_SOURCE:
            return refuse("fail", f"{name} is {len(text)} characters, over the {MAX_SOURCE} limit")
    if not job.timeout_s > 0 or not job.memory_mb > 0:
        return refuse("sandbox-error", "timeout_s and memory_mb must be positive")
    return None


class Pool:
    def __init__(self, workers: int | None = None) -> None:
        self.size = workers or os.cpu_count() or 1
        base = _uid_base()
        self._free: list[Slot] = []
        self._lock = threading.Lock()
        self._ready = threading.Semaphore(0)
        self._uids = iter(range(base, base + 64 * 1024))
        self._all: list[Slot] = []
        self._cpus = sorted(os.sched_getaffinity(0))
        self._grow(self.size)

    def _grow(self, n: int) -> None:
        with ThreadPoolExecutor(n) as ex:
            slots = list(ex.map(Slot, [next(self._uids) for _ in range(n)], [self._cpus[i % len(self._cpus)] for i in range(n)]))
        for slot in slots:
            self._all.append(slot)
            self._free.append(slot)
            self._ready.release()

    def run(self, job: Job) -> Result:
        refused = _bad_input(job)
        if refused is not None:
            return refused
        self._ready.acquire()
        with self._lock:
            slot = self._free.pop()
        try:
            result = slot.run(job)
        except (SandboxUnavailable, OSError) as e:
            # The zygote is gone: replace it, report this job as the sandbox's failure.
            slot.close()
            with self._lock:
                self._all.remove(slot)
                slot = Slot(next(self._uids), slot.cpu)
                self._all.append(slot)
            result = Result(status="sandbox-error", reason=str(e))
        with self._lock:
            self._free.append(slot)
        self._ready.release()
        return result

    def map(self, jobs: list[Job], progress: bool = False, on_result=None) -> list[Result]:
        """Results in input order; `on_result(i, result)` is called (in this thread) as each ends."""
        results: list[Result | None] = [None] * len(jobs)
        done = 0
        with ThreadPoolExecutor(self.size) as ex:
            futures = {ex.submit(self.run, job): i for i, job in enumerate(jobs)}
            for fut in as_completed(futures):
                i = futures[fut]
                results[i] = fut.result()
                if on_result is not None:
                    on_result(i, results[i])
                done += 1
                if progress and (done % 100 == 0 or done == len(jobs)):
                    print(f"sandbox: {done}/{len(jobs)}", file=sys.stderr, flush=True)
        return results  # type: ignore[return-value]

    @property
    def uids(self) -> list[int]:
        """The uids runs of this pool execute as (one per slot)."""
        return [slot.uid for slot in self._all]

    def close(self) -> None:
        for slot in self._all:
            slot.close()
        self._all.clear()


_shared: Pool | None = None
_shared_lock = threading.Lock()


def shared_pool() -> Pool:
    """The process's pool for single `execute` calls, started on first use."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = Pool()
            atexit.register(_shared.close)
        return _shared
