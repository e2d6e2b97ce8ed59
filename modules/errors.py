"""Exceptions of the module layer (images, backends, dispatch).

Every message is one line that names what failed and why, fit for a CLI's stderr.
"""

from __future__ import annotations

from vipexec.core.errors import VipexecError


class ModulesError(VipexecError):
    """Base class of the errors this package raises on purpose."""


class InputError(ModulesError):
    """An input image or video cannot be used: missing, not a file, unreadable, empty."""


class UnknownImageError(ModulesError, LookupError):
    """An image id that the store does not hold."""

    def __str__(self) -> str:  # LookupError would quote the message like a KeyError
        return str(self.args[0]) if self.args else "unknown image"


class BackendError(ModulesError, ValueError):
    """A backend cannot be created (unknown name, bad options) or broke its contract."""


class ModuleUnavailable(ModulesError):
    """A backend cannot perform one API operation (no model for it, or not supported)."""

    def __init__(self, method: str, backend: str, reason: str):
        self.method = method
        self.backend = backend
        self.reason = reason
        super().__init__(f"{method}() is unavailable on backend {backend!r}: {reason}")


class ArgumentTooLarge(ModulesError, ValueError):
    """An API call's argument is over its size bound (see :mod:`vipexec.modules.bounds`)."""
