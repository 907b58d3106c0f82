"""The fork-server: one long-lived root process per pool slot that runs jobs one at a time.

It is started jailed (bubblewrap: a new root showing only the system's dirs and the
interpreter, read-only; private network, mounts, /tmp and /dev/shm; a /proc that shows a
process only those of its own uid), imports what solutions commonly import, and then for
each job forks:

    Python:  zygote (root) --fork in new pid+ipc namespaces--> run (pid 1, slot uid, rlimits)
    others:  zygote (root) --fork in new pid+ipc namespaces--> reaper (pid 1, root)
                                                               --fork--> run (slot uid, rlimits)

A Python run executes the solution in the forked interpreter: no interpreter start-up and a
single fork, which is what makes thousands of short runs cheap. It is its namespace's init,
so signals it sends itself without a handler are dropped by the kernel (CPU limits still
end it: RLIMIT_CPU's hard limit is a SIGKILL). Programs that other languages exec get a
reaper as init and run as ordinary processes. When init dies the kernel kills whatever is
left in its pid namespace, so nothing outlives a run; init dies with the zygote
(PR_SET_PDEATHSIG), and the zygote with the pool (SIGTERM to the caller's group reaches it;
the end of its request pipe is noticed even during a run). Python tests run in a process of
their own (see sandbox/pyrun.py). The run dir is deleted after every
run; the slot's uid owns nothing else that is writable.

Protocol on two inherited fds: 4-byte big-endian length, then JSON (request or reply).
"""

from __future__ import annotations

import gc
import json
import math
import os
import resource
import select
import signal
import struct
import sys
import time

from sandbox import jail

# Modules solutions commonly import, loaded once here so that each forked run has them warm.
# Kept short on purpose: every megabyte of the zygote makes each fork slower (its page tables
# are copied, and the pages a run touches are copied). For the same reason the zygote imports
# only what Python runs need: the package's __init__ loads the pool lazily, and the modules of
# other languages' runs (javac, warm) load on a zygote's first job in those languages.
PRELOAD = ("math", "re", "string", "collections", "itertools", "functools", "heapq", "bisect",
           "typing", "random", "copy", "operator", "json")

OUTPUT_KEEP = 64 * 1024        # characters of stdout/stderr kept in a Result
FILE_LIMIT = 16 * 1024 * 1024  # largest file (and stdout) a run may write
NPROC_LIMIT = 64               # processes + threads of the slot uid (a JVM needs about 20)
NOFILE_LIMIT = 256
VERDICT_FD, NONCE_FD = 1000, 1001  # far from the fds solutions usually touch
JAVAC_UID_OFFSET = 1 << 30
WALL_FACTOR = 3                # wall time of a run: at most this many times its CPU budget (+1 s)
ENV = {"PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8", "PYTHONHASHSEED": "0",
       "PYTHONDONTWRITEBYTECODE": "1"}


def wall_limit(timeout_s: float) -> float:
    """Wall seconds after which a run is stopped whatever CPU it used (a run that idles)."""
    return WALL_FACTOR * (timeout_s + 1)


class Zygote:
    def __init__(self, uid: int, caller_fd: int) -> None:
        self.uid = uid
        self.caller_fd = caller_fd  # the pool's request pipe: its end (EOF) means the pool is gone
        self.pidns = jail.PidNamespaces()
        self.runs = 0
        # Rather than a new IPC namespace per run (its teardown blocks the zygote about 0.3 ms
        # a run), none of the objects that live in one can be created in ours.
        self.ipc_forbidden = jail.forbid_ipc()
        self._javac = None  # the slot's Java compile server, started on the first Java job
        # The run's stdout/stderr, out of its reach, on their own tmpfs so that a run that
        # fills its disk can still report.
        os.makedirs("/tmp/io", mode=0o700, exist_ok=True)
        jail.mount_tmpfs("/tmp/io", 2 * FILE_LIMIT // 2**20 + 4, mode="0700")
        os.makedirs("/tmp/runs", mode=0o755, exist_ok=True)

    # -- one confined process -------------------------------------------------------------
    def spawn(self, workdir: str, target, *, timeout_s: float, memory_mb: int | None,
              as_init: bool = False) -> dict:
        """Run `target(verdict_fd, nonce)` confined (it must end the process); return the outcome.

        as_init: the run is its pid namespace's init (Python: one fork fewer) rather than the
        child of a reaper (programs that are exec'd). An exec'd program finds the nonce on fd
        NONCE_FD, a pipe its harness empties before the program's own code starts: it is in
        no environment variable or file.
        """
        limits = {
            resource.RLIMIT_CPU: max(1, math.ceil(timeout_s)),
            resource.RLIMIT_NPROC: NPROC_LIMIT,
            resource.RLIMIT_FSIZE: FILE_LIMIT,
            resource.RLIMIT_NOFILE: NOFILE_LIMIT,
            resource.RLIMIT_CORE: 0,
        }
        if memory_mb:
            limits[resource.RLIMIT_AS] = memory_mb * 1024 * 1024
        self.runs += 1
        n = self.runs
        out_path, err_path = f"/tmp/io/{n}.out", f"/tmp/io/{n}.err"
        out_fd = os.open(out_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        err_fd = os.open(err_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        res_r, res_w = os.pipe()
        os.fchown(res_w, self.uid, self.uid)  # so that a runtime may reopen it as /proc/self/fd/N
        nonce = os.urandom(16).hex()
        nonce_r = None
        if not as_init:
            nonce_r, nonce_w = os.pipe()
            os.write(nonce_w, nonce.encode())
            os.close(nonce_w)
            os.fchown(nonce_r, self.uid, self.uid)
        fds = (out_fd, err_fd, res_w, nonce_r)
        start = time.monotonic()
        self.pidns.next_child_in_new_namespace()
        if not self.ipc_forbidden:  # else SysV shm/semaphores could carry state to the next run
            jail.unshare(jail.CLONE_NEWIPC)
        init = os.fork()
        if init == 0:
            # The zygote is single-threaded: its end, by any signal, ends the run's namespace.
            jail.die_with_parent()
            if as_init:
                self._run(workdir, target, limits, fds, nonce)
            self._reaper(workdir, target, limits, fds, nonce)
        self.pidns.restore()
        for fd in fds:
            if fd is not None:
                os.close(fd)
        wall_killed, cpu_at_kill = self._wait(init, timeout_s)
        _, status, usage = os.wait4(init, 0)
        for name in os.listdir(jail.SHM):  # the run's POSIX shared memory and semaphores
            os.unlink(os.path.join(jail.SHM, name))
        wall = time.monotonic() - start
        line = _read_all(res_r)
        os.close(res_r)
        stdout, stderr = _read_head(out_path), _read_head(err_path)
        os.unlink(out_path)
        os.unlink(err_path)
        code = os.waitstatus_to_exitcode(status)
        code = code if code >= 0 else 128 - code  # shell convention: 128 + signal number
        verdict = None
        try:
            msg = json.loads(line.splitlines()[0]) if line else None
            if isinstance(msg, dict) and msg.get("nonce") == nonce:
                verdict = msg
        except (ValueError, IndexError):
            pass
        return {
            "exit": code, "verdict": verdict, "stdout": stdout, "stderr": stderr,
            "cpu_s": max(usage.ru_utime + usage.ru_stime, cpu_at_kill), "wall_s": wall,
            "wall_killed": wall_killed,
        }

    def _run(self, workdir, target, limits, fds, nonce) -> None:
        """The run's process: confine, then hand over to the language's target (never returns)."""
        out_fd, err_fd, res_w, nonce_r = fds
        try:
            os.dup2(os.open("/dev/null", os.O_RDONLY), 0)
            os.dup2(out_fd, 1)
            os.dup2(err_fd, 2)
            fd = os.dup2(res_w, VERDICT_FD)
            if nonce_r is not None:
                os.dup2(nonce_r, NONCE_FD)
            os.closerange(3, VERDICT_FD)
            os.closerange(VERDICT_FD + 1 if nonce_r is None else NONCE_FD + 1, NOFILE_LIMIT * 64)
            os.chdir(workdir)
            jail.drop_privileges(self.uid, limits)
            os.environ.clear()
            os.environ.update(ENV, HOME=workdir, TMPDIR=workdir)
            for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGPIPE, signal.SIGXFSZ):
                signal.signal(sig, signal.SIG_DFL)
        except BaseException as e:  # noqa: BLE001
            os.write(2, f"sandbox: confinement failed: {e!r}\n".encode())
            os._exit(252)
        try:
            target(fd, nonce)
        finally:
            os._exit(253)  # targets end the process themselves

    def _reaper(self, workdir, target, limits, fds, nonce) -> None:
        """pid 1 of the run's namespace: start the run, reap everything, exit with its status."""
        try:
            run = os.fork()
            if run == 0:
                self._run(workdir, target, limits, fds, nonce)
            for fd in fds:
                os.close(fd)
            while True:
                pid, status = os.waitpid(-1, 0)
                if pid == run:
                    break
            code = os.waitstatus_to_exitcode(status)
            os._exit(code if code >= 0 else 128 - code)
        except BaseException:  # noqa: BLE001 - pid 1 must never fall back into zygote code
            os._exit(254)

    def _wait(self, pid: int, timeout_s: float) -> tuple[bool, float]:
        """Wait for the run's init; kill it if it is stuck. Returns (killed, CPU seconds seen).

        Timeouts are judged on CPU time (RLIMIT_CPU per process, and the run's total here) so
        that a verdict doesn't change with the machine's load. The run's CPU is checked each
        time it could have spent its budget, so an endless loop costs its budget, not the
        budget plus a second (RLIMIT_CPU counts whole seconds). Wall time only catches runs
        that block (sleep, wait on a pipe): at each wall deadline a run that got any CPU since
        the last one (one clock tick) is given more time, up to wall_limit(timeout_s); a
        starved run on a loaded machine still gets a tick now and then. When the pool goes
        away (its request pipe ends) the run is killed and the zygote exits.
        """
        pidfd = os.pidfd_open(pid)
        start = time.monotonic()
        deadline = start + timeout_s + 1
        cpu = cpu_before = 0.0
        try:
            while True:
                wait = min(max(timeout_s - cpu, 0.01), max(deadline - time.monotonic(), 0.0))
                ready, _, _ = select.select([pidfd, self.caller_fd], [], [], wait)
                if self.caller_fd in ready:
                    os.kill(pid, signal.SIGKILL)
                    os._exit(0)
                if ready:
                    return False, 0.0
                cpu = jail.cpu_of_uid(self.uid)
                # The CPU budget is for the whole run: a fork bomb spreads it over processes
                # that each stay under RLIMIT_CPU.
                if cpu >= timeout_s:
                    os.kill(pid, signal.SIGKILL)  # the namespace dies with its init
                    return True, cpu
                now = time.monotonic()
                if now >= deadline:
                    if cpu <= cpu_before or now - start >= wall_limit(timeout_s):
                        os.kill(pid, signal.SIGKILL)
                        return True, cpu
                    cpu_before, deadline = cpu, min(now + timeout_s + 1, start + wall_limit(timeout_s))
        finally:
            os.close(pidfd)

    def javac(self, cache: str):
        from sandbox.javac import JavacServer  # noqa: PLC0415

        if self._javac is None or self._javac.proc.poll() is not None:
            # Its own uid: a compilation can't reach the runs, nor they it.
            self._javac = JavacServer(self.uid + JAVAC_UID_OFFSET, cache)
        return self._javac

    def drop_javac(self) -> None:
        if self._javac is not None:
            self._javac.close()
            self._javac = None

    # -- jobs -----------------------------------------------------------------------------
    def workdir(self) -> str:
        path = f"/tmp/runs/{self.runs + 1}"
        os.mkdir(path, 0o700)
        os.chown(path, self.uid, self.uid)
        return path

    def handle(self, req: dict) -> dict:
        from sandbox import langs  # noqa: PLC0415 - loaded by main() after the jail is set up

        path = self.workdir()
        try:
            return langs.run_job(self, req, path)
        finally:
            try:
                os.rmdir(path)  # most runs write nothing: skip rmtree's walk
            except OSError:
                import shutil  # noqa: PLC0415 - rarely needed; its compression modules are 30 mappings per fork

                shutil.rmtree(path, ignore_errors=True)


def _read_all(fd: int) -> str:
    chunks = []
    while True:
        b = os.read(fd, 65536)
        if not b or sum(map(len, chunks)) > 65536:
            break
        chunks.append(b)
    return b"".join(chunks).decode("utf-8", "replace")


def _read_head(path: str) -> str:
    fd = os.open(path, os.O_RDONLY)
    try:
        data = os.read(fd, OUTPUT_KEEP * 4)  # a regular file on tmpfs: one read gets it all
    finally:
        os.close(fd)
    return data.decode("utf-8", "replace")[:OUTPUT_KEEP]


def _recv(fd: int, limit: int | None = None):
    """One message, None at the end of the pipe; ValueError if it is malformed or over `limit` bytes."""
    head = _read_exact(fd, 4)
    if head is None:
        return None
    size = struct.unpack(">I", head)[0]
    if limit is not None and size > limit:
        raise ValueError(f"message of {size} bytes")
    body = _read_exact(fd, size)
    return None if body is None else json.loads(body)


def _read_exact(fd: int, n: int) -> bytes | None:
    buf = bytearray()
    while len(buf) < n:
        chunk = os.read(fd, n - len(buf))
        if not chunk:
            return None
        buf += chunk
    return bytes(buf)


def send(fd: int, obj) -> None:
    body = json.dumps(obj).encode()
    data = struct.pack(">I", len(body)) + body
    while data:
        data = data[os.write(fd, data):]


def main(argv: list[str]) -> None:
    uid, req_fd, rep_fd, tmp_mb, cpu = (int(a) for a in argv)
    # The slot's processes (zygote, run, a Python run's two processes) stay on one CPU: each
    # hand-over between them (a fork, a verdict, every call of the tests into the solution)
    # is then a switch on that CPU rather than a wake-up of another, idle one, which costs
    # 50-300 us on a virtual machine. Runs of other slots use the other CPUs.
    os.sched_setaffinity(0, {cpu})
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the pool stops us by closing the pipe
    # Started with -S (no site: a smaller interpreter forks faster); solutions may still
    # import installed packages, but .pth hooks are not run.
    import site  # noqa: PLC0415

    sys.path += [p for p in site.getsitepackages() if p not in sys.path]
    jail.enter_private_world(tmp_mb)
    for name in (*PRELOAD, "sandbox.langs"):
        __import__(name)
    # Objects that exist now are never collected in a run: without this, the first collection
    # in each forked run would touch (and so copy) every page of the interpreter.
    gc.freeze()
    zygote = Zygote(uid, req_fd)
    send(rep_fd, {"ready": True})
    while (req := _recv(req_fd)) is not None:
        try:
            reply = zygote.handle(req)
        except Exception as e:  # noqa: BLE001 - one bad job must not take the slot down
            reply = {"status": "sandbox-error", "reason": f"{type(e).__name__}: {e}"}
        send(rep_fd, reply)


if __name__ == "__main__":
    main(sys.argv[1:])
