"""One worker's API calls, served in the parent on a thread of their own.

A program's API call is served on its worker's serving thread, never on the thread that
watches the program's deadline, so a slow call cannot hold a deadline back: at the deadline
the pending call is *abandoned* (the worker is told so at once and the call's eventual answer
is dropped). Python cannot stop a thread, so an abandoned call's thread is retired: it finishes
its call, drops the answer and exits, and the worker's next call gets a fresh thread.

Each call is answered at most once, under a lock, and only while it is still the pending one;
that is what keeps an answer from ever reaching a later job.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from typing import Any

from vipexec.sandbox import messages


class CallDesk:
    """Serves one worker's calls (see the module docstring).

    ``send`` writes an encoded message to the worker; ``on_broken`` is called when that fails
    (the worker is gone or no longer in a known state and must be killed).
    """

    def __init__(
        self, server: Any, send: Callable[[bytes], None], on_broken: Callable[[str], None]
    ) -> None:
        self._server = server
        self._send = send
        self._on_broken = on_broken
        self._lock = threading.Lock()
        self._pending: tuple[int, Any] | None = None
        self._requests: queue.SimpleQueue | None = None
        self._thread: threading.Thread | None = None

    def submit(self, job: int, message: dict[str, Any]) -> None:
        """Serve a call of ``job``; ``ProtocolError`` if one is already pending (a worker
        waits for each answer, so a second call means it is not in a known state)."""
        call = message.get("call")
        with self._lock:
            if self._pending is not None:
                raise messages.ProtocolError("a second API call before the first was answered")
            self._pending = (job, call)
            if self._thread is None:
                self._requests = queue.SimpleQueue()
                self._thread = threading.Thread(
                    target=self._serve_requests,
                    args=(self._requests,),
                    name="vipexec-serve",
                    daemon=True,  # an abandoned call may never return
                )
                self._thread.start()
            requests = self._requests
        requests.put((job, call, message))

    def refuse(self, job: int, message: dict[str, Any]) -> None:
        """Answer a call made after the deadline with "abandoned", without serving it."""
        self._deliver(messages.encode({"op": "reply", "job": job, "call": message.get("call"),
                                       "abandoned": True}))  # fmt: skip

    def abandon(self, *, tell_worker: bool) -> bool:
        """Give up the pending call, if any (says whether there was one): its answer will be
        dropped, and the worker is told (``tell_worker``), which stops the program there."""
        with self._lock:
            pending = self._pending
            if pending is None:
                return False
            self._pending = None
            # The serving thread is still in this call: retire it, the next call gets another.
            self._requests.put(None)
            self._requests, self._thread = None, None
        if tell_worker:
            job, call = pending
            self._deliver(messages.encode({"op": "reply", "job": job, "call": call,
                                           "abandoned": True}))  # fmt: skip
        return True

    def close(self, timeout: float = 5.0) -> None:
        """End the serving thread (an idle one ends at once; see :meth:`abandon` for one that
        is still in a call)."""
        self.abandon(tell_worker=False)
        with self._lock:
            thread, requests = self._thread, self._requests
            self._requests, self._thread = None, None
        if thread is not None:
            requests.put(None)
            thread.join(timeout)

    def _serve_requests(self, requests: queue.SimpleQueue) -> None:
        while (item := requests.get()) is not None:
            job, call, message = item
            data = _reply(job, call, self._serve(message))
            with self._lock:
                if self._pending != (job, call):
                    continue  # abandoned: nobody waits for this answer any more
                self._pending = None
                self._deliver(data)

    def _serve(self, message: dict[str, Any]) -> Any:
        from vipexec.modules.dispatch import ServedCall

        try:
            return self._server.serve(
                str(message["method"]), message.get("image"), message.get("box"),
                dict(message.get("args") or {}),
            )  # fmt: skip
        except Exception as exc:  # a server bug costs this call, never the pool
            return ServedCall.failure(exc, 0.0, "?")

    def _deliver(self, data: bytes) -> None:
        try:
            self._send(data)
        except (OSError, ValueError) as exc:
            self._on_broken(f"the answer to its API call could not be sent ({exc})")


def _reply(job: int, call: Any, served: Any) -> bytes:
    """The encoded answer; one that cannot cross (not plain JSON, too large) becomes a failed
    call, so a broken server costs only the program that asked."""
    from vipexec.modules.dispatch import ServedCall

    try:
        return messages.encode({"op": "reply", "job": job, "call": call,
                                "served": served.to_dict()})  # fmt: skip
    except (AttributeError, TypeError, ValueError, RecursionError) as exc:
        backend = served.backend if isinstance(served, ServedCall) else "?"
        reason = f"the call server's answer cannot be sent to the worker ({str(exc)[:200]})"
        failure = ServedCall.failure(TypeError(reason), 0.0, backend)
        return messages.encode({"op": "reply", "job": job, "call": call,
                                "served": failure.to_dict()})  # fmt: skip
