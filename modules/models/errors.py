"""Errors of the model layer: bad configuration, missing checkpoints, unreachable servers.

Every message is one line naming what failed, the model and where it looked, fit for a CLI.
"""

from __future__ import annotations

from collections.abc import Sequence

from vipexec.modules.errors import ModulesError, ModuleUnavailable

__all__ = ["ConfigError", "ModelLoadError", "ModelNotFound", "ServerUnreachable"]


class ConfigError(ModulesError, ValueError):
    """A models config file (or dict) is invalid: the message names the file and the key."""


class ModelNotFound(ModuleUnavailable):
    """A configured checkpoint is not on this machine (and downloads are off).

    ``method`` is the API method that needed it (``"*"`` while no call is known yet), ``model``
    the config's model name, ``looked_in`` every place searched, in order.
    """

    def __init__(
        self,
        method: str,
        model: str,
        kind: str,
        checkpoint: str,
        looked_in: Sequence[str],
        *,
        hint: str = "",
    ) -> None:
        self.model = model
        self.kind = kind
        self.checkpoint = checkpoint
        self.looked_in = tuple(looked_in)
        self.hint = hint
        places = "; ".join(self.looked_in) or "nowhere"
        reason = (
            f"model {model!r} ({kind}): checkpoint {checkpoint!r} not found; looked in: {places}"
        )
        if hint:
            reason += f" ({hint})"
        super().__init__(method, f"models:{model}", reason)

    def for_method(self, method: str) -> ModelNotFound:
        """The same error, naming the API method that needed the model."""
        return ModelNotFound(
            method, self.model, self.kind, self.checkpoint, self.looked_in, hint=self.hint
        )


class ModelLoadError(ModuleUnavailable):
    """A checkpoint was found but could not be loaded (wrong format, missing package, ...)."""

    def __init__(self, method: str, model: str, kind: str, reason: str) -> None:
        self.model = model
        self.kind = kind
        super().__init__(method, f"models:{model}", f"model {model!r} ({kind}): {reason}")

    def for_method(self, method: str) -> ModelLoadError:
        reason = self.reason.split(": ", 1)[1] if ": " in self.reason else self.reason
        return ModelLoadError(method, self.model, self.kind, reason)


class ServerUnreachable(ModuleUnavailable):
    """An HTTP model server did not answer (after retries)."""

    def __init__(self, method: str, model: str, url: str, reason: str) -> None:
        self.model = model
        self.url = url
        super().__init__(
            method, f"models:{model}", f"cannot reach the model server at {url}: {reason}"
        )
