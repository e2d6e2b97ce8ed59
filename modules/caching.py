"""A call server that asks the server behind it once per distinct call.

Programs of one program tree share their leading blocks, so they make the same API calls on the
same images; wrapped in :class:`CachingServer`, a backend computes each distinct call once, also
when several sandbox workers ask for it at the same moment (the later askers wait for the first
answer instead of computing it again). Failed calls are not cached.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from concurrent.futures import Future
from typing import Any

from vipexec.modules.dispatch import CallServer, ServedCall
from vipexec.modules.models.cache import CallCache, call_key

__all__ = ["CachingServer"]


class CachingServer:
    """A :class:`~vipexec.modules.dispatch.CallServer` in front of ``server``.

    ``identity`` names what answers (it is part of every cache key: a backend's ``backend_id``
    by default, when ``server`` has one); ``cache`` may be shared, or persisted to a file.
    """

    def __init__(
        self, server: CallServer, *, cache: CallCache | None = None, identity: str | None = None
    ) -> None:
        self._server = server
        self.cache = cache if cache is not None else CallCache()
        self.identity = identity or getattr(server, "backend_id", type(server).__name__)
        self._lock = threading.Lock()
        self._pending: dict[str, Future] = {}
        self.computed = 0
        """calls passed on to ``server``"""

    def load(self) -> None:
        """Load the server behind (a model host) before the first program starts."""
        load = getattr(self._server, "load", None)
        if load is not None:
            load()

    def serve(
        self, method: str, image: str | None, box: Sequence[int] | None, args: dict[str, Any]
    ) -> ServedCall:
        start = time.perf_counter()
        key = call_key(self.identity, method, image, box, args)
        with self._lock:
            found, result = self.cache.lookup(key)
            pending = None if found else self._pending.get(key)
            if not found and pending is None:
                self._pending[key] = Future()
        if found:
            return ServedCall(result, _ms(start), self.identity, cache_hit=True)
        if pending is not None:  # another worker is computing this very call
            served = pending.result()
            return ServedCall(
                served.result,
                _ms(start),
                served.backend,
                cache_hit=served.error is None,
                model=served.model,
                error=served.error,
                error_type=served.error_type,
            )
        return self._compute(key, method, image, box, args)

    def _compute(
        self,
        key: str,
        method: str,
        image: str | None,
        box: Sequence[int] | None,
        args: dict[str, Any],
    ) -> ServedCall:
        served: ServedCall | None = None
        try:
            served = self._server.serve(method, image, box, args)
            if served.error is None:
                self.cache.put(key, served.result)
            return served
        finally:
            with self._lock:
                future = self._pending.pop(key)
                self.computed += 1
            if served is None:  # the server broke its promise never to raise
                served = ServedCall(None, 0.0, self.identity, error="the call failed")
            future.set_result(served)


def _ms(start: float) -> float:
    return (time.perf_counter() - start) * 1000.0
