"""The sandbox worker process: runs programs one at a time, for as long as the pool lives.

Set-up, once: no core dumps, no file writes (``RLIMIT_FSIZE`` 0), few open files, an address
space limit, standard streams on /dev/null, and the seccomp filter
(:mod:`vipexec.sandbox.isolation.seccomp`). Then, per job: build a fresh namespace, run the
program in this process under the policy (``Program.run_in_process(policy=True)``), send the
trace back as JSON.

API calls cross the pipe to the parent, which serves them (:class:`RemoteDispatcher`); the
worker never sees pixels or models. Block positions are published in shared memory as they
happen, so that a worker killed mid-block still leaves a trace of where it was.

The parent stops a program that overruns by sending SIGUSR1 (raised as
:class:`DeadlineExceeded` inside the program, so the trace is complete) and, if the program
does not stop within a grace period (a long C call, a bare ``except:``), kills the worker.
"""

from __future__ import annotations

import contextlib
import ctypes
import linecache
import mmap
import os
import resource
import signal
import sys
import threading
import time
from collections import OrderedDict
from typing import Any

from vipexec.core.errors import CPUTimeExceeded, DeadlineExceeded, InvalidArgumentError
from vipexec.core.program import Program
from vipexec.core.run import BlockTrace, Run, RunError
from vipexec.core.summarize import Limits
from vipexec.core.tracer import Recorder, TraceLimits
from vipexec.engine.execute import execute, finish_run, summarize_inputs
from vipexec.modules.api import build_api
from vipexec.modules.dispatch import ServedCall, record_served, served_error
from vipexec.sandbox.isolation import messages
from vipexec.sandbox.isolation.boot import MAX_TRACKED_BLOCKS, SharedSlots
from vipexec.sandbox.isolation.channel import Channel
from vipexec.sandbox.language import builtins as _builtins  # noqa: F401  (loaded before the first run)
from vipexec.sandbox.language import policy as _policy  # noqa: F401  (RestrictedPython, once)
from vipexec.sandbox.language import proxy as _proxy  # noqa: F401

PROGRAM_CACHE_SIZE = 256
"""compiled programs a worker keeps for their next run (the most recently run)"""
SEEN_ONCE_SIZE = 1024
"""programs remembered (by hash) as run once: run again, they are cached"""
_INTERRUPTS = {signal.SIGUSR1, signal.SIGXCPU}
LOST_TRACK_EXIT = 70
"""the worker's exit code when a message it got does not fit where it is"""


class PublishingRecorder(Recorder):
    """A recorder that mirrors the current block and execution counts into shared memory."""

    shared: Any = None  # set by the worker before each run
    running = False
    latest: PublishingRecorder | None = None
    """the recorder of the run in progress (the worker needs it when a run escapes execute)"""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        PublishingRecorder.latest = self

    def enter(self, index: int) -> None:
        shared = self.shared
        shared[0] = index + 1
        if index < MAX_TRACKED_BLOCKS:
            shared[index + 1] += 1
        self._stack.append((index, time.perf_counter_ns()))

    def exit(self, index: int, frame_locals: Any) -> None:
        super().exit(index, frame_locals)
        stack = self._stack
        self.shared[0] = stack[-1][0] + 1 if stack else 0

    def activate(self) -> Any:
        token = super().activate()
        PublishingRecorder.running = True
        return token

    @staticmethod
    def deactivate(token: Any) -> None:
        PublishingRecorder.running = False
        Recorder.deactivate(token)


class RemoteDispatcher:
    """The worker's half of the API door: ask the parent, record the answer, return it."""

    def __init__(self, channel: Channel) -> None:
        self._channel = channel
        self._job = 0
        self._next = 0

    def begin(self, job: int) -> None:
        """Calls from now on belong to ``job``."""
        self._job = job
        self._next = 0

    def call(self, method: str, image: str | None, box: Any, args: dict[str, Any]) -> Any:
        self._next += 1
        request = messages.encode_call(self._job, self._next, method, image, box, args)
        # A deadline signal must not split a message in two: it is held until the reply is in
        # (a flag, not a signal mask: two system calls fewer per call).
        # (At the deadline the parent answers a pending call with "abandoned" at once.)
        _held.calling = True
        started = time.perf_counter()
        try:
            self._channel.send(request)
            try:
                job, call, served = messages.decode_reply(self._channel.receive())
            except messages.ProtocolError:
                os._exit(LOST_TRACK_EXIT)  # the parent is trusted: a garbled answer is no answer
            if job != self._job or call != self._next:
                # Not the answer to this call: this worker no longer knows where it is.
                os._exit(LOST_TRACK_EXIT)
        except BaseException:
            _held.release()
            raise
        _held.calling = False
        if served is None:  # abandoned
            # Filed in the trace too: it is the call that held the program at its deadline.
            _held.signal = None
            stop = DeadlineExceeded("the wall-clock deadline passed during an API call")
            ms = (time.perf_counter() - started) * 1000.0
            record_served(method, image, box, args, ServedCall.failure(stop, ms, "?"))
            raise stop
        _held.release()
        record_served(method, image, box, args, served)
        if served.error is not None:
            raise served_error(served)
        return served.result


class _held:
    """A deadline signal that arrived while an API call's messages were on the pipe."""

    calling = False
    signal: int | None = None

    @staticmethod
    def release() -> None:
        """The call is over: raise the signal that was held, if one was."""
        _held.calling = False
        signum, _held.signal = _held.signal, None
        if signum is not None:
            _interrupt(signum, None)


def _interrupt(signum: int, frame: Any) -> None:
    if not PublishingRecorder.running:
        return  # between programs: nothing to stop
    if _held.calling:
        _held.signal = signum  # raised once the reply is in
        return
    if signum == signal.SIGXCPU:
        raise CPUTimeExceeded("the CPU-time limit ran out")
    raise DeadlineExceeded("the wall-clock deadline passed")


def _set_up(config: dict[str, Any]) -> str | None:
    """Limits and isolation for the life of the worker; returns why seccomp is off, if it is."""
    sys.dont_write_bytecode = True
    for sig in _INTERRUPTS:
        signal.signal(sig, _interrupt)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a refused write fails, not the worker
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    os.close(devnull)
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    resource.setrlimit(resource.RLIMIT_FSIZE, (0, 0))
    resource.setrlimit(resource.RLIMIT_NOFILE, (64, 64))
    if config.get("memory_mb"):
        budget = int(config["memory_mb"]) * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (_address_space() + budget,) * 2)
    if config.get("seccomp", True):
        from vipexec.sandbox.isolation.seccomp import install

        return install()
    return "disabled by configuration"


def _address_space() -> int:
    with open("/proc/self/statm") as stat:
        return int(stat.read().split()[0]) * resource.getpagesize()


def _cpu_used() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class Worker:
    """The job loop of one worker process."""

    def __init__(self, channel: Channel, shared: Any, config: dict[str, Any]) -> None:
        self.channel = channel
        self.shared = shared
        self.config = config
        self.programs: OrderedDict[tuple, Program] = OrderedDict()
        self.seen_once: OrderedDict[int, None] = OrderedDict()
        values = Limits(**config.get("value_limits", {}))
        self.limits = TraceLimits(values=values, **config.get("trace_limits", {}))
        PublishingRecorder.shared = shared
        # One API for the worker's life: classes made per job would pile up (programs cannot
        # write to them, and each run gets a fresh namespace built from this one).
        self.dispatcher = RemoteDispatcher(channel)
        self.api = build_api(self.dispatcher)

    def serve_forever(self) -> None:
        while True:
            try:
                message = messages.receive(self.channel)
            except (EOFError, OSError, messages.ProtocolError):
                return  # the pool is gone, or in no known state
            op = message["op"]
            if op == "run":
                self.run_job(message)
            else:
                return  # "stop", or a message that fits no job: end rather than guess

    def program(self, message: dict[str, Any]) -> Program:
        """The job's program, compiled, from the cache when it ran here recently.

        A program is kept only from its second run on: one-off programs (a dataset build runs
        thousands) left in the cache would scatter long-lived objects over the allocator's
        arenas as they rotate out, and the worker's resident memory would creep up by
        megabytes; only the hash of a program seen once is remembered.
        """
        key = (message["name"], message.get("entry"), message["source"])
        program = self.programs.get(key)
        if program is not None:
            self.programs.move_to_end(key)
            return program
        program = Program.from_source(
            message["source"], name=message["name"], entry=message.get("entry")
        )
        seen = hash(key)
        if seen in self.seen_once:
            del self.seen_once[seen]
            self.programs[key] = program
            if len(self.programs) > PROGRAM_CACHE_SIZE:
                self.programs.popitem(last=False)
        else:
            self.seen_once[seen] = None
            if len(self.seen_once) > SEEN_ONCE_SIZE:
                self.seen_once.popitem(last=False)
        return program

    def run_job(self, message: dict[str, Any]) -> None:
        # Clearing the shared block counters also tells the parent the job was taken.
        ctypes.memset(ctypes.addressof(self.shared), 0, ctypes.sizeof(self.shared))
        job = message["job"]
        cpu = message.get("cpu_seconds")
        if cpu:
            soft = int(_cpu_used() + cpu) + 1
            with contextlib.suppress(ValueError, OSError):
                resource.setrlimit(resource.RLIMIT_CPU, (soft, resource.RLIM_INFINITY))
        started = time.perf_counter()
        program = self.program(message)
        inputs = messages.decode_value(message.get("inputs"))
        PublishingRecorder.latest = None
        _held.signal = None
        self.dispatcher.begin(job)
        try:
            run = execute(
                program,
                namespace=self.api,
                inputs=inputs,
                sandbox=True,
                limits=self.limits,
                max_output=int(message.get("max_output", 100_000)),
                recorder_class=PublishingRecorder,
            )
        except InvalidArgumentError as exc:
            messages.send(self.channel, {"op": "invalid", "job": job, "message": str(exc)})
            return
        except BaseException as exc:  # whatever a program raises is its own error
            run = _escaped_run(program, exc, inputs, started)
        finally:
            _forget_source(program)
        self.channel.send(_done_message(job, run))


def _forget_source(program: Program) -> None:
    """Drop the program's lines from ``linecache`` (the compiler files them for tracebacks;
    kept, one entry per distinct program would pile up for the worker's life)."""
    linecache.cache.pop(program.filename, None)


def _escaped_run(program: Program, exc: BaseException, inputs: Any, started: float) -> Run:
    """The Run of a program whose exception got past :func:`execute` (a ``BaseException``
    subclass of its own, or a result too deep to unwrap): its error, with its trace."""
    recorder = PublishingRecorder.latest
    try:
        if recorder is None:
            raise exc
        compiled = program.compile(sandbox=True)
        return finish_run(compiled, recorder, None, None, exc, summarize_inputs(inputs), started)
    except BaseException:  # even describing it failed: say what is known
        error = RunError("runtime", type(exc).__name__, "the program's error could not be "
                         "described", None, None)  # fmt: skip
        return Run.failed(program, error, ms=(time.perf_counter() - started) * 1e3)


def _done_message(job: int, run: Run) -> bytes:
    """The encoded ``done`` message; a trace that cannot cross (too large, not JSON) is sent
    as the program's error with only its block statuses."""
    try:
        data = run.to_dict()
        data.pop("program")  # the parent has it
        plain, value = messages.plain_or_none(run.result)
        return messages.encode(
            {"op": "done", "job": job, "run": data, "plain": plain, "result": value}
        )
    except messages.MessageTooLarge as exc:
        error = RunError("memory", "TraceTooLarge", f"the trace is too large to send ({exc})",
                         None, None)  # fmt: skip
    except BaseException as exc:  # a hostile result must cost only its own run
        error = RunError("runtime", type(exc).__name__,
                         "the run's result or trace could not be encoded", None, None)  # fmt: skip
    blocks = [
        BlockTrace(b.index, b.step, b.description, b.lines, b.status, executions=b.executions)
        for b in run.blocks
    ]
    cut = Run.failed(run.program, error, blocks, ms=run.ms, meta={"trace": "cut: " + error.type})
    data = cut.to_dict()
    data.pop("program")
    return messages.encode({"op": "done", "job": job, "run": data, "plain": True, "result": None})


def _exit_with_parent(parent: int) -> None:
    """End this worker once the pool's process is gone.

    A worker busy with an endless program never reads its socket, so it would not see the
    parent's end and would spin until its CPU limit. (``PR_SET_PDEATHSIG`` does not fit: it
    fires when the *thread* that started the worker ends, and the pool starts replacements
    from short-lived threads.)
    """
    while os.getppid() == parent:
        time.sleep(PARENT_CHECK_SECONDS)
    os._exit(0)


PARENT_CHECK_SECONDS = 0.5


def main(argv: list[str]) -> None:
    """``python -m vipexec.sandbox.isolation.worker IN_FD OUT_FD SHARED_FD`` (started by
    :mod:`vipexec.sandbox.isolation.boot`): wait for the ``configure`` message (the imports are
    done by then), set up, say ``ready``, run jobs."""
    parent = os.getppid()
    in_fd, out_fd, shared_fd = (int(arg) for arg in argv[:3])
    channel = Channel(in_fd, out_fd)
    shared_map = mmap.mmap(shared_fd, ctypes.sizeof(SharedSlots))
    os.close(shared_fd)
    shared = SharedSlots.from_buffer(shared_map)
    try:
        message = messages.receive(channel)
    except (EOFError, OSError, messages.ProtocolError):
        return  # started early for a pool that was never made
    if message["op"] != "configure":
        return
    config = message["config"]
    os.chdir(message["workdir"])
    seccomp_off = _set_up(config)
    threading.Thread(target=_exit_with_parent, args=(parent,), daemon=True).start()
    messages.send(channel, {"op": "ready", "pid": os.getpid(), "seccomp": seccomp_off})
    Worker(channel, shared, config).serve_forever()


if __name__ == "__main__":
    main(sys.argv[1:])
