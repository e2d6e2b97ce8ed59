"""Errors raised by vipexec.reward; every public validation failure is one of these."""

from __future__ import annotations

from vipexec.core.step_rows import StepRowError


class RewardError(ValueError):
    """A bad argument, config or input for the reward model; its message is one clear line."""


class StepDataError(RewardError, StepRowError):
    """A step-dataset row breaks the contract (:mod:`vipexec.core.step_rows`).

    The message names the source, the row and the field, so a user can find the bad line.
    """
