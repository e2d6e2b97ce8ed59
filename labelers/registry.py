"""Labelers by name: the built-ins plus third-party labelers from the ``vipexec.labelers``
entry-point group (``name = "package.module:factory"``, ``factory(**options) -> Labeler``).

Entry points are read on first use, never at import time.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from vipexec.core.registry import Registry
from vipexec.labelers.base import Labeler, LabelerError

__all__ = [
    "ENTRY_POINT_GROUP",
    "available_labelers",
    "create_labeler",
    "register_labeler",
]

ENTRY_POINT_GROUP = "vipexec.labelers"

Factory = Callable[..., Labeler]

BUILTIN_LABELERS: dict[str, str] = {
    "relevance": "vipexec.labelers.relevance:RelevanceLabeler",
    "logic": "vipexec.labelers.logic:LogicLabeler",
    "attribute": "vipexec.labelers.attribute:AttributeLabeler",
}
_LABELERS = Registry("labeler", LabelerError, BUILTIN_LABELERS, entry_point_group=ENTRY_POINT_GROUP)


def register_labeler(name: str, factory: Factory | str, *, replace: bool = False) -> None:
    """Register ``factory(**options) -> Labeler`` (or a ``"module:attribute"`` string)."""
    _LABELERS.register(name, factory, replace=replace)


def available_labelers() -> list[str]:
    """Registered labeler names (built-ins and entry points), sorted."""
    return _LABELERS.names()


def create_labeler(name: str, **options: Any) -> Labeler:
    """A labeler by name, built with ``options``; unknown names or options raise LabelerError."""
    labeler = _LABELERS.create(name, **options)
    for attribute in ("name", "label"):
        if not hasattr(labeler, attribute):
            raise LabelerError(
                f"labeler {name!r}: {type(labeler).__name__} has no {attribute!r} "
                "(see vipexec.labelers.Labeler)"
            )
    return labeler
