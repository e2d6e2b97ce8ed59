"""Starting a worker process, light enough to be the first thing a command does.

A worker's interpreter spends most of its start importing the engine, the sandbox policy and
RestrictedPython; it learns its limits afterwards, from a ``configure`` message (memory, seccomp,
trace limits, its working directory), and only then sets them up and says it is ready. So a
command that will need a pool (``vipexec run``) starts a worker with :func:`start_early` before
its own heavy imports, and the pool it creates later adopts that process (:func:`take_early`)
instead of starting one: the two interpreters start side by side.

This module imports nothing but the standard library.
"""

from __future__ import annotations

import ctypes
import os
import subprocess
import sys
import threading
from dataclasses import dataclass

MAX_TRACKED_BLOCKS = 4096
"""blocks whose execution counts are published; slot 0 holds the current block + 1"""
SharedSlots = ctypes.c_int * (MAX_TRACKED_BLOCKS + 1)
"""the shared memory between the parent and a worker (written by the worker: never trusted)"""


@dataclass
class WorkerProcess:
    """A started worker and the parent's ends of its pipes and shared memory."""

    process: subprocess.Popen
    read_fd: int
    write_fd: int
    shared_fd: int


def spawn(cwd: str = "/") -> WorkerProcess:
    """Start ``python -m vipexec.sandbox.isolation.worker IN_FD OUT_FD SHARED_FD``: a fresh
    interpreter (never a fork of a process that may hold CUDA state or threads) that does not
    re-import the caller's ``__main__`` module, with two pipes (one each way) and a shared
    memory file passed down."""
    from_worker, worker_out = os.pipe()
    worker_in, to_worker = os.pipe()
    shared_fd = os.memfd_create("vipexec-blocks")
    os.ftruncate(shared_fd, ctypes.sizeof(SharedSlots))
    fds = (worker_in, worker_out, shared_fd)
    command = [sys.executable, "-m", "vipexec.sandbox.isolation.worker", *map(str, fds)]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
    try:
        process = subprocess.Popen(
            command,
            pass_fds=fds,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            env=env,
            cwd=cwd,
            start_new_session=True,  # a Ctrl-C in the terminal reaches the parent only
        )
    except BaseException:
        for fd in (*fds, from_worker, to_worker):
            os.close(fd)
        raise
    os.close(worker_in)
    os.close(worker_out)  # the worker has its own
    return WorkerProcess(process, from_worker, to_worker, shared_fd)


_early: WorkerProcess | None = None
_early_lock = threading.Lock()


def start_early() -> None:
    """Start a worker now for the first pool this process creates (a no-op if one waits)."""
    global _early
    with _early_lock:
        if _early is None:
            _early = spawn()


def take_early() -> WorkerProcess | None:
    """The worker :func:`start_early` started, once (None if there is none, or it died)."""
    global _early
    with _early_lock:
        early, _early = _early, None
    if early is not None and early.process.poll() is not None:
        for fd in (early.read_fd, early.write_fd, early.shared_fd):
            os.close(fd)
        return None
    return early
