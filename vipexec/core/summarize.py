"""Type-dispatched value summaries: plain, bounded, JSON-ready data that never aliases the value.

A summary is taken at record time so that a trace holds no live references. The rules:

- exact builtin types dispatch through a table (subclasses defined by a program are *not* treated
  as their base, because a program's subclass could change iteration or length);
- third-party types (numpy, torch, PIL) are registered by import path and recognised by type
  identity: the path is looked up in ``sys.modules`` (nothing is imported), and a class matches
  only if the very class found there is in its MRO. A ``__module__`` or ``__qualname__`` a
  program sets is never trusted;
- anything unknown is summarised by its type name only: no ``repr``, ``__eq__`` or ``len`` of
  an object whose class the program may have written;
- what an extension summarizer returns is copied into plain JSON data (bounded strings, finite
  numbers), so a summary never aliases a live object or holds NaN.

Every summary is a dict with a ``"type"`` key; other keys depend on the kind.
"""

from __future__ import annotations

import itertools
import math
import operator
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

Summary = dict[str, Any]
Summarizer = Callable[[Any, "Limits"], Summary]
_Internal = Callable[[Any, "Limits", "dict[int, Summary] | None"], Summary]


@dataclass(frozen=True)
class Limits:
    """Bounds on one summary: how long strings get, how many items and how deep."""

    max_str: int = 200
    max_items: int = 8
    max_depth: int = 3
    depth: int = 0

    def deeper(self) -> Limits:
        # Made once per Limits object and kept on it: summaries run at every block exit.
        try:
            return self.__dict__["_deeper"]
        except KeyError:
            found = Limits(self.max_str, self.max_items, self.max_depth, self.depth + 1)
            object.__setattr__(self, "_deeper", found)
            return found


DEFAULT_LIMITS = Limits()

_BY_TYPE: dict[type, _Internal] = {}
_BY_NAME: dict[str, _Internal] = {}
"""summarizers registered by import path, matched along the MRO once the path resolves"""
_NAMED: dict[type, _Internal] = {}
"""the real classes that registered import paths resolved to"""
_LASTING_SUMMARIZERS: set[_Internal] = set()
"""summarizers of classes registered as immutable"""
LASTING = "lasting"
"""The key of a memo's per-run store for immutable objects (``{id: (object, summary,
max_str)}``): a caller that summarises at many moments of one run (the tracer) puts the same
store into each memo; the store keeps each object alive, so its id stays its own until the
store is dropped."""
_LASTING_MAX = 4096
_RESOLVED: dict[type, _Internal] = {}
"""the summarizer each type resolved to; cleared when it grows past _RESOLVED_MAX, because a
long-lived worker sees new program-defined classes in every run"""
_RESOLVED_MAX = 4096
_STAND_INS: dict[_Internal, Callable[[Any], Any]] = {}
"""summarizers of stand-in classes -> how to reach the object each value stands for"""
_BOXED: dict[_Internal, str] = {}
"""summarizers of patch-like classes whose boxes can be read in bulk -> their type name"""


def register(kind: type | str, summarizer: Summarizer, *, immutable: bool = False) -> None:
    """Register ``summarizer(value, limits) -> dict`` for a type or an import path string.

    An import path (``"numpy.ndarray"``, ``"PIL.Image.Image"``) names a class as found in an
    already imported module; it matches that very class and its subclasses (checked along the
    MRO), which is what third-party classes such as ``torch.nn.Parameter`` need. A class whose
    ``__module__``/``__qualname__`` merely spell the path does not match. What ``summarizer``
    returns is copied into plain JSON data (see :func:`json_ready`).

    ``immutable=True`` promises that an object of the class keeps its summary for life (a
    frozen value such as an image reference) and that ``summarizer`` reads no bound of
    ``limits`` but ``max_str``: within one run its summary is then taken once and reused at
    every block exit, call and nesting depth (see :data:`LASTING`).
    """

    def internal(value: Any, limits: Limits, memo: dict[int, Summary] | None) -> Summary:
        out = json_ready(summarizer(value, limits), limits.max_str)
        if type(out) is not dict or type(out.get("type")) is not str:
            return {"type": _bounded_name(type(value), limits), "summary_error": "not a summary"}
        return out

    _register(kind, internal)
    if immutable:
        _LASTING_SUMMARIZERS.add(internal)


def register_stand_in(kind: type | str, stands_for: Callable[[Any], Any]) -> None:
    """Summarise an object of ``kind`` (a type or an import path, as in :func:`register`) as
    the object ``stands_for(value)`` returns: a proxy as the object it wraps.

    The wrapped object's summary is taken by :func:`summarize` itself, so it is plain data
    already (no copy) and shares the caller's memo. ``stands_for`` must run no code of the
    object (read a slot, not an attribute the object's class could define).
    """

    def internal(value: Any, limits: Limits, memo: dict[int, Summary] | None) -> Summary:
        return summarize(stands_for(value), limits, memo)

    _register(kind, internal)
    _STAND_INS[internal] = stands_for


def _register(kind: type | str, summarizer: _Internal) -> None:
    _RESOLVED.clear()
    if isinstance(kind, str):
        _BY_NAME[kind] = summarizer
        _NAMED.clear()
    elif isinstance(kind, type):
        _BY_TYPE[kind] = summarizer
    else:
        raise TypeError(f"register() takes a type or a qualified name, not {type(kind).__name__}")


def summarize(
    value: Any, limits: Limits = DEFAULT_LIMITS, memo: dict[int, Summary] | None = None
) -> Summary:
    """Summarise ``value`` into plain bounded data (see the module docstring).

    ``memo`` (id -> summary) lets one caller summarise many values that share objects (the
    variables of one block, say) without redoing shared parts; it is only valid while every
    value summarised with it stays alive, so ids cannot be reused. Under the key
    :data:`LASTING` it may hold a per-run store that outlives it.
    """
    kind = type(value)
    # The commonest kinds inline: this runs for every bound name at every block exit.
    if kind is str:
        if len(value) <= limits.max_str:
            return {"type": "str", "value": value}
        return {"type": "str", "len": len(value), "head": value[: limits.max_str]}
    if kind is int:
        if _INT_LOWEST <= value <= _INT_LIMIT:
            return {"type": "int", "value": value}
        return {"type": "int", "bits": value.bit_length(), "negative": value < 0}
    if kind is float and value - value == 0.0:  # finite
        return {"type": "float", "value": value}
    if kind is bool:
        return {"type": "bool", "value": value}
    fn = _RESOLVED.get(kind)
    if fn in _BOXED:  # a patch's box: cheaper to take again than to look up in the memo
        memo = None
    elif memo is not None:
        key = id(value)
        found = memo.get(key)
        if found is not None:
            return found
    if fn is None:
        fn = _resolve(kind)
    lasting = None
    if memo is not None and fn in _LASTING_SUMMARIZERS:
        lasting = memo.get(LASTING)
        if lasting is not None:
            kept = lasting.get(key)
            if kept is not None and kept[0] is value and kept[2] == limits.max_str:
                memo[key] = kept[1]
                return kept[1]
    try:
        out = fn(value, limits, memo)
    except Exception as exc:  # a summary must never break the traced program
        # Only the exception's type: its message could run a program-defined __str__.
        failed = _bounded_name(type(exc), limits)
        out = {"type": _bounded_name(kind, limits), "summary_error": failed}
    if memo is not None:
        memo[key] = out
        if lasting is not None and len(lasting) < _LASTING_MAX:
            lasting[key] = (value, out, limits.max_str)
    return out


_INT_LIMIT = 2**53
"""ints beyond this lose precision in JSON readers; str() of huge ones is quadratic"""
_INT_LOWEST = -_INT_LIMIT


def _unknown_of(kind: type) -> _Internal:
    """The summarizer of an unregistered type: its name, plus the box of a patch-like object.

    The box (``left lower right upper`` instance attributes, as on ViperGPT's own ImagePatch) is
    read only when no class in the MRO defines those names, so the reads are plain instance
    data: no property or method of the object runs. (Reading ``__dict__`` instead would make
    CPython materialise the instance dict, which is slow and slows later attribute access.)
    """
    # A class statement's name is bounded only by the source size: cut it like a string.
    name = type_name(kind)[:_MAX_TYPE_NAME]
    mro = type.__getattribute__(kind, "__mro__")
    if any(field in base.__dict__ for base in mro for field in _BOX_FIELDS):

        def summarize_unknown(value: Any, limits: Limits, memo: Any) -> Summary:
            return {"type": name}

        return summarize_unknown
    numbers = (int, float)

    def summarize_patch_like(value: Any, limits: Limits, memo: Any) -> Summary:
        try:
            box = _BOX(value)
        except AttributeError:
            return {"type": name}
        left, lower, right, upper = box
        # Plain numbers only, and no NaN, infinity or int too long for JSON (the chained
        # comparisons are False for each of them).
        if (
            type(left) in numbers
            and type(lower) in numbers
            and type(right) in numbers
            and type(upper) in numbers
            and _INT_LOWEST <= left <= _INT_LIMIT
            and _INT_LOWEST <= lower <= _INT_LIMIT
            and _INT_LOWEST <= right <= _INT_LIMIT
            and _INT_LOWEST <= upper <= _INT_LIMIT
        ):
            return {"type": name, "box": list(box)}
        return {"type": name}

    if not any(hook in base.__dict__ for base in mro[:-1] for hook in _ATTRIBUTE_HOOKS):
        # Reading the box runs nothing of the class: a head of such objects is read at once.
        _BOXED[summarize_patch_like] = name
    return summarize_patch_like


_ATTRIBUTE_HOOKS = ("__getattr__", "__getattribute__")


_BOX_FIELDS = ("left", "lower", "right", "upper")
_BOX = operator.attrgetter(*_BOX_FIELDS)


_MAX_TYPE_NAME = 200


def type_name(kind: type) -> str:
    # type's own descriptor: no hook of the class can intercept it
    return type.__getattribute__(kind, "__qualname__")


def _bounded_name(kind: type, limits: Limits) -> str:
    return type_name(kind)[: limits.max_str]


def _class_at(path: str) -> type | None:
    """The class an import path names in a module already in ``sys.modules``, else None.

    Reads module and class dicts only: no module ``__getattr__`` (lazy imports) runs.
    """
    parts = path.split(".")
    for cut in range(len(parts) - 1, 0, -1):
        found: Any = sys.modules.get(".".join(parts[:cut]))
        if found is None:
            continue
        for part in parts[cut:]:
            space = (
                type.__getattribute__(found, "__dict__") if isinstance(found, type) else vars(found)
            )
            found = space.get(part)
            if found is None:
                break
        if isinstance(found, type):
            return found
    return None


def _named_classes() -> dict[type, _Internal]:
    """Registered import paths resolved to their classes, for the modules imported so far."""
    if len(_NAMED) < len(_BY_NAME):
        for path, summarizer in _BY_NAME.items():
            kind = _class_at(path)
            if kind is not None:
                _NAMED[kind] = summarizer
    return _NAMED


def _resolve(kind: type) -> _Internal:
    """Exact registered type, else a registered class along the MRO, else type name only."""
    found = _BY_TYPE.get(kind)
    if found is None:
        named = _named_classes()
        for base in type.__getattribute__(kind, "__mro__"):
            found = named.get(base)
            if found is not None:
                break
    if found is None:
        found = _unknown_of(kind)
    if len(_RESOLVED) >= _RESOLVED_MAX:
        _RESOLVED.clear()
    _RESOLVED[kind] = found
    return found


# --- scalars ----------------------------------------------------------------------------------


def _none(value: None, limits: Limits, memo: dict[int, Summary] | None) -> Summary:
    return {"type": "NoneType", "value": None}


def _bool(value: bool, limits: Limits, memo: dict[int, Summary] | None) -> Summary:
    return {"type": "bool", "value": value}


def _int(value: int, limits: Limits, memo: dict[int, Summary] | None) -> Summary:
    if _INT_LOWEST <= value <= _INT_LIMIT:
        return {"type": "int", "value": value}
    # str() of a huge int is quadratic and capped by Python; the bit length is enough.
    return {"type": "int", "bits": value.bit_length(), "negative": value < 0}


def _float(value: float, limits: Limits, memo: dict[int, Summary] | None) -> Summary:
    if math.isfinite(value):
        return {"type": "float", "value": value}
    return {"type": "float", "repr": repr(value)}


def _complex(value: complex, limits: Limits, memo: dict[int, Summary] | None) -> Summary:
    return {"type": "complex", "repr": repr(value)[: limits.max_str]}


def _str(value: str, limits: Limits, memo: dict[int, Summary] | None) -> Summary:
    if len(value) <= limits.max_str:
        return {"type": "str", "value": value}
    return {"type": "str", "len": len(value), "head": value[: limits.max_str]}


def _bytes(value: bytes | bytearray, limits: Limits, memo: dict[int, Summary] | None) -> Summary:
    return {"type": type(value).__name__, "len": len(value), "head": value[:32].hex()}


# --- containers -------------------------------------------------------------------------------


def _sequence(value: list | tuple, limits: Limits, memo: dict[int, Summary] | None) -> Summary:
    out: Summary = {"type": type(value).__name__, "len": len(value)}
    if limits.depth >= limits.max_depth:
        return out
    head = value[: limits.max_items]
    items = None
    if len(head) > 1:
        first = _RESOLVED.get(type(head[0]))
        if first in _BOXED or first in _STAND_INS:
            items = _patches(head)
    out["items"] = items if items is not None else summarize_many(head, limits.deeper(), memo)
    return out


def _patches(head: list | tuple) -> list[Summary] | None:
    """The summaries of a head of patch-like objects of one class (or proxies of them) with
    valid boxes, taken at once (four C-level passes instead of a call per object); ``None``
    for any other head, which is then summarised item by item."""
    kinds = set(map(type, head))
    if len(kinds) != 1:
        return None
    fn = _RESOLVED.get(kinds.pop())
    if fn in _STAND_INS:
        head = list(map(_STAND_INS[fn], head))
        kinds = set(map(type, head))
        if len(kinds) != 1:
            return None
        fn = _RESOLVED.get(kinds.pop())
    name = _BOXED.get(fn)
    if name is None:
        return None
    try:
        boxes = list(map(_BOX, head))
    except Exception:  # a field missing, or a class changed since: one object at a time
        return None
    numbers = list(itertools.chain.from_iterable(boxes))
    if (
        not _BOX_NUMBERS.issuperset(map(type, numbers))
        or min(numbers) < _INT_LOWEST
        or max(numbers) > _INT_LIMIT
    ):
        return None
    total = sum(numbers)
    if total - total != 0:  # a NaN or an infinity
        return None
    return [{"type": name, "box": list(box)} for box in boxes]


_BOX_NUMBERS = frozenset({int, float})


def summarize_many(
    values: Iterable[Any], limits: Limits, memo: dict[int, Summary] | None = None
) -> list[Summary]:
    """``[summarize(v, limits, memo) for v in values]``, with plain scalars done inline.

    Block exits and container heads summarise mostly small ints, floats and short strings;
    building their summaries here saves a function call each.
    """
    out = []
    append = out.append
    max_str = limits.max_str
    for value in values:
        kind = type(value)
        if kind is int and _INT_LOWEST <= value <= _INT_LIMIT:
            append({"type": "int", "value": value})
        elif kind is str and len(value) <= max_str:
            append({"type": "str", "value": value})
        elif kind is float and value - value == 0.0:
            append({"type": "float", "value": value})
        else:
            append(summarize(value, limits, memo))
    return out


def _set(value: set | frozenset, limits: Limits, memo: dict[int, Summary] | None) -> Summary:
    out: Summary = {"type": type(value).__name__, "len": len(value)}
    if limits.depth >= limits.max_depth:
        return out
    head = []
    for item in value:  # builtin set iteration runs no program code
        if len(head) >= limits.max_items:
            break
        head.append(item)
    inner = limits.deeper()
    items = [summarize(item, inner, memo) for item in head]
    # Hash order of strings changes per process: sort the summaries for stable traces.
    items.sort(key=lambda s: (s.get("type", ""), repr(s.get("value", ""))))
    out["items"] = items
    return out


def _dict(value: dict, limits: Limits, memo: dict[int, Summary] | None) -> Summary:
    out: Summary = {"type": "dict", "len": len(value)}
    if limits.depth >= limits.max_depth:
        return out
    inner = limits.deeper()
    head = list(itertools.islice(value.items(), limits.max_items))
    keys = summarize_many([key for key, _ in head], inner, memo)
    values = summarize_many([item for _, item in head], inner, memo)
    out["items"] = list(map(list, zip(keys, values)))
    return out


def _range(value: range, limits: Limits, memo: dict[int, Summary] | None) -> Summary:
    return {
        "type": "range",
        "len": len(value),
        "start": value.start,
        "stop": value.stop,
        "step": value.step,
    }


def _callable(value: Any, limits: Limits, memo: dict[int, Summary] | None) -> Summary:
    name = getattr(value, "__qualname__", None)
    name = name[: limits.max_str] if type(name) is str else "?"
    return {"type": type(value).__name__, "name": name}


def _type(value: type, limits: Limits, memo: dict[int, Summary] | None) -> Summary:
    return {"type": "type", "name": _bounded_name(value, limits)}


def _module(value: Any, limits: Limits, memo: dict[int, Summary] | None) -> Summary:
    name = vars(value).get("__name__")
    return {"type": "module", "name": name[: limits.max_str] if type(name) is str else "?"}


for _kind, _fn in [
    (type(None), _none),
    (bool, _bool),
    (int, _int),
    (float, _float),
    (complex, _complex),
    (str, _str),
    (bytes, _bytes),
    (bytearray, _bytes),
    (list, _sequence),
    (tuple, _sequence),
    (set, _set),
    (frozenset, _set),
    (dict, _dict),
    (range, _range),
    (type, _type),
    (type(len), _callable),
    (type(_none), _callable),
    (type(math), _module),
]:
    _register(_kind, _fn)

# --- third-party arrays and images (registered by import path: importing them would be heavy) -


def _ndarray(value: Any, limits: Limits, memo: dict[int, Summary] | None) -> Summary:
    return {"type": "ndarray", "shape": list(value.shape), "dtype": str(value.dtype)}


def _numpy_scalar(value: Any, limits: Limits, memo: dict[int, Summary] | None) -> Summary:
    item = value.item()
    out = summarize(item, limits) if isinstance(item, (bool, int, float)) else {}
    out["type"] = f"numpy.{type(value).__name__}"
    return out


def _tensor(value: Any, limits: Limits, memo: dict[int, Summary] | None) -> Summary:
    # shape/dtype/device are metadata: reading them never synchronises a GPU stream.
    return {
        "type": "Tensor",
        "shape": list(value.shape),
        "dtype": str(value.dtype).removeprefix("torch."),
        "device": str(value.device),
    }


def _pil_image(value: Any, limits: Limits, memo: dict[int, Summary] | None) -> Summary:
    return {"type": "PIL.Image", "size": list(value.size), "mode": value.mode}


_register("numpy.ndarray", _ndarray)
_register("numpy.generic", _numpy_scalar)
_register("torch.Tensor", _tensor)
_register("PIL.Image.Image", _pil_image)


# --- what extension summarizers return -------------------------------------------------------

_MAX_JSON_ITEMS = 256
_MAX_JSON_DEPTH = 8


def json_ready(value: Any, max_str: int, depth: int = 0) -> Any:
    """A plain JSON copy of ``value``: nothing in it aliases ``value`` or runs its methods.

    Strings are cut to ``max_str`` characters; lists and objects to 256 entries and 8 levels
    (what lies deeper becomes ``null``); object keys that are not strings are dropped; a
    non-finite float becomes the string ``"nan"``, ``"inf"`` or ``"-inf"``; an int beyond
    ±2**53 becomes an int summary; any other object becomes ``{"type": <class name>}``.
    """
    kind = type(value)
    # Exact types first, with short strings and ints kept inline in containers: this runs
    # for every summary an extension returns (every ImagePatch at every block exit).
    if kind is dict:
        if depth >= _MAX_JSON_DEPTH:
            return None
        if len(value) > _MAX_JSON_ITEMS:
            value = dict(itertools.islice(value.items(), _MAX_JSON_ITEMS))
        out = {}
        for key, item in value.items():
            if type(key) is not str or len(key) > max_str:
                key = _json_key(key, max_str)
                if key is None:
                    continue
            if (type(item) is str and len(item) <= max_str) or (
                type(item) is int and _INT_LOWEST <= item <= _INT_LIMIT
            ):
                out[key] = item
            else:
                out[key] = json_ready(item, max_str, depth + 1)
        return out
    if kind is list or kind is tuple:
        if depth >= _MAX_JSON_DEPTH:
            return None
        return [
            item
            if (type(item) is int and _INT_LOWEST <= item <= _INT_LIMIT)
            or (type(item) is str and len(item) <= max_str)
            else json_ready(item, max_str, depth + 1)
            for item in value[:_MAX_JSON_ITEMS]
        ]
    if kind is str:
        return value if len(value) <= max_str else value[:max_str]
    if kind is int:
        if _INT_LOWEST <= value <= _INT_LIMIT:
            return value
        return {"type": "int", "bits": value.bit_length(), "negative": value < 0}
    if kind is float:
        return value if value - value == 0.0 else repr(value)
    if value is None or kind is bool:
        return value
    # issubclass on type(value), never isinstance: isinstance reads a __class__ the object
    # may define as a property.
    if issubclass(kind, str):
        return str.__getitem__(value, slice(0, max_str))
    if issubclass(kind, int):
        return json_ready(int.__int__(value), max_str)
    if issubclass(kind, float):
        return json_ready(float.__float__(value), max_str)
    return {"type": type_name(kind)[:max_str]}


def _json_key(key: Any, max_str: int) -> str | None:
    """An object key as JSON can hold it (a plain, bounded string), or None to drop it."""
    if not issubclass(type(key), str):
        return None
    return str.__getitem__(key, slice(0, max_str))


def plain_value(summary: Summary) -> Any:
    """The plain value a summary stands for when it holds one completely, else the summary.

    Scalars and short strings come back as values; a list/tuple whose every item was kept and
    is itself plain comes back as a list. Anything truncated stays a summary dict.
    """
    if "value" in summary:
        return summary["value"]
    kind = summary.get("type")
    if kind in ("list", "tuple") and "items" in summary:
        items = summary["items"]
        if len(items) == summary.get("len"):
            values = [plain_value(item) for item in items]
            if not any(isinstance(v, dict) for v in values):
                return values
    return summary
