"""Finding checkpoints on this machine without loading them (and without the network).

A checkpoint in a config is a path or a name:

- a path (absolute, ``~``-relative, with ``$VARS``, or relative to the *config file's* folder,
  never to the working directory) or a bare file name searched in the config's ``model_dirs``
  and the family's own caches (:func:`locate_file`);
- a Hugging Face repository id (``org/name``) found in the local hub cache
  (:func:`locate_hf`); with ``offline = false`` a missing one is passed on to the library to
  download.

Every miss raises :class:`~vipexec.modules.models.errors.ModelNotFound` listing the places
searched, in order.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from vipexec.modules.models.errors import ModelNotFound

if TYPE_CHECKING:
    from vipexec.modules.models.profile import ModelSpec

__all__ = [
    "Located",
    "ModelContext",
    "expand",
    "file_identity",
    "hf_cache_dir",
    "locate_file",
    "locate_hf",
]


@dataclass(frozen=True, slots=True)
class ModelContext:
    """Where a config lives and how it loads: relative paths, search folders, offline."""

    base_dir: Path | None = None
    model_dirs: tuple[Path, ...] = ()
    offline: bool = True


@dataclass(frozen=True, slots=True)
class Located:
    """A checkpoint found (or, online, one a library will fetch).

    ``target`` is what the loader gets (a path, or a name to download); ``path`` the local
    file or folder (None for a download); ``where`` a human description; ``identity`` a stable
    id for cache keys (path, size and modification time of the weights).
    """

    target: str
    path: Path | None
    where: str
    identity: str


def expand(text: str) -> Path:
    """``~`` and ``$VARS`` expanded (no resolution against the working directory)."""
    return Path(os.path.expandvars(os.path.expanduser(text)))


def file_identity(path: Path) -> str:
    """Path, size and mtime of a file, or of the files directly inside a folder."""
    try:
        if path.is_dir():
            digest = hashlib.sha256()
            for child in sorted(path.iterdir()):
                if child.is_file():
                    stat = child.stat()
                    digest.update(f"{child.name}:{stat.st_size}:{stat.st_mtime_ns};".encode())
            return f"{path.resolve()}#{digest.hexdigest()[:16]}"
        stat = path.stat()
        return f"{path.resolve()}#{stat.st_size}:{stat.st_mtime_ns}"
    except OSError:
        return str(path)


def candidate_paths(
    checkpoint: str, context: ModelContext, extra_dirs: Sequence[Path] = ()
) -> list[Path]:
    """Where a checkpoint may be, in search order (duplicates removed)."""
    raw = expand(checkpoint)
    candidates: list[Path] = []
    if raw.is_absolute():
        candidates.append(raw)
    else:
        if context.base_dir is not None:
            candidates.append(context.base_dir / raw)
        for folder in (*context.model_dirs, *extra_dirs):
            candidates.append(folder / raw)
            if len(raw.parts) > 1:
                candidates.append(folder / raw.name)
    seen: set[str] = set()
    unique = []
    for path in candidates:
        key = str(path)
        if key not in seen:
            seen.add(key)
            unique.append(path)
    return unique


def locate_file(
    spec: ModelSpec,
    context: ModelContext,
    method: str = "*",
    *,
    extra_dirs: Sequence[Path] = (),
    downloadable: bool = False,
    hint: str = "",
) -> Located:
    """A local file or folder for ``spec.checkpoint``; raises ModelNotFound.

    With ``downloadable`` and an online context, a bare name that is nowhere local is returned
    as a download target (the library fetches it).
    """
    checkpoint = spec.checkpoint
    if not checkpoint:
        raise ModelNotFound(method, spec.name, spec.kind, "", [], hint="no checkpoint configured")
    candidates = candidate_paths(checkpoint, context, extra_dirs)
    for path in candidates:
        if path.exists():
            return Located(str(path), path, f"file {path}", file_identity(path))
    if downloadable and not context.offline and len(expand(checkpoint).parts) == 1:
        return Located(checkpoint, None, f"download {checkpoint!r}", f"download:{checkpoint}")
    looked = [str(p) for p in candidates]
    if not expand(checkpoint).is_absolute() and context.base_dir is None:
        looked.append("(no config folder: relative paths need a config file or model_dirs)")
    raise ModelNotFound(method, spec.name, spec.kind, checkpoint, looked, hint=hint)


def hf_cache_dir() -> Path:
    """The Hugging Face hub cache folder (without importing huggingface_hub)."""
    explicit = os.environ.get("HF_HUB_CACHE") or os.environ.get("HUGGINGFACE_HUB_CACHE")
    if explicit:
        return Path(explicit).expanduser()
    home = os.environ.get("HF_HOME")
    if home:
        return Path(home).expanduser() / "hub"
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "huggingface" / "hub"


def looks_like_repo_id(text: str) -> bool:
    parts = text.split("/")
    return (
        len(parts) == 2
        and all(parts)
        and not text.startswith((".", "~", "$"))
        and not any(c in text for c in ("\\", " "))
    )


def locate_hf(spec: ModelSpec, context: ModelContext, method: str = "*") -> Located:
    """A local folder for a transformers checkpoint (a path, or a repo id in the hub cache)."""
    checkpoint = spec.checkpoint
    if not checkpoint:
        raise ModelNotFound(method, spec.name, spec.kind, "", [], hint="no checkpoint configured")
    candidates = candidate_paths(checkpoint, context)
    for path in candidates:
        if path.is_dir():
            return Located(str(path), path, f"folder {path}", file_identity(path))
    looked = [str(p) for p in candidates]
    if looks_like_repo_id(checkpoint):
        cache = hf_cache_dir()
        snapshot = _hf_snapshot(checkpoint, cache)
        if snapshot is not None:
            return Located(
                str(snapshot), snapshot, f"Hugging Face cache {snapshot}", file_identity(snapshot)
            )
        if not context.offline:
            return Located(checkpoint, None, f"download {checkpoint!r}", f"hub:{checkpoint}")
        looked.append(f"Hugging Face cache {cache} (offline: no download)")
    raise ModelNotFound(method, spec.name, spec.kind, checkpoint, looked)


def _hf_snapshot(repo_id: str, cache: Path) -> Path | None:
    """The newest cached snapshot folder of ``repo_id`` holding a ``config.json``, if any."""
    folder = cache / ("models--" + repo_id.replace("/", "--"))
    if not folder.is_dir():
        return None
    ref = folder / "refs" / "main"
    snapshots = folder / "snapshots"
    if ref.is_file():
        candidate = snapshots / ref.read_text().strip()
        if (candidate / "config.json").exists():
            return candidate
    if snapshots.is_dir():
        found = [p for p in snapshots.iterdir() if (p / "config.json").exists()]
        if found:
            return max(found, key=lambda p: p.stat().st_mtime)
    return None
