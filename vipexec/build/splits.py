"""Splits by image: queries that share an image (by content, whatever its file name) are one
group, and a group's split comes from the seed and the group's first image hash, so no image is
ever in two splits and the same inputs and seed give the same splits.

A query may name its split (``"split"`` in QUERIES.jsonl); its whole group then goes there, and
two queries of one group that name different splits are refused.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path

from vipexec.core.errors import InvalidArgumentError
from vipexec.dataset import split_for
from vipexec.generate.protocol import Query

__all__ = ["assign_splits", "image_hash"]


def image_hash(path: Path) -> str:
    """The content hash that identifies an image (or a frame folder: its files in order)."""
    digest = hashlib.sha256()
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    for item in files:
        digest.update(item.read_bytes())
    return digest.hexdigest()


def assign_splits(
    queries: Sequence[Query], *, seed: int, splits: Sequence[tuple[str, float]]
) -> dict[str, str]:
    """``{query id: split}`` for every query (see the module docstring)."""
    parent: dict[str, str] = {}

    def root(key: str) -> str:
        while parent[key] != key:
            parent[key] = parent[parent[key]]
            key = parent[key]
        return key

    hashes: dict[Path, str] = {}
    keys: dict[str, list[str]] = {}
    for query in queries:
        keys[query.id] = []
        for path in query.images:
            if path not in hashes:
                hashes[path] = image_hash(path)
            key = hashes[path]
            parent.setdefault(key, key)
            keys[query.id].append(key)
        first = root(keys[query.id][0])
        for key in keys[query.id][1:]:
            other = root(key)
            if other != first:
                # the smaller hash leads, so a group's key does not depend on query order
                low, high = sorted((first, other))
                parent[high] = low
                first = low
    named: dict[str, tuple[str, str]] = {}
    for query in queries:
        if query.split is None:
            continue
        group = root(keys[query.id][0])
        if group in named and named[group][0] != query.split:
            raise InvalidArgumentError(
                f"queries {named[group][1]!r} and {query.id!r} share an image but name "
                f"different splits ({named[group][0]}, {query.split})"
            )
        named.setdefault(group, (query.split, query.id))
    out = {}
    for query in queries:
        group = root(keys[query.id][0])
        out[query.id] = (
            named[group][0] if group in named else split_for(group, seed=seed, splits=splits)
        )
    return out
