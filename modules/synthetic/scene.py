"""Scene specs, the renderer (a pure function of the spec) and a seeded scene generator.

A :class:`SceneSpec` lists objects (:class:`ObjectSpec`: shape, colour, size, horizontal centre,
ground contact row, optional label). :func:`render` turns a spec into pixels plus exact ground
truth; the same spec always gives the same pixels. :func:`generate_scene` draws a spec from a
seed under constraints that keep every object readable (same-coloured objects never touch, an
occluded object stays one connected region, labels stay fully visible, occlusion is bounded).
See :mod:`vipexec.modules.synthetic.world` for the coordinate and depth conventions.
"""

from __future__ import annotations

import random
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import numpy as np

from vipexec.modules.synthetic import world
from vipexec.modules.synthetic.label import label
from vipexec.modules.synthetic.text import ALPHABET, check_text, text_ink

SCHEMA = 1

DEPTH_CONVENTION = (
    "ground plane: an object whose lowest row is `lower` rows above the bottom is at depth "
    "horizon / (horizon - lower); nearer objects are drawn later and occlude farther ones"
)
COORDINATES = "boxes are [left, lower, right, upper] pixels, origin bottom-left, half-open"


@dataclass(frozen=True)
class ObjectSpec:
    """One object: it stands on the ground at row ``lower`` (from the bottom), centred at ``x``."""

    shape: str
    color: str
    size: str
    x: int
    """horizontal centre, pixels from the left"""
    lower: int
    """lowest row (ground contact), pixels from the bottom: sets the depth"""
    text: str = ""
    """label drawn on the object (characters of the text alphabet), or empty"""

    def __post_init__(self) -> None:
        if self.shape not in world.SHAPES:
            raise ValueError(f"unknown shape {self.shape!r}; shapes: {', '.join(world.SHAPES)}")
        if self.color not in world.PALETTE:
            raise ValueError(f"unknown colour {self.color!r}; colours: {', '.join(world.COLORS)}")
        if self.size not in world.SIZES:
            raise ValueError(f"unknown size {self.size!r}; sizes: {', '.join(world.SIZES)}")
        check_text(self.text)

    @property
    def extent(self) -> int:
        return world.SIZES[self.size]

    def box(self) -> world.Box:
        """Full extent ``(left, lower, right, upper)``, bottom-left origin, half-open."""
        side = self.extent
        left = self.x - side // 2
        return (left, self.lower, left + side, self.lower + side)


@dataclass(frozen=True)
class SceneSpec:
    """A whole scene; ``render(spec)`` is deterministic."""

    objects: tuple[ObjectSpec, ...] = ()
    width: int = world.WIDTH
    height: int = world.HEIGHT
    horizon: int | None = None
    """rows from the bottom to the horizon; ``None``: 62.5% of the height"""
    noise: float = 0.0
    """standard deviation of Gaussian pixel noise (0: exact palette colours)"""
    noise_seed: int = 0

    def __post_init__(self) -> None:
        if self.width < 8 or self.height < 8:
            raise ValueError(f"scene too small: {self.width}x{self.height}")
        if self.noise < 0:
            raise ValueError(f"noise must be >= 0, got {self.noise}")
        object.__setattr__(self, "objects", tuple(self.objects))
        horizon = self.horizon_row
        if not 1 <= horizon <= self.height:
            raise ValueError(f"horizon {horizon} outside 1..{self.height}")
        for obj in self.objects:
            if obj.lower >= horizon:
                raise ValueError(f"object at lower={obj.lower} does not stand below the horizon")

    @property
    def horizon_row(self) -> int:
        return world.default_horizon(self.height) if self.horizon is None else self.horizon

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready data (lists, not tuples); :meth:`from_dict` reverses it."""
        return {**asdict(self), "objects": [asdict(obj) for obj in self.objects]}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SceneSpec:
        objects = tuple(ObjectSpec(**obj) for obj in data.get("objects", ()))
        rest = {k: v for k, v in data.items() if k != "objects"}
        return cls(objects=objects, **rest)


@dataclass
class Rendered:
    """Pixels and exact ground truth of one scene."""

    image: np.ndarray
    truth: dict[str, Any]
    owner: np.ndarray = field(repr=False)
    """index of the object seen at each pixel, -1 for background"""


# --- rendering --------------------------------------------------------------------------------


def draw_order(spec: SceneSpec) -> list[int]:
    """Far to near (higher ``lower`` first); ties keep spec order."""
    return sorted(range(len(spec.objects)), key=lambda i: (-spec.objects[i].lower, i))


def _place(mask: np.ndarray, left: int, top: int, height: int, width: int) -> tuple:
    """Slices of the frame and of ``mask`` for a mask whose top-left sits at (left, top)."""
    r0, c0 = max(top, 0), max(left, 0)
    r1, c1 = min(top + mask.shape[0], height), min(left + mask.shape[1], width)
    if r1 <= r0 or c1 <= c0:
        return None
    frame = (slice(r0, r1), slice(c0, c1))
    local = (slice(r0 - top, r1 - top), slice(c0 - left, c1 - left))
    return frame, local


def object_masks(spec: SceneSpec, obj: ObjectSpec) -> tuple[np.ndarray, np.ndarray]:
    """Full-frame boolean masks of an object's shape and of its label ink."""
    height, width = spec.height, spec.width
    shape = np.zeros((height, width), dtype=bool)
    ink = np.zeros((height, width), dtype=bool)
    left, _, _, upper = obj.box()
    top = height - upper
    side = obj.extent
    template = world.shape_mask(obj.shape, side, side)
    placed = _place(template, left, top, height, width)
    if placed is not None:
        frame, local = placed
        shape[frame] = template[local]
    if obj.text:
        glyphs = text_ink(obj.text)
        ax, ay = world.text_anchor(obj.shape, side, side)
        t_left = left + round(ax - (glyphs.shape[1] - 1) / 2)
        t_top = top + round(ay - (glyphs.shape[0] - 1) / 2)
        placed = _place(glyphs, t_left, t_top, height, width)
        if placed is not None:
            frame, local = placed
            ink[frame] = glyphs[local]
        ink &= shape
    return shape, ink


def text_fits(obj: ObjectSpec, margin: int = 2) -> bool:
    """Whether ``obj``'s label lies inside its shape with ``margin`` pixels to spare."""
    if not obj.text:
        return True
    side = obj.extent
    template = world.shape_mask(obj.shape, side, side)
    glyphs = text_ink(obj.text)
    ax, ay = world.text_anchor(obj.shape, side, side)
    t_left = round(ax - (glyphs.shape[1] - 1) / 2) - margin
    t_top = round(ay - (glyphs.shape[0] - 1) / 2) - margin
    t_right = t_left + glyphs.shape[1] + 2 * margin
    t_bottom = t_top + glyphs.shape[0] + 2 * margin
    if t_left < 0 or t_top < 0 or t_right > side or t_bottom > side:
        return False
    return bool(template[t_top:t_bottom, t_left:t_right].all())


def render(spec: SceneSpec) -> Rendered:
    """Pixels (``H x W x 3`` uint8) and ground truth of ``spec`` (a pure function of it)."""
    height, width, horizon = spec.height, spec.width, spec.horizon_row
    image = world.background(width, height, horizon)
    owner = np.full((height, width), -1, dtype=np.int32)
    shapes, inks = [], []
    for obj in spec.objects:
        shape, ink = object_masks(spec, obj)
        shapes.append(shape)
        inks.append(ink)
    order = draw_order(spec)
    for i in order:
        obj = spec.objects[i]
        image[shapes[i]] = world.PALETTE[obj.color]
        image[inks[i]] = world.INK[world.ink_for(obj.color)]
        owner[shapes[i]] = i
    objects = []
    for i, obj in enumerate(spec.objects):
        visible = owner == i
        area = int(shapes[i].sum())
        visible_area = int(visible.sum())
        text_visible = bool(obj.text) and bool((visible | ~inks[i]).all())
        objects.append(
            {
                "id": i,
                "shape": obj.shape,
                "color": obj.color,
                "size": obj.size,
                "box": list(obj.box()),
                "visible_box": _mask_box(visible, height),
                "depth": world.depth_at(obj.lower, horizon),
                "text": obj.text,
                "text_visible": text_visible,
                "area": area,
                "visible_area": visible_area,
                "occlusion": round(1.0 - visible_area / area, 6) if area else 1.0,
                "draw_order": order.index(i),
            }
        )
    if spec.noise > 0:
        rng = np.random.default_rng(spec.noise_seed)
        noisy = image.astype(np.float64) + rng.normal(0.0, spec.noise, image.shape)
        image = np.clip(np.round(noisy), 0, 255).astype(np.uint8)
    truth = {
        "schema": SCHEMA,
        "kind": "scene",
        "width": width,
        "height": height,
        "horizon": horizon,
        "coordinates": COORDINATES,
        "depth_convention": DEPTH_CONVENTION,
        "objects": objects,
        "spec": spec.to_dict(),
    }
    return Rendered(image=image, truth=truth, owner=owner)


def _mask_box(mask: np.ndarray, height: int) -> list[int] | None:
    rows = np.flatnonzero(mask.any(axis=1))
    if rows.size == 0:
        return None
    cols = np.flatnonzero(mask.any(axis=0))
    return [int(cols[0]), int(height - 1 - rows[-1]), int(cols[-1] + 1), int(height - rows[0])]


# --- generation -------------------------------------------------------------------------------


@dataclass(frozen=True)
class GenerationOptions:
    """Knobs of :func:`generate_scene`."""

    min_objects: int = 2
    max_objects: int = 6
    width: int = world.WIDTH
    height: int = world.HEIGHT
    text_prob: float = 0.5
    """chance that a large object gets a label (if one fits)"""
    max_text_len: int = 2
    max_occlusion: float = 0.3
    """largest fraction of an object that nearer objects may hide"""
    min_visible_area: int = 120
    noise: float = 0.0
    colors: tuple[str, ...] = world.COLORS
    shapes: tuple[str, ...] = world.SHAPES
    attempts: int = 60
    """placement tries per scene before settling for fewer objects"""


def generate_scene(
    seed: int, options: GenerationOptions | None = None, **overrides: Any
) -> SceneSpec:
    """A random but readable scene from ``seed`` (same seed, same spec)."""
    opts = replace(options or GenerationOptions(), **overrides)
    if not 0 <= opts.min_objects <= opts.max_objects:
        raise ValueError(f"need 0 <= min_objects <= max_objects, got {opts}")
    rng = random.Random(seed)
    horizon = world.default_horizon(opts.height)
    base = SceneSpec((), opts.width, opts.height, None, opts.noise, seed)
    wanted = rng.randint(opts.min_objects, opts.max_objects)
    objects: list[ObjectSpec] = []
    for _ in range(opts.attempts):
        if len(objects) >= wanted:
            break
        candidate = _random_object(rng, opts, horizon)
        trial = replace(base, objects=(*objects, candidate))
        if acceptable(trial, opts):
            objects.append(candidate)
    return replace(base, objects=tuple(objects))


def _random_object(rng: random.Random, opts: GenerationOptions, horizon: int) -> ObjectSpec:
    size = rng.choice(tuple(world.SIZES))
    side = world.SIZES[size]
    shape = rng.choice(opts.shapes)
    color = rng.choice(opts.colors)
    x = rng.randint(side // 2 + 1, opts.width - side + side // 2 - 1)
    lower = rng.randint(1, max(1, horizon - world.MIN_HORIZON_GAP))
    lower = min(lower, opts.height - side)
    obj = ObjectSpec(shape, color, size, x, lower)
    if size == "large" and rng.random() < opts.text_prob:
        for length in range(opts.max_text_len, 0, -1):
            labelled = replace(obj, text="".join(rng.choice(ALPHABET) for _ in range(length)))
            if text_fits(labelled):
                return labelled
    return obj


def acceptable(spec: SceneSpec, opts: GenerationOptions) -> bool:
    """The generator's readability constraints (see the module docstring)."""
    objects = spec.objects
    for i, a in enumerate(objects):
        for b in objects[:i]:
            if a.color == b.color and _gap(a.box(), b.box()) < 3:
                return False
    rendered = render(replace(spec, noise=0.0))
    for i, info in enumerate(rendered.truth["objects"]):
        if info["occlusion"] > opts.max_occlusion or info["visible_area"] < opts.min_visible_area:
            return False
        if info["text"] and not _label_clear(spec, i, rendered.owner):
            return False
        visible = rendered.owner == i
        rows = np.flatnonzero(visible.any(axis=1))
        cols = np.flatnonzero(visible.any(axis=0))
        window = visible[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
        if label(np.where(window, 0, -1))[1] != 1:
            return False
    return True


def _label_clear(spec: SceneSpec, index: int, owner: np.ndarray, margin: int = 2) -> bool:
    """Whether an object's label and a margin around it are all visible (so it can be read)."""
    _, ink = object_masks(spec, spec.objects[index])
    rows = np.flatnonzero(ink.any(axis=1))
    cols = np.flatnonzero(ink.any(axis=0))
    if rows.size == 0:
        return False
    r0, c0 = max(rows[0] - margin, 0), max(cols[0] - margin, 0)
    region = owner[r0 : rows[-1] + 1 + margin, c0 : cols[-1] + 1 + margin]
    return bool((region == index).all())


def _gap(a: world.Box, b: world.Box) -> int:
    dx = max(b[0] - a[2], a[0] - b[2], 0)
    dy = max(b[1] - a[3], a[1] - b[3], 0)
    return max(dx, dy)
