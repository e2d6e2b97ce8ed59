"""The parent's side of one worker's pipe during a job: read its messages, serve its API calls.

A job's messages are read, and its calls served, on the worker's *line thread*, never on the
thread that watches the job's deadline: a slow call cannot hold a deadline back, and a call
costs one wake-up in the parent (the line thread reads the call, serves it and answers on the
spot). The last message of a job (``done``, or a failure to read one) goes to the watching
thread through the job's outcome queue.

At the deadline a call being served is *abandoned*: the worker is answered at once (the program
raises ``DeadlineExceeded`` from the call) and the call's eventual answer is dropped. Python
cannot stop a thread, so the line thread in that call is retired (it finishes its call, drops
the answer and exits) and a fresh line thread reads the rest of the job. Each call is answered
at most once, under a lock, and only while its thread is still the line's current one: an
answer can never reach a later call or job.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from typing import Any

from vipexec.modules.dispatch import ServedCall
from vipexec.sandbox.isolation import messages
from vipexec.sandbox.isolation.channel import Channel

Outcome = tuple[str, Any]
"""``("message", message)`` (the job's last message: done, invalid, or one that does not fit),
``("lost", exception)`` (the pipe failed: the worker is gone) or ``("malformed", exception)``"""


class WorkerLine:
    """Reads one worker's messages and serves its calls, job after job (see the module doc).

    ``on_broken`` is called when an answer cannot be written (the worker is gone or in no
    known state, and must be killed).
    """

    def __init__(self, channel: Channel, server: Any, on_broken: Callable[[str], None]) -> None:
        self._channel = channel
        self._server = server
        self._on_broken = on_broken
        self._lock = threading.Lock()
        self._jobs: queue.SimpleQueue = queue.SimpleQueue()
        self._current: threading.Thread | None = None
        self._serving: tuple[int, Any] | None = None
        """the (job, call) being served, while one is"""
        self._refusing = False
        """past the deadline: calls are answered "abandoned", not served"""
        self._job_of_current: tuple[int, queue.SimpleQueue] | None = None

    def start(self, job: int) -> queue.SimpleQueue:
        """Read the messages of ``job`` (sent next); its outcome comes on the returned queue."""
        outcomes: queue.SimpleQueue = queue.SimpleQueue()
        with self._lock:
            self._refusing = False
            if self._current is None:
                self._current = self._new_thread(None)
        self._jobs.put((job, outcomes))
        return outcomes

    def stop_serving(self) -> bool:
        """The deadline passed: serve no more calls, and abandon the one being served, if any
        (says whether there was one: its answer stops the program, no signal is needed)."""
        with self._lock:
            self._refusing = True
            serving = self._serving
            if serving is None:
                return False
            self._serving = None
            job, outcomes = self._job_of_current
            # The current thread is stuck in the call: a fresh one reads the rest of the job.
            self._current = self._new_thread((job, outcomes))
            self._answer(messages.encode_abandoned(job, serving[1]))
            return True

    def close(self, timeout: float = 5.0) -> None:
        """End the line thread once it is idle, or once its worker is gone (a thread still in
        an abandoned call exits when the call returns)."""
        with self._lock:
            thread, self._current = self._current, None
        self._jobs.put(None)
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)

    # --- the line thread ------------------------------------------------------------------------

    def _new_thread(self, job: tuple[int, queue.SimpleQueue] | None) -> threading.Thread:
        thread = threading.Thread(
            target=self._read_jobs, args=(job,), name="vipexec-line", daemon=True
        )  # daemon: an abandoned call may never return
        thread.start()
        return thread

    def _read_jobs(self, job: tuple[int, queue.SimpleQueue] | None) -> None:
        me = threading.current_thread()
        while True:
            if job is None:
                job = self._jobs.get()
                if job is None:
                    return
            with self._lock:
                if self._current is not me:  # replaced while waiting: leave the line
                    self._jobs.put(job)
                    return
                self._job_of_current = job
            if not self._read_job(me, *job):
                return
            job = None

    def _read_job(self, me: threading.Thread, job: int, outcomes: queue.SimpleQueue) -> bool:
        """Serve ``job``'s calls until its last message; False when this thread must leave."""
        while True:
            try:
                frame = self._channel.receive()
                is_call = messages.is_call(frame)
                if is_call:
                    call_job, call, *request = messages.decode_call(frame)
                    if call_job != job:
                        raise messages.ProtocolError(f"a call for job {call_job}, not {job}")
                else:
                    message = messages.decode(frame)
            except (EOFError, OSError, ValueError) as exc:
                outcomes.put(("lost", exc))
                return False  # the worker is gone: nothing more will come on this line
            except messages.ProtocolError as exc:
                outcomes.put(("malformed", exc))
                return False  # the worker is killed: never read from it again
            if not is_call:
                outcomes.put(("message", message))
                return message.get("job") == job and message["op"] in ("done", "invalid")
            with self._lock:
                if self._current is not me:
                    return False
                if self._refusing:
                    self._answer(messages.encode_abandoned(job, call))
                    continue
                self._serving = (job, call)
            answer = _reply(job, call, self._serve(*request))
            with self._lock:
                if self._current is not me:
                    return False  # abandoned: the answer is dropped, another thread reads on
                self._serving = None
                self._answer(answer)

    def _serve(self, method: str, image: str | None, box: list | None, args: dict) -> Any:
        try:
            return self._server.serve(method, image, box, args)
        except Exception as exc:  # a server bug costs this call, never the pool
            return ServedCall.failure(exc, 0.0, "?")

    def _answer(self, data: bytes) -> None:
        """Write an answer (the caller holds the lock, so each call is answered once)."""
        try:
            self._channel.send(data)
        except (OSError, ValueError) as exc:
            self._on_broken(f"the answer to its API call could not be sent ({exc})")


def _reply(job: int, call: int, served: Any) -> bytes:
    """The encoded answer; one that cannot cross (not plain JSON, too large) becomes a failed
    call, so a broken server costs only the program that asked."""
    try:
        return messages.encode_reply(job, call, served)
    except (AttributeError, TypeError, ValueError, RecursionError) as exc:
        backend = served.backend if isinstance(served, ServedCall) else "?"
        reason = f"the call server's answer cannot be sent to the worker ({str(exc)[:200]})"
        failure = ServedCall.failure(TypeError(reason), 0.0, backend)
        return messages.encode_reply(job, call, failure)
