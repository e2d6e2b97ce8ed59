"""``vipexec.Sandbox``: a pool of long-lived worker processes that run programs safely.

    with vipexec.Sandbox(workers=2, timeout=10, backend="synthetic") as sandbox:
        image = sandbox.images.load("scene.png")
        run = sandbox.run("count.py", inputs={"image": image})
        runs = sandbox.map(programs, inputs=[{"image": image}] * len(programs))

Each worker is a fresh interpreter started with ``subprocess.Popen`` (never a fork of a
process that may have initialised CUDA) and is reused: a warm run costs a message each way. The
parent serves the workers' API calls (on a serving thread per worker, so a model host sees
concurrent requests it can batch, and a slow call can be abandoned at its program's deadline),
enforces the wall-clock deadline from outside, and replaces a worker that crashed or had to be
killed. A failure costs one program, never the pool.
"""

from __future__ import annotations

import contextlib
import ctypes
import itertools
import mmap
import os
import queue
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from vipexec.core.errors import InvalidArgumentError, VipexecError
from vipexec.core.program import Program
from vipexec.core.run import NO_RESULT, BlockTrace, Run, RunError
from vipexec.engine.execute import summarize_inputs
from vipexec.sandbox.isolation import boot, messages
from vipexec.sandbox.isolation.boot import SharedSlots
from vipexec.sandbox.isolation.channel import Channel
from vipexec.sandbox.isolation.serving import WorkerLine
from vipexec.sandbox.runner import (
    as_program,
    check_one_api_source,
    inputs_per_program,
    prepare_inputs,
)

GRACE_SECONDS = 0.5
"""how long a program has to stop after the deadline signal before its worker is killed"""
START_TIMEOUT = 60.0
SEND_TIMEOUT = 5.0
"""how long a write to a worker may block before the worker counts as not reading"""
RSS_CHECK_EVERY = 8
"""a worker's resident memory is read after its first run and every this many runs after
(reading it from /proc after every run cost ~25 us, ~5% of the parent's CPU per short program)"""
JOB_ATTEMPTS = 3
"""how many workers a job is offered to when each dies before taking it"""
_JOB_NOT_TAKEN = -1
"""the parent's mark in a worker's shared slot 0 until the worker takes the job"""


class SandboxError(VipexecError):
    """The pool itself failed (a worker could not start, the pool is closed)."""


class _Worker:
    """The parent's handle on one worker process.

    The worker is started by :func:`vipexec.sandbox.isolation.boot.spawn` (or was started
    early by the command that made the pool) and configured with its first message.
    """

    def __init__(self, config: dict[str, Any], workdir: str) -> None:
        started = boot.take_early() or boot.spawn(workdir)
        self.process = started.process
        size = ctypes.sizeof(SharedSlots)
        self._map = mmap.mmap(started.shared_fd, size)
        os.close(started.shared_fd)  # the mapping keeps the shared memory
        self.shared = SharedSlots.from_buffer(self._map)
        # A worker that stops reading (compromised) must not block a writer in the parent
        # forever (an answer is written under its line's lock): the write fails, the worker
        # is killed.
        self.channel = Channel(started.read_fd, started.write_fd, send_timeout=SEND_TIMEOUT)
        with contextlib.suppress(OSError):  # a worker dead already says so in wait_ready
            messages.send(self.channel, {"op": "configure", "config": config, "workdir": workdir})
        self.killed = False
        self.ready = False
        self.busy = False
        self.runs = 0
        self.fault: str | None = None
        """why the parent gave up on this worker mid-job, when it did"""
        self.pid = self.process.pid
        self.seccomp_off: str | None = None
        self.line: WorkerLine | None = None
        """reads the worker's messages and serves its calls, from its hello on"""

    def wait_ready(self, server: Any) -> None:
        """Wait for the worker's hello, then serve its calls with ``server``; on failure the
        worker is killed and SandboxError says why (the last line it wrote to stderr)."""
        try:
            if not self.channel.poll(START_TIMEOUT):
                raise SandboxError(f"a sandbox worker did not start within {START_TIMEOUT:.0f} s")
            hello = messages.receive(self.channel)
            if hello["op"] != "ready":
                raise messages.ProtocolError(f"unexpected first message {hello['op']!r}")
        except (EOFError, OSError, ValueError, messages.ProtocolError) as exc:
            reason = self._last_words() or f"{type(exc).__name__}: {exc}"
            self.kill()
            raise SandboxError(f"a sandbox worker failed to start: {reason}") from None
        except SandboxError:
            self.kill()
            raise
        self.seccomp_off = hello.get("seccomp")
        self.line = WorkerLine(self.channel, server, self._broken)
        self.ready = True
        with contextlib.suppress(Exception):
            self.process.stderr.close()  # nothing more is read from it

    def _last_words(self) -> str:
        """The last line the (now killed) worker wrote to stderr."""
        with contextlib.suppress(ProcessLookupError):
            self.process.kill()  # a worker that is still up would never close its stderr
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(5)
        try:
            lines = self.process.stderr.read().decode(errors="replace").strip().splitlines()
        except (OSError, ValueError):  # closed by a concurrent close()
            return ""
        return lines[-1] if lines else f"exit code {self.process.returncode}"

    def _broken(self, reason: str) -> None:
        """The parent lost the thread of a conversation: kill the worker (its watcher then
        sees the pipe close and reports ``reason``)."""
        self.fault = reason
        self.killed = True
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signal.SIGKILL)

    @property
    def started_job(self) -> bool:
        """Whether the worker took the job it was sent (it clears the mark first thing)."""
        return self.shared[0] != _JOB_NOT_TAKEN

    def mark_job_sent(self) -> None:
        self.shared[0] = _JOB_NOT_TAKEN

    @property
    def alive(self) -> bool:
        return not self.killed and self.process.poll() is None

    def interrupt(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signal.SIGUSR1)

    def kill(self) -> None:
        self.killed = True
        with contextlib.suppress(ProcessLookupError):
            self.process.kill()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(5)
        self._release()

    def stop(self) -> None:
        with contextlib.suppress(Exception):
            messages.send(self.channel, {"op": "stop"})
        try:
            self.process.wait(2)
        except subprocess.TimeoutExpired:
            self.kill()
            return
        self._release()

    def _release(self) -> None:
        if self.line is not None:
            self.line.close()  # ends at once: its worker is idle, or dead and the pipe at EOF
        with contextlib.suppress(Exception):
            self.channel.close()
        with contextlib.suppress(Exception):
            if self.process.stderr:
                self.process.stderr.close()

    def exit_code(self) -> int | None:
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(2)
        return self.process.returncode

    def position(self) -> tuple[int | None, list[int]]:
        """The block running now (or None) and how often each block was entered."""
        values = list(self.shared)
        return (values[0] - 1 if values[0] > 0 else None), values[1:]


class Sandbox:
    """A pool of sandbox workers; see the module docstring.

    ``timeout`` (seconds of wall time per program), ``memory`` (MB of address space a program
    may add to a worker) and ``cpu`` (seconds of CPU time per program, default: the timeout)
    bound every run. API calls are answered by ``server`` (a
    :class:`vipexec.modules.dispatch.CallServer`, such as a model host), or by the named
    ``backend`` (default ``synthetic``; giving both is refused) over ``store`` (an
    :class:`vipexec.modules.images.ImageStore`). A server with a ``load()`` method (a model
    host) is loaded before any program's clock starts. A worker is recycled (stopped between
    jobs, a fresh one started in the background) after ``recycle_runs`` runs or once its
    resident memory passes ``recycle_rss`` MB, so that whatever a long life leaves in a worker
    never costs a program.
    """

    def __init__(
        self,
        workers: int = 2,
        *,
        timeout: float = 10.0,
        memory: int = 1024,
        cpu: float | None = None,
        backend: str | None = None,
        backend_options: dict[str, Any] | None = None,
        server: Any = None,
        store: Any = None,
        max_output: int = 100_000,
        trace_limits: dict[str, Any] | None = None,
        value_limits: dict[str, Any] | None = None,
        seccomp: bool = True,
        recycle_runs: int = 2000,
        recycle_rss: int = 512,
    ) -> None:
        _check_positive("workers", workers, integer=True)
        _check_positive("timeout", timeout)
        _check_positive("memory", memory, integer=True)
        if cpu is not None:
            _check_positive("cpu", cpu)
        check_one_api_source(server, backend, backend_options)
        _check_positive("recycle_runs", recycle_runs, integer=True)
        _check_positive("recycle_rss", recycle_rss, integer=True)
        self.timeout = float(timeout)
        self.cpu = float(cpu) if cpu is not None else float(timeout)
        self.max_output = int(max_output)
        self.recycle_runs = recycle_runs
        self.recycle_rss = recycle_rss
        self._config = {
            "memory_mb": int(memory),
            "seccomp": seccomp,
            "trace_limits": dict(trace_limits or {}),
            "value_limits": dict(value_limits or {}),
        }
        # One empty working directory for the pool's workers, removed on close (the workers
        # themselves cannot create or delete files).
        self._workdir = tempfile.TemporaryDirectory(prefix="vipexec-sandbox-")
        self._idle: queue.Queue[_Worker] = queue.Queue()
        self._all: list[_Worker] = []
        self._respawners: list[threading.Thread] = []
        self._lock = threading.Lock()
        self._closed = False
        self._jobs = itertools.count(1)
        self.size = workers
        self.server = server
        try:
            # The workers boot while this process imports the image store and the backend
            # (numpy, PIL, models) and loads the models: a cold start waits for the slower of
            # the two, not for both.
            booting = self._start_workers(workers)
            self.images = store if store is not None else _new_store()
            if server is None:
                self.server = _backend_server(backend, backend_options, self.images)
            _warm_up(self.server)  # before any program's clock starts
            self._await_ready(booting)
        except BaseException:
            self.close()
            raise

    # --- lifecycle ---------------------------------------------------------------------------

    def _start_workers(self, count: int) -> list[_Worker]:
        # Under the lock: close() cannot delete the working directory under a starting worker,
        # and every worker started is in _all, where close() finds it.
        with self._lock:
            if self._closed:
                raise SandboxError("this Sandbox is closed")
            started = [_Worker(self._config, self._workdir.name) for _ in range(count)]
            self._all.extend(started)
        return started

    def _await_ready(self, workers: list[_Worker]) -> None:
        for worker in workers:
            try:
                worker.wait_ready(self.server)
            except BaseException:
                self._forget(worker)
                raise
            with self._lock:
                closed = self._closed
            if closed:
                worker.kill()
                raise SandboxError("this Sandbox is closed")
            self._idle.put(worker)

    def _forget(self, worker: _Worker) -> None:
        with self._lock:
            if worker in self._all:
                self._all.remove(worker)

    def _replace(self, worker: _Worker, *, graceful: bool = False) -> None:
        """Retire a worker (dead, killed, or ``graceful``: stopped, for recycling) and start
        another in the background (the Run of the last program is reported without waiting)."""
        if not graceful:
            worker.kill()
        self._forget(worker)
        with self._lock:
            if self._closed:
                if graceful:
                    worker.kill()
                return
            retired = worker if graceful else None
            thread = threading.Thread(
                target=self._respawn, args=(retired,), name="vipexec-respawn", daemon=True
            )
            self._respawners = [t for t in self._respawners if t.is_alive()] + [thread]
            thread.start()

    def _due_for_recycling(self, worker: _Worker) -> bool:
        if worker.runs >= self.recycle_runs:
            return True
        if worker.runs % RSS_CHECK_EVERY != 1:
            return False
        try:
            with open(f"/proc/{worker.pid}/statm") as statm:
                resident = int(statm.read().split()[1]) * mmap.PAGESIZE
        except (OSError, ValueError, IndexError):
            return False
        return resident > self.recycle_rss * 2**20

    def _respawn(self, retired: _Worker | None = None) -> None:
        if retired is not None:
            retired.stop()
        try:
            self._await_ready(self._start_workers(1))
        except Exception:
            # Keep the pool usable at its remaining size; an empty pool fails loudly in run().
            with self._lock:
                self.size = len(self._all)

    @property
    def seccomp(self) -> str | None:
        """None when every worker runs under the seccomp filter, else the reason it is off."""
        with self._lock:
            reasons = {w.seccomp_off for w in self._all if w.seccomp_off}
        return "; ".join(sorted(reasons)) or None

    @property
    def worker_pids(self) -> list[int]:
        with self._lock:
            return [w.pid for w in self._all]

    @property
    def busy_worker_pids(self) -> list[int]:
        """Workers running a program now (they took the job they were sent)."""
        with self._lock:
            return [w.pid for w in self._all if w.busy and w.started_job]

    def close(self) -> None:
        """Stop every worker: no process, thread or directory of the pool is left behind
        (except the thread of an API call abandoned at a deadline that has not returned yet:
        a thread cannot be stopped; it exits when the call returns). The pool cannot be used
        after."""
        with self._lock:
            self._closed = True
            workers, self._all = self._all, []
            respawners, self._respawners = self._respawners, []
        for worker in workers:
            if worker.ready and not worker.busy:
                worker.stop()
            else:
                worker.kill()  # still starting, or in a job: nothing to wait for
        for thread in respawners:
            thread.join()  # their worker was killed above, or they saw the pool closed
        with contextlib.suppress(Exception):
            self._workdir.cleanup()

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        # a closed pool has nothing left to stop (and at interpreter exit, module globals such
        # as contextlib may already be gone)
        if getattr(self, "_closed", True):
            return
        with contextlib.suppress(Exception):
            self.close()

    # --- running -----------------------------------------------------------------------------

    def run(
        self,
        program: Program | str | os.PathLike[str],
        inputs: Any = None,
        *,
        timeout: float | None = None,
    ) -> Run:
        """Run one program in a worker and return its Run (failures are Runs too).

        ``program`` is a Program, a path to a program file, or source text. ``inputs`` are
        the entry's arguments (a dict by name, or a list in order; a script's globals as a
        dict); images may be given as ``Path``s, numpy arrays or PIL images (added to
        ``self.images``) or as ImageRefs.
        """
        if self._closed:
            raise SandboxError("this Sandbox is closed")
        if self.size == 0:
            raise SandboxError("no sandbox worker could be (re)started")
        program = as_program(program)
        timeout = self.timeout if timeout is None else float(timeout)
        _check_positive("timeout", timeout)
        inputs = prepare_inputs(inputs, self.images)
        job = self._job_message(program, inputs)
        for _ in range(JOB_ATTEMPTS):
            worker = self._take_worker()
            worker.busy = True
            try:
                run = self._converse(worker, program, job, inputs, timeout)
            finally:
                worker.busy = False
                worker.runs += 1
                if not worker.alive:
                    self._replace(worker)
                elif self._due_for_recycling(worker):
                    self._replace(worker, graceful=True)
                else:
                    self._idle.put(worker)
            if run is not None:
                return run
        # Several workers in a row died before taking the job: something kills them all.
        raise SandboxError(f"{JOB_ATTEMPTS} sandbox workers in a row died before starting a job")

    def _take_worker(self) -> _Worker:
        while True:
            if self._closed:
                raise SandboxError("this Sandbox is closed")
            if self.size == 0:
                raise SandboxError("no sandbox worker could be (re)started")
            with contextlib.suppress(queue.Empty):
                return self._idle.get(timeout=0.5)

    def map(
        self,
        programs: Iterable[Program | str | os.PathLike[str]],
        inputs: Any = None,
        *,
        timeout: float | None = None,
    ) -> list[Run]:
        """Run many programs concurrently on the pool's workers; Runs come back in order.

        ``inputs`` is one inputs value for every program, or a list with one per program.
        """
        # Parsed here, not on the pool's threads: CPython 3.11 can fail ast.parse run on two
        # threads at once with "SystemError: AST constructor recursion depth mismatch".
        programs = [as_program(program) for program in programs]
        per_program = inputs_per_program(programs, inputs)
        with ThreadPoolExecutor(max_workers=self.size) as executor:
            futures = [
                executor.submit(self.run, program, value, timeout=timeout)
                for program, value in zip(programs, per_program)
            ]
            return [future.result() for future in futures]

    def _job_message(self, program: Program, inputs: Any) -> dict[str, Any]:
        return {
            "op": "run",
            "name": program.name,
            "entry": program.entry,
            "source": program.source,
            "inputs": messages.encode_value(inputs),
            "cpu_seconds": self.cpu,
            "max_output": self.max_output,
        }

    def _converse(
        self, worker: _Worker, program: Program, job: dict[str, Any], inputs: Any, timeout: float
    ) -> Run | None:
        """Run ``job`` on ``worker`` and watch its deadline while the worker's line thread
        serves its calls; None when the worker died before taking the job."""
        started = time.perf_counter()
        deadline = started + timeout
        job_id = next(self._jobs)
        input_summary = summarize_inputs(inputs)

        def failed(kind: str, message: str) -> Run:
            return _failed_run(program, worker, kind, message, input_summary, started)

        try:
            data = messages.encode({**job, "job": job_id})
        except messages.MessageTooLarge as exc:
            raise InvalidArgumentError(f"program and inputs too large to send ({exc})") from None
        worker.mark_job_sent()
        outcomes = worker.line.start(job_id)
        try:
            worker.channel.send(data)
        except (OSError, ValueError):
            worker.kill()
            return None  # died idle: the job goes to another worker
        interrupted = False
        while True:
            remaining = deadline - time.perf_counter()
            if remaining <= 0:
                if interrupted:
                    worker.kill()
                    return failed("timeout", f"the program ran past its {timeout:g} s deadline "
                                  "and did not stop; the worker was killed")  # fmt: skip
                if not worker.line.stop_serving():
                    worker.interrupt()  # (an abandoned call's answer stops the program itself)
                interrupted = True
                deadline = time.perf_counter() + GRACE_SECONDS
                continue
            try:
                what, payload = outcomes.get(timeout=remaining)
            except queue.Empty:
                continue
            if what == "lost":
                if not worker.started_job and not worker.killed:
                    worker.kill()
                    return None  # died idle: the job goes to another worker
                return self._dead_worker_run(program, worker, payload, input_summary, started)
            if what == "malformed":
                worker.kill()  # not in a known state: never reused
                return failed("crashed", f"the worker sent a malformed message ({payload})")
            op = payload["op"]
            if payload.get("job") != job_id:
                worker.kill()
                return failed("crashed", f"the worker sent a {op!r} message for another job")
            if op == "done":
                run = self._finished_run(program, payload, input_summary, worker)
                if run.ok and (interrupted or time.perf_counter() > started + timeout):
                    return _overran(run, timeout)
                return run
            if op == "invalid":
                raise InvalidArgumentError(str(payload.get("message")))
            worker.kill()
            return failed("crashed", f"unexpected message {op!r}")

    def _finished_run(
        self, program: Program, message: dict[str, Any], input_summary: dict, worker: _Worker
    ) -> Run:
        try:
            run = Run.from_dict(message["run"], program=program)
        except (KeyError, TypeError, ValueError) as exc:
            worker.kill()
            return _failed_run(program, worker, "crashed", f"malformed trace from worker ({exc})",
                               input_summary, time.perf_counter())  # fmt: skip
        if message.get("plain"):
            run.result = Run.result_from_summary(run.result_summary, whole=message.get("result"))
        run.inputs = input_summary
        run.backend = getattr(self.server, "backend_id", None)
        run.meta["worker"] = worker.pid
        return run

    def _dead_worker_run(
        self, program: Program, worker: _Worker, exc: Exception, input_summary: dict, started: float
    ) -> Run:
        code = worker.exit_code()
        killed_by_us = worker.killed
        worker.kill()
        if worker.fault is not None and code == -signal.SIGKILL:  # killed by us, for this
            return _failed_run(program, worker, "crashed", worker.fault, input_summary, started)
        if code is not None and code < 0:
            name = (
                signal.Signals(-code).name if -code in signal.Signals._value2member_map_ else -code
            )
            if -code == signal.SIGKILL and not killed_by_us:
                return _failed_run(program, worker, "memory",
                                   "the worker was killed (SIGKILL), most likely by the "
                                   "out-of-memory killer", input_summary, started)  # fmt: skip
            if -code == signal.SIGXCPU:
                return _failed_run(program, worker, "timeout", "the CPU-time limit ran out",
                                   input_summary, started)  # fmt: skip
            message = f"the worker died from signal {name}"
        else:
            message = f"the worker exited unexpectedly (exit code {code}; {exc})"
        return _failed_run(program, worker, "crashed", message, input_summary, started)


def _new_store() -> Any:
    from vipexec.modules.images import ImageStore  # numpy and PIL: imported while workers boot

    return ImageStore()


def _backend_server(name: str | None, options: dict[str, Any] | None, store: Any) -> Any:
    """The call server of a named backend (default ``synthetic``) over ``store``."""
    from vipexec.modules.backend import create_backend
    from vipexec.modules.dispatch import LocalDispatcher

    return LocalDispatcher(create_backend(name or "synthetic", **(options or {})), store)


def _warm_up(server: Any) -> None:
    """Load what ``server`` serves with (a model host's models) before any program's clock
    starts, so that loading never counts against a deadline."""
    load = getattr(server, "load", None)
    if callable(load):
        with contextlib.suppress(Exception):
            # A model that cannot load fails the calls that need it, each with its reason,
            # exactly as it would without the warm-up; the pool itself is fine.
            load()


def _overran(run: Run, timeout: float) -> Run:
    """A run that finished, but only after its deadline (in a call the parent was serving, or
    within the kill grace): a timeout, with the trace it left."""
    run.error = RunError("timeout", "Timeout", f"the program finished after its {timeout:g} s "
                         "deadline", None, None)  # fmt: skip
    run.result = None
    run.result_summary = dict(NO_RESULT)
    return run


def _failed_run(
    program: Program, worker: _Worker, kind: str, message: str, input_summary: dict, started: float
) -> Run:
    """A Run for a program whose worker is gone: the shared block counters tell where it was."""
    current, counts = worker.position()
    chain = set()
    index = current
    while index is not None:
        chain.add(index)
        index = program.blocks[index].parent if index < len(program.blocks) else None
    blocks = []
    for block in program.blocks:
        executions = counts[block.index] if block.index < len(counts) else 0
        status = "error" if block.index in chain else ("ok" if executions else "not_run")
        blocks.append(
            BlockTrace(
                block.index,
                block.step,
                block.description,
                block.lines,
                status,
                executions=executions,
            )
        )
    line = program.blocks[current].lines[0] if current is not None else None
    error = RunError(kind, {"timeout": "Timeout", "memory": "MemoryError"}.get(kind, "WorkerCrash"),
                     message, current, line)  # fmt: skip
    return Run.failed(
        program,
        error,
        blocks,
        inputs=input_summary,
        ms=(time.perf_counter() - started) * 1e3,
        meta={"worker": worker.pid, "trace": "partial: the worker was lost"},
    )


def _check_positive(name: str, value: Any, *, integer: bool = False) -> None:
    kinds = (int,) if integer else (int, float)
    if isinstance(value, bool) or not isinstance(value, kinds) or value <= 0:
        expected = "a positive integer" if integer else "a positive number"
        raise InvalidArgumentError(f"{name} must be {expected}, not {value!r}")
