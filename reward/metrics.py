"""Step metrics per stage, with torchmetrics: the paper's per-dimension accuracy and its macro
average ("Avg"), plus per-dimension F1, two-class macro-F1, AUROC and label base rate.

A step is predicted positive when its probability is > 0.5 (torchmetrics' rule). Missing labels
(< 0) are left out per dimension. A value that is undefined on the data seen (no labels of a
dimension; AUROC with one class only) is NaN and is left out of the averages.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torchmetrics import MeanMetric, Metric, SumMetric
from torchmetrics.classification import (
    BinaryAccuracy,
    BinaryAUROC,
    BinaryF1Score,
    MulticlassF1Score,
)

from vipexec.reward.contract import DIMENSIONS

METRICS = ("acc", "f1", "f1_macro", "auroc", "base_rate")
AVERAGED = ("acc", "f1", "f1_macro", "auroc")


def _dimension_metrics() -> nn.ModuleDict:
    return nn.ModuleDict(
        {
            "acc": BinaryAccuracy(),
            "f1": BinaryF1Score(),
            "f1_macro": MulticlassF1Score(num_classes=2, average="macro"),
            "auroc": BinaryAUROC(),
            "base_rate": MeanMetric(),
            # Counts decide which values are defined; as metrics they are synced across devices.
            "n": SumMetric(),
            "positives": SumMetric(),
        }
    )


class StepMetrics(nn.Module):
    """Accumulates ``[..., 3]`` probabilities against labels; names are ``{prefix}{dim}_{metric}``
    and ``{prefix}avg_{metric}``."""

    def __init__(self, prefix: str = "") -> None:
        super().__init__()
        self.prefix = prefix
        self.dims = nn.ModuleDict({d: _dimension_metrics() for d in DIMENSIONS})

    @torch.no_grad()
    def update(self, probs: torch.Tensor, labels: torch.Tensor) -> None:
        probs = probs.detach().reshape(-1, len(DIMENSIONS)).float()
        labels = labels.detach().reshape(-1, len(DIMENSIONS))
        for i, dim in enumerate(DIMENSIONS):
            known = labels[:, i] >= 0
            if not bool(known.any()):
                continue
            p = probs[known, i]
            y = labels[known, i].long()
            m = self.dims[dim]
            m["acc"].update(p, y)
            m["f1"].update(p, y)
            m["f1_macro"].update((p > 0.5).long(), y)
            m["auroc"].update(p, y)
            m["base_rate"].update(y.float())
            m["n"].update(float(y.numel()))
            m["positives"].update(float(y.sum()))

    def compute(self) -> dict[str, float]:
        out: dict[str, float] = {}
        for dim in DIMENSIONS:
            group = self.dims[dim]
            seen = group["n"].update_count > 0
            n = int(group["n"].compute()) if seen else 0
            pos = int(group["positives"].compute()) if seen else 0
            for name in METRICS:
                value = math.nan
                if n and not (name == "auroc" and pos in (0, n)):
                    value = float(self.dims[dim][name].compute())
                out[f"{self.prefix}{dim}_{name}"] = value
        for name in AVERAGED:
            values = [out[f"{self.prefix}{d}_{name}"] for d in DIMENSIONS]
            values = [v for v in values if not math.isnan(v)]
            out[f"{self.prefix}avg_{name}"] = sum(values) / len(values) if values else math.nan
        return out

    def reset(self) -> None:
        for group in self.dims.values():
            for metric in group.values():
                assert isinstance(metric, Metric)
                metric.reset()
