"""Dispatchers: the one door between program-side API objects and the backend.

``call(method, image, box, args)`` takes and returns plain data only (str, int, float, bool,
None, and lists/tuples/dicts of those): an image id, never pixels. That keeps the door able to
cross a process boundary (sandbox worker -> model host) unchanged.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any, Protocol, runtime_checkable

from vipexec.modules.backend import IMAGE_METHODS, METHODS, Backend, normalize_result
from vipexec.modules.errors import BackendError
from vipexec.modules.images import ImageStore
from vipexec.tracer import record_call

__all__ = ["Dispatcher", "LocalDispatcher", "check_plain"]


@runtime_checkable
class Dispatcher(Protocol):
    """What API objects call. Implementations must accept and return plain data only."""

    def call(
        self, method: str, image: str | None, box: tuple[int, ...] | None, args: dict[str, Any]
    ) -> Any: ...


_PLAIN_SCALARS = (str, int, float, bool, type(None))


def check_plain(value: Any, where: str = "value", _depth: int = 0) -> None:
    """Raise ``TypeError`` unless ``value`` is plain data (exact builtin types, bounded depth)."""
    kind = type(value)
    if kind in _PLAIN_SCALARS:
        return
    if _depth > 20:
        raise TypeError(f"{where}: nested too deeply")
    if kind in (list, tuple):
        for item in value:
            check_plain(item, where, _depth + 1)
        return
    if kind is dict:
        for key, item in value.items():
            if type(key) is not str:
                raise TypeError(f"{where}: dict keys must be str, got {type(key).__name__}")
            check_plain(item, where, _depth + 1)
        return
    raise TypeError(f"{where}: {kind.__name__} is not plain data")


class LocalDispatcher:
    """Calls a backend in this process, resolving image ids through an :class:`ImageStore`.

    Every call is reported to the tracer (:func:`vipexec.tracer.record_call`) with its latency;
    a failing call is reported with ``error=`` and its exception propagates unchanged.
    """

    def __init__(self, backend: Backend, store: ImageStore) -> None:
        if not isinstance(backend, Backend):
            raise TypeError(f"LocalDispatcher needs a Backend, got {type(backend).__name__}")
        if not isinstance(store, ImageStore):
            raise TypeError(f"LocalDispatcher needs an ImageStore, got {type(store).__name__}")
        self._backend = backend
        self._store = store

    @property
    def backend_id(self) -> str:
        return self._backend.backend_id

    def call(
        self,
        method: str,
        image: str | None,
        box: Sequence[int] | None,
        args: dict[str, Any],
    ) -> Any:
        if method not in METHODS:
            raise BackendError(
                f"unknown API method {method!r}; known: {', '.join(sorted(METHODS))}"
            )
        check_plain(args, f"{method}() arguments")
        backend_id = self._backend.backend_id
        box = tuple(int(v) for v in box) if box is not None else None
        start = time.perf_counter()
        try:
            result = self._invoke(method, image, box, args)
            result = normalize_result(method, result, args, backend_id)
        except Exception as exc:
            ms = (time.perf_counter() - start) * 1000.0
            record_call(
                method, args, None, ms=ms, backend=backend_id, image=image, box=box,
                error=f"{type(exc).__name__}: {exc}",
            )  # fmt: skip
            raise
        ms = (time.perf_counter() - start) * 1000.0
        record_call(method, args, result, ms=ms, backend=backend_id, image=image, box=box)
        return result

    def _invoke(
        self, method: str, image: str | None, box: tuple[int, ...] | None, args: dict
    ) -> Any:
        fn = getattr(self._backend, method)
        if method in IMAGE_METHODS:
            if image is None or box is None:
                raise BackendError(f"{method}() needs an image id and a box")
            return fn(self._store.pixels(image), box, **args)
        if method == "best_image_match":
            crops = [(self._store.pixels(i), tuple(int(v) for v in b)) for i, b in args["crops"]]
            return fn(crops, list(args["content"]))
        return fn(**args)
