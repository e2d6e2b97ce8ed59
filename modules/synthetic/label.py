"""Connected components of equal non-negative values (4-connectivity), numpy + union-find.

Runs of equal values are found per row with numpy; runs that overlap in adjacent rows and share a
value are joined with a union-find. Cost grows with the number of runs, which is small for
flat-coloured scenes.
"""

from __future__ import annotations

import numpy as np


def label(classes: np.ndarray) -> tuple[np.ndarray, int]:
    """Label 4-connected regions of equal value in a 2-D int array; negative values are background.

    Returns ``(labels, count)``: ``labels`` is ``int32`` with ``-1`` for background and
    ``0 .. count-1`` for regions, numbered in raster order of their first pixel.
    """
    classes = np.asarray(classes)
    if classes.ndim != 2:
        raise ValueError(f"label() needs a 2-D array, got shape {classes.shape}")
    height, width = classes.shape
    labels = np.full((height, width), -1, dtype=np.int32)
    if classes.size == 0:
        return labels, 0
    rows, starts, ends, values = _runs(classes.astype(np.int64, copy=False))
    if not rows:
        return labels, 0
    parent = list(range(len(rows)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    prev_lo = prev_hi = 0  # run index range of the previous row
    cur_lo = 0
    for i in range(1, len(rows) + 1):
        if i < len(rows) and rows[i] == rows[cur_lo]:
            continue
        # runs cur_lo .. i-1 form one row; join them with overlapping runs of the row above
        if cur_lo > 0 and rows[cur_lo - 1] == rows[cur_lo] - 1:
            j = prev_lo
            for k in range(cur_lo, i):
                while j < prev_hi and ends[j] <= starts[k]:
                    j += 1
                m = j
                while m < prev_hi and starts[m] < ends[k]:
                    if values[m] == values[k]:
                        a, b = find(m), find(k)
                        if a != b:
                            parent[max(a, b)] = min(a, b)
                    m += 1
        prev_lo, prev_hi = cur_lo, i
        cur_lo = i
    roots = [find(i) for i in range(len(rows))]
    numbering: dict[int, int] = {}
    for i, root in enumerate(roots):
        if root not in numbering:
            numbering[root] = len(numbering)
        labels[rows[i], starts[i] : ends[i]] = numbering[root]
    return labels, len(numbering)


def _runs(classes: np.ndarray) -> tuple[list[int], list[int], list[int], list[int]]:
    """Row, start, end (exclusive) and value of every run of one non-negative value."""
    height, width = classes.shape
    change = np.ones((height, width), dtype=bool)
    change[:, 1:] = classes[:, 1:] != classes[:, :-1]
    r, c = np.nonzero(change)
    ends = np.empty_like(c)
    ends[:-1] = np.where(r[1:] == r[:-1], c[1:], width)
    if c.size:
        ends[-1] = width
    values = classes[r, c]
    keep = values >= 0
    return (
        r[keep].tolist(),
        c[keep].tolist(),
        ends[keep].tolist(),
        values[keep].tolist(),
    )


def fill_holes(mask: np.ndarray) -> np.ndarray:
    """``mask`` with every background region not connected to the border filled in."""
    padded = np.zeros((mask.shape[0] + 2, mask.shape[1] + 2), dtype=np.int64)
    padded[1:-1, 1:-1] = np.where(mask, -1, 0)
    labels, _ = label(padded)
    outside = labels[0, 0]
    holes = (labels >= 0) & (labels != outside)
    return mask | holes[1:-1, 1:-1]
