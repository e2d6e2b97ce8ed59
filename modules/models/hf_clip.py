"""transformers CLIP / SigLIP models for the contrastive methods (the open_clip alternative).

``checkpoint`` is a ``save_pretrained`` folder or a hub repo id in the local cache
(``openai/clip-vit-large-patch14``, ``google/siglip-so400m-patch14-384``, ...). The model
loads with ``AutoModel`` and its processor with ``AutoProcessor``; image and text features come
from ``get_image_features`` / ``get_text_features`` (transformers 5 returns an output object:
its ``pooler_output`` is the projected embedding). SigLIP-style models (``logit_bias`` present)
pad texts to the maximum length, as they were trained.
"""

from __future__ import annotations

from typing import Any, ClassVar

from vipexec.modules.models import offline
from vipexec.modules.models.base import Option, Resolver, hf_pretrained, torch_dtype
from vipexec.modules.models.checkpoints import Located, locate_hf
from vipexec.modules.models.contrastive import CONTRASTIVE_OPTIONS, ContrastiveModule

__all__ = ["HfClipModule", "features"]


def features(output: Any) -> Any:
    """The embedding tensor of a ``get_*_features`` result (tensor or output object)."""
    if hasattr(output, "pooler_output") and output.pooler_output is not None:
        return output.pooler_output
    if hasattr(output, "image_embeds") and output.image_embeds is not None:
        return output.image_embeds
    if hasattr(output, "text_embeds") and output.text_embeds is not None:
        return output.text_embeds
    return output


class HfClipModule(ContrastiveModule):
    kind: ClassVar[str] = "hf_clip"
    packages: ClassVar[tuple[str, ...]] = ("torch", "transformers")
    default_memory_gb: ClassVar[float] = 2.0
    OPTIONS: ClassVar[dict[str, Option]] = {**CONTRASTIVE_OPTIONS}

    def __init__(self, spec: Any, context: Any) -> None:
        super().__init__(spec, context)
        self._model: Any = None
        self._processor: Any = None
        self._sigmoid = False
        self._max_length: int | None = None

    def _locate(self, method: str) -> Located:
        return locate_hf(self.spec, self.context, method)

    def _load(self, located: Located, device: str, dtype: str, resolve: Resolver) -> None:
        offline.configure(offline=self.context.offline)
        local = self.context.offline
        model = hf_pretrained("AutoModel", located.target, local=local, device=device, dtype=dtype)
        self._model = model
        self._processor = hf_pretrained("AutoProcessor", located.target, local=local)
        self._sigmoid = getattr(model, "logit_bias", None) is not None
        text_config = getattr(model.config, "text_config", None)
        self._max_length = getattr(text_config, "max_position_embeddings", None)

    def _encode_images(self, crops: list[Any]) -> Any:
        import torch
        from PIL import Image

        images = [Image.fromarray(crop) for crop in crops]
        inputs = self._processor(images=images, return_tensors="pt")
        pixels = inputs["pixel_values"].to(self.device, torch_dtype(self.dtype))
        vectors = features(self._model.get_image_features(pixel_values=pixels))
        return torch.nn.functional.normalize(vectors.float(), dim=-1)

    def _encode_text_batch(self, texts: list[str]) -> Any:
        import torch

        padding: Any = "max_length" if self._sigmoid else True
        inputs = self._processor(
            text=texts,
            return_tensors="pt",
            padding=padding,
            truncation=True,
            max_length=self._max_length,
        )
        wanted = {
            k: v.to(self.device) for k, v in inputs.items() if k in ("input_ids", "attention_mask")
        }
        vectors = features(self._model.get_text_features(**wanted))
        return torch.nn.functional.normalize(vectors.float(), dim=-1)

    def _logit_scale(self) -> float:
        return float(self._model.logit_scale.exp().item())
