"""Runs a Python solution and its tests inside the already-confined run.

Whatever runs in an interpreter can reach everything in it (the call stack, every object,
every fd), so with tests the solution and the tests run in two processes that cannot reach
each other:

    zygote --fork--> solution process (pid 1 of a fresh pid namespace, the slot's uid):
                     executes the solution, then serves the tests' calls
           --once--> tests server (pid 1 of a pid namespace of its own, another uid, not
                     dumpable): runs each job's tests against that job's solution process,
                     and sends the verdict to the zygote

The tests server lives as long as the slot, so a run costs one fork, not two: a fork and
exit of the interpreter is most of a short run's cost (HumanEval on 2 cores: 133 tasks/s with
a tests process forked for every run, against 213/s for one process running the solution and
its tests together). The solution process is forked from the zygote, which never holds a
byte of any job's tests (it splices them from the pool's pipe to the server's), so no
solution can find its tests in its own memory, and no job's tests can change what a later
solution sees. No job's tests may change what a later job's tests see either: each runs in a
fresh namespace, in the run's directory; afterwards what they left is collected (objects in
cycles, whose finalizers so run in their own job) and what is cheap to put back is put
back (builtins, sys.argv/path/streams/meta_path, trace and profile functions, recursion,
int-digit and switch-interval limits, resource limits, environment, cwd, umask, signal
handlers, timers and wakeup fd, warning filters, gc thresholds and callbacks, the random
module's state, which is seeded afresh as in a new process), while anything else (a module
imported, an attribute of a module, of a class or of a module-level object set, an audit hook
added, a function's code or defaults replaced, an fd, thread or process left, gc turned off,
a hard resource limit lowered) and any timeout retire the server: the next job gets a fresh
one, forked from the zygote.

The tests see the solution's top-level names through the protocol of sandbox/proxy.py:
values of known types travel by value with their types, anything else is a reference the
tests can call, index, iterate, ask attributes of or pass back (and the solution can call
back into what the tests lend it). The tests' own comparisons run in the tests server: an
object whose `__eq__` is always true, or a str subclass that says it equals anything, is not
equal to the tests' values. The solution process holds only its two pipes to the tests
server: it cannot see the server (another pid namespace and uid, hidden /proc), nor the
verdict channel. The only way the solution can affect the verdict is by what it returns;
exiting, dying or raising KeyboardInterrupt before the tests finish is a failure, even if
the tests' bare `except:` catches it.

Without tests ("runs" mode, or no tests given) the program runs alone and its verdict is its
exit status as the zygote sees it (0 after a clean end, as plain execution; 1 after an
exception, a signal or a limit otherwise): nothing inside the run is a verdict, so there is
nothing to forge. The class and message of an exception come on a pipe, as details of a
failure only.
Exceptions are reported by class name so that the fault taxonomy (SyntaxError, NameError,
TypeError, AssertionError, ...) can be checked.
"""

from __future__ import annotations

import _signal
import builtins
import gc
import json
import operator
import os
import resource
import signal
import sys
import traceback
import types

from sandbox import proxy, zygote
from sandbox.proxy import SolutionEnded, SolutionExit

# Failing imports that mean "this machine lacks a package", not "the program is wrong";
# the paper's runs-check ignores them.
ENV_ERRORS = ("ModuleNotFoundError",)
TRACEBACK_FRAMES = 40  # frames of a traceback shown at each end; a deep recursion has millions
FRAME_BYTES = 4096  # memory allowed per level of recursion (one takes a few hundred bytes)


# -- tracebacks ----------------------------------------------------------------------------

def _traceback_text(e: BaseException) -> str:
    """The traceback Python itself would print, without this harness's frames; a deep one is
    cut to its ends, so that it costs little however deep the recursion went."""
    frames, tb, n = [], e.__traceback__, 0
    while tb is not None:
        if tb.tb_frame.f_code.co_filename not in (__file__, proxy.__file__):
            frames.append(tb)
            n += 1
            if n > 2 * TRACEBACK_FRAMES:
                del frames[TRACEBACK_FRAMES]  # keep the first ones and a window of the last
        tb = tb.tb_next
    summary = traceback.StackSummary.extract((t.tb_frame, t.tb_lineno) for t in frames)
    lines = summary.format()
    if n > len(frames):
        lines.insert(TRACEBACK_FRAMES, f"  ... {n - len(frames)} frames not shown ...\n")
    return ("Traceback (most recent call last):\n" + "".join(lines)
            + "".join(traceback.format_exception_only(type(e), e)))


def _reason(e: BaseException) -> str:
    return "".join(traceback.format_exception_only(type(e), e)).strip().splitlines()[-1][:500]


def _error_verdict(e: BaseException, mode: str) -> dict:
    sys.stderr.write(_traceback_text(e))
    name, reason = type(e).__name__, _reason(e)
    ignorable = mode == "runs" and name in ENV_ERRORS
    return {"ok": ignorable, "error_class": name,
            "reason": f"environment error ignored: {reason}" if ignorable else reason}


def _report(fd: int, verdict: dict) -> None:
    """Details for the zygote, then the exit status that is the verdict."""
    proxy.flush()
    try:
        os.write(fd, (json.dumps(verdict) + "\n").encode())
    except OSError:  # the program closed it: the exit status still tells
        pass
    os._exit(0 if verdict["ok"] else 1)


def prepare() -> None:
    """Once, in the zygote: what every Python run (and the tests server) forked from it starts
    with, rather than each setting it up itself at the price of a page copy for every object
    it touches (40 of a run's 400)."""
    sys.argv = ["solution.py"]  # the solution's, not the zygote's command line
    sys.setrecursionlimit = _setrecursionlimit
    # A run is init of its pid namespace, which the kernel spares from signals it has no
    # handler for: end it at the soft CPU limit here (the hard limit is a SIGKILL anyway).
    _signal.signal(_signal.SIGXCPU, _end_at_cpu_limit)


def _end_at_cpu_limit(*_) -> None:
    os._exit(128 + _signal.SIGXCPU)


_set_recursion_limit = sys.setrecursionlimit


# sys.setrecursionlimit takes at most what the memory limit holds. Python 3.11 calls between
# Python functions use no C stack: a program that raises the limit to 10**7 would fill its
# memory with frames, and unwinding millions of frames that cannot allocate their traceback
# burns the whole CPU budget; capped, it gets its RecursionError in a fraction of a second, as
# it would have by a C stack overflow in earlier Pythons.
def _setrecursionlimit(limit: int) -> None:
    memory = resource.getrlimit(resource.RLIMIT_AS)[0]
    cap = sys.maxsize if memory == resource.RLIM_INFINITY else max(memory // FRAME_BYTES, 1000)
    _set_recursion_limit(min(limit, cap))


_setrecursionlimit.__doc__ = _set_recursion_limit.__doc__


def _main_namespace() -> dict:
    """Globals of a real __main__ module, so that pickle finds the solution's functions by
    name (multiprocessing sends them so)."""
    main = types.ModuleType("__main__")
    main.__builtins__ = builtins
    sys.modules["__main__"] = main
    return main.__dict__


def run(code: str, mode: str, details_fd: int) -> None:
    """Execute the program alone and exit as it ended; never returns (os._exit)."""
    try:
        exec(compile(code, "<solution>", "exec"), _main_namespace())
        verdict = {"ok": True}
    except SystemExit as e:
        clean = e.code in (None, 0)
        verdict = {"ok": clean, "error_class": None if clean else "SystemExit",
                   "reason": None if clean else f"exit status {e.code!r}"}
    except BaseException as e:  # noqa: BLE001 - every exception is a verdict
        verdict = _error_verdict(e, mode)
    threading = sys.modules.get("threading")
    if threading is not None:  # as the interpreter does at exit: a thread still working is not done
        try:
            threading._shutdown()
        except BaseException:  # noqa: BLE001 - the program's own end decides
            pass
    _report(details_fd, verdict)


def serve(code: str, requests: int, replies: int) -> None:
    """The solution process: execute the solution, then answer the tests' calls; never returns."""
    proxy.serve(code, _main_namespace(), requests, replies)
    os._exit(0)


# -- the tests server ----------------------------------------------------------------------------

def tests_server(sock) -> None:
    """Run each job's tests against its solution process; never returns.

    A job comes on `sock` as a framed JSON message ({"job", "memory_mb", "cwd"}) carrying
    five fds (the run's stdout and stderr, the pipes to and from the solution process, a pipe
    of the tests' text); the reply is {"job", "verdict", "cpu_s", "retire", "cpu_total"}, the
    verdict None when the solution process ended before the tests did (the zygote, which reaps
    it, knows how), retire true when the tests changed the interpreter in a way that is not put
    back (the zygote replaces the server), cpu_total the CPU seconds of the server and the
    children it reaped so far (where the zygote counts the next job's tests from).
    """
    import _socket  # noqa: PLC0415 - loaded by the zygote already

    sys.setrecursionlimit = _set_recursion_limit  # the cap of pyrun.prepare is the solution's
    state = _Interpreter()
    while True:
        try:
            head, fds = _recv_fds(sock, 4, 5)
            if not head or len(fds) != 5:
                os._exit(0)  # the zygote is gone
            if len(head) < 4:
                head += sock.recv(4 - len(head), _socket.MSG_WAITALL)
            body = sock.recv(int.from_bytes(head, "big"), _socket.MSG_WAITALL)
            task = json.loads(body)
            out_fd, err_fd, requests, replies, tests_fd = fds
            tests = _read_to_end(tests_fd).decode("utf-8", "surrogatepass")
            os.close(tests_fd)
        except (OSError, ValueError):
            os._exit(0)
        os.dup2(out_fd, 1)
        os.dup2(err_fd, 2)
        os.close(out_fd)
        os.close(err_fd)
        # The tests run where the solution runs (they may read what it wrote), with its limits.
        os.chdir(task["cwd"])  # (HOME and TMPDIR, the zygote's, name it already)
        if task["memory_mb"]:
            resource.setrlimit(resource.RLIMIT_AS, (task["memory_mb"] * 1024 * 1024, resource.RLIM_INFINITY))
        cpu = _cpu()
        verdict = _run_tests(proxy.Solution(requests, replies), tests)
        proxy.flush()
        cpu = _cpu() - cpu
        for fd in (requests, replies):
            os.close(fd)
        retire = not state.restore()
        sock.sendall(zygote.frame({"job": task["job"], "verdict": verdict, "cpu_s": cpu, "retire": retire,
                                   "cpu_total": _cpu() + _cpu(resource.RUSAGE_CHILDREN)}))


def _read_to_end(fd: int) -> bytes:
    chunks = []
    while chunk := os.read(fd, 1 << 16):
        chunks.append(chunk)
    return b"".join(chunks)


def _recv_fds(sock, size: int, most: int) -> tuple[bytes, list[int]]:
    """Up to `size` bytes and the fds (at most `most`) that came with them."""
    import _socket  # noqa: PLC0415

    data, ancillary, _, _ = sock.recvmsg(size, _socket.CMSG_LEN(most * 4))
    fds = []
    for level, kind, payload in ancillary:
        if level == _socket.SOL_SOCKET and kind == _socket.SCM_RIGHTS:
            fds += memoryview(payload)[:len(payload) - len(payload) % 4].cast("i").tolist()
    return data, fds


# sys attributes the tests may set that are put back by name; every other one must be as it was.
SYS_PUT_BACK = ("stdin", "stdout", "stderr", "displayhook", "excepthook", "breakpointhook", "unraisablehook",
                "argv", "path", "meta_path", "path_hooks")
# Function attributes whose change the interpreter reports to audit hooks (a class's or a
# module's attributes are compared instead: setting them is not audited).
AUDITED_FUNCTION_ATTRS = ("__code__", "__defaults__", "__kwdefaults__")


class _Interpreter:
    """What a job's tests may change in the tests server's interpreter, so that no job's tests
    change the next job's verdict: what is cheap to put back is put back; anything else that
    changed (see the module's docstring) retires the server, and the next job gets a fresh
    one. Built once per server, after which it is the reference state."""

    def __init__(self) -> None:
        import random  # noqa: PLC0415 - in zygote.PRELOAD
        import warnings  # noqa: PLC0415 - loaded with the interpreter

        self.builtins = dict(builtins.__dict__)
        self.names = set(sys.modules)
        self.modules = {name: m for name, m in sys.modules.items()
                        if name not in ("builtins", "sys") and isinstance(getattr(m, "__dict__", None), dict)}
        self.sys = {name: getattr(sys, name) for name in SYS_PUT_BACK}
        self.sys_rest = {k: v for k, v in vars(sys).items() if k not in SYS_PUT_BACK}
        self.argv, self.path = list(sys.argv), list(sys.path)
        self.meta_path, self.path_hooks = list(sys.meta_path), list(sys.path_hooks)
        # The attributes of modules, of classes of Python code (those of C code are immutable)
        # and of module-level objects, each compared with a copy after every job. That is
        # some ten thousand entries: the check runs in C (map, all) over flat lists, the live
        # mappings (a class's mappingproxy is a view of its dict) beside their copies.
        classes = _heap_types()
        self.instances, functions = [], set()
        for m in self.modules.values():
            for v in vars(m).values():
                if isinstance(v, types.FunctionType):
                    functions.add(id(v))
                elif not isinstance(v, (type, types.ModuleType)) and isinstance(getattr(v, "__dict__", None), dict):
                    self.instances.append(v)
        self.instance_dicts = [vars(v) for v in self.instances]  # an object's __dict__ can be replaced
        self.mappings = [*map(vars, self.modules.values()), *map(vars, classes), *self.instance_dicts]
        self.copies = list(map(dict, self.mappings))
        for names in self.copies:
            functions.update(id(v) for v in names.values() if isinstance(v, types.FunctionType))
        self.recursion_limit = sys.getrecursionlimit()
        self.int_digits = sys.get_int_max_str_digits()
        self.switch_interval = sys.getswitchinterval()
        self.gc = gc.get_threshold(), gc.get_debug()
        self.gc_callbacks = list(gc.callbacks)
        self.limits = {res: resource.getrlimit(res) for res in _rlimits()}
        self.environ = dict(os.environ)
        self.cwd = os.getcwd()
        self.umask = os.umask(0o022)
        os.umask(self.umask)
        # (`_signal`: `signal`'s wrappers would make an enum of each handler, each job)
        self.handlers = {sig: _signal.getsignal(sig) for sig in _signal.valid_signals()
                         if sig not in (_signal.SIGKILL, _signal.SIGSTOP) and _signal.getsignal(sig) is not None}
        self.warnings = list(warnings.filters)
        self.seed = random.seed  # the module's generator, seeded afresh for each job
        self.fds = _fds()
        # An audit hook can't be removed, and these changes can't be seen otherwise: hooks see
        # sys.addaudithook (ours first, as it is the first) and function attributes being set.
        hooked = self.hooked = []

        def hook(event: str, args: tuple) -> None:
            if event == "sys.addaudithook" or (event == "object.__setattr__" and id(args[0]) in functions
                                               and args[1] in AUDITED_FUNCTION_ATTRS):
                hooked.append(event)

        sys.addaudithook(hook)
        # The reference state is never garbage: kept out of the collection after each job.
        gc.freeze()

    def restore(self) -> bool:
        """Put back what the tests changed; False if something can't be put back."""
        import _thread  # noqa: PLC0415
        import warnings  # noqa: PLC0415

        sys.settrace(None)
        sys.setprofile(None)
        builtins.__dict__.clear()
        builtins.__dict__.update(self.builtins)
        for name, value in self.sys.items():
            setattr(sys, name, value)
        sys.argv, sys.path[:] = list(self.argv), self.path
        sys.meta_path[:], sys.path_hooks[:] = self.meta_path, self.path_hooks
        _set_recursion_limit(self.recursion_limit)
        sys.set_int_max_str_digits(self.int_digits)
        sys.setswitchinterval(self.switch_interval)
        gc.set_threshold(*self.gc[0])
        gc.set_debug(self.gc[1])
        if os.environ != self.environ:
            for name in os.environ.keys() - self.environ.keys():
                del os.environ[name]
            for name, value in self.environ.items():
                if os.environ.get(name) != value:
                    os.environ[name] = value
        os.chdir(self.cwd)
        os.umask(self.umask)
        for timer in (signal.ITIMER_REAL, signal.ITIMER_VIRTUAL, signal.ITIMER_PROF):
            signal.setitimer(timer, 0)  # signal.alarm() too
        signal.set_wakeup_fd(-1)
        for sig, handler in self.handlers.items():
            if _signal.getsignal(sig) is not handler:
                _signal.signal(sig, handler)
        if warnings.filters != self.warnings:
            warnings.filters[:] = self.warnings
            warnings._filters_mutated()
        clean = not self.hooked
        for res, limit in self.limits.items():
            if resource.getrlimit(res) != limit:
                try:
                    resource.setrlimit(res, limit)
                except (OSError, ValueError):  # a hard limit lowered
                    clean = False
        self.seed()
        if gc.callbacks != self.gc_callbacks:
            gc.callbacks[:] = self.gc_callbacks
        clean = clean and gc.isenabled() and _thread._count() == 0 and not _children() and _fds() == self.fds
        gc.enable()
        try:
            return clean and sys.modules.keys() == self.names and all(
                map(operator.is_, map(sys.modules.get, self.modules), self.modules.values())) and all(
                map(operator.is_, map(vars, self.instances), self.instance_dicts)) and all(
                map(operator.eq, self.mappings, self.copies)) and {
                k: v for k, v in vars(sys).items() if k not in SYS_PUT_BACK} == self.sys_rest
        except Exception:  # noqa: BLE001 - a value the tests set that can't even be compared
            return False


IMMUTABLE_TYPE = 1 << 8  # Py_TPFLAGS_IMMUTABLETYPE


def _heap_types() -> list[type]:
    """Every class whose attributes can be set (defined in Python, not C)."""
    found, todo, seen = [], [object], set()
    while todo:
        for c in type.__subclasses__(todo.pop()):
            if id(c) not in seen:
                seen.add(id(c))
                todo.append(c)
                if not c.__flags__ & IMMUTABLE_TYPE:
                    found.append(c)
    return found


def _rlimits() -> list[int]:
    return [getattr(resource, name) for name in dir(resource) if name.startswith("RLIMIT_")]


def _fds() -> set[str]:
    return set(os.listdir("/proc/self/fd"))


def _children() -> bool:
    """Whether this process has children (the tests started a process and left it)."""
    try:
        return os.waitpid(-1, os.WNOHANG) is not None
    except ChildProcessError:
        return False


def _cpu(who: int = resource.RUSAGE_SELF) -> float:
    r = resource.getrusage(who)
    return r.ru_utime + r.ru_stime


def _run_tests(solution: proxy.Solution, tests: str) -> dict | None:
    """The verdict; None when the solution process ended (exit, signal) before the tests."""
    namespace = None
    try:
        namespace = solution.tests_globals()
        exec(compile(tests, "<tests>", "exec"), namespace)
        verdict = {"ok": True}
    except BaseException as e:  # noqa: BLE001 - every exception is a verdict
        verdict = _tests_verdict(solution.ended or e)
    else:
        if solution.ended is not None:  # caught by the tests' bare except: the run failed all the same
            verdict = _tests_verdict(solution.ended)
    finally:
        # What the tests left in reference cycles (their functions and globals, objects of
        # their classes, files) goes now, in the job: its finalizers run with their globals,
        # the job's output and solution still there, and before the state is put back and
        # checked; not at a full collection hundreds of jobs later, in another job's tests.
        namespace = None
        gc.collect()
        solution.close()  # the references to the solution and their peer: a cycle too
    return verdict


def _tests_verdict(e: BaseException) -> dict | None:
    if isinstance(e, SolutionExit):
        return {"ok": False, "error_class": "SystemExit",
                "reason": f"the solution called exit({e.args[0]!r}) before the tests finished"}
    if isinstance(e, SolutionEnded):
        if e.args[0] is None:
            return None
        return {"ok": False, "error_class": None, "reason": str(e)}
    if isinstance(e, SystemExit):  # the tests' own verdict
        clean = e.code in (None, 0)
        return {"ok": clean, "error_class": None if clean else "SystemExit",
                "reason": None if clean else f"exit status {e.code!r}"}
    remote = getattr(e, "solution_traceback", None)
    verdict = _error_verdict(e, "tests")
    if remote:
        sys.stderr.write("\nraised in the solution:\n" + remote)
    return verdict
