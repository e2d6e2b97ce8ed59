"""Chain-of-thought steps from traced blocks: the converter interface and its implementations."""

from vipexec.cot.converter import StepContext, StepConverter
from vipexec.cot.template import block_step, describe_value, run_steps

__all__ = ["StepContext", "StepConverter", "block_step", "describe_value", "run_steps"]
