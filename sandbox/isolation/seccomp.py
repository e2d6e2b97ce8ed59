"""A seccomp-BPF filter for sandbox workers, built with ctypes (Linux x86-64 only).

Defense in depth behind the language policy: even if a program found a way to call into the
OS, the worker process cannot create processes, run programs, open files for writing, create
or remove files, open sockets, signal, trace or reconfigure other processes, or touch
namespaces, mounts, the kernel's configuration or its side channels into the process (io_uring,
BPF, perf, userfaultfd). Refused calls fail with ``EPERM`` (the worker keeps running and reports
the error). Threads (``clone`` with ``CLONE_THREAD``) stay allowed.

The filter is a deny-list with an allow-list ceiling: every syscall number from
:data:`FIRST_UNREVIEWED` on (the ones added since Linux 5.1: pidfd, io_uring, the new mount
API, ``memfd_secret``, landlock, and whatever kernels add next) is refused unless it is in
:data:`ALLOWED_RECENT`. A full allow-list is not used: the set of older calls CPython, numpy,
PIL and the C library need differs between library and kernel versions (and between code paths
reached only by some programs), and a missing one fails as an obscure ``EPERM`` in the field;
the older calls that can act outside the process are few and listed in :data:`DENIED`.

Every call's architecture is checked first: anything but the x86-64 ABI (32-bit ``int 0x80``
calls) kills the worker, and x32 calls (numbers with :data:`X32_SYSCALL_BIT`) are refused,
so no second syscall table can bypass the numbers below.

The filter is installed once, after the worker has imported what it needs; it also sets
``no_new_privs``. On other architectures, or where the kernel refuses, :func:`install` returns
the reason and the worker runs with resource limits and the language policy only.
"""

from __future__ import annotations

import ctypes
import errno
import platform
import struct

# BPF instruction classes and fields (linux/filter.h, linux/bpf_common.h)
_LD_W_ABS = 0x20
_JEQ_K = 0x15
_JGE_K = 0x35
_JSET_K = 0x45
_RET_K = 0x06

_RET_ALLOW = 0x7FFF0000
_RET_KILL_PROCESS = 0x80000000
_RET_ERRNO = 0x00050000
_REFUSED = _RET_ERRNO | errno.EPERM

_AUDIT_ARCH_X86_64 = 0xC000003E
X32_SYSCALL_BIT = 0x40000000
_PR_SET_NO_NEW_PRIVS = 38
_PR_SET_SECCOMP = 22
_SECCOMP_MODE_FILTER = 2

# struct seccomp_data: nr (u32) @0, arch (u32) @4, ip (u64) @8, args[6] (u64) @16
_NR, _ARCH = 0, 4


def _arg_low(index: int) -> int:
    """Offset of an argument's low 32 bits (little-endian u64). Every argument checked here is
    a 32-bit int or flag word to the kernel, so the high half does not matter."""
    return 16 + 8 * index


# x86-64 syscall numbers refused outright, by family
DENIED = {
    # processes and programs
    "fork": 57, "vfork": 58, "execve": 59, "execveat": 322,
    # signals (the worker never signals anyone, itself included: the deadline signals come
    # from the parent)
    "kill": 62, "tkill": 200, "tgkill": 234, "rt_sigqueueinfo": 129, "rt_tgsigqueueinfo": 297,
    "pidfd_send_signal": 424, "pidfd_open": 434, "pidfd_getfd": 438,
    # other processes' memory and state
    "ptrace": 101, "process_vm_readv": 310, "process_vm_writev": 311, "kcmp": 312,
    "get_robust_list": 274, "migrate_pages": 256, "move_pages": 279, "setpriority": 141,
    "ioprio_set": 251, "process_madvise": 440, "process_mrelease": 448,
    # asynchronous interfaces whose operations never pass through this filter
    "io_uring_setup": 425, "io_uring_enter": 426, "io_uring_register": 427,
    # anonymous files (executable or unseen memory outside the address-space limit)
    "memfd_create": 319, "memfd_secret": 447,
    # network
    "socket": 41, "socketpair": 53, "connect": 42, "bind": 49, "listen": 50,
    # writing the file system
    "creat": 85, "openat2": 437, "truncate": 76, "ftruncate": 77,
    "rename": 82, "renameat": 264, "renameat2": 316, "mkdir": 83, "mkdirat": 258,
    "rmdir": 84, "link": 86, "linkat": 265, "unlink": 87, "unlinkat": 263,
    "symlink": 88, "symlinkat": 266, "mknod": 133, "mknodat": 259,
    "chmod": 90, "fchmod": 91, "fchmodat": 268, "fchmodat2": 452, "chown": 92, "fchown": 93,
    "lchown": 94, "fchownat": 260, "utime": 132, "utimes": 235, "futimesat": 261,
    "utimensat": 280, "setxattr": 188, "lsetxattr": 189, "fsetxattr": 190,
    "removexattr": 197, "lremovexattr": 198, "fremovexattr": 199, "flock": 73,
    "name_to_handle_at": 303, "open_by_handle_at": 304, "fanotify_init": 300,
    # System V and POSIX message queues, shared memory, semaphores: kernel objects that outlive
    # the worker and can be shared with other processes
    "shmget": 29, "shmat": 30, "shmctl": 31, "semget": 64, "semop": 65, "semctl": 66,
    "semtimedop": 220, "msgget": 68, "msgsnd": 69, "msgrcv": 70, "msgctl": 71,
    "mq_open": 240, "mq_unlink": 241,
    # namespaces (clone's namespace flags are checked below; clone3 is not implemented)
    "unshare": 272, "setns": 308,
    # mounts
    "mount": 165, "umount2": 166, "pivot_root": 155, "chroot": 161, "open_tree": 428,
    "move_mount": 429, "fsopen": 430, "fsconfig": 431, "fsmount": 432, "fspick": 433,
    "mount_setattr": 442, "quotactl": 179, "quotactl_fd": 443, "swapon": 167, "swapoff": 168,
    # the host's identity, clock and kernel
    "sethostname": 170, "setdomainname": 171, "settimeofday": 164, "clock_settime": 227,
    "adjtimex": 159, "clock_adjtime": 305, "reboot": 169, "acct": 163, "syslog": 103,
    "vhangup": 153, "init_module": 175, "finit_module": 313, "delete_module": 176,
    "kexec_load": 246, "kexec_file_load": 320, "bpf": 321, "perf_event_open": 298,
    "userfaultfd": 323, "lookup_dcookie": 212, "iopl": 172, "ioperm": 173, "modify_ldt": 154,
    "personality": 135, "uselib": 134, "_sysctl": 156,
    # keys
    "keyctl": 250, "add_key": 248, "request_key": 249,
    # limits (the C library sets them through prlimit64, checked below)
    "setrlimit": 160,
    # credentials
    "setuid": 105, "setgid": 106, "setreuid": 113, "setregid": 114, "setresuid": 117,
    "setresgid": 119, "setfsuid": 122, "setfsgid": 123, "setgroups": 116, "capset": 126,
}  # fmt: skip

FIRST_UNREVIEWED = 424
"""Syscall numbers from here on (Linux 5.1 and later) are refused unless allowed below."""
ALLOWED_RECENT = {
    "close_range": 436, "faccessat2": 439, "epoll_pwait2": 441, "futex_waitv": 449,
    "cachestat": 451, "map_shadow_stack": 453, "futex_wake": 454, "futex_wait": 455,
    "futex_requeue": 456, "mseal": 462,
}  # fmt: skip
"""Recent calls the C library may use that act only on the calling process."""

_CLONE, _CLONE3, _OPEN, _OPENAT, _FCNTL, _IOCTL = 56, 435, 2, 257, 72, 16
_PRLIMIT64, _SCHED_SETPARAM, _SCHED_SETSCHEDULER, _SCHED_SETAFFINITY, _SCHED_SETATTR = (
    302,
    142,
    144,
    203,
    314,
)
_CLONE_THREAD = 0x00010000
_CLONE_NAMESPACES = (  # NEWNS NEWCGROUP NEWUTS NEWIPC NEWUSER NEWPID NEWNET
    0x00020000 | 0x02000000 | 0x04000000 | 0x08000000 | 0x10000000 | 0x20000000 | 0x40000000
)
_OPEN_WRITE_FLAGS = 0o1 | 0o2 | 0o100 | 0o1000 | 0o2000  # WRONLY RDWR CREAT TRUNC APPEND
# fcntl commands that signal another process (SETOWN/SETSIG: SIGIO, or any signal, to an
# owner of our choosing) or lock files other processes use (locks and leases)
_FCNTL_REFUSED = (6, 7, 8, 10, 15, 37, 38, 1024)  # SETLK SETLKW SETOWN SETSIG SETOWN_EX
#                                                   OFD_SETLK OFD_SETLKW SETLEASE
# ioctl requests that reach beyond the process: faking terminal input (TIOCSTI), the console
# (TIOCLINUX, TIOCCONS), a terminal's process group and session (TIOCSPGRP, TIOCSCTTY), its line
# discipline (TIOCSETD), and SIGIO owners (FIOSETOWN, SIOCSPGRP)
_IOCTL_REFUSED = (0x5412, 0x541C, 0x541D, 0x5410, 0x540E, 0x5423, 0x8901, 0x8902)
# calls that may act on another process by pid: allowed only on the caller (pid 0)
_OWN_PROCESS_ONLY = (_SCHED_SETPARAM, _SCHED_SETSCHEDULER, _SCHED_SETAFFINITY, _SCHED_SETATTR)
_RLIMIT_CPU = 0


def _insn(code: int, jt: int, jf: int, k: int) -> bytes:
    return struct.pack("HBBI", code, jt, jf, k)


def _ret(value: int) -> bytes:
    return _insn(_RET_K, 0, 0, value)


def _load(offset: int) -> bytes:
    return _insn(_LD_W_ABS, 0, 0, offset)


def _refuse_when_any_bit(offset: int, mask: int, refused: int = _REFUSED) -> list[bytes]:
    return [_load(offset), _insn(_JSET_K, 0, 1, mask), _ret(refused), _ret(_RET_ALLOW)]


def _refuse_when_one_of(offset: int, values: tuple[int, ...]) -> list[bytes]:
    checks = []
    for value in values:
        checks += [_insn(_JEQ_K, 0, 1, value), _ret(_REFUSED)]
    return [_load(offset), *checks, _ret(_RET_ALLOW)]


def _allow_only_zero(offset: int) -> list[bytes]:
    return [_load(offset), _insn(_JEQ_K, 0, 1, 0), _ret(_RET_ALLOW), _ret(_REFUSED)]


def _prlimit_section() -> list[bytes]:
    """prlimit64 (what getrlimit and setrlimit call): on the caller only, and setting a limit
    only for CPU time (the worker's per-job limit). A worker running as root could otherwise
    raise its own hard limits, the address-space limit first."""
    refused = _ret(_REFUSED)
    return [
        _load(_arg_low(0)),
        _insn(_JEQ_K, 1, 0, 0),
        refused,
        _load(_arg_low(2)),  # the new limit: a pointer, NULL when only reading
        _insn(_JEQ_K, 0, 3, 0),
        _load(_arg_low(2) + 4),
        _insn(_JEQ_K, 0, 1, 0),
        _ret(_RET_ALLOW),
        _load(_arg_low(1)),
        _insn(_JEQ_K, 0, 1, _RLIMIT_CPU),
        _ret(_RET_ALLOW),
        refused,
    ]


def _clone_section() -> list[bytes]:
    """clone: refused with a namespace flag; otherwise allowed only for a thread."""
    return [
        _load(_arg_low(0)),
        _insn(_JSET_K, 0, 1, _CLONE_NAMESPACES),
        _ret(_REFUSED),
        _insn(_JSET_K, 0, 1, _CLONE_THREAD),
        _ret(_RET_ALLOW),
        _ret(_REFUSED),
    ]


def _sections() -> list[tuple[int, list[bytes]]]:
    """(syscall number, instructions ending in a return) for the calls decided by argument."""
    sections = [
        (_OPEN, _refuse_when_any_bit(_arg_low(1), _OPEN_WRITE_FLAGS, _RET_ERRNO | errno.EACCES)),
        (_OPENAT, _refuse_when_any_bit(_arg_low(2), _OPEN_WRITE_FLAGS, _RET_ERRNO | errno.EACCES)),
        (_CLONE, _clone_section()),
        (_FCNTL, _refuse_when_one_of(_arg_low(1), _FCNTL_REFUSED)),
        (_IOCTL, _refuse_when_one_of(_arg_low(1), _IOCTL_REFUSED)),
        (_PRLIMIT64, _prlimit_section()),
    ]
    sections += [(number, _allow_only_zero(_arg_low(0))) for number in _OWN_PROCESS_ONLY]
    return sections


def build_filter() -> bytes:
    """The BPF program as bytes (a ``struct sock_filter`` array)."""
    program = [
        _load(_ARCH),
        _insn(_JEQ_K, 1, 0, _AUDIT_ARCH_X86_64),
        _ret(_RET_KILL_PROCESS),
        _load(_NR),
        _insn(_JGE_K, 0, 1, X32_SYSCALL_BIT),
        _ret(_REFUSED),
    ]
    for number in sorted(DENIED.values()):
        program += [_insn(_JEQ_K, 0, 1, number), _ret(_REFUSED)]
    # clone3 passes its flags in memory, out of the filter's reach: "not implemented" makes
    # the C library fall back to clone, whose flags are checked below.
    program += [_insn(_JEQ_K, 0, 1, _CLONE3), _ret(_RET_ERRNO | errno.ENOSYS)]
    # A section runs only for its own number (A holds the number until a section loads an
    # argument, and every section ends in a return).
    for number, section in _sections():
        program += [_insn(_JEQ_K, 0, len(section), number), *section]
    for number in sorted(ALLOWED_RECENT.values()):
        program += [_insn(_JEQ_K, 0, 1, number), _ret(_RET_ALLOW)]
    program += [_insn(_JGE_K, 0, 1, FIRST_UNREVIEWED), _ret(_REFUSED), _ret(_RET_ALLOW)]
    return b"".join(program)


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]


def install() -> str | None:
    """Install the filter in this process; returns None on success, else why it was not."""
    if platform.system() != "Linux" or platform.machine() not in ("x86_64", "AMD64"):
        return f"seccomp filter not available on {platform.system()}/{platform.machine()}"
    try:
        libc = ctypes.CDLL(None, use_errno=True)
    except OSError as exc:
        return f"cannot load libc: {exc}"
    code = build_filter()
    buffer = ctypes.create_string_buffer(code, len(code))
    fprog = _SockFprog(len(code) // 8, ctypes.cast(buffer, ctypes.c_void_p))
    prctl = libc.prctl
    prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]
    if prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        return f"prctl(NO_NEW_PRIVS) failed: {errno.errorcode.get(ctypes.get_errno(), '?')}"
    if prctl(_PR_SET_SECCOMP, _SECCOMP_MODE_FILTER, ctypes.addressof(fprog), 0, 0) != 0:
        return f"prctl(SECCOMP) failed: {errno.errorcode.get(ctypes.get_errno(), '?')}"
    return None
