"""Per-dimension BCE (missing labels ignored) plus a weighted supervised-contrastive term."""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from vipexec.reward.config import LossConfig
from vipexec.reward.heads import HeadOutput

IGNORE = -100.0


@dataclass
class LossParts:
    total: torch.Tensor
    bce: torch.Tensor
    contrastive: torch.Tensor


def masked_bce(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Mean over dimensions of each dimension's mean BCE over its known labels.

    ``logits`` and ``targets`` are ``[..., K]``; targets < 0 are missing. Dimensions without a
    known label in the batch are left out of the mean; with no label at all the loss is a zero
    that still depends on ``logits`` (so backward works).
    """
    k = logits.shape[-1]
    logits = logits.reshape(-1, k)
    targets = targets.reshape(-1, k)
    known = targets >= 0
    per_item = F.binary_cross_entropy_with_logits(logits, targets.clamp(min=0), reduction="none")
    per_item = per_item * known
    counts = known.sum(0)
    present = counts > 0
    if not bool(present.any()):
        return logits.sum() * 0.0
    per_dim = per_item.sum(0) / counts.clamp(min=1)
    return per_dim[present].mean()


def supervised_contrastive(
    z: torch.Tensor, labels: torch.Tensor, *, temperature: float
) -> torch.Tensor:
    """Supervised-contrastive loss (Khosla et al., 2020) over normalised embeddings ``[N, P]``.

    The positives of an anchor are the other items with the same label. Anchors without a
    positive are skipped; if no anchor has one (e.g. one item, or all labels distinct) the loss
    is a zero that keeps the graph, never NaN.
    """
    n = z.shape[0]
    if n < 2:
        return z.sum() * 0.0
    sim = (z @ z.T) / temperature
    self_mask = torch.eye(n, dtype=torch.bool, device=z.device)
    sim = sim.masked_fill(self_mask, float("-inf"))
    log_prob = sim - torch.logsumexp(sim, dim=1, keepdim=True)
    log_prob = log_prob.masked_fill(self_mask, 0.0)  # -inf on the diagonal would give 0 * inf
    positive = (labels[:, None] == labels[None, :]) & ~self_mask
    n_pos = positive.sum(1)
    anchors = n_pos > 0
    if not bool(anchors.any()):
        return z.sum() * 0.0
    mean_log_prob = (log_prob * positive).sum(1)[anchors] / n_pos[anchors]
    return -mean_log_prob.mean()


def reward_loss(
    output: HeadOutput, targets: torch.Tensor, step_mask: torch.Tensor, config: LossConfig
) -> LossParts:
    """Total loss for head outputs against ``targets`` ``[B, S, K]`` (missing < 0).

    ``step_mask`` ``[B, S]`` marks real (kept) steps. For K = 1 (AND head) the contrastive weight
    of that single dimension is 1.
    """
    targets = torch.where(step_mask[..., None], targets, torch.full_like(targets, IGNORE))
    bce = masked_bce(output.logits, targets)
    contrastive = output.logits.sum() * 0.0
    if output.projections is not None and config.contrastive_weight > 0:
        k = targets.shape[-1]
        weights = config.contrastive_dimension_weights if k == 3 else (1.0,)
        flat_z = output.projections.reshape(-1, k, output.projections.shape[-1])
        flat_y = targets.reshape(-1, k)
        for d in range(k):
            known = flat_y[:, d] >= 0
            if weights[d] == 0 or not bool(known.any()):
                continue
            term = supervised_contrastive(
                flat_z[known, d], flat_y[known, d], temperature=config.temperature
            )
            contrastive = contrastive + weights[d] * term
    total = bce + config.contrastive_weight * contrastive
    return LossParts(total=total, bce=bce.detach(), contrastive=contrastive.detach())
