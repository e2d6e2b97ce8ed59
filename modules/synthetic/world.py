"""The rules of the synthetic world, shared by the renderer and the pixel-reading backend.

What the backend may know (the world's physics, like a detector knows its classes): the colour
palette, the shapes' geometry, the two sizes, the background colours, the depth convention and
the glyph font. What it must not read is a scene's ground truth: it answers from pixels.

**Coordinates.** Boxes are ``(left, lower, right, upper)`` pixels with the origin at the
bottom-left (ViperGPT's convention), half-open: columns ``left .. right-1``, rows counted from the
bottom ``lower .. upper-1``.

**Depth convention (a ground plane seen by a level pinhole camera).** Everything stands on a flat
ground. The horizon is a visible line ``horizon`` rows above the bottom: sky colour above, a
banded ground colour below. An object whose lowest pixel row (its contact with the ground) is
``lower`` rows above the bottom is at depth ``horizon / (horizon - lower)`` (1.0 at the bottom
edge, growing towards the horizon), the perspective law ``Z = f * h / (rows below horizon)``.
Objects are drawn far to near, so nearer objects occlude farther ones, and occlusion can only
hide a farther object's lower rows, which makes it look farther still: the order of depths is
kept. Sizes are *not* scaled with depth (small and large are absolute pixel sizes) so that the
size of an object stays readable at any depth. Ground and sky pixels have the depth of their row
(sky: the depth of the horizon row).
"""

from __future__ import annotations

import functools
import math

import numpy as np

Box = tuple[int, int, int, int]

PALETTE: dict[str, tuple[int, int, int]] = {
    "red": (215, 38, 38),
    "orange": (245, 140, 20),
    "yellow": (240, 220, 30),
    "green": (40, 160, 60),
    "cyan": (30, 200, 210),
    "blue": (40, 70, 210),
    "purple": (130, 50, 170),
    "pink": (245, 120, 190),
    "brown": (130, 80, 35),
}
"""Object colours: saturated and far from the background, from each other and from the ink."""

COLORS: tuple[str, ...] = tuple(PALETTE)
SHAPES: tuple[str, ...] = ("circle", "square", "triangle", "diamond", "star")
SIZES: dict[str, int] = {"small": 28, "large": 52}
"""Object extent in pixels (the side of its bounding square), whatever its depth."""
SIZE_THRESHOLD = (SIZES["small"] + SIZES["large"]) // 2
"""A visible extent of at least this many pixels reads as large."""

WIDTH, HEIGHT = 320, 240
HORIZON_FRACTION = 0.625
"""Default horizon height as a fraction of the image height (150 rows for 240)."""
MIN_HORIZON_GAP = 20
"""Objects stand at least this many rows below the horizon (depth at most horizon / 20)."""

SKY = (232, 238, 246)
GROUND_NEAR = (176, 174, 166)
GROUND_FAR = (222, 220, 212)
GROUND_BANDS = 16
"""The ground gets lighter towards the horizon in this many flat bands (few colours: GIF-safe)."""

INK = {"black": (0, 0, 0), "white": (255, 255, 255)}
"""Text colours: black on light objects, white on dark ones."""

COLOR_TOLERANCE = 40.0
"""A pixel within this RGB distance of a palette colour is that colour (half the closest pair)."""


def default_horizon(height: int) -> int:
    return round(height * HORIZON_FRACTION)


def depth_at(lower: float, horizon: float) -> float:
    """Depth of something touching the ground ``lower`` rows above the bottom (see module doc)."""
    gap = horizon - lower
    if gap < 1:
        gap = 1.0
    return float(horizon) / float(gap)


def ink_for(color: str) -> str:
    """The text colour drawn on an object of ``color``: ``"black"`` or ``"white"``."""
    r, g, b = PALETTE[color]
    return "black" if 0.299 * r + 0.587 * g + 0.114 * b > 140 else "white"


def ground_color(row_from_bottom: int, horizon: int) -> tuple[int, int, int]:
    """Ground colour of a row below the horizon (banded gradient, lighter towards the horizon)."""
    band = min(GROUND_BANDS - 1, max(0, row_from_bottom * GROUND_BANDS // max(horizon, 1)))
    t = band / (GROUND_BANDS - 1)
    return tuple(round(n + (f - n) * t) for n, f in zip(GROUND_NEAR, GROUND_FAR))


def background(width: int, height: int, horizon: int) -> np.ndarray:
    """The empty scene: sky above ``horizon`` rows from the bottom, banded ground below."""
    image = np.empty((height, width, 3), dtype=np.uint8)
    for row in range(height):
        from_bottom = height - 1 - row
        color = SKY if from_bottom >= horizon else ground_color(from_bottom, horizon)
        image[row, :, :] = color
    return image


# --- shape geometry ---------------------------------------------------------------------------


def _star_points(points: int = 5, inner: float = 0.5) -> list[tuple[float, float]]:
    out = []
    for k in range(2 * points):
        radius = 1.0 if k % 2 == 0 else inner
        angle = -math.pi / 2 + k * math.pi / points
        out.append((radius * math.cos(angle), radius * math.sin(angle)))
    return out


_STAR = _star_points()


def shape_outline(shape: str, width: int, height: int) -> list[tuple[float, float]] | None:
    """Polygon of ``shape`` filling a ``width x height`` box (x right, y down, pixel centres);
    ``None`` for the circle (an ellipse)."""
    w, h = width - 1, height - 1
    if shape == "circle":
        return None
    if shape == "square":
        return [(0, 0), (w, 0), (w, h), (0, h)]
    if shape == "triangle":
        return [(0, h), (w, h), (w / 2, 0)]
    if shape == "diamond":
        return [(w / 2, 0), (w, h / 2), (w / 2, h), (0, h / 2)]
    if shape == "star":
        xs = [p[0] for p in _STAR]
        ys = [p[1] for p in _STAR]
        x0, x1, y0, y1 = min(xs), max(xs), min(ys), max(ys)
        return [((x - x0) / (x1 - x0) * w, (y - y0) / (y1 - y0) * h) for x, y in _STAR]
    raise ValueError(f"unknown shape {shape!r}; shapes: {', '.join(SHAPES)}")


@functools.lru_cache(maxsize=4096)
def shape_mask(shape: str, width: int, height: int) -> np.ndarray:
    """Boolean ``height x width`` mask of ``shape`` filling its box (read-only, cached)."""
    from PIL import Image, ImageDraw

    canvas = Image.new("1", (width, height), 0)
    draw = ImageDraw.Draw(canvas)
    outline = shape_outline(shape, width, height)
    if outline is None:
        draw.ellipse([0, 0, width - 1, height - 1], fill=1)
    else:
        draw.polygon(outline, fill=1)
    mask = np.array(canvas, dtype=bool)
    mask.setflags(write=False)
    return mask


def text_anchor(shape: str, width: int, height: int) -> tuple[float, float]:
    """Where a label's centre goes inside a shape's box (x, y from the top-left)."""
    if shape == "triangle":
        return (width - 1) / 2, (height - 1) * 0.66
    return (width - 1) / 2, (height - 1) / 2


def palette_array() -> np.ndarray:
    return np.array([PALETTE[c] for c in COLORS], dtype=np.int32)
