"""What "plain data" means wherever a value must cross a boundary as JSON (a worker's result,
the arguments of an API call): exact builtin types only, so that no subclass can run code while
the value is read, copied or encoded.

Plain data is ``None``, ``bool``, ``int``, ``float``, ``str`` (exact types), and lists, tuples
and dicts with ``str`` keys of plain data. Each caller bounds it as it needs: nesting depth,
items per container, the size of an int.
"""

from __future__ import annotations

from typing import Any

__all__ = ["PLAIN_SCALARS", "NotPlainData", "plain_copy"]

PLAIN_SCALARS: frozenset[type] = frozenset({type(None), bool, int, float, str})


class NotPlainData(TypeError):
    """A value is not plain data (or not within the bounds asked for); the message says why."""


def plain_copy(
    value: Any,
    *,
    max_depth: int = 20,
    max_items: int | None = None,
    max_int: int | None = None,
) -> Any:
    """A copy of ``value`` as plain JSON data (tuples become lists), or :class:`NotPlainData`.

    Containers may nest ``max_depth`` levels below the top; with ``max_items`` a container may
    hold at most that many entries, with ``max_int`` an int's magnitude may be at most that.
    """
    return _copy(value, 0, (max_depth, max_items, max_int))


def _copy(value: Any, depth: int, bounds: tuple[int, int | None, int | None]) -> Any:
    kind = type(value)
    if kind in PLAIN_SCALARS:
        return _scalar(value, bounds[2]) if kind is int else value
    if kind not in (list, tuple, dict):
        raise NotPlainData(f"{kind.__name__} is not plain data")
    max_depth, max_items, _ = bounds
    if depth > max_depth:
        raise NotPlainData("nested too deeply")
    if max_items is not None and len(value) > max_items:
        raise NotPlainData(f"more than {max_items} entries in a {kind.__name__}")
    depth += 1
    # Scalar items are taken inline: this runs for the arguments of every API call.
    if kind is dict:
        out = {}
        for key, item in value.items():
            if type(key) is not str:
                raise NotPlainData(f"dict keys must be str, got {type(key).__name__}")
            item_kind = type(item)
            if item_kind is str or item_kind is float or item_kind is bool or item is None:
                out[key] = item
            else:
                out[key] = _copy(item, depth, bounds)
        return out
    return [
        item
        if (type(item) is str or type(item) is float or type(item) is bool or item is None)
        else _copy(item, depth, bounds)
        for item in value
    ]


def _scalar(value: int, max_int: int | None) -> int:
    if max_int is not None and abs(value) > max_int:
        raise NotPlainData(f"an int over {max_int} in magnitude")
    return value
