"""Caching a frozen text backbone's hidden states per row.

A frozen backbone in eval mode is a fixed function of (tokens, block structure), so each row's
features can be computed once and reused by every epoch and by every head trained on the same
backbone (the baselines in bench/ share one cache). Rows are keyed by a hash of their tokens and
block ids; features are stored in float16 on the CPU, and are always rounded through float16
(also on first use) so that results do not depend on whether a row was cached.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import torch


class FeatureCache:
    def __init__(self) -> None:
        self._store: dict[bytes, torch.Tensor] = {}

    def __len__(self) -> int:
        return len(self._store)

    def save(self, path: str | Path) -> None:
        """Write the cached features (for another process on the same backbone and rows)."""
        torch.save(self._store, Path(path))

    def load(self, path: str | Path) -> None:
        """Add features written by :meth:`save`; the caller vouches for the same backbone."""
        self._store.update(torch.load(Path(path), weights_only=True))

    @staticmethod
    def _keys(batch: dict[str, Any]) -> list[bytes]:
        keys = []
        lengths = batch["attention_mask"].sum(1).tolist()
        ids = batch["input_ids"].cpu()
        blocks = batch["block_ids"].cpu()
        for i, n in enumerate(lengths):
            h = hashlib.blake2b(digest_size=16)
            h.update(ids[i, :n].numpy().tobytes())
            h.update(blocks[i, :n].numpy().tobytes())
            keys.append(h.digest())
        return keys

    def features(self, batch: dict[str, Any], backbone: torch.nn.Module) -> torch.Tensor:
        keys = self._keys(batch)
        device = batch["input_ids"].device
        if not all(k in self._store for k in keys):
            with torch.no_grad():
                fresh = backbone(batch)
            lengths = batch["attention_mask"].sum(1).tolist()
            for i, key in enumerate(keys):
                self._store.setdefault(key, fresh[i, : lengths[i]].to("cpu", torch.float16))
        b, t = batch["input_ids"].shape
        first = self._store[keys[0]]
        out = torch.zeros(b, t, first.shape[-1], dtype=torch.float32, device=device)
        for i, key in enumerate(keys):
            row = self._store[key]
            out[i, : row.shape[0]] = row.to(device, torch.float32)
        return out


def fill_cache(
    cache: FeatureCache,
    backbone: torch.nn.Module,
    dataset: Any,
    *,
    pad_id: int,
    batch_size: int = 64,
) -> None:
    """Compute every row's features up front, in batches of similar length (less padding)."""
    from vipexec.reward.data import collate_steps

    order = sorted(range(len(dataset)), key=lambda i: len(dataset.encoded(i).input_ids))
    for start in range(0, len(order), batch_size):
        batch = collate_steps(
            [dataset[i] for i in order[start : start + batch_size]], pad_id=pad_id
        )
        cache.features(batch, backbone)
