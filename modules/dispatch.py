"""Dispatchers: the one door between program-side API objects and the backend.

``call(method, image, box, args)`` takes and returns plain data only (str, int, float, bool,
None, and lists/tuples/dicts of those): an image id, never pixels. That keeps the door able to
cross a process boundary (sandbox worker -> model host) unchanged.

Two halves, so the door can be split across processes:

- a **call server** (:class:`CallServer`) answers a call and says how: result, latency,
  backend, cache hit, model. :class:`LocalDispatcher` is one; a model host with batching and
  caching is another. Servers record nothing: they may run in a process with no trace.
- a **dispatcher** is what API objects hold: it gets the answer (from a server in this process,
  or across a pipe) and files the call in the running block's trace with
  :func:`vipexec.core.tracer.record_call`.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from vipexec.core.plain_data import NotPlainData, plain_copy
from vipexec.core.tracer import record_call
from vipexec.modules.backend import IMAGE_METHODS, METHODS, Backend, normalize_result
from vipexec.modules.errors import BackendError
from vipexec.modules.methods import check_arguments, method_named

if TYPE_CHECKING:
    from vipexec.modules.images import ImageStore

__all__ = [
    "CallServer",
    "Dispatcher",
    "LocalDispatcher",
    "ServedCall",
    "check_plain",
    "record_served",
]


@runtime_checkable
class Dispatcher(Protocol):
    """What API objects call. Implementations must accept and return plain data only."""

    def call(
        self, method: str, image: str | None, box: tuple[int, ...] | None, args: dict[str, Any]
    ) -> Any: ...


@dataclass(frozen=True, slots=True)
class ServedCall:
    """A call's answer plus what the trace wants to know about it (all plain data)."""

    result: Any
    ms: float
    backend: str
    cache_hit: bool | None = None
    model: str | None = None
    error: str | None = None
    """``"Type: message"`` when the call failed (``result`` is then None)"""
    error_type: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "result": self.result,
            "ms": self.ms,
            "backend": self.backend,
            "cache_hit": self.cache_hit,
            "model": self.model,
            "error": self.error,
            "error_type": self.error_type,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ServedCall:
        return cls(**data)

    @classmethod
    def failure(cls, exc: BaseException, ms: float, backend: str) -> ServedCall:
        """A failed call, its exception kept as data (a server never raises to its caller)."""
        kind = type(exc).__name__
        return cls(None, ms, backend, error=f"{kind}: {exc}", error_type=kind)


@runtime_checkable
class CallServer(Protocol):
    """Answers API calls without tracing them; thread-safe in the sandbox pool's parent."""

    def serve(
        self, method: str, image: str | None, box: Sequence[int] | None, args: dict[str, Any]
    ) -> ServedCall: ...


def record_served(
    method: str, image: str | None, box: Sequence[int] | None, args: dict, served: ServedCall
) -> None:
    """File a served call in the running block's trace."""
    record_call(
        method,
        args,
        served.result,
        ms=served.ms,
        backend=served.backend,
        image=image,
        box=box,
        cache_hit=served.cache_hit,
        model=served.model,
        error=served.error,
    )


def check_plain(value: Any, where: str = "value") -> None:
    """Raise ``TypeError`` unless ``value`` is plain data (:mod:`vipexec.core.plain_data`)."""
    try:
        plain_copy(value)
    except NotPlainData as exc:
        raise TypeError(f"{where}: {exc}") from None


class LocalDispatcher:
    """Calls a backend in this process, resolving image ids through an :class:`ImageStore`.

    Every call is reported to the tracer (:func:`vipexec.core.tracer.record_call`) with its latency;
    a failing call is reported with ``error=`` and its exception propagates unchanged.
    """

    def __init__(self, backend: Backend, store: ImageStore) -> None:
        from vipexec.modules.images import ImageStore  # numpy: not for sandbox workers

        if not isinstance(backend, Backend):
            raise TypeError(f"LocalDispatcher needs a Backend, got {type(backend).__name__}")
        if not isinstance(store, ImageStore):
            raise TypeError(f"LocalDispatcher needs an ImageStore, got {type(store).__name__}")
        self._backend = backend
        self._store = store

    @property
    def backend_id(self) -> str:
        return self._backend.backend_id

    def serve(
        self,
        method: str,
        image: str | None,
        box: Sequence[int] | None,
        args: dict[str, Any],
    ) -> ServedCall:
        """Answer one call; a failing call comes back with ``error`` set, never raised."""
        backend_id = self._backend.backend_id
        start = time.perf_counter()
        try:
            result = self.answer(method, image, box, args)
        except Exception as exc:
            return ServedCall.failure(exc, (time.perf_counter() - start) * 1000.0, backend_id)
        return ServedCall(result, (time.perf_counter() - start) * 1000.0, backend_id)

    def answer(
        self,
        method: str,
        image: str | None,
        box: Sequence[int] | None,
        args: dict[str, Any],
    ) -> Any:
        """The checked, normalized result of one call (exceptions propagate)."""
        if method not in METHODS:
            raise BackendError(
                f"unknown API method {method!r}; known: {', '.join(sorted(METHODS))}"
            )
        check_plain(args, f"{method}() arguments")
        check_arguments(method, args)  # again: a compromised worker skips the program-side check
        box = tuple(int(v) for v in box) if box is not None else None
        result = self._invoke(method, image, box, args)
        return normalize_result(method, result, args, self._backend.backend_id)

    def call(
        self,
        method: str,
        image: str | None,
        box: Sequence[int] | None,
        args: dict[str, Any],
    ) -> Any:
        box = tuple(int(v) for v in box) if box is not None else None
        backend_id = self._backend.backend_id
        start = time.perf_counter()
        try:
            result = self.answer(method, image, box, args)
        except Exception as exc:
            ms = (time.perf_counter() - start) * 1000.0
            record_served(method, image, box, args, ServedCall.failure(exc, ms, backend_id))
            raise  # in process, the program sees the backend's own exception
        ms = (time.perf_counter() - start) * 1000.0
        record_served(method, image, box, args, ServedCall(result, ms, backend_id))
        return result

    def _invoke(
        self, method: str, image: str | None, box: tuple[int, ...] | None, args: dict
    ) -> Any:
        fn = getattr(self._backend, method)
        if method in IMAGE_METHODS:
            if image is None or box is None:
                raise BackendError(f"{method}() needs an image id and a box")
            return fn(self._store.pixels(image), box, **args)
        if method_named(method).served == "crops":
            crops = [(self._store.pixels(i), tuple(int(v) for v in b)) for i, b in args["crops"]]
            return fn(crops, list(args["content"]))
        return fn(**args)


_REBUILDABLE: dict[str, type[Exception]] = {
    "ValueError": ValueError,
    "TypeError": TypeError,
    "KeyError": KeyError,
    "IndexError": IndexError,
    "ZeroDivisionError": ZeroDivisionError,
    "BackendError": BackendError,
}


class APICallError(Exception):
    """An API call failed in the backend for a reason the program cannot fix by itself."""


def served_error(served: ServedCall) -> Exception:
    """The exception a program sees for a failed call (rebuilt by name: no pickles cross)."""
    message = served.error or "the API call failed"
    kind = served.error_type or ""
    if kind == "ModuleUnavailable":
        return APICallError(message)
    exception_class = _REBUILDABLE.get(kind, APICallError)
    text = message.split(": ", 1)[1] if message.startswith(f"{kind}: ") else message
    return exception_class(text)


class ServerDispatcher:
    """A dispatcher over a :class:`CallServer` in this process: serve, record, return."""

    def __init__(self, server: CallServer) -> None:
        self._server = server

    def call(
        self,
        method: str,
        image: str | None,
        box: Sequence[int] | None,
        args: dict[str, Any],
    ) -> Any:
        served = self._server.serve(method, image, box, args)
        record_served(method, image, box, args, served)
        if served.error is not None:
            raise served_error(served)
        return served.result
