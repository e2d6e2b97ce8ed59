"""Scoring CoT steps with a trained reward model, without Lightning."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import torch

from vipexec.reward.config import RewardModelConfig
from vipexec.reward.contract import DIMENSIONS
from vipexec.reward.data import collate_steps
from vipexec.reward.errors import RewardError
from vipexec.reward.model import RewardNet
from vipexec.reward.tokenize import StepEncoder

StepScore = dict[str, float]


class RewardModel:
    """A loaded reward model: ``RewardModel.load(path).score(prompt, steps, images)``."""

    def __init__(self, net: RewardNet, encoder: StepEncoder, *, device: str = "cpu") -> None:
        self.net = net.to(device).eval()
        self.encoder = encoder
        self.device = torch.device(device)

    @property
    def config(self) -> RewardModelConfig:
        return self.net.config

    @classmethod
    def load(cls, path: str | Path, *, device: str = "cpu") -> RewardModel:
        """Load an export folder (``export``) or a Lightning checkpoint file (``.ckpt``)."""
        from vipexec.reward.export import read_checkpoint, read_export

        path = Path(path)
        processor_dir: Path | None = None
        if path.is_dir():
            config, state, processor_dir = read_export(path)
        elif path.is_file():
            config, state = read_checkpoint(path)
        else:
            raise RewardError(f"reward model not found: {path}")
        net = RewardNet(config, load_image_weights=False)  # the state dict holds them
        net.load_state_dict(state)
        encoder = StepEncoder.from_config(
            config.backbone, config.encoding, processor_path=processor_dir
        )
        return cls(net, encoder, device=device)

    def score(
        self, prompt: str, steps: Sequence[str], images: Sequence[Any] = ()
    ) -> list[StepScore | None]:
        """Per step, ``{relevance, logic, attribute}`` probabilities; None for a step dropped
        because it did not fit in ``encoding.max_length``."""
        return self.score_batch([{"prompt": prompt, "completions": steps, "images": images}])[0]

    @torch.no_grad()
    def score_batch(
        self, rows: Sequence[Mapping[str, Any]], *, batch_size: int = 8
    ) -> list[list[StepScore | None]]:
        """Score rows given as mappings with ``prompt``, ``completions`` and optional ``images``."""
        if batch_size < 1:
            raise RewardError("batch_size must be >= 1")
        examples = [self._example(i, row) for i, row in enumerate(rows)]
        results: list[list[StepScore | None]] = []
        for start in range(0, len(examples), batch_size):
            chunk = examples[start : start + batch_size]
            batch = collate_steps(chunk, pad_id=self.encoder.pad_id)
            batch = {k: v.to(self.device) if torch.is_tensor(v) else v for k, v in batch.items()}
            probs = self.net.step_probabilities(self.net(batch)).float().cpu()
            for i, ex in enumerate(chunk):
                enc = ex["encoded"]
                scores: list[StepScore | None] = [
                    {d: float(probs[i, s, k]) for k, d in enumerate(DIMENSIONS)}
                    for s in range(enc.kept)
                ]
                results.append(scores + [None] * enc.dropped)
        return results

    def _example(self, index: int, row: Mapping[str, Any]) -> dict[str, Any]:
        prompt, steps = row.get("prompt"), row.get("completions")
        if not isinstance(prompt, str):
            raise RewardError(f"row {index}: prompt must be a string")
        if (
            isinstance(steps, str)
            or not isinstance(steps, Sequence)
            or not all(isinstance(s, str) for s in steps)
        ):
            raise RewardError(f"row {index}: steps must be a list of strings")
        images = list(row.get("images") or ())
        enc = self.encoder.encode(prompt, list(steps), images if self.encoder.is_vlm else ())
        ignore = [[-100.0] * 3] * enc.kept
        return {
            "row_id": index,
            "encoded": enc,
            "labels": ignore,
            "and_labels": [-100.0] * enc.kept,
            "images": images,
        }
