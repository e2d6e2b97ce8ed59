"""Labelers by name: the built-ins plus third-party labelers from the ``vipexec.labelers``
entry-point group (``name = "package.module:factory"``, ``factory(**options) -> Labeler``).

Entry points are read on first use, never at import time.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable
from typing import Any

from vipexec.labelers.base import Labeler, LabelerError

__all__ = [
    "ENTRY_POINT_GROUP",
    "available_labelers",
    "create_labeler",
    "register_labeler",
]

ENTRY_POINT_GROUP = "vipexec.labelers"

Factory = Callable[..., Labeler]

_BUILTIN: dict[str, str] = {
    "relevance": "vipexec.labelers.relevance:RelevanceLabeler",
    "logic": "vipexec.labelers.logic:LogicLabeler",
    "attribute": "vipexec.labelers.attribute:AttributeLabeler",
}
_REGISTRY: dict[str, Factory | str] = dict(_BUILTIN)
_entry_points_loaded = False


def register_labeler(name: str, factory: Factory | str, *, replace: bool = False) -> None:
    """Register ``factory(**options) -> Labeler`` (or a ``"module:attribute"`` string)."""
    if not isinstance(name, str) or not name.strip() or name != name.strip() or "," in name:
        raise LabelerError(f"a labeler name is a non-empty word without commas: {name!r}")
    if not (callable(factory) or (isinstance(factory, str) and ":" in factory)):
        raise LabelerError(f"labeler {name!r}: factory must be callable or 'module:attribute'")
    _load_entry_points()
    if name in _REGISTRY and not replace:
        raise LabelerError(f"labeler {name!r} is already registered (pass replace=True)")
    _REGISTRY[name] = factory


def available_labelers() -> list[str]:
    """Registered labeler names (built-ins and entry points), sorted."""
    _load_entry_points()
    return sorted(_REGISTRY)


def create_labeler(name: str, **options: Any) -> Labeler:
    """A labeler by name, built with ``options``; unknown names or options raise LabelerError."""
    _load_entry_points()
    if name not in _REGISTRY:
        known = ", ".join(sorted(_REGISTRY))
        raise LabelerError(f"unknown labeler {name!r}; available labelers: {known}")
    factory = _resolve(name)
    try:
        signature = inspect.signature(factory)
    except (TypeError, ValueError):
        signature = None
    if signature is not None:
        try:
            signature.bind(**options)
        except TypeError as exc:
            raise LabelerError(f"labeler {name!r}: bad options ({exc})") from None
    labeler = factory(**options)
    for attribute in ("name", "label"):
        if not hasattr(labeler, attribute):
            raise LabelerError(
                f"labeler {name!r}: {type(labeler).__name__} has no {attribute!r} "
                "(see vipexec.labelers.Labeler)"
            )
    return labeler


def _resolve(name: str) -> Factory:
    factory = _REGISTRY[name]
    if isinstance(factory, str):
        module, _, attribute = factory.partition(":")
        try:
            factory = getattr(importlib.import_module(module), attribute)
        except (ImportError, AttributeError) as exc:
            raise LabelerError(f"labeler {name!r} cannot be loaded ({exc})") from exc
        _REGISTRY[name] = factory
    return factory


def _load_entry_points() -> None:
    """Add labelers advertised by installed distributions (built-ins keep their factories)."""
    global _entry_points_loaded
    if _entry_points_loaded:
        return
    _entry_points_loaded = True
    from importlib.metadata import entry_points

    for entry in entry_points(group=ENTRY_POINT_GROUP):
        if entry.name in _BUILTIN or entry.name in _REGISTRY:
            continue
        _REGISTRY[entry.name] = entry.value
