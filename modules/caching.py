"""A call server that asks the server behind it once per distinct call.

Programs of one program tree share their leading blocks, so they make the same API calls on the
same images; wrapped in :class:`CachingServer`, a backend computes each distinct call once, also
when several sandbox workers ask for it at the same moment (the later askers wait for the first
answer instead of computing it again: :meth:`CallCache.fetch`). Failed calls are not cached.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import replace
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
        first: list[ServedCall] = []

        def compute() -> Any:
            served = self._server.serve(method, image, box, args)
            with self._lock:
                self.computed += 1
            first.append(served)
            if served.error is not None:
                raise _Failed(served)
            return served.result

        key = call_key(self.identity, method, image, box, args)
        try:
            result, hit = self.cache.fetch(key, compute)
        except _Failed as failed:  # this call's failure, or the one this call waited for
            return replace(failed.served, ms=_ms(start))
        if first:
            return replace(first[0], ms=_ms(start))
        return ServedCall(result, _ms(start), self.identity, cache_hit=hit)


class _Failed(Exception):
    """A failed call, carried through the cache to every caller waiting for it."""

    def __init__(self, served: ServedCall) -> None:
        super().__init__(served.error)
        self.served = served


def _ms(start: float) -> float:
    return (time.perf_counter() - start) * 1000.0
