"""A seccomp-BPF filter for sandbox workers, built with ctypes (Linux x86-64 only).

Defense in depth behind the language policy: even if a program found a way to call into the
OS, the worker process cannot create processes, run programs, open files for writing, create
or remove files, open sockets, signal or trace other processes, or touch namespaces and mounts.
Denied calls fail with ``EPERM`` (the worker keeps running and reports the error). Threads
(``clone`` with ``CLONE_THREAD``) stay allowed.

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

_AUDIT_ARCH_X86_64 = 0xC000003E
_X32_SYSCALL_BIT = 0x40000000
_PR_SET_NO_NEW_PRIVS = 38
_PR_SET_SECCOMP = 22
_SECCOMP_MODE_FILTER = 2

# struct seccomp_data: nr (u32) @0, arch (u32) @4, ip (u64) @8, args[6] (u64) @16
_NR, _ARCH = 0, 4


def _arg_low(index: int) -> int:
    return 16 + 8 * index  # low 32 bits of a little-endian u64 argument


_CLONE_THREAD = 0x00010000
_OPEN_WRITE_FLAGS = 0o1 | 0o2 | 0o100 | 0o1000 | 0o2000  # WRONLY RDWR CREAT TRUNC APPEND

# x86-64 syscall numbers denied outright
DENIED = {
    "fork": 57, "vfork": 58, "execve": 59, "execveat": 322,
    "kill": 62, "tkill": 200, "tgkill": 234, "ptrace": 101,
    "process_vm_readv": 310, "process_vm_writev": 311,
    "socket": 41, "socketpair": 53, "connect": 42, "bind": 49, "listen": 50,
    "creat": 85, "openat2": 437, "truncate": 76, "ftruncate": 77,
    "rename": 82, "renameat": 264, "renameat2": 316, "mkdir": 83, "mkdirat": 258,
    "rmdir": 84, "link": 86, "linkat": 265, "unlink": 87, "unlinkat": 263,
    "symlink": 88, "symlinkat": 266, "mknod": 133, "mknodat": 259,
    "chmod": 90, "fchmod": 91, "fchmodat": 268, "chown": 92, "fchown": 93,
    "lchown": 94, "fchownat": 260, "utimensat": 280,
    "mount": 165, "umount2": 166, "pivot_root": 155, "chroot": 161, "unshare": 272,
    "setns": 308, "reboot": 169, "init_module": 175, "finit_module": 313,
    "delete_module": 176, "kexec_load": 246, "bpf": 321, "perf_event_open": 298,
    "keyctl": 250, "add_key": 248, "request_key": 249, "userfaultfd": 323,
    "setuid": 105, "setgid": 106, "setreuid": 113, "setregid": 114,
    "setresuid": 117, "setresgid": 119, "personality": 135, "iopl": 172, "ioperm": 173,
}  # fmt: skip
_CLONE, _CLONE3, _OPEN, _OPENAT = 56, 435, 2, 257


def _insn(code: int, jt: int, jf: int, k: int) -> bytes:
    return struct.pack("HBBI", code, jt, jf, k)


def build_filter() -> bytes:
    """The BPF program as bytes (a ``struct sock_filter`` array)."""
    deny = _RET_ERRNO | errno.EPERM
    program: list[bytes] = []

    def ret(value: int) -> None:
        program.append(_insn(_RET_K, 0, 0, value))

    program.append(_insn(_LD_W_ABS, 0, 0, _ARCH))
    program.append(_insn(_JEQ_K, 1, 0, _AUDIT_ARCH_X86_64))
    ret(_RET_KILL_PROCESS)
    program.append(_insn(_LD_W_ABS, 0, 0, _NR))
    program.append(_insn(_JGE_K, 0, 1, _X32_SYSCALL_BIT))
    ret(deny)
    for number in sorted(DENIED.values()):
        program.append(_insn(_JEQ_K, 0, 1, number))
        ret(deny)
    # clone3 passes its flags in memory, out of the filter's reach: "not implemented" makes
    # the C library fall back to clone, whose flags are checked below.
    program.append(_insn(_JEQ_K, 0, 1, _CLONE3))
    ret(_RET_ERRNO | errno.ENOSYS)
    # Each section below starts with the syscall number in A and falls through when the
    # number is not its own: [JEQ nr, skip 4] [LD arg] [JSET mask] [RET refused] [RET allowed].
    sections = (
        (_OPEN, _arg_low(1), _OPEN_WRITE_FLAGS, _RET_ERRNO | errno.EACCES, False),
        (_OPENAT, _arg_low(2), _OPEN_WRITE_FLAGS, _RET_ERRNO | errno.EACCES, False),
        (_CLONE, _arg_low(0), _CLONE_THREAD, deny, True),
    )
    for number, offset, mask, refused, allowed_when_set in sections:
        program.append(_insn(_JEQ_K, 0, 4, number))
        program.append(_insn(_LD_W_ABS, 0, 0, offset))
        if allowed_when_set:  # clone: allowed only for threads
            program.append(_insn(_JSET_K, 1, 0, mask))
        else:  # open: refused when any write flag is set
            program.append(_insn(_JSET_K, 0, 1, mask))
        ret(refused)
        ret(_RET_ALLOW)
    ret(_RET_ALLOW)
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
