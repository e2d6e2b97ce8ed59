"""Trace value summaries in words, with image regions as bounding boxes and no code names."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

__all__ = ["describe_box", "describe_value"]

MAX_BOXES = 4
"""regions of a list spelled out before the rest are counted"""


def describe_box(box: Sequence[Any]) -> str:
    """``(left, lower, right, upper)`` as the step text writes it."""
    return "(" + ", ".join(str(v) for v in box) + ")"


def describe_boxes(boxes: Sequence[Sequence[Any]], total: int) -> str:
    """Up to :data:`MAX_BOXES` boxes, then how many more there are."""
    shown = [describe_box(b) for b in boxes[:MAX_BOXES]]
    more = total - len(shown)
    if more > 0:
        return ", ".join(shown) + f" and {more} more"
    return ", ".join(shown[:-1]) + f" and {shown[-1]}" if len(shown) > 1 else "".join(shown)


def describe_value(summary: Any) -> str:
    """A short English rendering of a value summary."""
    if not isinstance(summary, dict):
        return repr(summary)
    kind = summary.get("type")
    if "value" in summary:
        value = summary["value"]
        if isinstance(value, str):
            return f'"{value}"'
        if isinstance(value, float):
            return _number(value)
        if value is None:
            return "nothing"
        if isinstance(value, bool):
            return "true" if value else "false"
        return str(value)
    if kind == "ImagePatch":
        return f"a region at {describe_box(summary.get('box', ()))}"
    if kind == "VideoSegment":
        return f"the frames {summary.get('start')} to {summary.get('end')} of a video"
    if kind in ("list", "tuple"):
        return _describe_list(summary)
    if kind == "dict":
        return f"a dict of {summary.get('len', 0)} entries"
    if kind == "str":
        return (
            f'a text of {summary.get("len")} characters starting "{summary.get("head", "")[:40]}"'
        )
    if "repr" in summary:
        return str(summary["repr"])
    if "box" in summary:
        return f"a {kind} at {describe_box(summary['box'])}"
    return f"a {kind}"


def _describe_list(summary: dict[str, Any]) -> str:
    count = summary.get("len", 0)
    items = summary.get("items", [])
    if count == 0:
        return "an empty list"
    if items and all(i.get("type") == "ImagePatch" for i in items):
        noun = "region" if count == 1 else "regions"
        boxes = describe_boxes([i.get("box", ()) for i in items], count)
        return f"a list of {count} {noun} at {boxes}"
    if count == 4 and all("value" in i for i in items):
        return "[" + ", ".join(str(i["value"]) for i in items) + "]"
    shown = ", ".join(describe_value(i) for i in items[:3])
    more = ", ..." if count > 3 else ""
    return f"a list of {count} ({shown}{more})"


def _number(value: float) -> str:
    return f"{value:.3g}"


def describe_number(value: Any) -> str:
    """A number as a step shows it (three significant digits for a float)."""
    return _number(value) if isinstance(value, float) else str(value)
