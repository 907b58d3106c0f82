"""Linux confinement primitives used by the zygote: namespaces, mounts, limits, uid drop.

The zygote (a root process, under bubblewrap: see pool._jail_prefix) enters private
network/mount/ipc/uts namespaces once, then puts every run in a fresh pid namespace: when a
run's init dies the kernel kills everything the run spawned, double-forked setsid daemons
included. The zygote itself is pid 1 of a pid namespace of its own (bubblewrap's
--as-pid-1): when it ends, however, the kernel kills every process of that namespace, which
holds the runs' namespaces and the slot's tests and compile servers.
Bubblewrap also sets no_new_privs, which every process under it inherits: no setuid binary
(su, mount, ...) gives a run privileges back. A run's process so makes no prctl (nor any
other libc call through ctypes, whose first use in a fresh fork copies some 70 pages).
"""

from __future__ import annotations

import ctypes
import os
import resource

_libc = ctypes.CDLL(None, use_errno=True)

CLONE_NEWNS = 0x00020000
CLONE_NEWUTS = 0x04000000
CLONE_NEWIPC = 0x08000000
CLONE_NEWNET = 0x40000000
CLONE_NEWPID = 0x20000000
MS_RDONLY = 0x1
MS_NOSUID = 0x2
MS_NODEV = 0x4
MS_NOEXEC = 0x8
MS_REC = 0x4000
MS_PRIVATE = 0x40000
MNT_DETACH = 2
PR_SET_DUMPABLE = 4

# Directories every user may write to: each gets a private tmpfs so nothing written there
# survives the zygote or is seen by another slot. /tmp additionally holds the run dirs; the
# others are read-only, except /dev/shm, which the zygote empties after every job.
READONLY_SHARED = ("/var/tmp", "/run/lock")
SHM, SHM_MB, SHM_MODE = "/dev/shm", 64, "1777"


def _check(ret: int, what: str) -> None:
    if ret != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def unshare(flags: int) -> None:
    if hasattr(os, "unshare"):  # Python 3.12+
        os.unshare(flags)
    else:
        _check(_libc.unshare(flags), "unshare")


def mount_tmpfs(target: str, size_mb: int, mode: str = "1777", readonly: bool = False) -> None:
    flags = MS_NOSUID | MS_NODEV | (MS_RDONLY if readonly else 0)
    data = f"size={size_mb}m,mode={mode}".encode()
    _check(_libc.mount(b"tmpfs", target.encode(), b"tmpfs", flags, data), f"mount tmpfs on {target}")


def replace_tmpfs(target: str, size_mb: int, mode: str) -> None:
    """A fresh, empty tmpfs in place of the one at `target`, whatever a run left in it (a tree
    too deep to walk, entries of any kind): the old one is detached, and freed once unused."""
    _check(_libc.umount2(target.encode(), MNT_DETACH), f"unmount {target}")
    mount_tmpfs(target, size_mb, mode)


def enter_private_world(tmp_mb: int) -> None:
    """No network, private IPC and hostname, and private writable dirs for this process tree;
    /proc shows a run only its own processes."""
    unshare(CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS)
    # Our mounts must not propagate back to the host.
    _check(_libc.mount(b"none", b"/", None, MS_REC | MS_PRIVATE, None), "make mounts private")
    mount_tmpfs("/tmp", tmp_mb, mode="0755")
    for path in READONLY_SHARED:
        if os.path.isdir(path):
            mount_tmpfs(path, 1, readonly=True)
    # Writable for POSIX shared memory and semaphores (multiprocessing); emptied after each run.
    mount_tmpfs(SHM, SHM_MB, SHM_MODE)
    # A process sees in /proc only those of its own uid (the slot's: its run): no command line,
    # environment or file of any other process.
    _check(_libc.mount(b"proc", b"/proc", b"proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, b"hidepid=invisible"),
           "mount /proc")


# Limits of an IPC namespace, set to 0 in the zygote's own: no SysV shared memory segment,
# semaphore set or message queue, nor a POSIX message queue, can be created there (no
# capability lifts them for an unprivileged run), so no run can leave one for the next.
IPC_LIMITS = {"/proc/sys/kernel/shmmni": "0", "/proc/sys/kernel/msgmni": "0",
              "/proc/sys/kernel/sem": "0 0 0 0", "/proc/sys/fs/mqueue/queues_max": "0"}


def forbid_ipc() -> bool:
    """Set IPC_LIMITS in this process's (private) IPC namespace; False where /proc/sys is
    read-only, and the caller must give each run a fresh IPC namespace instead."""
    try:
        for path, value in IPC_LIMITS.items():
            with open(path, "w") as f:
                f.write(value)
            with open(path) as f:
                if f.read().split() != value.split():
                    return False
    except OSError:
        return False
    return True


class PidNamespaces:
    """Lets one process give each child its own pid namespace, as many times as it likes.

    unshare(CLONE_NEWPID) only affects future children and can't be repeated while the
    previous namespace is pending; re-entering our own namespace with setns resets that.
    """

    def __init__(self) -> None:
        self._own = os.open("/proc/self/ns/pid", os.O_RDONLY | os.O_CLOEXEC)
        self._unshared = False

    def next_child_in_new_namespace(self) -> None:
        if self._unshared:  # callers restore after each fork: this is a backstop (each libc call costs)
            self.restore()
        unshare(CLONE_NEWPID)
        self._unshared = True

    def restore(self) -> None:
        """Children are created in our own pid namespace again (helpers such as javac)."""
        if hasattr(os, "setns"):  # Python 3.12+
            os.setns(self._own, CLONE_NEWPID)
        else:
            _check(_libc.setns(self._own, CLONE_NEWPID), "setns pid")
        self._unshared = False


def not_dumpable() -> None:
    """No process of this uid may ptrace this one or read its /proc/<pid>/mem, fd or environ."""
    _check(_libc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0), "prctl dumpable")


def no_new_privs() -> bool:
    """Whether this process (and so each one it starts) can gain no privileges by execve."""
    with open("/proc/self/status") as f:
        return any(line.split() == ["NoNewPrivs:", "1"] for line in f)


def drop_privileges(uid: int, limits: dict[int, int]) -> None:
    """Final steps in the run's process before untrusted code: own session, limits, uid."""
    os.setsid()
    for res, value in limits.items():
        resource.setrlimit(res, (value, value) if res != resource.RLIMIT_CPU else (value, value + 1))
    os.setgroups([])
    os.setresgid(uid, uid, uid)
    os.setresuid(uid, uid, uid)


def trim_memory() -> None:
    """Return free heap memory to the system (glibc's malloc_trim; elsewhere nothing)."""
    trim = getattr(_libc, "malloc_trim", None)
    if trim is not None:
        trim(0)


def cpu_of(pid: int, children: bool = False) -> float:
    """CPU seconds used so far by a live process (and by the children it reaped)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            fields = f.read().rsplit(b")", 1)[1].split()
    except OSError:
        return 0.0
    return sum(int(x) for x in fields[11:15 if children else 13]) / os.sysconf("SC_CLK_TCK")


def cpu_of_uid(uid: int) -> float:
    """CPU seconds of the live processes of `uid` and of the children they reaped.

    A run's processes all have the slot's uid, so this is the whole run's CPU so far however
    its work is spread (a compiler driver waits while cc1plus works). Slow /proc scan: only
    for wall-time checks.
    """
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            if os.stat(f"/proc/{name}").st_uid != uid:
                continue
            with open(f"/proc/{name}/stat", "rb") as f:
                fields = f.read().rsplit(b")", 1)[1].split()
        except OSError:
            continue
        total += sum(int(x) for x in fields[11:15])  # utime, stime, cutime, cstime
    return total / tick
