"""Moving-shapes clips: each frame is a scene rendered from a spec, with ground truth per frame.

Objects move horizontally in separate depth lanes (so they never overlap) and may appear late or
leave early; frame ``i`` shows object ``o`` at ``x = o.x + o.vx * i`` when
``o.first_frame <= i <= o.last_frame``.
"""

from __future__ import annotations

import itertools
import random
from dataclasses import asdict, dataclass, replace
from typing import Any

import numpy as np

from vipexec.modules.synthetic import world
from vipexec.modules.synthetic.scene import ObjectSpec, SceneSpec, render, text_fits
from vipexec.modules.synthetic.text import ALPHABET

LANES = (2, 62, 122)
"""ground rows of the lanes; lanes are further apart than the large size, so never overlap"""


@dataclass(frozen=True)
class MovingObject:
    obj: ObjectSpec
    vx: int = 0
    """pixels per frame, to the right when positive"""
    first_frame: int = 0
    last_frame: int | None = None
    """inclusive; ``None``: until the end"""

    def at(self, frame: int) -> ObjectSpec | None:
        if frame < self.first_frame or (self.last_frame is not None and frame > self.last_frame):
            return None
        return replace(self.obj, x=self.obj.x + self.vx * frame)


@dataclass(frozen=True)
class ClipSpec:
    objects: tuple[MovingObject, ...]
    num_frames: int = 8
    width: int = world.WIDTH
    height: int = world.HEIGHT

    def frame_spec(self, frame: int) -> SceneSpec:
        placed = tuple(o for o in (m.at(frame) for m in self.objects) if o is not None)
        return SceneSpec(placed, self.width, self.height)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready data (lists, not tuples); :meth:`from_dict` reverses it."""
        return {**asdict(self), "objects": [asdict(m) for m in self.objects]}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ClipSpec:
        objects = tuple(
            MovingObject(ObjectSpec(**m["obj"]), m["vx"], m["first_frame"], m["last_frame"])
            for m in data["objects"]
        )
        return cls(objects, data["num_frames"], data["width"], data["height"])


def render_clip(spec: ClipSpec) -> tuple[list[np.ndarray], dict[str, Any]]:
    """Frames and ground truth (``frames[i]`` holds frame ``i``'s scene truth)."""
    frames, truths = [], []
    for index in range(spec.num_frames):
        rendered = render(spec.frame_spec(index))
        frames.append(rendered.image)
        ids = [i for i, m in enumerate(spec.objects) if m.at(index) is not None]
        objects = [dict(o, id=ids[k]) for k, o in enumerate(rendered.truth["objects"])]
        truths.append({"frame": index, "objects": objects})
    truth = {
        "schema": 1,
        "kind": "clip",
        "num_frames": spec.num_frames,
        "width": spec.width,
        "height": spec.height,
        "frames": truths,
        "spec": spec.to_dict(),
    }
    return frames, truth


def generate_clip(seed: int, *, num_frames: int = 8, max_objects: int = 3) -> ClipSpec:
    """A random clip from ``seed``: up to three objects of different colours in their own lanes;
    no two consecutive frames look the same."""
    if num_frames < 1:
        raise ValueError(f"num_frames must be >= 1, got {num_frames}")
    rng = random.Random(seed)
    count = rng.randint(1, min(max_objects, len(LANES)))
    lanes = rng.sample(LANES, count)
    colors = rng.sample(world.COLORS, count)
    moving = []
    for lane, color in zip(lanes, colors):
        size = rng.choice(tuple(world.SIZES))
        side = world.SIZES[size]
        low, high = side // 2 + 1, world.WIDTH - side + side // 2 - 1
        vx = rng.choice([-1, 1]) * rng.randint(2, max(2, (high - low) // max(num_frames, 1)))
        span = vx * (num_frames - 1)
        start_low, start_high = (low, high - span) if vx > 0 else (low - span, high)
        x = rng.randint(min(start_low, start_high), max(start_low, start_high))
        obj = ObjectSpec(rng.choice(world.SHAPES), color, size, x, lane)
        if size == "large" and rng.random() < 0.5:
            labelled = replace(obj, text=rng.choice(ALPHABET))
            obj = labelled if text_fits(labelled) else obj
        first = rng.choice([0, 0, rng.randint(0, num_frames - 1)])
        last = rng.choice([None, None, rng.randint(first, num_frames - 1)])
        moving.append(MovingObject(obj, vx, first, last))
    clip = ClipSpec(tuple(moving), num_frames)
    if _has_repeated_frame(clip):
        # Two empty frames in a row look the same, and a GIF keeps only one of them (see
        # write_gif): the first object then stays for the whole clip, so every frame differs.
        clip = ClipSpec(
            (replace(moving[0], first_frame=0, last_frame=None), *moving[1:]), num_frames
        )
    return clip


def _has_repeated_frame(clip: ClipSpec) -> bool:
    shown = [any(m.at(i) is not None for m in clip.objects) for i in range(clip.num_frames)]
    return any(not a and not b for a, b in itertools.pairwise(shown))


def write_gif(path: Any, frames: list[np.ndarray], *, duration_ms: int = 200) -> None:
    """Write frames losslessly as an animated GIF (one exact palette; fails over 256 colours).

    A GIF writer keeps one of two identical consecutive frames (Pillow adds their durations),
    which would silently shorten the clip: such frames are refused.
    """
    from PIL import Image

    stacked = np.stack(frames)
    repeated = [i for i in range(1, len(stacked)) if np.array_equal(stacked[i], stacked[i - 1])]
    if repeated:
        raise ValueError(
            f"frame {repeated[0]} repeats frame {repeated[0] - 1}; an animated GIF cannot hold "
            "two identical frames in a row"
        )
    colors, inverse = np.unique(stacked.reshape(-1, 3), axis=0, return_inverse=True)
    if len(colors) > 256:
        raise ValueError(f"frames use {len(colors)} colours; a lossless GIF holds at most 256")
    indices = inverse.reshape(stacked.shape[:3]).astype(np.uint8)
    palette = colors.astype(np.uint8).ravel().tolist()
    palette += [0] * (768 - len(palette))
    images = []
    for frame in indices:
        image = Image.frombytes("P", (frame.shape[1], frame.shape[0]), frame.tobytes())
        image.putpalette(palette)
        images.append(image)
    images[0].save(
        path,
        save_all=True,
        append_images=images[1:],
        duration=duration_ms,
        loop=0,
        optimize=False,
        disposal=1,
    )
