"""Reading Lightning checkpoints and writing/reading exports (safetensors + config.json).

An export folder holds ``model.safetensors`` (the heads, plus adapters or backbone weights when
the backbone was trained or randomly initialised), ``config.json`` (format, version and the full
:class:`RewardModelConfig`) and ``processor/`` (the tokenizer or processor). A frozen pretrained
backbone is referenced by ``backbone.name_or_path``, not copied. Loading an export needs torch,
transformers and safetensors, not Lightning.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch

from vipexec.reward.config import RewardModelConfig
from vipexec.reward.errors import RewardError

EXPORT_FORMAT = "vipexec-reward"
EXPORT_VERSION = 1
WEIGHTS_FILE = "model.safetensors"
CONFIG_FILE = "config.json"
PROCESSOR_DIR = "processor"
CHECKPOINT_KEY = "vipexec_reward"


def read_checkpoint(path: str | Path) -> tuple[RewardModelConfig, dict[str, torch.Tensor]]:
    """Config and ``RewardNet`` state dict from a Lightning checkpoint of RewardLitModule."""
    path = Path(path)
    if not path.is_file():
        raise RewardError(f"checkpoint not found: {path}")
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise RewardError(
            f"cannot read checkpoint {path}: {type(exc).__name__}: "
            f"{str(exc).splitlines()[0] if str(exc) else ''}"
        ) from exc
    info = ckpt.get(CHECKPOINT_KEY) if isinstance(ckpt, dict) else None
    if not isinstance(info, dict) or "config" not in info:
        raise RewardError(f"{path} is not a vipexec reward checkpoint")
    config = RewardModelConfig.coerce(info["config"])
    state = {k[len("net.") :]: v for k, v in ckpt["state_dict"].items() if k.startswith("net.")}
    return config, state


def write_export(
    config: RewardModelConfig, state: dict[str, torch.Tensor], encoder: Any, out_dir: str | Path
) -> Path:
    from safetensors.torch import save_file

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    # Cloning breaks storage sharing, which safetensors refuses.
    tensors = {k: v.detach().to("cpu").clone().contiguous() for k, v in state.items()}
    save_file(tensors, str(out / WEIGHTS_FILE), metadata={"format": EXPORT_FORMAT})
    meta = {"format": EXPORT_FORMAT, "version": EXPORT_VERSION, "config": config.to_dict()}
    (out / CONFIG_FILE).write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    encoder.save(out / PROCESSOR_DIR)
    return out


def export_checkpoint(checkpoint: str | Path, out_dir: str | Path) -> Path:
    """Write an export folder from a Lightning checkpoint."""
    from vipexec.reward.tokenize import StepEncoder

    config, state = read_checkpoint(checkpoint)
    encoder = StepEncoder.from_config(config.backbone, config.encoding)
    return write_export(config, state, encoder, out_dir)


def read_export(path: str | Path) -> tuple[RewardModelConfig, dict[str, torch.Tensor], Path]:
    """Config, state dict and processor folder of an export."""
    from safetensors.torch import load_file

    path = Path(path)
    config_file = path / CONFIG_FILE
    if not config_file.is_file() or not (path / WEIGHTS_FILE).is_file():
        raise RewardError(f"{path} is not a reward export (needs {CONFIG_FILE} and {WEIGHTS_FILE})")
    try:
        meta = json.loads(config_file.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise RewardError(f"{config_file}: invalid JSON: {exc.msg}") from exc
    if meta.get("format") != EXPORT_FORMAT:
        raise RewardError(f"{config_file}: not a {EXPORT_FORMAT} export")
    if meta.get("version") != EXPORT_VERSION:
        raise RewardError(f"{config_file}: unsupported export version {meta.get('version')!r}")
    config = RewardModelConfig.coerce(meta["config"])
    return config, load_file(str(path / WEIGHTS_FILE)), path / PROCESSOR_DIR
