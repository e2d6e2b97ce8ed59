"""Labels: drawn with PIL's built-in bitmap font, read back by template matching.

Writing: each character of the label is drawn on its own at a fixed pitch of
:data:`GLYPH_PITCH` pixels (so glyphs never touch), the line is scaled up :data:`TEXT_SCALE`
times with nearest-neighbour blocks, and only the ink is painted on the object.

Reading: the ink pixels of an object are cropped to their bounding box, reduced back to font
pixels (a majority vote over each block), cut into cells of the known pitch starting at the first
ink column (every glyph of :data:`ALPHABET` has ink in its first column), and each cell is matched
against the rendered glyph templates by Hamming distance, trying both possible baselines.
:data:`ALPHABET` leaves out glyphs too close to another one (D, I, O, 3, 8), so templates differ
by at least 4 font pixels.
"""

from __future__ import annotations

import functools

import numpy as np

ALPHABET = "ABCEFGHJKLMNPQRSTUVWXYZ01245679"
GLYPH_PITCH = 7
"""font pixels from one character's origin to the next (glyphs are at most 6 wide)"""
CELL_HEIGHT = 11
TEXT_SCALE = 2
MAX_CELL_ERRORS = 8
"""a cell whose best template differs in more font pixels than this reads as ``?``"""


@functools.lru_cache(maxsize=1)
def glyphs() -> dict[str, np.ndarray]:
    """Boolean ``CELL_HEIGHT x GLYPH_PITCH`` template of each character of the alphabet."""
    from PIL import Image, ImageDraw, ImageFont

    font = ImageFont.load_default_imagefont()
    out = {}
    for char in ALPHABET:
        canvas = Image.new("L", (GLYPH_PITCH, CELL_HEIGHT), 0)
        ImageDraw.Draw(canvas).text((0, 0), char, font=font, fill=255)
        cell = np.array(canvas) > 0
        cell.setflags(write=False)
        out[char] = cell
    return out


def check_text(text: str) -> str:
    """Validate a label: characters of :data:`ALPHABET` only."""
    bad = sorted({c for c in text if c not in ALPHABET})
    if bad:
        raise ValueError(f"label {text!r} has characters outside the alphabet {ALPHABET}: {bad}")
    return text


def text_ink(text: str) -> np.ndarray:
    """Boolean ink mask of a label at :data:`TEXT_SCALE`, cropped to its ink."""
    check_text(text)
    if not text:
        return np.zeros((0, 0), dtype=bool)
    table = glyphs()
    line = np.zeros((CELL_HEIGHT, GLYPH_PITCH * len(text)), dtype=bool)
    for i, char in enumerate(text):
        line[:, i * GLYPH_PITCH : (i + 1) * GLYPH_PITCH] = table[char]
    rows = np.flatnonzero(line.any(axis=1))
    cols = np.flatnonzero(line.any(axis=0))
    line = line[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
    return np.kron(line, np.ones((TEXT_SCALE, TEXT_SCALE), dtype=bool)).astype(bool)


def read_text(ink: np.ndarray) -> str:
    """The label whose ink is ``ink`` (a boolean mask, any crop around it); ``""`` if none."""
    rows = np.flatnonzero(ink.any(axis=1))
    cols = np.flatnonzero(ink.any(axis=0))
    if rows.size == 0:
        return ""
    crop = ink[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
    small = _downscale(crop, TEXT_SCALE)
    if small.shape[0] > CELL_HEIGHT:
        return "?"
    cells = -(-(small.shape[1] + 1) // GLYPH_PITCH)
    best_text, best_cost = "", None
    for top in _first_ink_rows():
        if top + small.shape[0] > CELL_HEIGHT:
            continue
        line = np.zeros((CELL_HEIGHT, cells * GLYPH_PITCH), dtype=bool)
        line[top : top + small.shape[0], : small.shape[1]] = small
        text, cost = _match_cells(line, cells)
        if best_cost is None or cost < best_cost:
            best_text, best_cost = text, cost
    return best_text if best_cost is not None else "?"


@functools.lru_cache(maxsize=1)
def _first_ink_rows() -> tuple[int, ...]:
    tops = {int(np.flatnonzero(cell.any(axis=1))[0]) for cell in glyphs().values()}
    return tuple(sorted(tops))


def _downscale(mask: np.ndarray, scale: int) -> np.ndarray:
    height = -(-mask.shape[0] // scale) * scale
    width = -(-mask.shape[1] // scale) * scale
    padded = np.zeros((height, width), dtype=np.int32)
    padded[: mask.shape[0], : mask.shape[1]] = mask
    blocks = padded.reshape(height // scale, scale, width // scale, scale).sum(axis=(1, 3))
    return blocks * 2 >= scale * scale


def _match_cells(line: np.ndarray, cells: int) -> tuple[str, int]:
    table = glyphs()
    chars = list(table)
    stack = np.stack([table[c] for c in chars])
    text, total = [], 0
    for i in range(cells):
        cell = line[:, i * GLYPH_PITCH : (i + 1) * GLYPH_PITCH]
        if not cell.any():
            total += 0
            continue
        errors = (stack != cell[None]).sum(axis=(1, 2))
        best = int(errors.argmin())
        total += int(errors[best])
        text.append(chars[best] if errors[best] <= MAX_CELL_ERRORS else "?")
    return "".join(text), total
