"""RewardNet: backbone + head, the plain ``nn.Module`` that training, export and inference share."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from vipexec.reward.config import RewardModelConfig
from vipexec.reward.errors import RewardError
from vipexec.reward.features import FeatureCache
from vipexec.reward.heads import HeadOutput, ImageInput, LinearHead, MajorityHead, TriAttHead
from vipexec.reward.vision import ImageTokens


class RewardNet(nn.Module):
    """Scores every kept step of a batch on relevance, logic and attribute."""

    def __init__(self, config: RewardModelConfig, *, load_image_weights: bool = True) -> None:
        """``load_image_weights=False`` skips reading ``image.weights`` (the caller loads a
        state dict that holds the image encoder, as exports and checkpoints do)."""
        super().__init__()
        from vipexec.reward.backbone import Backbone

        self.config = config
        kind = config.head.kind
        self.backbone: Backbone | None = None
        self.images: ImageTokens | None = None
        if kind == "majority":
            self.head: nn.Module = MajorityHead()
        else:
            self.backbone = Backbone(config.backbone)
            hidden = self.backbone.hidden_size
            image_width = None
            if config.image.enabled:
                if self.backbone.is_vlm:
                    raise RewardError(
                        "image.encoder is for text backbones; a VLM backbone sees images itself"
                    )
                self.images = ImageTokens(config.image, load_weights=load_image_weights)
                image_width = self.images.width
            if kind == "linear":
                self.head = LinearHead(hidden, image_width=image_width)
            else:
                self.head = TriAttHead(
                    hidden,
                    config.head,
                    outputs=1 if kind == "and" else 3,
                    image_width=image_width,
                )
        # Not a submodule: a cache is runtime state, shareable between models, never saved.
        self.feature_cache: FeatureCache | None = None
        if config.backbone.cache_features and self.backbone is not None:
            if self.backbone.is_vlm:
                raise RewardError("backbone.cache_features is for text backbones only")
            self.feature_cache = FeatureCache()

    @property
    def outputs_and(self) -> bool:
        return self.config.head.kind == "and"

    def features(self, batch: dict[str, Any]) -> torch.Tensor:
        assert self.backbone is not None
        if self.feature_cache is None:
            return self.backbone(batch)
        if self.config.backbone.tuning == "top":
            lower = self.feature_cache.features(batch, self.backbone.lower)
            return self.backbone.upper(lower, batch)
        return self.feature_cache.features(batch, self.backbone)

    def forward(self, batch: dict[str, Any]) -> HeadOutput:
        if isinstance(self.head, MajorityHead):
            return self.head(batch["step_ends"])
        features = self.features(batch)
        image = None
        if self.images is not None:
            image = ImageInput(*self.images(batch["images"], features.device))
        return self.head(features, batch["step_ends"], batch["attention_mask"].bool(), image)

    def step_probabilities(self, output: HeadOutput) -> torch.Tensor:
        """``[B, S, 3]`` probabilities; the AND head's one score stands for all three."""
        probs = torch.sigmoid(output.logits)
        return probs.expand(*probs.shape[:-1], 3) if self.outputs_and else probs

    def is_restorable(self, key: str) -> bool:
        """Whether a state-dict key may be absent from a checkpoint (frozen pretrained weights)."""
        if self.backbone is None or not key.startswith("backbone."):
            return False
        return key not in self.backbone.persistent_keys("backbone.")

    def load_state_dict(self, state_dict: Any, strict: bool = True, assign: bool = False) -> Any:
        return load_partial(
            self, state_dict, strict=strict, assign=assign, restorable=self.is_restorable
        )


def load_partial(
    module: nn.Module, state_dict: Any, *, strict: bool, assign: bool, restorable: Any
) -> Any:
    """``load_state_dict`` that tolerates exactly the keys a checkpoint leaves out on purpose."""
    result = nn.Module.load_state_dict(module, state_dict, strict=False, assign=assign)
    missing = [k for k in result.missing_keys if not restorable(k)]
    if strict and (missing or result.unexpected_keys):
        parts = []
        if missing:
            parts.append(f"missing {len(missing)} key(s), e.g. {missing[:3]}")
        if result.unexpected_keys:
            parts.append(
                f"unexpected {len(result.unexpected_keys)} key(s), e.g. "
                f"{result.unexpected_keys[:3]}"
            )
        raise RewardError("checkpoint does not match the model config: " + "; ".join(parts))
    return result
