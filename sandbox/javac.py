"""The zygote's side of the Java compile server (sandbox/java/SodaJavac.java).

A cold `javac` costs about a CPU-second per program; one warm compiler per slot makes it a
few tens of milliseconds. The server runs as its own unprivileged uid inside the zygote's
jail, reads sources and returns class files over pipes; the zygote writes them into the
run dir. A compilation that overruns its time is killed with the server, which restarts
on the next Java job, so no compilation can affect the next one.
"""

from __future__ import annotations

import os
import resource
import select
import signal
import struct
import subprocess
import time

from sandbox import jail


class CompileTimeout(Exception):
    pass


class JavacServer:
    def __init__(self, uid: int, cache: str) -> None:
        def confine() -> None:
            jail.drop_privileges(uid, {resource.RLIMIT_NPROC: 256, resource.RLIMIT_CORE: 0,
                                       resource.RLIMIT_FSIZE: 0})  # it never writes a file

        self.proc = subprocess.Popen(
            ["java", "-Xmx1g", "-Xss16m", "-XX:+UseSerialGC", "-Xshare:auto", "-XX:-UsePerfData",
             "-cp", cache, "SodaJavac"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
            cwd="/", env={"PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8"}, preexec_fn=confine)

    def compile(self, sources: dict[str, str], timeout_s: float) -> tuple[bool, str, dict[str, bytes], set[str], float]:
        """(compiled, diagnostics, {class name: bytes}, simple names of compiled classes that are also
        names of the JDK's common packages, CPU seconds the compilation took)."""
        cpu_before = jail.cpu_of(self.proc.pid)
        msg = struct.pack(">i", len(sources))
        for name, text in sources.items():
            msg += _bytes(name.encode()) + _bytes(text.encode("utf-8", "replace"))
        deadline = time.monotonic() + timeout_s
        self.proc.stdin.write(msg)
        self.proc.stdin.flush()
        fd = self.proc.stdout.fileno()
        status = self._int(fd, deadline)
        diagnostics = self._bytes(fd, deadline).decode("utf-8", "replace")
        classes = {}
        for _ in range(self._int(fd, deadline)):
            name = self._bytes(fd, deadline).decode()
            classes[name] = self._bytes(fd, deadline)
        shadows = {self._bytes(fd, deadline).decode() for _ in range(self._int(fd, deadline))}
        return status == 0, diagnostics, classes, shadows, jail.cpu_of(self.proc.pid) - cpu_before

    def _exact(self, fd: int, n: int, deadline: float) -> bytes:
        buf = bytearray()
        while len(buf) < n:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                raise CompileTimeout
            chunk = os.read(fd, n - len(buf))
            if not chunk:
                raise CompileTimeout  # the server died (out of memory, killed)
            buf += chunk
        return bytes(buf)

    def _int(self, fd: int, deadline: float) -> int:
        return struct.unpack(">i", self._exact(fd, 4, deadline))[0]

    def _bytes(self, fd: int, deadline: float) -> bytes:
        return self._exact(fd, self._int(fd, deadline), deadline)

    def close(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()


def _bytes(b: bytes) -> bytes:
    return struct.pack(">i", len(b)) + b
