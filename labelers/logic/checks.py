"""The result of one logic check on one block."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

OUTCOMES = ("pass", "fail", "skip")


@dataclass(frozen=True)
class Check:
    """``outcome`` is ``pass``, ``fail`` or ``skip`` (the check did not apply or could not run)."""

    name: str
    block: int
    outcome: str
    message: str = ""
    data: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.outcome not in OUTCOMES:
            raise ValueError(f"check outcome must be one of {OUTCOMES}, not {self.outcome!r}")

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"check": self.name, "outcome": self.outcome}
        if self.message:
            out["message"] = self.message
        if self.data:
            out["data"] = self.data
        return out
