"""The step-dataset contract as reward reads it: :mod:`vipexec.core.step_rows` owns the row schema;
this module re-exports it, with the validator raising :class:`StepDataError` (a
:class:`RewardError`, which the reward CLI reports as one line)."""

from __future__ import annotations

from functools import partial

from vipexec.core.step_rows import DIMENSIONS, LABEL_FIELDS, and_label
from vipexec.core.step_rows import validate_row as validate_any
from vipexec.reward.errors import StepDataError

__all__ = ["DIMENSIONS", "LABEL_FIELDS", "and_label", "validate_row"]

validate_row = partial(validate_any, error=StepDataError)
""":func:`vipexec.core.step_rows.validate_row`, raising :class:`StepDataError`."""
