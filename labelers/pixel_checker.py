"""An independent reader of synthetic scenes: the attribute labeler's default cross-checker.

The synthetic backend (``vipexec.modules.synthetic.vision``) names each pixel by the nearest
palette colour, groups 4-connected pixels of one name, fills holes and matches shape masks by
IoU. Checking it with the same code compares it with itself, so this reader uses other rules
throughout and imports none of that code; it shares only the world's definitions (palette
hues, sizes, the ground-plane depth law), and parses its questions with its own few rules:

- **colour**: each pixel gets a hue bin from its HSV hue (saturated pixels only: background and
  ink are unsaturated); a region's colour is the most frequent bin of its pixels (a hue
  histogram), brown told from orange by brightness;
- **segmentation**: 8-connected components of saturated pixels of one hue bin;
- **shape**: a star is the only region whose rows have gaps (solidity: pixels over the spans of
  its rows, below 0.95); the others by the filled region's fill ratio in its box (square ~1,
  circle ~0.79, triangle and diamond ~0.5) and, for the half-full ones, where the widest row
  lies (a diamond's in the middle, a triangle's at its base);
- **size**: the larger side of the visible box against the world's threshold;
- **partly hidden objects**: a region whose visible box is not the square of one of the world's
  sizes, or whose fill and solidity lie outside the ranges every shape has when seen whole, may
  be partly hidden: its shape is unknown, and questions that need it are not answered (the
  labeler then leaves the call unchecked rather than contradict it);
- **depth**: the ground-plane law at the region's lowest visible row, with the horizon at its
  default height (not read from the pixels).

It answers what the attribute labeler asks (``find``, ``exists``, ``verify_property``,
``simple_query`` about existence, counts, colour, shape and size, ``best_text_match``,
``compute_depth``); it does not read text (such questions get "unknown": not checked).
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict, deque
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from vipexec.modules.backend import Backend, Box
from vipexec.modules.errors import ModuleUnavailable
from vipexec.modules.synthetic import world

__all__ = ["IndependentSyntheticChecker", "Region", "parse_phrase", "read_regions"]

MIN_SATURATION = 0.35
MIN_VALUE = 0.15
MIN_REGION = 25
"""pixels; smaller components are edge blends or noise"""
BROWN_VALUE = 0.65
"""orange-hued regions darker than this are brown"""
_HUE_BINS = (
    (15.0, "red"),
    (42.0, "orange"),
    (80.0, "yellow"),
    (160.0, "green"),
    (205.0, "cyan"),
    (255.0, "blue"),
    (300.0, "purple"),
    (343.0, "pink"),
    (360.0, "red"),
)
_NAMES = ("red", "orange", "yellow", "green", "cyan", "blue", "purple", "pink")


@dataclass(frozen=True)
class Region:
    """One object as this reader sees it (the attribute names the phrase matcher expects)."""

    color: str
    shape: str | None
    """None when the region is partly hidden (its outline says nothing reliable)"""
    size: str
    box: Box
    """visible extent: left, lower, right, upper; origin bottom-left, half-open"""
    rows: np.ndarray
    cols: np.ndarray
    """array coordinates of the region's pixels (holes filled)"""
    depth: float
    text: str = ""

    def inside(self, box: Box, height: int) -> int:
        """How many of the region's pixels lie in ``box``."""
        left, lower, right, upper = box
        top, bottom = height - upper, height - lower
        keep = (self.cols >= left) & (self.cols < right) & (self.rows >= top) & (self.rows < bottom)
        return int(keep.sum())

    def describe(self) -> str:
        return f"{self.size} {self.color} {self.shape}"


def _hue_bins(pixels: np.ndarray) -> np.ndarray:
    """Per pixel: the index of its hue bin in ``_NAMES`` (brown = 8), or -1 (unsaturated)."""
    rgb = pixels.astype(np.float64) / 255.0
    high, low = rgb.max(axis=2), rgb.min(axis=2)
    chroma = high - low
    saturation = np.where(high > 0, chroma / np.maximum(high, 1e-9), 0.0)
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    safe = np.maximum(chroma, 1e-9)
    hue = np.where(
        high == r,
        ((g - b) / safe) % 6,
        np.where(high == g, (b - r) / safe + 2, (r - g) / safe + 4),
    )
    hue = hue * 60.0
    bins = np.full(hue.shape, -1, dtype=np.int16)
    start = 0.0
    for end, name in _HUE_BINS:
        bins[(hue >= start) & (hue < end)] = _NAMES.index(name)
        start = end
    bins[(bins == _NAMES.index("orange")) & (high < BROWN_VALUE)] = len(_NAMES)
    bins[(saturation < MIN_SATURATION) | (high < MIN_VALUE)] = -1
    return bins


def _components(bins: np.ndarray) -> list[tuple[int, np.ndarray, np.ndarray]]:
    """8-connected components of equal bins: (bin, rows, cols), by breadth-first search."""
    height, width = bins.shape
    seen = np.zeros(bins.shape, dtype=bool)
    seen[bins < 0] = True
    found = []
    for start_row, start_col in zip(*np.nonzero(~seen), strict=True):
        if seen[start_row, start_col]:
            continue
        value = bins[start_row, start_col]
        queue = deque([(int(start_row), int(start_col))])
        seen[start_row, start_col] = True
        rows, cols = [], []
        while queue:
            row, col = queue.popleft()
            rows.append(row)
            cols.append(col)
            for dr in (-1, 0, 1):
                for dc in (-1, 0, 1):
                    r, c = row + dr, col + dc
                    inside = 0 <= r < height and 0 <= c < width
                    if inside and not seen[r, c] and bins[r, c] == value:
                        seen[r, c] = True
                        queue.append((r, c))
        if len(rows) >= MIN_REGION:
            found.append((int(value), np.array(rows), np.array(cols)))
    return found


def _filled(rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """The region's mask in its box with enclosed holes (text ink) filled: everything the box
    border cannot reach without crossing the region."""
    top, left = rows.min(), cols.min()
    mask = np.zeros((rows.max() - top + 3, cols.max() - left + 3), dtype=bool)
    mask[rows - top + 1, cols - left + 1] = True
    outside = np.zeros(mask.shape, dtype=bool)
    queue = deque([(0, 0)])
    outside[0, 0] = True
    height, width = mask.shape
    while queue:
        row, col = queue.popleft()
        for r, c in ((row + 1, col), (row - 1, col), (row, col + 1), (row, col - 1)):
            if 0 <= r < height and 0 <= c < width and not outside[r, c] and not mask[r, c]:
                outside[r, c] = True
                queue.append((r, c))
    return ~outside[1:-1, 1:-1]


_WHOLE = {
    "square": ((0.97, 1.0), (0.99, 1.0)),
    "circle": ((0.76, 0.80), (0.98, 1.0)),
    "triangle": ((0.49, 0.55), (0.98, 1.0)),
    "diamond": ((0.48, 0.53), (0.98, 1.0)),
    "star": ((0.42, 0.46), (0.86, 0.91)),
}
"""(fill, solidity) ranges of each shape seen whole; a region outside them is partly hidden"""


def _shape(filled: np.ndarray) -> str | None:
    spans = 0
    for row in filled:
        columns = np.flatnonzero(row)
        if columns.size:
            spans += columns[-1] - columns[0] + 1
    solidity = filled.sum() / max(spans, 1)
    fill = filled.sum() / filled.size
    if solidity < 0.95:
        shape = "star"
    elif fill > 0.9:
        shape = "square"
    elif fill > 0.68:
        shape = "circle"
    else:
        widths = filled.sum(axis=1)
        widest = np.flatnonzero(widths >= widths.max() - 1)
        middle = (widest.mean() + 0.5) / len(widths)
        shape = "diamond" if 0.3 < middle < 0.7 else "triangle"
    (fill_low, fill_high), (solid_low, solid_high) = _WHOLE[shape]
    whole = fill_low <= fill <= fill_high and solid_low <= solidity <= solid_high
    return shape if whole else None


# --- phrases and questions ----------------------------------------------------------------------

_SIZE_WORDS = {"small": "small", "little": "small", "tiny": "small", "large": "large",
               "big": "large", "huge": "large"}  # fmt: skip
_SELF = frozenset({"", "it", "this", "that", "object", "thing", "one", "shape", "patch"})


@dataclass(frozen=True)
class Phrase:
    """What a noun phrase requires of a region (None: anything)."""

    color: str | None = None
    size: str | None = None
    shape: str | None = None
    unknown: bool = False
    """a content word this reader does not know: it matches nothing"""

    def matches(self, region: Region) -> bool | None:
        """True, False, or None when only the region's unknown shape could decide."""
        if self.unknown:
            return False
        for name, wanted in (("color", self.color), ("size", self.size)):
            if wanted is not None and getattr(region, name) != wanted:
                return False
        if self.shape is None:
            return True
        return None if region.shape is None else region.shape == self.shape

    @property
    def empty(self) -> bool:
        return (self.color, self.size, self.shape) == (None, None, None) and not self.unknown


_FILLER = frozenset(
    "a an the any some this that these those of in on image picture photo scene there".split()
)


def parse_phrase(text: str) -> Phrase:
    found: dict[str, str] = {}
    unknown = False
    for word in re.findall(r"[a-z]+", str(text).lower()):
        singular = word[:-1] if word.endswith("s") and word[:-1] in world.SHAPES else word
        if word in world.PALETTE:
            found["color"] = word
        elif word in _SIZE_WORDS:
            found["size"] = _SIZE_WORDS[word]
        elif singular in world.SHAPES:
            found["shape"] = singular
        elif word not in _FILLER and word not in _SELF and word.rstrip("s") not in _SELF:
            unknown = True
    return Phrase(unknown=unknown, **found)


_QUESTIONS = (
    ("exists", re.compile(r"^(?:is|are) there (?P<x>.+)$")),
    ("count", re.compile(r"^how many (?P<x>.+?)(?: are there)?$")),
    ("color", re.compile(r"^what colou?r is (?P<x>.+)$")),
    ("shape", re.compile(r"^what shape is (?P<x>.+)$")),
    ("size", re.compile(r"^what size is (?P<x>.+)$")),
    ("is_attr", re.compile(r"^(?:is|are) (?P<x>.+) (?P<a>[a-z]+)$")),
)


def parse_question(question: str) -> tuple[str, str, str]:
    """(kind, phrase, attribute) of the questions this reader answers; kind "unknown" else."""
    text = re.sub(r"[?.!]+$", "", str(question).strip().lower()).strip()
    for kind, pattern in _QUESTIONS:
        match = pattern.match(text)
        if match:
            return kind, match.group("x"), match.groupdict().get("a") or ""
    return "unknown", "", ""


def read_regions(pixels: np.ndarray) -> list[Region]:
    """Every object region of a synthetic scene image (``H x W x 3`` uint8)."""
    height = pixels.shape[0]
    horizon = world.default_horizon(height)
    regions = []
    for value, rows, cols in _components(_hue_bins(pixels)):
        color = "brown" if value == len(_NAMES) else _NAMES[value]
        filled = _filled(rows, cols)
        fill_rows, fill_cols = np.nonzero(filled)
        fill_rows, fill_cols = fill_rows + rows.min(), fill_cols + cols.min()
        left, right = int(cols.min()), int(cols.max()) + 1
        lower, upper = height - int(rows.max()) - 1, height - int(rows.min())
        extent = max(right - left, upper - lower)
        size = "large" if extent >= world.SIZE_THRESHOLD else "small"
        whole = any(
            abs(right - left - side) <= 3 and abs(upper - lower - side) <= 3
            for side in world.SIZES.values()
        )
        regions.append(
            Region(
                color=color,
                shape=_shape(filled) if whole else None,
                size=size,
                box=(left, lower, right, upper),
                rows=fill_rows,
                cols=fill_cols,
                depth=world.depth_at(lower, horizon),
            )
        )
    return regions


class IndependentSyntheticChecker(Backend):
    """Answers the checker's questions with :func:`read_regions` (see the module doc)."""

    name: ClassVar[str] = "synthetic-independent"
    version: ClassVar[int] = 2
    _CACHE = 16

    def __init__(self) -> None:
        super().__init__()
        self._readings: OrderedDict[bytes, list[Region]] = OrderedDict()
        self._lock = threading.Lock()

    def regions(self, pixels: np.ndarray) -> list[Region]:
        key = pixels.tobytes()[::97] + bytes(str(pixels.shape), "ascii")
        with self._lock:
            if key in self._readings:
                self._readings.move_to_end(key)
                return self._readings[key]
        found = read_regions(pixels)
        with self._lock:
            self._readings[key] = found
            while len(self._readings) > self._CACHE:
                self._readings.popitem(last=False)
        return found

    def _in_box(self, pixels: np.ndarray, box: Box) -> list[tuple[int, Region]]:
        """Regions with at least half their pixels in ``box``, with that pixel count."""
        height = pixels.shape[0]
        out = []
        for region in self.regions(pixels):
            inside = region.inside(box, height)
            if inside * 2 >= len(region.rows):
                out.append((inside, region))
        return out

    def _matching(
        self, pixels: np.ndarray, box: Box, phrase_text: str
    ) -> tuple[list[tuple[int, Region]], bool]:
        """Regions in the box the phrase surely matches, and whether others might."""
        phrase = parse_phrase(phrase_text)
        verdicts = [(n, r, phrase.matches(r)) for n, r in self._in_box(pixels, box)]
        sure = [(n, r) for n, r, verdict in verdicts if verdict]
        return sure, any(verdict is None for _, _, verdict in verdicts)

    def _subject(self, pixels: np.ndarray, box: Box, phrase_text: str) -> Region | None:
        """The most visible region the phrase matches; :class:`ModuleUnavailable` when only a
        partly hidden one might."""
        sure, maybe = self._matching(pixels, box, phrase_text)
        if not sure and maybe:
            raise self._unavailable("simple_query", "the object is partly hidden")
        return max(sure, key=lambda pair: pair[0])[1] if sure else None

    def find(self, image: np.ndarray, box: Box, object_name: str) -> list[Box]:
        return [r.box for _, r in self._matching(image, box, object_name)[0]]

    def exists(self, image: np.ndarray, box: Box, object_name: str) -> bool:
        return bool(self.find(image, box, object_name))

    def verify_property(
        self, image: np.ndarray, box: Box, object_name: str, attribute: str
    ) -> bool:
        subject = self._subject(image, box, object_name)
        wanted = parse_phrase(attribute)
        verdict = subject is not None and not wanted.empty and wanted.matches(subject)
        if verdict is None:
            raise self._unavailable("verify_property", "the object is partly hidden")
        return verdict

    def simple_query(self, image: np.ndarray, box: Box, question: str) -> str:
        kind, phrase_text, attribute = parse_question(question)
        hidden = "unknown: the object is partly hidden"
        if kind in ("count", "exists"):
            sure, maybe = self._matching(image, box, phrase_text)
            if kind == "count":
                return hidden if maybe else str(len(sure))
            return "yes" if sure else hidden if maybe else "no"
        if kind == "unknown":
            return "unknown: this checker does not answer that"
        try:
            subject = self._subject(image, box, phrase_text)
        except ModuleUnavailable:
            return hidden
        if subject is None:
            return "unknown: no such object in this patch"
        if kind == "is_attr":
            wanted = parse_phrase(attribute)
            if wanted.empty or wanted.unknown:
                return "unknown: this checker does not answer that"
            verdict = wanted.matches(subject)
            return hidden if verdict is None else "yes" if verdict else "no"
        answer = getattr(subject, kind)
        return hidden if answer is None else answer

    def best_text_match(
        self, image: np.ndarray, box: Box, options: list[str], prefix: str | None = None
    ) -> str:
        subject = self._subject(image, box, "")
        scores = []
        for option in options:
            verdict = parse_phrase(option).matches(subject) if subject is not None else False
            if verdict is None:
                raise self._unavailable("best_text_match", "the object is partly hidden")
            scores.append(1 if verdict else 0)
        return options[max(range(len(options)), key=lambda i: (scores[i], -i))]

    def compute_depth(self, image: np.ndarray, box: Box) -> float:
        """Pixel-weighted median depth of the regions in the box; the ground's depth at the
        box's lower edge when there are none."""
        height = image.shape[0]
        weights, depths = [], []
        for region in self.regions(image):
            inside = region.inside(box, height)
            if inside:
                weights.append(inside)
                depths.append(region.depth)
        if not depths:
            horizon = world.default_horizon(height)
            return world.depth_at(min(box[1], horizon - 1), horizon)
        return float(np.median(np.repeat(depths, weights)))
