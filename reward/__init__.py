"""vipexec.reward: the TriAtt-CoT step reward model, its training harness and best-of-N selection.

Importing this package is cheap: torch, transformers and lightning load only when a name that
needs them is first used (``RewardModel``, the Lightning classes, ...).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from vipexec.core.lazy import lazy_exports

_EXPORTS = {
    "RewardModel": "vipexec.reward.inference",
    "RewardNet": "vipexec.reward.model",
    "RewardLitModule": "vipexec.reward.lightning",
    "StepDataModule": "vipexec.reward.lightning",
    "StepEncoder": "vipexec.reward.tokenize",
    "load_step_dataset": "vipexec.reward.data",
    "export_checkpoint": "vipexec.reward.export",
    "BackboneConfig": "vipexec.reward.config",
    "EncodingConfig": "vipexec.reward.config",
    "HeadConfig": "vipexec.reward.config",
    "ImageConfig": "vipexec.reward.config",
    "LossConfig": "vipexec.reward.config",
    "OptimConfig": "vipexec.reward.config",
    "RewardModelConfig": "vipexec.reward.config",
    "RewardError": "vipexec.reward.errors",
    "StepDataError": "vipexec.reward.errors",
    "validate_row": "vipexec.reward.contract",
    "DIMENSIONS": "vipexec.reward.contract",
    "select_best": "vipexec.reward.select",
    "rank": "vipexec.reward.select",
    "candidate_key": "vipexec.reward.select",
    "SelectionError": "vipexec.reward.select",
}

__all__ = [
    "DIMENSIONS",
    "BackboneConfig",
    "EncodingConfig",
    "HeadConfig",
    "ImageConfig",
    "LossConfig",
    "OptimConfig",
    "RewardError",
    "RewardLitModule",
    "RewardModel",
    "RewardModelConfig",
    "RewardNet",
    "SelectionError",
    "StepDataError",
    "StepDataModule",
    "StepEncoder",
    "candidate_key",
    "export_checkpoint",
    "load_step_dataset",
    "rank",
    "select_best",
    "validate_row",
]


__getattr__, __dir__ = lazy_exports(globals(), _EXPORTS)


if TYPE_CHECKING:
    from vipexec.reward.config import (
        BackboneConfig,
        EncodingConfig,
        HeadConfig,
        ImageConfig,
        LossConfig,
        OptimConfig,
        RewardModelConfig,
    )
    from vipexec.reward.contract import DIMENSIONS, validate_row
    from vipexec.reward.data import load_step_dataset
    from vipexec.reward.errors import RewardError, StepDataError
    from vipexec.reward.export import export_checkpoint
    from vipexec.reward.inference import RewardModel
    from vipexec.reward.lightning import RewardLitModule, StepDataModule
    from vipexec.reward.model import RewardNet
    from vipexec.reward.select import SelectionError, candidate_key, rank, select_best
    from vipexec.reward.tokenize import StepEncoder
