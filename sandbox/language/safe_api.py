"""Safe API classes: the classes whose objects a sandboxed program may hold without a proxy.

This module imports nothing, so API modules can mark their classes at import time without
loading the sandbox (see :func:`vipexec.sandbox.language.proxy.expose` for what being safe changes).
"""

from __future__ import annotations

from collections.abc import Callable

_SAFE_API: set[type] = set()
_ON_CHANGE: list[Callable[[], None]] = []


def mark_safe_api(*classes: type) -> None:
    """Declare classes whose public surface is safe to hand to programs without a proxy.

    The promise: no public attribute or method result leads to anything but plain data or
    instances of safe API classes (no models, files, modules, host containers), no public
    method changes shared state, and no exception a method raises carries anything else.
    Subclasses are covered too.
    """
    for cls in classes:
        if not isinstance(cls, type):
            raise TypeError(f"mark_safe_api() takes classes, not {type(cls).__name__}")
    _SAFE_API.update(classes)
    for forget in _ON_CHANGE:
        forget()


def is_safe_api(cls: type) -> bool:
    """Whether ``cls`` or one of its bases was marked with :func:`mark_safe_api`."""
    return any(base in _SAFE_API for base in type.__getattribute__(cls, "__mro__"))


def on_change(forget: Callable[[], None]) -> None:
    """Call ``forget`` whenever classes are marked (caches of decisions about classes)."""
    _ON_CHANGE.append(forget)
