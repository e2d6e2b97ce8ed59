"""Heads on top of backbone features: TriAtt-CoT and the baselines.

Every head maps features ``[B, T, H]`` plus step ends ``[B, S]`` to logits ``[B, S, K]`` (K = 3
dimensions, or 1 for the AND head) and, for attention heads, normalised projections
``[B, S, K, P]`` for the contrastive loss.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from vipexec.reward.config import HeadConfig
from vipexec.reward.errors import RewardError

N_DIMS = 3


@dataclass
class HeadOutput:
    logits: torch.Tensor
    projections: torch.Tensor | None = None


def gather_steps(features: torch.Tensor, step_ends: torch.Tensor) -> torch.Tensor:
    """Features at the step-end positions: ``[B, T, H]``, ``[B, S]`` -> ``[B, S, H]``."""
    index = step_ends.unsqueeze(-1).expand(-1, -1, features.shape[-1])
    return features.gather(1, index)


def context_mask(step_ends: torch.Tensor, token_valid: torch.Tensor) -> torch.Tensor:
    """``[B, S, T]`` bool: step s may attend to real tokens at positions <= its end.

    Later steps are never visible. Padded steps have end 0 and so see exactly one token (no
    fully masked row, no NaN); their outputs are ignored by the loss and metrics.
    """
    positions = torch.arange(token_valid.shape[1], device=step_ends.device)
    return (positions[None, None, :] <= step_ends[:, :, None]) & token_valid[:, None, :]


class StepAttention(nn.Module):
    """One dimension's attention: the step-end feature queries the context up to that step
    (text tokens), or, with ``key_width``, the image's patch tokens."""

    def __init__(self, hidden: int, config: HeadConfig, *, key_width: int | None = None) -> None:
        super().__init__()
        self.heads = config.attn_heads
        self.query = nn.Linear(hidden, config.attn_dim)
        self.key = nn.Linear(key_width or hidden, config.attn_dim)
        self.value = nn.Linear(key_width or hidden, config.attn_dim)
        self.out = nn.Linear(config.attn_dim, config.attn_dim)
        self.dropout = config.dropout

    def forward(
        self, features: torch.Tensor, queries: torch.Tensor, allowed: torch.Tensor
    ) -> torch.Tensor:
        b, t, _ = features.shape
        s = queries.shape[1]

        def split(x: torch.Tensor, n: int) -> torch.Tensor:
            return x.view(b, n, self.heads, -1).transpose(1, 2)

        q = split(self.query(queries), s)
        k = split(self.key(features), t)
        v = split(self.value(features), t)
        p = self.dropout if self.training else 0.0
        ctx = F.scaled_dot_product_attention(q, k, v, attn_mask=allowed[:, None], dropout_p=p)
        return self.out(ctx.transpose(1, 2).reshape(b, s, -1))


class ScoringHead(nn.Module):
    """Linear-ReLU-Linear giving one logit."""

    def __init__(self, width: int, config: HeadConfig) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(width, config.mlp_hidden),
            nn.ReLU(),
            nn.Dropout(config.dropout),
            nn.Linear(config.mlp_hidden, 1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).squeeze(-1)


@dataclass
class ImageInput:
    """Patch tokens ``[B, N, C]`` of each row's image and whether the row has one ``[B]``."""

    tokens: torch.Tensor
    present: torch.Tensor


class TriAttHead(nn.Module):
    """TriAtt-CoT: per output dimension an attention head, a scoring head and a projection.

    The scoring input is the attended context concatenated with the step-end feature itself.
    With ``image_width``, each dimension also has a cross-modal attention from the step-end
    feature to the image's patch tokens, whose output joins the scoring input (zero for a row
    without an image). With ``outputs=1`` this is the single head of the 'w/o multi-dimensional
    label' ablation.
    """

    def __init__(
        self,
        hidden: int,
        config: HeadConfig,
        *,
        outputs: int = N_DIMS,
        image_width: int | None = None,
    ) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(hidden)
        width = config.attn_dim * (2 if image_width else 1) + hidden
        self.attention = nn.ModuleList(StepAttention(hidden, config) for _ in range(outputs))
        self.image_attention = (
            nn.ModuleList(
                StepAttention(hidden, config, key_width=image_width) for _ in range(outputs)
            )
            if image_width
            else None
        )
        self.scoring = nn.ModuleList(ScoringHead(width, config) for _ in range(outputs))
        self.projection = nn.ModuleList(nn.Linear(width, config.proj_dim) for _ in range(outputs))

    def forward(
        self,
        features: torch.Tensor,
        step_ends: torch.Tensor,
        token_valid: torch.Tensor,
        image: ImageInput | None = None,
    ) -> HeadOutput:
        features = self.norm(features)
        queries = gather_steps(features, step_ends)
        allowed = context_mask(step_ends, token_valid)
        parts = [[attend(features, queries, allowed)] for attend in self.attention]
        if self.image_attention is not None:
            if image is None:
                raise RewardError("this head attends to images: the batch needs image tokens")
            b, s = step_ends.shape
            every = torch.ones(b, s, image.tokens.shape[1], dtype=torch.bool, device=queries.device)
            shown = image.present[:, None, None].to(queries.dtype)
            for part, attend in zip(parts, self.image_attention):
                part.append(attend(image.tokens, queries, every) * shown)
        logits, projections = [], []
        for part, score, project in zip(parts, self.scoring, self.projection):
            z = torch.cat([*part, queries], dim=-1)
            logits.append(score(z))
            projections.append(F.normalize(project(z), dim=-1))
        return HeadOutput(torch.stack(logits, -1), torch.stack(projections, -2))


class LinearHead(nn.Module):
    """Baseline: a linear classifier per dimension on the (normalised) step-end feature, joined
    with the mean of the image's patch tokens when the model sees images (so that this row of
    the ablation removes the attention, not the image)."""

    def __init__(self, hidden: int, *, image_width: int | None = None) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(hidden)
        self.image_width = image_width
        self.linear = nn.Linear(hidden + (image_width or 0), N_DIMS)

    def forward(
        self,
        features: torch.Tensor,
        step_ends: torch.Tensor,
        token_valid: torch.Tensor,
        image: ImageInput | None = None,
    ) -> HeadOutput:
        steps = gather_steps(self.norm(features), step_ends)
        if self.image_width:
            if image is None:
                raise RewardError("this head reads images: the batch needs image tokens")
            pooled = image.tokens.mean(1) * image.present[:, None].to(steps.dtype)
            steps = torch.cat([steps, pooled[:, None, :].expand(-1, steps.shape[1], -1)], -1)
        return HeadOutput(self.linear(steps))


class MajorityHead(nn.Module):
    """Baseline: predicts each dimension's training base rate, whatever the input."""

    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("positives", torch.zeros(N_DIMS, dtype=torch.float64))
        self.register_buffer("counts", torch.zeros(N_DIMS, dtype=torch.float64))

    @torch.no_grad()
    def observe(self, labels: torch.Tensor) -> None:
        """Count labels ``[..., 3]`` (negative values mean missing)."""
        flat = labels.reshape(-1, N_DIMS).to(self.counts.dtype)
        known = flat >= 0
        self.positives += (flat.clamp(min=0) * known).sum(0)
        self.counts += known.sum(0)

    def rates(self) -> torch.Tensor:
        # With no data yet every rate is 0.5: no class is preferred.
        return torch.where(self.counts > 0, self.positives / self.counts.clamp(min=1), 0.5)

    def forward(self, step_ends: torch.Tensor) -> HeadOutput:
        eps = 1e-6
        rate = self.rates().clamp(eps, 1 - eps).float()
        logits = torch.log(rate) - torch.log1p(-rate)
        return HeadOutput(logits.to(step_ends.device).expand(*step_ends.shape, N_DIMS))
