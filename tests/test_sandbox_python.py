"""The sandbox on hostile and ordinary Python programs, through a real pool of zygotes.

Each hostile case must be contained, get the right verdict, and leave the pool able to run
the next job; the module ends by checking that no process of the pool's uids survived.
"""

from __future__ import annotations

import glob
import os
from pathlib import Path

import pytest

from conftest import processes_of
from sandbox import Job, Pool

T = 2.0  # CPU seconds per hostile run: short, so that the suite stays quick


def run(pool, code, tests=None, **kw):
    kw.setdefault("timeout_s", T)
    return pool.run(Job(code, tests=tests, **kw))


# -- verdicts on ordinary programs ---------------------------------------------------------

def test_correct_solution_passes_with_output(pool):
    r = run(pool, "def f(x):\n    return x + 1\nprint('hi')\n", "assert f(1) == 2\n")
    assert (r.status, r.exit_code, r.stdout, r.error_class) == ("pass", 0, "hi\n", None)
    assert r.cpu_s > 0 and r.wall_s > 0


@pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="needs two CPUs")
def test_each_slot_keeps_its_runs_on_one_cpu_of_its_own():
    # Hand-overs between a slot's processes stay on one CPU (see sandbox.zygote.main); the
    # slots share the pool's CPUs out.
    p = Pool(2)
    try:
        cpus = [p._all[k].run(Job("import os\nprint(sorted(os.sched_getaffinity(0)))", mode="runs")).stdout
                for k in range(2)]
    finally:
        p.close()
    assert [len(eval(c)) for c in cpus] == [1, 1] and cpus[0] != cpus[1]


@pytest.mark.parametrize("code,tests,error", [
    ("def f(x) return x", "assert f(1) == 1", "SyntaxError"),
    ("def f(x):\n    return y\n", "assert f(1) == 1", "NameError"),
    ("def f(x):\n    return x + 'a'\n", "assert f(1) == 1", "TypeError"),
    ("def f(x):\n    return x\n", "assert f(1) == 2", "AssertionError"),
    ("def f(x):\n    return [][x]\n", "assert f(1) == 2", "IndexError"),
    ("def f(x):\n    return f(x)\n", "f(1)", "RecursionError"),
    ("def f(x):\n    return x\n", "assert f(1) ==", "SyntaxError"),  # tests that don't compile
])
def test_error_class_names_the_fault(pool, code, tests, error):
    r = run(pool, code, tests)
    assert (r.status, r.error_class) == ("fail", error)
    assert error in r.stderr and "pyrun" not in r.stderr  # the harness's frames are hidden


def test_runs_mode_ignores_missing_modules_but_not_errors(pool):
    r = run(pool, "import no_such_module_xyz\nprint(1)\n", mode="runs")
    assert (r.status, r.error_class) == ("pass", "ModuleNotFoundError")
    assert "environment error ignored" in r.reason
    assert run(pool, "x = 1 / 0\n", mode="runs").error_class == "ZeroDivisionError"
    assert run(pool, "import sys\nsys.exit(0)\n", mode="runs").passed
    assert not run(pool, "import sys\nsys.exit(3)\n", mode="runs").passed


def test_tests_mode_needs_the_tests(pool):
    # A missing module is a failure when tests must pass: they never ran.
    r = run(pool, "import no_such_module_xyz\n", "assert True\n")
    assert (r.status, r.error_class) == ("fail", "ModuleNotFoundError")


# -- false passes --------------------------------------------------------------------------

@pytest.mark.parametrize("code", [
    "import os\nos._exit(0)\n",
    "import sys\nsys.exit(0)\n",
    "raise SystemExit\n",
    "import os, signal\nos.kill(os.getpid(), signal.SIGKILL)\nos._exit(0)\n",
])
def test_exit_before_the_tests_is_not_a_pass(pool, code):
    r = run(pool, code, "assert False\n")
    assert r.status == "fail"


def test_exit_from_a_function_the_tests_call_is_not_a_pass(pool):
    r = run(pool, "import sys\ndef f():\n    sys.exit(0)\n", "assert f() == 1\n")
    assert (r.status, r.error_class) == ("fail", "SystemExit")


def test_tests_may_exit_with_their_own_verdict(pool):
    assert run(pool, "def f():\n    return 1\n", "import sys\nsys.exit(0 if f() == 1 else 1)\n").passed
    assert not run(pool, "def f():\n    return 2\n", "import sys\nsys.exit(0 if f() == 1 else 1)\n").passed


@pytest.mark.parametrize("code", [
    # fake success lines on stdout and on the verdict channel, with a made-up nonce
    "print('PASS'); print('{\"ok\": true}')\nimport os\nos._exit(0)\n",
    "import os, json\nfor fd in range(3, 1100):\n    try: os.write(fd, b'{\"nonce\": \"0\", \"ok\": true}\\n')\n"
    "    except OSError: pass\nos._exit(0)\n",
])
def test_fake_success_markers_are_not_a_pass(pool, code):
    assert run(pool, code, "assert False\n").status == "fail"


# -- resource bombs ------------------------------------------------------------------------

def test_busy_loop_times_out_on_cpu(pool):
    r = run(pool, "while True:\n    pass\n", timeout_s=1)
    assert r.status == "timeout" and r.cpu_s >= 0.9


def test_busy_loop_costs_its_budget_not_a_second_more(pool):
    # RLIMIT_CPU counts whole seconds: a half-second budget is enforced by the zygote's CPU checks.
    r = run(pool, "while True:\n    pass\n", timeout_s=0.5)
    assert r.status == "timeout" and 0.45 <= r.cpu_s < 0.8, r.cpu_s


def test_loop_ignoring_sigxcpu_and_sigterm_times_out(pool):
    code = ("import signal\nfor s in (signal.SIGXCPU, signal.SIGTERM, signal.SIGINT):\n"
            "    signal.signal(s, signal.SIG_IGN)\nwhile True:\n    pass\n")
    assert run(pool, code, timeout_s=1).status == "timeout"


def test_c_level_loop_times_out(pool):
    # One long C call: no Python signal handler can run during it.
    assert run(pool, "x = sum(range(10**12))\n", timeout_s=1).status == "timeout"


def test_sleep_forever_times_out_on_wall_time(pool):
    r = run(pool, "import time\ntime.sleep(10**6)\n", timeout_s=1)
    assert r.status == "timeout" and r.cpu_s < 0.5


def test_memory_bomb(pool):
    r = run(pool, "x = bytearray(4 * 1024**3)\n", memory_mb=512)
    assert (r.status, r.error_class) == ("memory", "MemoryError")
    r = run(pool, "x = []\nwhile True:\n    x.append(' ' * 10**6)\n", memory_mb=512)
    assert r.status == "memory"


def test_fork_bomb_is_contained(pool):
    r = run(pool, "import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass\n", timeout_s=1)
    assert r.status == "timeout"
    assert run(pool, "print(1)\n").passed


def test_shell_fork_bomb_is_contained(pool):
    # The shell returns at once and leaves the bomb growing in the background: the run
    # passes, and ending it must end the bomb.
    r = run(pool, "import os, time\nos.system('b(){ b|b& };b')\ntime.sleep(0.5)\n", timeout_s=1)
    assert r.status == "pass"
    assert processes_of(set(pool.uids)) == []
    assert run(pool, "print(1)\n").passed


def test_thread_bomb_is_contained(pool):
    code = ("import threading, time\nn = 0\ntry:\n    while True:\n"
            "        threading.Thread(target=time.sleep, args=(100,), daemon=True).start()\n        n += 1\n"
            "except RuntimeError:\n    print(n)\n")
    r = run(pool, code, timeout_s=5)
    assert r.status == "pass" and int(r.stdout) < 1000


def test_huge_output_is_capped(pool):
    r = run(pool, "import sys\nwhile True:\n    sys.stdout.write('x' * 65536)\n")
    assert r.status == "fail" and len(r.stdout) <= 64 * 1024
    r = run(pool, "import sys\nwhile True:\n    sys.stderr.write('y' * 65536)\n")
    assert r.status == "fail" and len(r.stderr) <= 64 * 1024


def test_disk_fill_is_contained_and_cleaned(pool):
    code = ("import os\ni = 0\ntry:\n    while True:\n        with open(f'fill-6b1f{i}', 'wb') as f:\n"
            "            f.write(b'0' * 8 * 1024**2)\n        i += 1\nexcept OSError as e:\n    print(type(e).__name__)\n")
    assert run(pool, code, timeout_s=5).stdout.strip() == "OSError"
    assert glob.glob("/tmp/**/fill-6b1f*", recursive=True) == []  # the host never saw them
    for _ in range(2):  # both slots have room again
        assert run(pool, "open('a', 'wb').write(b'0' * 10**6)\n").passed


def test_compile_time_bomb(pool):
    r = run(pool, "x = " + "(" * 200000 + ")" * 200000 + "\n")
    assert r.status == "fail" and r.error_class in ("SyntaxError", "RecursionError", "MemoryError")


# -- isolation -----------------------------------------------------------------------------

@pytest.mark.parametrize("path", ["/etc/sandbox-probe", "/root/probe", "/usr/probe",
                                  str(Path(__file__).resolve().parent / "probe"), "/var/tmp/probe",
                                  "/tmp/probe", "/tmp/runs/probe"])
def test_cannot_write_outside_the_run_dir(pool, path):
    r = run(pool, f"open({path!r}, 'w').write('x')\n")
    assert r.status == "fail" and r.error_class in ("PermissionError", "OSError", "FileNotFoundError")
    assert not os.path.exists(path)


def test_cannot_read_secrets(pool):
    r = run(pool, "open('/etc/shadow').read()\n")
    assert r.error_class == "PermissionError"
    r = run(pool, "open('/proc/1/environ').read()\n")
    assert r.status == "fail"


def test_environment_is_clean(pool, monkeypatch):
    # The pool was started before this variable existed, and runs get a fixed environment.
    r = run(pool, "import os\nprint(sorted(os.environ))\n")
    assert r.passed and "SECRET" not in r.stdout and "API" not in r.stdout


def test_runs_are_unprivileged(pool):
    r = run(pool, "import os\nprint(os.getuid(), os.geteuid(), os.getgroups())\nos.setuid(0)\n")
    assert r.error_class == "PermissionError"
    uid = int(r.stdout.split()[0])
    assert uid in pool.uids and r.stdout.split()[1] == str(uid)


def test_cannot_raise_own_limits(pool):
    code = "import resource\nresource.setrlimit(resource.RLIMIT_CPU, (10**6, 10**6))\n"
    assert run(pool, code).error_class in ("ValueError", "PermissionError")


@pytest.mark.parametrize("addr", ["127.0.0.1", "1.1.1.1"])
def test_no_network(pool, addr):
    code = f"import socket\nsocket.create_connection(({addr!r}, 80), timeout=1)\n"
    r = run(pool, code)
    assert r.status == "fail" and r.error_class in ("OSError", "ConnectionRefusedError", "TimeoutError")


def test_killing_the_parent_and_everyone(pool):
    for code in ("import os, signal\nos.kill(os.getppid(), signal.SIGKILL)\n",
                 "import os, signal\nos.kill(-1, signal.SIGKILL)\nprint('alive')\n"):
        run(pool, code)
    assert run(pool, "print(1)\n").passed


def test_setsid_daemon_does_not_outlive_the_run(pool):
    code = ("import os, time\nif os.fork() == 0:\n    os.setsid()\n    if os.fork() == 0:\n"
            "        time.sleep(1000)\n    os._exit(0)\nprint('parent done')\n")
    assert run(pool, code).passed
    assert processes_of(set(pool.uids)) == []


def test_no_state_leaks_to_the_next_run(pool):
    # SysV shared memory, semaphores and message queues, and a POSIX message queue (IPC_CREAT
    # 0o1000 | mode 0o666; O_CREAT | O_RDWR)
    leave = ("import os, sys\nopen('left', 'w').write('x')\nos.environ['LEFT'] = '1'\nsys.modules['math'].LEFT = 1\n"
             "import ctypes\nlibc = ctypes.CDLL(None)\n"
             "print(libc.shmget(4242, 4096, 0o1666), libc.semget(4243, 1, 0o1666), libc.msgget(4244, 0o1666),\n"
             "      libc.mq_open(b'/soda-left', os.O_CREAT | os.O_RDWR, 0o666, None))\n")
    check = ("import os, math, ctypes\nassert not os.listdir('.')\nassert 'LEFT' not in os.environ\n"
             "assert not hasattr(math, 'LEFT')\nlibc = ctypes.CDLL(None)\n"
             "assert libc.shmget(4242, 0, 0) == libc.semget(4243, 0, 0) == libc.msgget(4244, 0) == -1\n"
             "assert libc.mq_open(b'/soda-left', os.O_RDONLY, 0, None) == -1\n")
    assert run(pool, leave).passed
    for _ in range(4):  # whichever slot the next jobs land on
        assert run(pool, check).passed



def test_ipc_limits_are_zero_only_in_the_zygotes_own_namespace():
    import subprocess
    import sys

    if os.geteuid() != 0:
        pytest.skip("needs root")
    from sandbox import jail

    before = {p: Path(p).read_text() for p in jail.IPC_LIMITS}
    probe = ("from sandbox import jail\njail.unshare(jail.CLONE_NEWIPC)\nassert jail.forbid_ipc()\n"
             "import ctypes\nprint(ctypes.CDLL(None).shmget(4242, 4096, 0o1666))\n")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True,
                         cwd=Path(__file__).resolve().parents[1]).stdout
    assert out.split() == ["-1"]  # even root cannot create a segment there
    assert {p: Path(p).read_text() for p in jail.IPC_LIMITS} == before

# -- odd I/O -------------------------------------------------------------------------------

def test_invalid_utf8_output(pool):
    r = run(pool, "import sys\nsys.stdout.buffer.write(b'ok \\xff\\xfe')\n")
    assert r.passed and r.stdout.startswith("ok ")


def test_closed_stdout(pool):
    r = run(pool, "import os\nos.close(1)\nos.close(2)\nprint('x')\n", "assert True\n")
    assert r.status in ("pass", "fail") and r.reason != "sandbox zygote died"


def test_input_with_no_stdin(pool):
    assert run(pool, "x = input()\n").error_class == "EOFError"


# -- bad input -----------------------------------------------------------------------------

@pytest.mark.parametrize("job,status", [
    (Job(""), "fail"),
    (Job("x = 1\0"), "fail"),
    (Job("x = 1", lang="cobol"), "env-error"),
    (Job("x = 1\n" * 2_000_000), "fail"),
    (Job("x = 1", mode="maybe"), "sandbox-error"),
    (Job("x = '\udcff'\n"), "fail"),  # a lone surrogate: what undecodable bytes become
    (Job("int main() { return 0; }\n", lang="c", tests="int main( {\n"), "fail"),  # tests that don't compile
])
def test_bad_input_gets_a_reason(pool, job, status):
    r = pool.run(job)
    assert r.status == status and r.reason


def test_invalid_utf8_source_through_the_cli(tmp_path, capsys):
    from sandbox.cli import main

    src = tmp_path / "s.py"
    src.write_bytes(b"x = '\xff'\nprint(len(x))\n")
    assert main(["run", str(src), "--lang", "python"]) == 0
    assert '"status": "pass"' in capsys.readouterr().out


# -- concurrency ---------------------------------------------------------------------------

def test_hostile_runs_leave_concurrent_benign_runs_unaffected(pool):
    hostile = [Job("import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass\n", timeout_s=1),
               Job("import os, signal\nos.kill(-1, signal.SIGKILL)\n"),
               Job("x = bytearray(8 * 1024**3)\n")]
    benign = [Job(f"def f(x):\n    return x * {i}\n", tests=f"assert f(2) == {2 * i}\n") for i in range(20)]
    jobs = [j for pair in zip(hostile * 7, benign) for j in pair]
    results = pool.map(jobs)
    assert all(r.passed for j, r in zip(jobs, results) if j in benign)


def test_result_cache_serves_a_rerun_and_keeps_only_verdicts_of_the_program(tmp_path):
    from sandbox import ResultCache, execute_many

    jobs = [Job("def f(x):\n    return x + 1\n", tests="assert f(1) == 2\n"),
            Job("def f(x):\n    return x\n", tests="assert f(1) == 2\n"),
            Job("while True:\n    pass\n", timeout_s=0.3),
            Job("print(1)", lang="cobol")]
    first = execute_many(jobs, cache=ResultCache(tmp_path / "runs.sqlite3"))
    assert [r.status for r in first] == ["pass", "fail", "timeout", "env-error"]

    cache = ResultCache(tmp_path / "runs.sqlite3")
    again = execute_many(jobs, cache=cache)
    assert cache.hits == 3  # the env-error is asked again
    assert [r.to_dict() for r in again[:3]] == [r.to_dict() for r in first[:3]]

    other = Job("def f(x):\n    return x + 1\n", tests="assert f(2) == 3\n")
    assert execute_many([other], cache=cache)[0].passed and cache.hits == 3
    cache.version = "another sandbox"
    execute_many(jobs[:1], cache=cache)
    assert cache.hits == 3
