"""Errors raised by vipexec.reward; every public validation failure is one of these."""

from __future__ import annotations


class RewardError(ValueError):
    """A bad argument, config or input for the reward model; its message is one clear line."""


class StepDataError(RewardError):
    """A step-dataset row breaks the contract (DESIGN.md section 6).

    The message names the source, the row and the field, so a user can find the bad line.
    """

    def __init__(
        self,
        message: str,
        *,
        source: str | None = None,
        row: int | None = None,
        field: str | None = None,
    ) -> None:
        self.source = source
        self.row = row
        self.field = field
        where = []
        if source is not None:
            where.append(source)
        if row is not None:
            where.append(f"row {row}")
        if field is not None:
            where.append(f"field {field!r}")
        prefix = ", ".join(where)
        super().__init__(f"{prefix}: {message}" if prefix else message)
