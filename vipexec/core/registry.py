"""Named, lazily imported factories: the pattern behind backends and labelers.

A factory is registered as a callable or as a ``"module:attribute"`` string imported on first
use (so heavy implementations stay out of start-up). Third parties can add factories through
an entry-point group, read on first use, never at import time. ``create`` checks options
against the factory's signature, so a misspelt option is a clear error naming what is
accepted instead of a ``TypeError`` from deep inside.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable
from typing import Any


class Registry:
    """Factories of one kind (``"backend"``, ``"labeler"``), each error an ``error`` instance."""

    def __init__(
        self,
        kind: str,
        error: type[Exception],
        builtins: dict[str, Callable[..., Any] | str],
        *,
        entry_point_group: str | None = None,
    ) -> None:
        self.kind = kind
        self.error = error
        self._builtins = dict(builtins)
        self._factories: dict[str, Callable[..., Any] | str] = dict(builtins)
        self._group = entry_point_group
        self._entry_points_loaded = entry_point_group is None

    def register(
        self, name: str, factory: Callable[..., Any] | str, *, replace: bool = False
    ) -> None:
        if not isinstance(name, str) or not name or name != name.strip() or "," in name:
            raise self.error(
                f"a {self.kind} name is a non-empty word without spaces or commas: {name!r}"
            )
        if not (callable(factory) or (isinstance(factory, str) and ":" in factory)):
            raise self.error(
                f"{self.kind} {name!r}: factory must be callable or 'module:attribute'"
            )
        self._load_entry_points()
        if name in self._factories and not replace:
            raise self.error(f"{self.kind} {name!r} is already registered (pass replace=True)")
        self._factories[name] = factory

    def names(self) -> list[str]:
        self._load_entry_points()
        return sorted(self._factories)

    def create(self, name: str, **options: Any) -> Any:
        """Build ``name`` with ``options``; unknown names or options raise ``self.error``."""
        self._load_entry_points()
        if name not in self._factories:
            known = ", ".join(self.names()) or "none"
            raise self.error(f"unknown {self.kind} {name!r}; available {self.kind}s: {known}")
        factory = self.resolve(name)
        try:
            signature = inspect.signature(factory)
        except (TypeError, ValueError):
            signature = None
        if signature is not None:
            try:
                signature.bind(**options)
            except TypeError as exc:
                accepted = [
                    p.name
                    for p in signature.parameters.values()
                    if p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD)
                ]
                raise self.error(
                    f"{self.kind} {name!r}: bad options ({exc}); "
                    f"accepted: {', '.join(accepted) or 'none'}"
                ) from None
        return factory(**options)

    def resolve(self, name: str) -> Callable[..., Any]:
        factory = self._factories[name]
        if isinstance(factory, str):
            module, _, attribute = factory.partition(":")
            try:
                factory = getattr(importlib.import_module(module), attribute)
            except (ImportError, AttributeError) as exc:
                raise self.error(f"{self.kind} {name!r} cannot be loaded ({exc})") from exc
            self._factories[name] = factory
        return factory

    def _load_entry_points(self) -> None:
        if self._entry_points_loaded:
            return
        self._entry_points_loaded = True
        from importlib.metadata import entry_points

        for entry in entry_points(group=self._group):
            # Built-ins and explicit registrations keep their factories.
            if entry.name not in self._builtins and entry.name not in self._factories:
                self._factories[entry.name] = entry.value
