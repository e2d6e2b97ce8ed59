"""Chain-of-thought steps from traced blocks: the converter interface, the form rules and the
template converter."""

from vipexec.cot.converter import StepContext, StepConverter
from vipexec.cot.form import check_step_form
from vipexec.cot.template import TemplateConverter, block_step, known_values, run_steps
from vipexec.cot.values import describe_value

__all__ = [
    "StepContext",
    "StepConverter",
    "TemplateConverter",
    "block_step",
    "check_step_form",
    "describe_value",
    "known_values",
    "run_steps",
]
