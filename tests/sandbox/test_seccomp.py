"""The worker's seccomp filter, one test per syscall family.

Each probe is a fresh process set up exactly as a pool worker sets itself up
(``vipexec.sandbox.isolation.worker._set_up``: limits, /dev/null streams, the filter), which then makes
raw syscalls through ctypes, as a program that escaped the language policy could, and reports
each call's result on a pipe. Signal attempts aim at a ``sleep`` process the test started,
which must survive them.
"""

import errno
import json
import os
import signal
import subprocess
import sys
import textwrap

import pytest

from vipexec.sandbox.isolation import seccomp

pytestmark = pytest.mark.skipif(
    sys.platform != "linux" or os.uname().machine != "x86_64",
    reason="the seccomp filter exists on x86-64 Linux only",
)

SIGKILL = 9

# Runs in the probe process. argv: the calls as JSON, the fd to report on, the target pid,
# "filtered" or "unfiltered". Each call is [syscall number, args]; an arg is an int or a name:
# "siginfo" (a SIGKILL siginfo as sigqueue would send it), "buffer" (256 zero bytes),
# "unlimited" (a struct rlimit of two RLIM_INFINITY), "text" (b"probe"), "procfd" (an fd on
# /proc/TARGET, which pidfd_send_signal accepts), "pipefd" (the read end of a new pipe),
# "target" (the target's pid).
PROBE = textwrap.dedent(
    """
    import ctypes, json, os, sys, threading
    from vipexec.sandbox.isolation.worker import _set_up

    calls, report, target, mode = json.loads(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
    off = _set_up({"seccomp": mode == "filtered", "memory_mb": 256})
    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall.restype = ctypes.c_long
    siginfo = ctypes.create_string_buffer(128)
    ctypes.c_int.from_buffer(siginfo, 0).value = 9    # si_signo = SIGKILL
    ctypes.c_int.from_buffer(siginfo, 8).value = -1   # si_code = SI_QUEUE
    buffer = ctypes.create_string_buffer(256)
    unlimited = ctypes.create_string_buffer(b"\\xff" * 16, 16)  # struct rlimit: both infinite
    text = ctypes.create_string_buffer(b"probe")
    def arg(value):
        if value == "siginfo": return ctypes.addressof(siginfo)
        if value == "buffer": return ctypes.addressof(buffer)
        if value == "unlimited": return ctypes.addressof(unlimited)
        if value == "text": return ctypes.addressof(text)
        if value == "procfd": return os.open(f"/proc/{target}", os.O_RDONLY | os.O_DIRECTORY)
        if value == "pipefd": return os.pipe()[0]
        if value == "target": return target
        return value
    results = []
    for number, args in calls:
        values = [ctypes.c_long(arg(a)) for a in args]
        ctypes.set_errno(0)
        value = libc.syscall(ctypes.c_long(number), *values)
        results.append([value, ctypes.get_errno() if value == -1 else 0])
    thread_ran = []
    thread = threading.Thread(target=lambda: thread_ran.append(True))
    thread.start(); thread.join()
    os.write(report, json.dumps({"off": off, "results": results, "thread": bool(thread_ran)}).encode())
    """
)


def probe(calls, target, *, filtered=True):
    """Run the calls in a worker-like process; returns (seccomp off reason, [(ret, errno)],
    whether a thread could still start)."""
    read_end, write_end = os.pipe()
    try:
        argv = [json.dumps(calls), str(write_end), str(target), "filtered" if filtered else "x"]
        process = subprocess.run(
            [sys.executable, "-c", PROBE, *argv], pass_fds=(write_end,), timeout=60, check=False
        )
        os.close(write_end)
        write_end = None
        with os.fdopen(read_end, "rb") as report:
            data = report.read()
    finally:
        if write_end is not None:
            os.close(write_end)
    assert process.returncode == 0, f"the probe died: {process.returncode}"
    result = json.loads(data)
    return result["off"], [tuple(r) for r in result["results"]], result["thread"]


@pytest.fixture
def target():
    """A process to aim at; the test asserts it survived."""
    sleeper = subprocess.Popen(["sleep", "60"])
    yield sleeper
    sleeper.kill()
    sleeper.wait()


def assert_refused(calls, target, expected=errno.EPERM):
    off, results, thread_ran = probe(calls, target.pid)
    assert off is None, off
    assert results == [(-1, expected)] * len(calls)
    assert thread_ran  # threads are still allowed
    assert target.poll() is None, "the target process was killed"


SIGNALS = {
    "kill": (62, ["target", SIGKILL]),
    "tkill": (200, ["target", SIGKILL]),
    "tgkill": (234, ["target", "target", SIGKILL]),
    "rt_sigqueueinfo": (129, ["target", SIGKILL, "siginfo"]),
    "rt_tgsigqueueinfo": (297, ["target", "target", SIGKILL, "siginfo"]),
    "pidfd_send_signal": (424, ["procfd", SIGKILL, 0, 0]),
}


@pytest.mark.parametrize("name", SIGNALS)
def test_signals_to_another_process_are_refused(target, name):
    assert_refused([list(SIGNALS[name])], target)


@pytest.mark.parametrize("name", ["rt_sigqueueinfo", "pidfd_send_signal"])
def test_the_signal_probes_kill_without_the_filter(target, name):
    """The refused calls above are real attacks: unfiltered, the same call kills the target."""
    probe([list(SIGNALS[name])], target.pid, filtered=False)
    assert target.wait(timeout=10) == -SIGKILL


def test_signal_owners_through_fcntl_and_ioctl_are_refused(target):
    assert_refused(
        [
            [72, ["pipefd", 8, "target"]],  # fcntl F_SETOWN
            [72, ["pipefd", 10, SIGKILL]],  # fcntl F_SETSIG
            [16, ["pipefd", 0x8901, "buffer"]],  # ioctl FIOSETOWN
        ],
        target,
    )


def test_pidfds_are_refused(target):
    assert_refused([[434, ["target", 0]], [438, ["procfd", 0, 0]]], target)


def test_io_uring_is_refused(target):
    assert_refused([[425, [1, "buffer"]], [426, [0, 1, 0, 0, 0, 0]], [427, [0, 0, 0, 0]]], target)


def test_anonymous_memory_files_are_refused(target):
    assert_refused([[319, ["text", 0]], [447, [0]]], target)


def test_namespaces_are_refused(target):
    clone_thread_newnet = 0x00010000 | 0x00000800 | 0x00000100 | 0x40000000
    assert_refused(
        [
            [272, [0x10000000]],  # unshare(CLONE_NEWUSER)
            [272, [0x40000000]],  # unshare(CLONE_NEWNET)
            [308, [0, 0]],  # setns
            [56, [clone_thread_newnet, 0, 0, 0, 0]],  # a thread in a new network namespace
        ],
        target,
    )


def test_clone3_is_not_implemented(target):
    assert_refused([[435, ["buffer", 88]]], target, expected=errno.ENOSYS)


def test_mounts_are_refused(target):
    assert_refused(
        [
            [165, ["text", "text", "text", 0, 0]],  # mount
            [166, ["text", 0]],  # umount2
            [155, ["text", "text"]],  # pivot_root
            [161, ["text"]],  # chroot
            [428, [-100, "text", 0]],  # open_tree
            [429, [-100, "text", -100, "text", 0]],  # move_mount
            [430, ["text", 0]],  # fsopen
            [431, [0, 0, 0, 0, 0]],  # fsconfig
            [432, [0, 0, 0]],  # fsmount
            [433, [-100, "text", 0]],  # fspick
            [442, [-100, "text", 0, "buffer", 32]],  # mount_setattr
        ],
        target,
    )


def test_host_identity_and_clock_are_refused(target):
    # arguments the kernel would reject after the filter (or do nothing with), so that even a
    # broken filter in a test run as root changes nothing on the host
    assert_refused(
        [
            [170, ["text", 1000]],  # sethostname (too long)
            [171, ["text", 1000]],  # setdomainname (too long)
            [164, [0, 0]],  # settimeofday(NULL, NULL)
            [227, [-1, "buffer"]],  # clock_settime on no clock
        ],
        target,
    )


def test_tracing_and_other_processes_memory_are_refused(target):
    assert_refused(
        [
            [101, [16, "target", 0, 0]],  # ptrace(PTRACE_ATTACH)
            [310, ["target", "buffer", 1, "buffer", 1, 0]],  # process_vm_readv
            [311, ["target", "buffer", 1, "buffer", 1, 0]],  # process_vm_writev
            [312, ["target", "target", 0, 0, 0]],  # kcmp
            [302, ["target", 7, "buffer", 0]],  # prlimit64 on another process
            [203, ["target", 8, "buffer"]],  # sched_setaffinity on another process
        ],
        target,
    )


def test_kernel_interfaces_are_refused(target):
    assert_refused(
        [
            [321, [0, "buffer", 128]],  # bpf
            [298, ["buffer", 0, -1, -1, 0]],  # perf_event_open
            [323, [0]],  # userfaultfd
            [246, [0, 0, 0, -1]],  # kexec_load (bad flags)
            [320, [-1, -1, 0, 0, 0]],  # kexec_file_load
            [175, ["buffer", 0, "text"]],  # init_module
            [313, [-1, "text", 0]],  # finit_module
            [176, ["text", 0]],  # delete_module
            [250, [0, 0, 0, 0, 0]],  # keyctl
            [248, ["text", "text", 0, 0, 0]],  # add_key
            [249, ["text", "text", 0, 0]],  # request_key
        ],
        target,
    )


def test_processes_sockets_and_file_writes_stay_refused(target):
    assert_refused(
        [
            [57, []],  # fork
            [56, [17, 0, 0, 0, 0]],  # clone(SIGCHLD): a new process
            [59, ["text", 0, 0]],  # execve
            [41, [2, 1, 0]],  # socket
        ],
        target,
    )
    assert_refused([[257, [-100, "text", 0o101, 0o600]]], target, expected=errno.EACCES)  # openat


def test_limits_other_than_cpu_time_cannot_be_changed(target):
    """Root could raise its own hard limits (the address-space limit first)."""
    assert_refused(
        [
            [302, [0, 9, "buffer", 0]],  # prlimit64(0, RLIMIT_AS, new, NULL)
            [302, [0, 7, "buffer", "buffer"]],  # prlimit64(0, RLIMIT_NOFILE, new, old)
            [160, [9, "buffer"]],  # setrlimit(RLIMIT_AS)
        ],
        target,
    )


def test_unknown_recent_syscalls_are_refused(target):
    """Numbers past the reviewed range (landlock, lsm_*, ones not yet assigned) are refused."""
    assert_refused(
        [[444, [0, 0, 0]], [460, [0, 0, 0, 0]], [seccomp.FIRST_UNREVIEWED + 200, []]], target
    )


def test_x32_syscalls_are_refused(target):
    x32_getpid, x32_kill = seccomp.X32_SYSCALL_BIT | 39, seccomp.X32_SYSCALL_BIT | 62
    assert_refused([[x32_getpid, []], [x32_kill, ["target", SIGKILL]]], target)


def test_what_the_worker_needs_stays_allowed(target):
    off, results, thread_ran = probe(
        [
            [39, []],  # getpid
            [302, [0, 7, 0, "buffer"]],  # prlimit64 on itself (what getrlimit does)
            [302, [0, 0, "unlimited", 0]],  # setting its CPU-time limit (the per-job limit)
            [72, ["pipefd", 3]],  # fcntl F_GETFL
            [257, [-100, "text", 0, 0]],  # openat read-only (fails: no such file)
            [436, [1000, 1001, 0]],  # close_range on unused fds
        ],
        target.pid,
    )
    assert off is None
    assert results[0][0] > 0
    assert results[1] == (0, 0)
    assert results[2] == (0, 0)
    assert results[3][0] >= 0
    assert results[4] == (-1, errno.ENOENT)
    assert results[5] == (0, 0)
    assert thread_ran


# A 32-bit call (int 0x80) from 64-bit code: "mov eax, 20 (i386 getpid); int 0x80; ret".
INT80_PROBE = textwrap.dedent(
    """
    import ctypes, mmap, sys
    from vipexec.sandbox.isolation.worker import _set_up

    _set_up({"seccomp": sys.argv[1] == "filtered"})
    page = mmap.mmap(-1, mmap.PAGESIZE, prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)
    page.write(b"\\xb8\\x14\\x00\\x00\\x00\\xcd\\x80\\xc3")
    address = ctypes.addressof(ctypes.c_char.from_buffer(page))
    sys.exit(0 if ctypes.CFUNCTYPE(ctypes.c_int)(address)() > 0 else 1)
    """
)


def test_a_call_through_the_32_bit_abi_kills_the_worker():
    def run(mode):
        command = [sys.executable, "-c", INT80_PROBE, mode]
        return subprocess.run(command, timeout=60, check=False).returncode

    if run("unfiltered") != 0:
        pytest.skip("this kernel runs no 32-bit calls (no IA-32 emulation)")
    assert run("filtered") == -signal.SIGSYS
