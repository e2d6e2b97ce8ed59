"""The small image encoder of the multimodal reward model: pixels -> a grid of patch tokens.

No pretrained image encoder is available offline, so the encoder is a few stride-2
convolutions pretrained on synthetic scenes (``scripts/pretrain_image_encoder.py`` renders the
scenes and their per-cell truth; :func:`pretrain` here only sees tensors). An encoder folder
holds ``encoder.safetensors`` and ``config.json`` (format, version, architecture, and what it was
pretrained on); :func:`load_image_encoder` checks the architecture against the reward config.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from vipexec.reward.config import ImageConfig
from vipexec.reward.errors import RewardError

ENCODER_FORMAT = "vipexec-image-encoder"
ENCODER_VERSION = 1
ENCODER_WEIGHTS = "encoder.safetensors"
ENCODER_CONFIG = "config.json"


def load_pixels(image: Any, config: ImageConfig) -> torch.Tensor:
    """``[3, height, width]`` floats in [0, 1] from a path, a PIL image or an H x W x 3 array."""
    from PIL import Image

    if isinstance(image, (str, Path)):
        try:
            with Image.open(image) as handle:
                picture = handle.convert("RGB")
        except (OSError, ValueError) as exc:
            raise RewardError(f"cannot read image {image}: {exc}") from exc
    elif isinstance(image, Image.Image):
        picture = image.convert("RGB")
    else:
        try:
            picture = Image.fromarray(image).convert("RGB")
        except (TypeError, ValueError, AttributeError) as exc:
            raise RewardError(
                f"an image must be a path, a PIL image or an H x W x 3 uint8 array, got "
                f"{type(image).__name__}"
            ) from exc
    picture = picture.resize((config.width, config.height), Image.Resampling.BILINEAR)
    data = torch.frombuffer(bytearray(picture.tobytes()), dtype=torch.uint8)
    return data.view(config.height, config.width, 3).permute(2, 0, 1).float() / 255.0


class ImageEncoder(nn.Module):
    """Stride-2 convolutions, then a learned position per grid cell: ``[B, N, channels]``."""

    def __init__(self, config: ImageConfig) -> None:
        super().__init__()
        self.config = config
        layers: list[nn.Module] = []
        width_in = 3
        for i in range(config.layers):
            # The first layers are narrower: full width at full resolution costs the most.
            width_out = config.channels if i >= config.layers - 2 else config.channels // 2
            layers += [nn.Conv2d(width_in, width_out, 3, stride=2, padding=1), nn.GELU()]
            width_in = width_out
        self.convs = nn.Sequential(*layers[:-1])  # the tokens are the last conv's raw output
        rows, cols = config.grid
        self.position = nn.Parameter(torch.zeros(rows * cols, config.channels))
        self.norm = nn.LayerNorm(config.channels)

    @property
    def n_tokens(self) -> int:
        rows, cols = self.config.grid
        return rows * cols

    def forward(self, pixels: torch.Tensor) -> torch.Tensor:
        maps = self.convs(pixels)
        tokens = maps.flatten(2).transpose(1, 2)
        return self.norm(tokens + self.position)


class PresenceProbe(nn.Module):
    """Pretraining head: per grid cell, one logit per target (e.g. 'a red object is here')."""

    def __init__(self, channels: int, targets: int) -> None:
        super().__init__()
        self.linear = nn.Linear(channels, targets)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        return self.linear(tokens)


def pretrain(
    encoder: ImageEncoder,
    pixels: torch.Tensor,
    targets: torch.Tensor,
    *,
    epochs: int,
    lr: float = 2e-3,
    batch_size: int = 32,
    seed: int = 0,
    report: Callable[[int, float], None] | None = None,
) -> PresenceProbe:
    """Train ``encoder`` (with a fresh linear probe) to predict per-cell ``targets``.

    ``pixels`` is ``[M, 3, H, W]``, ``targets`` ``[M, N, K]`` in {0, 1} (N grid cells, K
    targets). Returns the probe; ``report(epoch, mean_loss)`` is called after each epoch.
    """
    if pixels.shape[0] != targets.shape[0] or targets.shape[1] != encoder.n_tokens:
        raise RewardError(
            f"pretraining targets must be [images, {encoder.n_tokens}, K], got "
            f"{tuple(targets.shape)} for {pixels.shape[0]} images"
        )
    generator = torch.Generator().manual_seed(seed)
    probe = PresenceProbe(encoder.config.channels, targets.shape[-1])
    params = [*encoder.parameters(), *probe.parameters()]
    optimizer = torch.optim.AdamW(params, lr=lr, weight_decay=1e-4)
    encoder.train()
    for epoch in range(epochs):
        order = torch.randperm(pixels.shape[0], generator=generator)
        total, batches = 0.0, 0
        for start in range(0, len(order), batch_size):
            index = order[start : start + batch_size]
            logits = probe(encoder(pixels[index]))
            loss = F.binary_cross_entropy_with_logits(logits, targets[index].float())
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += loss.item()
            batches += 1
        if report is not None:
            report(epoch, total / max(1, batches))
    encoder.eval()
    return probe


def save_image_encoder(
    encoder: ImageEncoder, out_dir: str | Path, *, provenance: dict[str, Any] | None = None
) -> Path:
    """Write ``encoder.safetensors`` and ``config.json`` (architecture + ``provenance``)."""
    from safetensors.torch import save_file

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    tensors = {k: v.detach().cpu().clone().contiguous() for k, v in encoder.state_dict().items()}
    save_file(tensors, str(out / ENCODER_WEIGHTS), metadata={"format": ENCODER_FORMAT})
    meta = {
        "format": ENCODER_FORMAT,
        "version": ENCODER_VERSION,
        "architecture": encoder.config.architecture(),
        "provenance": provenance or {},
    }
    (out / ENCODER_CONFIG).write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    return out


def read_encoder_meta(path: str | Path) -> dict[str, Any]:
    """The ``config.json`` of an encoder folder, checked for format and version."""
    folder = Path(path).expanduser()
    config_file = folder / ENCODER_CONFIG
    if not config_file.is_file() or not (folder / ENCODER_WEIGHTS).is_file():
        raise RewardError(
            f"{folder} is not an image encoder folder (needs {ENCODER_CONFIG} and "
            f"{ENCODER_WEIGHTS}; scripts/pretrain_image_encoder.py writes one)"
        )
    try:
        meta = json.loads(config_file.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise RewardError(f"{config_file}: invalid JSON: {exc.msg}") from exc
    if meta.get("format") != ENCODER_FORMAT or meta.get("version") != ENCODER_VERSION:
        raise RewardError(f"{config_file}: not a {ENCODER_FORMAT} v{ENCODER_VERSION} folder")
    return meta


def load_image_encoder(path: str | Path, config: ImageConfig) -> ImageEncoder:
    """An encoder built from ``config`` with the weights of the folder at ``path``."""
    from safetensors.torch import load_file

    meta = read_encoder_meta(path)
    stored = meta.get("architecture")
    if stored != config.architecture():
        raise RewardError(
            f"image encoder at {path} has architecture {stored}, the config asks for "
            f"{config.architecture()}"
        )
    encoder = ImageEncoder(config)
    encoder.load_state_dict(load_file(str(Path(path).expanduser() / ENCODER_WEIGHTS)))
    return encoder


def image_key(image: Any) -> str:
    """Cache key of an image: its resolved path, else a hash of its pixels."""
    if isinstance(image, (str, Path)):
        return "path:" + str(Path(image).expanduser().resolve())
    array = image.tobytes() if hasattr(image, "tobytes") else repr(image).encode()
    return "pixels:" + hashlib.blake2b(array, digest_size=16).hexdigest()


class ImageTokens(nn.Module):
    """The image side of a batch: each row's first image as tokens, with a presence flag.

    A frozen encoder is a fixed function of the pixels, so its tokens are cached per image
    (float16 on the CPU, always rounded through float16 so that cached and fresh results agree).
    """

    def __init__(self, config: ImageConfig, *, load_weights: bool = True) -> None:
        super().__init__()
        self.config = config
        if config.weights is not None and load_weights:
            self.encoder = load_image_encoder(config.weights, config)
        else:
            self.encoder = ImageEncoder(config)
        self.frozen = config.tuning == "frozen"
        if self.frozen:
            self.encoder.requires_grad_(False)
        # Runtime state, never saved; models built on the same frozen weights may share it.
        self.cache: dict[str, torch.Tensor] = {}

    @property
    def width(self) -> int:
        return self.config.channels

    def train(self, mode: bool = True) -> ImageTokens:
        super().train(mode and not self.frozen)
        return self

    def cached(self) -> int:
        return len(self.cache)

    def _encode(self, images: Sequence[Any], device: torch.device) -> list[torch.Tensor]:
        pixels = torch.stack([load_pixels(image, self.config) for image in images]).to(device)
        if not self.frozen:
            return list(self.encoder(pixels))
        with torch.no_grad():
            tokens = self.encoder(pixels).to("cpu", torch.float16)
        return list(tokens)

    def forward(
        self, images: Sequence[Sequence[Any]], device: torch.device
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """``[B, N, C]`` tokens and ``[B]`` bool (the row has an image); rows without one get
        zero tokens, which the heads ignore through the flag."""
        firsts = [row[0] if len(row) else None for row in images]
        present = torch.tensor([image is not None for image in firsts], device=device)
        n, width = self.encoder.n_tokens, self.width
        out = torch.zeros(len(firsts), n, width, device=device)
        todo = [i for i, image in enumerate(firsts) if image is not None]
        if not self.frozen:
            if todo:
                fresh = self._encode([firsts[i] for i in todo], device)
                out = out.index_put((torch.tensor(todo, device=device),), torch.stack(fresh))
            return out, present
        keys = {i: image_key(firsts[i]) for i in todo}
        missing = sorted({keys[i]: i for i in todo if keys[i] not in self.cache}.values())
        if missing:
            for i, tokens in zip(missing, self._encode([firsts[i] for i in missing], device)):
                self.cache[keys[i]] = tokens
        for i in todo:
            out[i] = self.cache[keys[i]].to(device, torch.float32)
        return out, present
