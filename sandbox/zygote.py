"""The fork-server: one long-lived root process per pool slot that runs jobs one at a time.

It is started jailed (bubblewrap: a new root showing only the system's dirs and the
interpreter, read-only; private network, mounts, /tmp and /dev/shm; a /proc that shows a
process only those of its own uid), imports what solutions commonly import, and then for
each job forks:

    Python:  zygote (root) --fork in new pid+ipc namespaces--> run (pid 1, slot uid, rlimits)
    others:  zygote (root) --fork in new pid+ipc namespaces--> reaper (pid 1, root)
                                                               --fork--> run (slot uid, rlimits)
    and once: zygote (root) --fork in a new pid namespace--> tests server (pid 1, its own uid)

A Python run executes the solution in the forked interpreter: no interpreter start-up and a
single fork, which is what makes thousands of short runs cheap. It is its namespace's init,
so signals it sends itself without a handler are dropped by the kernel (CPU limits still
end it: RLIMIT_CPU's hard limit is a SIGKILL). Programs that other languages exec get a
reaper as init and run as ordinary processes. When init dies the kernel kills whatever is
left in its pid namespace, so nothing outlives a run; the zygote is the init of a pid
namespace that holds every run's (sandbox/jail.py), and it ends with the pool (the end of its
request pipe is noticed even during a run). Python tests run in the slot's tests server,
which talks to the run over two pipes and gives the zygote the verdict (see
sandbox/pyrun.py); it dies with the zygote too.

No job leaves anything for the next: everything a run (or its tests) can write is the run dir
and /dev/shm, and both are emptied after every job (the tmpfs is replaced when removing its
entries is not enough: a tree too deep to walk). The tests server is told each job's number and
its reply must carry it, alone on the channel: a stray frame retires the server.

Protocol on two inherited fds: 4-byte big-endian length, then JSON (request or reply). A
request whose "tests_bytes" is not 0 is followed by that many bytes of tests (UTF-8): for a
Python job the zygote moves them to the tests server with splice(2), never reading them, so
that no process a solution is forked from ever held a job's tests.
"""

from __future__ import annotations

import _signal
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
RUNS = "/tmp/runs"             # the run dir's tmpfs (see Zygote.scrub)
RUN_DIR = RUNS + "/run"        # every job's dir, made afresh (one path: the environment is set once)
REPLY_LIMIT = 1024 * 1024      # bytes of a tests server's reply (a verdict, a few numbers)
REPLY_TIMEOUT_S = 10.0         # to finish a reply once its first byte came (it is one write)
JAVAC_UID_OFFSET = 1 << 30
TESTS_UID_OFFSET = 1 << 29     # the slot's tests server: a uid of its own, out of the runs' reach
WALL_FACTOR = 3                # wall time of a run: at most this many times its CPU budget (+1 s)
# Signals a run gets back to their default action (the zygote ignores SIGINT; Python, SIGPIPE
# and SIGXFSZ). `_signal`, not `signal`: its wrappers convert to and from enums, which in a
# fresh fork is a tenth of a millisecond of page copies.
RUN_DEFAULT_SIGNALS = (_signal.SIGINT, _signal.SIGTERM, _signal.SIGPIPE, _signal.SIGXFSZ)
ENV = {"PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8", "PYTHONHASHSEED": "0",
       "PYTHONDONTWRITEBYTECODE": "1", "HOME": RUN_DIR, "TMPDIR": RUN_DIR}


def wall_limit(timeout_s: float) -> float:
    """Wall seconds after which a run is stopped whatever CPU it used (a run that idles)."""
    return WALL_FACTOR * (timeout_s + 1)


class Zygote:
    def __init__(self, uid: int, caller_fd: int, tmp_mb: int) -> None:
        self.uid = uid
        self.caller_fd = caller_fd  # the pool's request pipe: its end (EOF) means the pool is gone
        self.tmp_mb = tmp_mb
        self.tests_left = 0  # bytes of the current job's tests still in the request pipe
        self.pidns = jail.PidNamespaces()
        self.runs = 0
        # Rather than a new IPC namespace per run (its teardown blocks the zygote about 0.3 ms
        # a run), none of the objects that live in one can be created in ours.
        self.ipc_forbidden = jail.forbid_ipc()
        self._javac = None  # the slot's Java compile server, started on the first Java job
        self._tests_server = None  # (pid, socket), started on the first Python job with tests
        # The server's CPU seconds (its own and its reaped children's) at its last reply: a job's
        # tests are counted from there. Its replies carry it: no /proc read per job (0.1 ms).
        self.tests_cpu = 0.0
        # The run's stdout/stderr, out of its reach, on their own tmpfs so that a run that
        # fills its disk can still report.
        os.makedirs("/tmp/io", mode=0o700, exist_ok=True)
        jail.mount_tmpfs("/tmp/io", 2 * FILE_LIMIT // 2**20 + 4, mode="0700")
        os.makedirs(RUNS, mode=0o755, exist_ok=True)
        jail.mount_tmpfs(RUNS, tmp_mb, mode="0755")
        self.null = os.open("/dev/null", os.O_WRONLY)
        self.null_in = os.open("/dev/null", os.O_RDONLY)  # a run's stdin
        # The runs' environment is the zygote's own, set once here: a run that sets it itself
        # pays a page copy for every object os.environ touches.
        os.environ.clear()
        os.environ.update(ENV)

    # -- the job's tests, which the zygote passes on without reading (Python) ----------------
    def read_tests(self) -> str | None:
        """The tests, as text, for the languages whose harness the zygote writes."""
        if not self.tests_left:
            return None
        data = _read_exact(self.caller_fd, self.tests_left)
        self.tests_left = 0
        if data is None:
            os._exit(0)  # the pool is gone
        return data.decode("utf-8", "surrogatepass")

    def pass_tests(self, fd: int) -> None:
        """Move the tests from the request pipe to `fd` inside the kernel."""
        while self.tests_left:
            moved = os.splice(self.caller_fd, fd, self.tests_left)
            if not moved:
                os._exit(0)  # the pool is gone
            self.tests_left -= moved

    def scrub(self, workdir: str) -> None:
        """Empty what the job could write: its run dir, /dev/shm (entries of any kind)."""
        if self.tests_left:  # a job that ended before its tests were needed
            self.pass_tests(self.null)
        try:
            os.rmdir(workdir)  # most runs write nothing: skip rmtree's walk
        except OSError:
            import shutil  # noqa: PLC0415 - rarely needed; its compression modules are 30 mappings per fork

            try:
                shutil.rmtree(workdir)
            except Exception:  # noqa: BLE001 - RecursionError on a deep tree, among others
                jail.replace_tmpfs(RUNS, self.tmp_mb, "0755")
        if os.listdir(jail.SHM):  # POSIX shared memory, semaphores, or anything else
            jail.replace_tmpfs(jail.SHM, jail.SHM_MB, jail.SHM_MODE)

    # -- one confined process -------------------------------------------------------------
    def spawn(self, workdir: str, target, *, timeout_s: float, memory_mb: int | None,
              as_init: bool = False, tests: bool = False) -> dict:
        """Run `target(fd, nonce)` confined (it must end the process); return the outcome.

        as_init: a Python run, its pid namespace's init (one fork fewer) rather than the child
        of a reaper (programs that are exec'd). Its verdict is its exit status, as the parent
        sees it (0: pass); what it writes on fd only details a failure (exception class,
        message), so nothing it can reach is a verdict, and nonce is None. An exec'd program
        finds the nonce on fd NONCE_FD, a pipe its harness empties before the program's own
        code starts: it is in no environment variable or file.

        tests: a Python solution process, whose verdict comes from the slot's tests server
        running the job's tests (waiting in the request pipe) against it (sandbox/pyrun.py);
        the target's fd is its pipe of replies to the server, NONCE_FD the server's requests
        (nothing it writes there is a verdict: the server reads values from them).
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
        nonce = None if as_init else os.urandom(16).hex()
        server = None
        if tests:
            requests_r, requests_w = os.pipe()
            replies_r, replies_w = os.pipe()
            tests_r, tests_w = os.pipe()
            task = {"job": n, "memory_mb": memory_mb or 0, "cwd": workdir}
            try:
                for attempt in (1, 2):
                    server = self.tests_server()
                    try:
                        _send_task(server[1], task, [out_fd, err_fd, requests_w, replies_r, tests_r])
                        break
                    except OSError:  # the server is gone: start another, once
                        self.drop_tests_server()
                        if attempt == 2:
                            raise
                os.close(tests_r)
                tests_r = None
                # Before the solution process exists; the server reads them as they come.
                self.pass_tests(tests_w)
            except BaseException:
                for fd in (out_fd, err_fd, requests_r, requests_w, replies_r, replies_w, tests_r, tests_w):
                    if fd is not None:
                        os.close(fd)
                for path in (out_path, err_path):
                    os.unlink(path)
                if server is not None:
                    self.drop_tests_server()  # it may hold part of this job, which will never run
                raise
            os.close(tests_w)
            os.close(requests_w)
            os.close(replies_r)
            res_r = None
            # The run's two pipes to the server, at VERDICT_FD (replies) and NONCE_FD (requests).
            fds = (out_fd, err_fd, replies_w, requests_r)
        else:
            res_r, res_w = os.pipe()
            os.fchown(res_w, self.uid, self.uid)  # so that a runtime may reopen it as /proc/self/fd/N
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
        try:
            init = os.fork()
        except BaseException:
            self.pidns.restore()
            for fd in fds:
                if fd is not None:
                    os.close(fd)
            for path in (out_path, err_path):
                os.unlink(path)
            if server is not None:
                self.drop_tests_server()  # it holds this job, which will never run
            raise
        if init == 0:
            if as_init:
                self._run(workdir, target, limits, fds, nonce)
            self._reaper(workdir, target, limits, fds, nonce)
        self.pidns.restore()
        for fd in fds:
            if fd is not None:
                os.close(fd)
        try:
            wall_killed, cpu_at_kill, reply = self._wait(init, timeout_s, server, n)
        except BaseException:
            os.kill(init, signal.SIGKILL)
            os.wait4(init, 0)
            for path in (out_path, err_path):
                os.unlink(path)
            if server is not None:
                self.drop_tests_server()  # its reply to this job must not be read as the next one's
            raise
        if server is not None:
            os.kill(init, signal.SIGKILL)  # the tests are done: so is the run
        _, status, usage = os.wait4(init, 0)
        wall = time.monotonic() - start
        stdout, stderr = _read_head(out_path), _read_head(err_path)
        os.unlink(out_path)
        os.unlink(err_path)
        code = os.waitstatus_to_exitcode(status)
        code = code if code >= 0 else 128 - code  # shell convention: 128 + signal number
        cpu = usage.ru_utime + usage.ru_stime
        verdict = None
        if server is None:
            line = _read_all(res_r)
            os.close(res_r)
            try:
                msg = json.loads(line.splitlines()[0]) if line else None
            except (ValueError, IndexError):
                msg = None
            msg = msg if isinstance(msg, dict) else {}
            if as_init:
                verdict = _exit_verdict(code, wall_killed, msg)
            elif msg.get("nonce") == nonce:
                verdict = msg
        elif reply is not None:
            if reply.get("retire"):
                self.drop_tests_server()
            cpu += reply["cpu_s"]
            verdict = reply["verdict"]
            if verdict is not None:
                code = 0 if verdict["ok"] else 1
            elif "exit" in reply:  # the tests process died
                code = reply["exit"]
            elif code < 128:  # the solution process exited (it was not killed) before the tests ended
                verdict = {"ok": False, "error_class": None,
                           "reason": f"the solution ended the process (exit status {code}) before the tests finished"}
        return {
            "exit": code, "verdict": verdict, "stdout": stdout, "stderr": stderr,
            "cpu_s": max(cpu, cpu_at_kill), "wall_s": wall, "wall_killed": wall_killed,
        }

    def tests_server(self) -> tuple[int, "_socket.socket"]:
        """(pid, socket) of the slot's tests server, started if there is none."""
        if self._tests_server is None:
            # The C module, not `socket`: its enums (hundreds of members) would be more of the
            # state the tests server checks after every job, and more of every run's image.
            import _socket  # noqa: PLC0415 - only for Python tests

            ours, theirs = _socket.socketpair()
            # Set once, rather than a timeout per reply (four fcntl calls a job).
            ours.setsockopt(_socket.SOL_SOCKET, _socket.SO_RCVTIMEO, struct.pack("ll", int(REPLY_TIMEOUT_S), 0))
            self.pidns.next_child_in_new_namespace()
            pid = os.fork()
            if pid == 0:
                try:
                    ours.close()
                    keep = theirs.fileno()
                    os.closerange(3, keep)
                    os.closerange(keep + 1, NOFILE_LIMIT * 64)
                    null = os.open("/dev/null", os.O_RDWR)
                    for fd in (0, 1, 2):
                        os.dup2(null, fd)
                    # Nothing of its own to write to: a job's tests write in the run dir
                    # (their cwd and home) or /dev/shm, which are emptied after each job.
                    os.chdir("/")
                    jail.drop_privileges(self.uid + TESTS_UID_OFFSET, {
                        resource.RLIMIT_NPROC: 16, resource.RLIMIT_NOFILE: NOFILE_LIMIT,
                        resource.RLIMIT_FSIZE: FILE_LIMIT, resource.RLIMIT_CORE: 0})
                    jail.not_dumpable()  # nothing of this uid can read its memory or fds
                    os.environ.clear()
                    os.environ.update(ENV)
                    from sandbox import pyrun  # noqa: PLC0415

                    pyrun.tests_server(theirs)
                finally:
                    os._exit(254)
            self.pidns.restore()
            theirs.close()
            self._tests_server = (pid, ours)
            self.tests_cpu = 0.0
        return self._tests_server

    def drop_tests_server(self) -> int:
        """Stop the tests server (the next job starts another); its exit status, shell style."""
        if self._tests_server is None:
            return 0
        pid, sock = self._tests_server
        self._tests_server = None
        sock.close()
        os.kill(pid, signal.SIGKILL)
        code = os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])
        return code if code >= 0 else 128 - code

    def _run(self, workdir, target, limits, fds, nonce) -> None:
        """The run's process: confine, then hand over to the language's target (never returns)."""
        out_fd, err_fd, res_w, nonce_r = fds
        try:
            os.dup2(self.null_in, 0)
            os.dup2(out_fd, 1)
            os.dup2(err_fd, 2)
            fd = os.dup2(res_w, VERDICT_FD)
            if nonce_r is not None:
                os.dup2(nonce_r, NONCE_FD)
            os.closerange(3, VERDICT_FD)
            os.closerange(VERDICT_FD + 1 if nonce_r is None else NONCE_FD + 1, NOFILE_LIMIT * 64)
            os.chdir(workdir)
            jail.drop_privileges(self.uid, limits)
            for sig in RUN_DEFAULT_SIGNALS:
                _signal.signal(sig, _signal.SIG_DFL)
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

    def _wait(self, pid: int, timeout_s: float, server=None, job: int = 0) -> tuple[bool, float, dict | None]:
        """Wait for the run's init (or, with the tests server, for its reply); kill it if it is
        stuck. Returns (killed, CPU seconds seen, the server's reply).

        Timeouts are judged on CPU time (RLIMIT_CPU per process, and the run's total here) so
        that a verdict doesn't change with the machine's load. The run's CPU is checked each
        time it could have spent its budget, so an endless loop costs its budget, not the
        budget plus a second (RLIMIT_CPU counts whole seconds). Wall time only catches runs
        that block (sleep, wait on a pipe): at each wall deadline a run that got any CPU since
        the last one (one clock tick) is given more time, up to wall_limit(timeout_s); a
        starved run on a loaded machine still gets a tick now and then. The tests server's CPU
        for this run counts in its budget; a run killed while its tests ran takes the server
        with it (it is started again for the next). The server's reply must be this job's
        (`job`), and alone on the channel; else the server is replaced, and the job ends as if
        it had died. When the pool goes away (its request pipe ends) the run is killed and the
        zygote exits.
        """
        pidfd = os.pidfd_open(pid)
        watch = [pidfd, self.caller_fd]
        if server is not None:
            watch.append(server[1].fileno())
        start = time.monotonic()
        deadline = start + timeout_s + 1
        cpu = cpu_before = 0.0
        try:
            while True:
                wait = min(max(timeout_s - cpu, 0.01), max(deadline - time.monotonic(), 0.0))
                ready, _, _ = select.select(watch, [], [], wait)
                if self.caller_fd in ready:
                    os.kill(pid, signal.SIGKILL)
                    os._exit(0)
                if server is not None and server[1].fileno() in ready:
                    reply = _reply(server[1])
                    if not isinstance(reply, dict) or "verdict" not in reply or reply.get("job") != job:
                        # The server died in the tests (a signal their own code raised, the
                        # output limit), or they wrote on its channel: the run ends as the tests
                        # process did.
                        return False, 0.0, {"verdict": None, "cpu_s": 0.0, "exit": self.drop_tests_server()}
                    if _pending(server[1]):  # a frame the tests wrote: it must not be the next job's reply
                        reply["retire"] = True
                    if type(reply.get("cpu_total")) is float:
                        self.tests_cpu = reply["cpu_total"]
                    return False, 0.0, reply
                if pidfd in ready:
                    if server is None:
                        return False, 0.0, None
                    watch.remove(pidfd)  # the tests server will tell: the solution is gone
                cpu = jail.cpu_of_uid(self.uid)
                if server is not None:  # the tests' share, processes they started included
                    # (/proc counts whole clock ticks: it may read a little under the server's own figure)
                    cpu += max(jail.cpu_of_uid(self.uid + TESTS_UID_OFFSET) - self.tests_cpu, 0.0)
                # The CPU budget is for the whole run: a fork bomb spreads it over processes
                # that each stay under RLIMIT_CPU.
                killed = cpu >= timeout_s
                now = time.monotonic()
                if not killed and now >= deadline:
                    killed = cpu <= cpu_before or now - start >= wall_limit(timeout_s)
                    cpu_before, deadline = cpu, min(now + timeout_s + 1, start + wall_limit(timeout_s))
                if killed:
                    os.kill(pid, signal.SIGKILL)  # the namespace dies with its init
                    if server is not None:
                        self.drop_tests_server()
                    return True, cpu, None
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
        os.mkdir(RUN_DIR)
        # The run's, and its tests' (the tests server's group): tests may read what it wrote.
        os.chown(RUN_DIR, self.uid, self.uid + TESTS_UID_OFFSET)
        os.chmod(RUN_DIR, 0o770)
        return RUN_DIR

    def handle(self, req: dict) -> dict:
        from sandbox import langs  # noqa: PLC0415 - loaded by main() after the jail is set up

        self.tests_left = req.pop("tests_bytes", 0)
        if req["lang"] != "python":
            req["tests"] = self.read_tests()
        path = self.workdir()
        try:
            return langs.run_job(self, req, path)
        finally:
            self.scrub(path)


def _exit_verdict(code: int, killed: bool, details: dict) -> dict | None:
    """A Python run's verdict from its exit status, as plain execution: the harness exits 0
    when the program ended cleanly (a pass), 1 after an exception, whose class and message it
    sent (`details`; the program could send its own, but not turn a failure into a pass).
    None (the raw status decides) after a signal, a limit, os._exit(n)."""
    if killed or code not in (0, 1):
        return None
    error, reason = details.get("error_class"), details.get("reason")
    if not isinstance(error, (str, type(None))) or not isinstance(reason, (str, type(None))):
        error = reason = None
    if code == 1 and error is None and reason is None:
        return None
    return {"ok": code == 0, "error_class": error, "reason": reason}


def _reply(sock):
    """The tests server's reply, None if it is gone or the frame is malformed or unfinished."""
    import _socket  # noqa: PLC0415 - loaded with the tests server

    try:  # each recv waits at most REPLY_TIMEOUT_S (the socket's SO_RCVTIMEO)
        head = sock.recv(4, _socket.MSG_WAITALL)
        if len(head) < 4:
            return None
        size = struct.unpack(">I", head)[0]
        body = sock.recv(size, _socket.MSG_WAITALL) if size <= REPLY_LIMIT else b""
        return json.loads(body) if len(body) == size else None
    except (OSError, ValueError):
        return None


def _pending(sock) -> bool:
    import _socket  # noqa: PLC0415 - loaded with the tests server

    try:
        return bool(sock.recv(1, _socket.MSG_PEEK | _socket.MSG_DONTWAIT))
    except BlockingIOError:
        return False
    except OSError:
        return True


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


def recv(fd: int, limit: int | None = None):
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


def _send_task(sock, task: dict, fds: list[int]) -> None:
    """A job for the tests server: the fds travel with the message's first bytes."""
    import _socket  # noqa: PLC0415

    data = frame(task)
    sent = sock.sendmsg([data], [(_socket.SOL_SOCKET, _socket.SCM_RIGHTS, struct.pack(f"{len(fds)}i", *fds))])
    sock.sendall(data[sent:])


def frame(obj) -> bytes:
    body = json.dumps(obj).encode()
    return struct.pack(">I", len(body)) + body


def send(fd: int, obj) -> None:
    data = frame(obj)
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
    # Started with -S (no site: a smaller interpreter forks faster); the pool put the installed
    # packages on sys.path, but .pth hooks are not run.
    if os.getpid() != 1 or not jail.no_new_privs():  # see sandbox/jail.py: what ends the runs with us
        raise SystemExit("sandbox: the zygote must run as pid 1 of a pid namespace of its own, with no_new_privs")
    jail.enter_private_world(tmp_mb)
    for name in (*PRELOAD, "sandbox.langs"):
        __import__(name)
    from sandbox import pyrun  # noqa: PLC0415 - loaded by sandbox.langs just above

    pyrun.prepare()
    # Objects that exist now are never collected in a run: without this, the first collection
    # in each forked run would touch (and so copy) every page of the interpreter.
    gc.collect()
    gc.freeze()
    # The free memory the imports left (2 of 9 MB) back to the system: every fork copies the
    # page table of what is resident, and every run's end tears it down.
    jail.trim_memory()
    zygote = Zygote(uid, req_fd, tmp_mb)
    send(rep_fd, {"ready": True})
    while (req := recv(req_fd)) is not None:
        try:
            reply = zygote.handle(req)
        except Exception as e:  # noqa: BLE001 - one bad job must not take the slot down
            reply = {"status": "sandbox-error", "reason": f"{type(e).__name__}: {e}"}
            if zygote.tests_left:  # the request pipe must be at the next request
                zygote.pass_tests(zygote.null)
        send(rep_fd, reply)


if __name__ == "__main__":
    main(sys.argv[1:])
