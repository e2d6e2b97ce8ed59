"""Writing generated scenes and clips to disk (``vipexec scene``)."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

from vipexec.modules.synthetic.scene import GenerationOptions, generate_scene, render
from vipexec.modules.synthetic.video import generate_clip, render_clip, write_gif


def derive_seed(seed: int, kind: str, index: int) -> int:
    """The seed of item ``index`` of a batch (stable across Python versions and platforms)."""
    digest = hashlib.sha256(f"{seed}:{kind}:{index}".encode()).digest()
    return int.from_bytes(digest[:6], "big")


def write_scenes(
    out_dir: str | os.PathLike[str],
    count: int,
    *,
    seed: int,
    clips: int = 0,
    clip_frames: int = 8,
    options: GenerationOptions | None = None,
    **overrides: Any,
) -> list[Path]:
    """Write ``scene_XXXX.png`` + ``scene_XXXX.json`` (ground truth) ``count`` times, and
    ``clip_XXXX.gif`` + ``clip_XXXX.json`` ``clips`` times; returns the image paths written.

    The same ``seed`` and options always write the same files. ``overrides`` are
    :class:`GenerationOptions` fields (``max_objects=4``, ``noise=3.0``, ...).
    """
    from PIL import Image

    for name, value in (("count", count), ("clips", clips), ("clip_frames", clip_frames)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValueError(f"{name} must be a non-negative int, got {value!r}")
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise ValueError(f"seed must be an int, got {seed!r}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for index in range(count):
        scene_seed = derive_seed(seed, "scene", index)
        rendered = render(generate_scene(scene_seed, options, **overrides))
        image_path = out / f"scene_{index:04d}.png"
        Image.fromarray(rendered.image).save(image_path)
        truth = dict(rendered.truth, seed=scene_seed, image=image_path.name)
        _write_json(image_path.with_suffix(".json"), truth)
        written.append(image_path)
    for index in range(clips):
        clip_seed = derive_seed(seed, "clip", index)
        frames, truth = render_clip(generate_clip(clip_seed, num_frames=max(clip_frames, 1)))
        gif_path = out / f"clip_{index:04d}.gif"
        write_gif(gif_path, frames)
        _write_json(gif_path.with_suffix(".json"), dict(truth, seed=clip_seed, video=gif_path.name))
        written.append(gif_path)
    return written


def _write_json(path: Path, data: dict[str, Any]) -> None:
    path.write_text(json.dumps(data, indent=1, sort_keys=False) + "\n", encoding="utf-8")
