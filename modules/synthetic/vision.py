"""Classical reading of a synthetic scene from its pixels (no ground truth involved).

0. A noisy image (many distinct colours, saturated pixels far from every palette colour) is
   median-filtered (3 x 3) first.
1. Each pixel is classified as the nearest palette colour if it lies within
   :data:`~vipexec.modules.synthetic.world.COLOR_TOLERANCE`, else as not an object.
2. 4-connected regions of one colour are objects ("blobs"); tiny regions are noise.
3. A blob's holes (enclosed non-object pixels) are filled; black or white pixels in them are
   label ink, read by template matching (:mod:`~vipexec.modules.synthetic.text`).
4. Shape: the filled mask is compared (IoU) with every shape's mask drawn to the blob's box.
5. Size: the larger side of the visible box against the midpoint of the two sizes.
6. Depth: the horizon is found as the lowest row whose background is mostly sky; a blob's depth
   follows from its lowest visible row by the ground-plane law (see ``world``).
"""

from __future__ import annotations

import hashlib
import threading
import weakref
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np

from vipexec.modules.synthetic import world
from vipexec.modules.synthetic.label import fill_holes, label
from vipexec.modules.synthetic.text import read_text

MIN_BLOB_AREA = 25
"""regions with fewer pixels are treated as noise"""
INK_DARK = 70
INK_LIGHT = 200
SKY_TOLERANCE = 24
NOISY_COLORS = 2048
NOISY_FRACTION = 0.01
"""an image with many colours and this fraction of saturated pixels outside every palette
colour is noisy: it is median-filtered before reading"""


@dataclass(frozen=True)
class Blob:
    """One object as seen in the pixels."""

    index: int
    color: str
    shape: str
    shape_score: float
    """IoU of the blob with the chosen shape's mask"""
    size: str
    box: world.Box
    """visible extent, bottom-left origin, half-open"""
    area: int
    """visible pixels (label holes included)"""
    depth: float
    text: str

    def describe(self) -> str:
        return f"{self.size} {self.color} {self.shape}"


@dataclass(frozen=True)
class SceneReading:
    """Everything the backend reads from one image."""

    width: int
    height: int
    horizon: int
    blobs: tuple[Blob, ...]
    labels: np.ndarray
    """blob index per pixel (holes included), -1 elsewhere (array rows, top first)"""

    def counts_in(self, box: world.Box) -> np.ndarray:
        """Visible pixels of each blob inside ``box``."""
        region = self.labels[_rows(box, self.height), _cols(box, self.width)]
        counts = np.bincount(region.ravel() + 1, minlength=len(self.blobs) + 1)
        return counts[1:]

    def blobs_in(self, box: world.Box, min_fraction: float = 0.5) -> list[Blob]:
        """Blobs with at least ``min_fraction`` of their visible pixels inside ``box``."""
        counts = self.counts_in(box)
        return [b for b in self.blobs if counts[b.index] >= min_fraction * b.area]

    def dominant(self, box: world.Box, candidates: list[Blob] | None = None) -> Blob | None:
        """The blob with the most visible pixels in ``box`` (among ``candidates``)."""
        counts = self.counts_in(box)
        pool = self.blobs if candidates is None else candidates
        pool = [b for b in pool if counts[b.index] > 0]
        if not pool:
            return None
        return max(pool, key=lambda b: (counts[b.index], -b.index))

    def ground_depth(self, box: world.Box) -> float:
        """Median depth of the background rows of ``box`` (sky: the horizon row's depth)."""
        lower, upper = max(box[1], 0), min(box[3], self.height)
        if upper <= lower:
            return world.depth_at(self.horizon - 1, self.horizon)
        rows = np.arange(lower, upper)
        depths = [world.depth_at(min(r, self.horizon - 1), self.horizon) for r in rows]
        return float(np.median(depths))


def _rows(box: world.Box, height: int) -> slice:
    return slice(max(height - box[3], 0), max(height - box[1], 0))


def _cols(box: world.Box, width: int) -> slice:
    return slice(max(box[0], 0), max(box[2], 0))


def pixel_digest(image: np.ndarray) -> bytes:
    """A 16-byte digest of an image's pixels, computed once per read-only array that owns its
    pixels (what the image store hands out) rather than on every call: hashing a whole image
    costs more than most answers."""
    if image.flags.writeable or image.base is not None:  # its pixels may change: hash each time
        return _digest(image)
    known = _DIGESTS.get(id(image))
    if known is not None and known[0]() is image:
        return known[1]
    digest = _digest(image)
    key = id(image)
    # the callback runs as the array is freed, before its id can be reused (single dict
    # operations need no lock under the GIL; a lock here could deadlock inside a collection)
    _DIGESTS[key] = (weakref.ref(image, lambda _: _DIGESTS.pop(key, None)), digest)
    return digest


def _digest(image: np.ndarray) -> bytes:
    return hashlib.blake2b(np.ascontiguousarray(image).data, digest_size=16).digest()


def read_scene(image: np.ndarray) -> SceneReading:
    """Read a scene from its pixels (cached by content)."""
    key = f"{image.shape}:{pixel_digest(image).hex()}"
    with _CACHE_LOCK:
        hit = _CACHE.get(key)
        if hit is not None:
            _CACHE.move_to_end(key)
            return hit
    reading = _read(image)
    with _CACHE_LOCK:
        _CACHE[key] = reading
        while len(_CACHE) > _CACHE_SIZE:
            _CACHE.popitem(last=False)
    return reading


_CACHE: OrderedDict[str, SceneReading] = OrderedDict()
_CACHE_LOCK = threading.Lock()
_DIGESTS: dict[int, tuple[weakref.ref, bytes]] = {}  # id(array) -> (the array, its digest)
_CACHE_SIZE = 64


def classify_pixels(image: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    """Palette index per pixel (``world.COLORS`` order, -1 for non-object pixels), a mask of
    sky-coloured pixels and the number of distinct colours. Each colour is classified once."""
    flat = image.reshape(-1, 3).astype(np.int32)
    keys = (flat[:, 0] << 16) | (flat[:, 1] << 8) | flat[:, 2]
    unique, inverse = np.unique(keys, return_inverse=True)
    channels = [(unique >> shift) & 255 for shift in (16, 8, 0)]
    best = np.full(unique.shape, -1, dtype=np.int64)
    best_d2 = np.full(unique.shape, int(world.COLOR_TOLERANCE**2), dtype=np.int64)
    for index, color in enumerate(world.palette_array()):
        d2 = sum((channel - int(value)) ** 2 for channel, value in zip(channels, color))
        closer = d2 < best_d2
        best[closer] = index
        best_d2[closer] = d2[closer]
    sky = np.ones(unique.shape, dtype=bool)
    for channel, value in zip(channels, world.SKY):
        sky &= np.abs(channel - value) <= SKY_TOLERANCE
    shape = image.shape[:2]
    return best[inverse].reshape(shape), sky[inverse].reshape(shape), int(unique.size)


def _unexplained_fraction(image: np.ndarray, classes: np.ndarray) -> float:
    """Fraction of saturated (object-like) pixels that match no palette colour."""
    spread = image.max(axis=2).astype(np.int32) - image.min(axis=2)
    saturated = spread > 60
    total = int(saturated.sum())
    return float((saturated & (classes < 0)).sum() / total) if total else 0.0


def median3(image: np.ndarray) -> np.ndarray:
    """3 x 3 median filter per channel (edges replicated): removes pixel noise, keeps edges."""
    padded = np.pad(image, ((1, 1), (1, 1), (0, 0)), mode="edge")
    height, width = image.shape[:2]
    shifted = [padded[r : r + height, c : c + width] for r in range(3) for c in range(3)]
    return np.median(np.stack(shifted), axis=0).astype(np.uint8)


def find_horizon(classes: np.ndarray, sky: np.ndarray) -> int:
    """Rows from the bottom to the lowest row whose background is mostly sky."""
    height = classes.shape[0]
    background = classes < 0
    is_sky = sky.sum(axis=1) > (background & ~sky).sum(axis=1)
    for from_bottom in range(height):
        if is_sky[height - 1 - from_bottom]:
            return from_bottom
    return height


@dataclass
class _Region:
    """A blob while the scene is being read (before its shape is known)."""

    region: int
    rows: tuple[int, int]
    cols: tuple[int, int]
    own: np.ndarray
    """own pixels plus enclosed non-object pixels (label ink), within the bounding box"""
    filled: np.ndarray
    """``own`` with every enclosed hole filled (for the shape)"""
    color: str
    text: str
    size: str
    depth: float


def _read(image: np.ndarray) -> SceneReading:
    height, width = image.shape[:2]
    classes, sky, distinct = classify_pixels(image)
    if distinct > NOISY_COLORS and _unexplained_fraction(image, classes) > NOISY_FRACTION:
        image = median3(image)
        classes, sky, _ = classify_pixels(image)
    horizon = find_horizon(classes, sky)
    regions, count = label(classes)
    labels = np.full((height, width), -1, dtype=np.int32)
    found: list[_Region] = []
    if count:
        areas = np.bincount(regions.ravel() + 1, minlength=count + 1)[1:]
        for region in np.flatnonzero(areas >= MIN_BLOB_AREA).tolist():
            found.append(_region(image, classes, regions, region, height, horizon))
    for index, item in enumerate(found):
        window = labels[item.rows[0] : item.rows[1], item.cols[0] : item.cols[1]]
        window[item.own & (window < 0)] = index
    blobs = []
    for index, item in enumerate(found):
        shape, score = _shape_of(item, found, regions)
        (r0, r1), (c0, c1) = item.rows, item.cols
        box = (c0, height - r1, c1, height - r0)
        area = int(item.own.sum())
        blobs.append(
            Blob(index, item.color, shape, score, item.size, box, area, item.depth, item.text)
        )
    labels.setflags(write=False)
    return SceneReading(width, height, horizon, tuple(blobs), labels)


def _region(image, classes, regions, region, height, horizon) -> _Region:
    rows = np.flatnonzero((regions == region).any(axis=1))
    r0, r1 = int(rows[0]), int(rows[-1]) + 1
    band = regions[r0:r1] == region
    cols = np.flatnonzero(band.any(axis=0))
    c0, c1 = int(cols[0]), int(cols[-1]) + 1
    own = band[:, c0:c1]
    filled = fill_holes(own)
    window = (slice(r0, r1), slice(c0, c1))
    holes = filled & ~own & (classes[window] < 0)
    color = world.COLORS[int(classes[r0, c0 + int(np.argmax(own[0]))])]
    text = ""
    if holes.any():
        pixels = image[window].astype(np.int32)
        dark = pixels.max(axis=2) <= INK_DARK
        light = pixels.min(axis=2) >= INK_LIGHT
        ink = holes & (dark | light)
        if ink.sum() >= 6:
            text = read_text(ink)
    extent = max(c1 - c0, r1 - r0)
    size = "large" if extent >= world.SIZE_THRESHOLD else "small"
    depth = world.depth_at(height - r1, horizon)
    return _Region(region, (r0, r1), (c0, c1), own | holes, filled, color, text, size, depth)


def _shape_of(item: _Region, found: list[_Region], regions: np.ndarray) -> tuple[str, float]:
    """Shape of a blob; an occluded blob is matched amodally (see :func:`classify_occluded`)."""
    (r0, r1), (c0, c1) = item.rows, item.cols
    side = world.SIZES[item.size]
    if (r1 - r0, c1 - c0) == (side, side) or max(r1 - r0, c1 - c0) > side:
        return classify_shape(item.filled)
    nearer = [f.region for f in found if f.depth < item.depth]
    if not nearer:
        return classify_shape(item.filled)
    height, width = regions.shape
    top, left = r1 - side, c1 - side
    rows, cols = r0 + side - top, c0 + side - left
    visible = np.zeros((rows, cols), dtype=bool)
    visible[r0 - top : r1 - top, c0 - left : c1 - left] = item.filled
    hidden = np.zeros((rows, cols), dtype=bool)
    src_r0, src_c0 = max(top, 0), max(left, 0)
    src_r1, src_c1 = min(top + rows, height), min(left + cols, width)
    hidden[src_r0 - top : src_r1 - top, src_c0 - left : src_c1 - left] = np.isin(
        regions[src_r0:src_r1, src_c0:src_c1], nearer
    )
    hidden &= ~visible
    if not hidden.any():
        return classify_shape(item.filled)
    return classify_occluded(visible, hidden, side)


def classify_shape(mask: np.ndarray) -> tuple[str, float]:
    """The shape whose mask, drawn to this mask's box, overlaps it best (IoU)."""
    height, width = mask.shape
    best, best_iou = world.SHAPES[0], -1.0
    for shape in world.SHAPES:
        template = world.shape_mask(shape, width, height)
        inter = np.count_nonzero(template & mask)
        union = np.count_nonzero(template | mask)
        iou = inter / union if union else 0.0
        if iou > best_iou:
            best, best_iou = shape, iou
    return best, float(best_iou)


def classify_occluded(visible: np.ndarray, hidden: np.ndarray, side: int) -> tuple[str, float]:
    """Amodal match of a partly hidden blob: slide each full-size shape over every placement
    that contains the visible pixels; pixels hidden by nearer blobs count neither for nor
    against. Score: matched / (matched + template pixels left unexplained + visible pixels
    outside the template)."""
    from numpy.lib.stride_tricks import sliding_window_view

    templates = np.stack(
        [world.shape_mask(shape, side, side).ravel() for shape in world.SHAPES]
    ).astype(np.float32)
    seen = sliding_window_view(visible, (side, side)).reshape(-1, side * side)
    covered = sliding_window_view(hidden, (side, side)).reshape(-1, side * side)
    matched = seen.astype(np.float32) @ templates.T
    excused = covered.astype(np.float32) @ templates.T
    missing = templates.sum(axis=1)[None, :] - matched - excused
    extra = float(visible.sum()) - matched
    scores = matched / np.maximum(matched + missing + extra, 1.0)
    position, shape = np.unravel_index(int(np.argmax(scores)), scores.shape)
    return world.SHAPES[int(shape)], float(scores[position, shape])
