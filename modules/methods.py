"""The table of API methods: one declaration per ``ImagePatch`` / ``VideoSegment`` method and
API function, with every fact the rest of the project needs about it.

Consumers look a method up (:func:`method_named`, :func:`lookup`) or filter the table
(:data:`METHODS`) instead of naming methods in ``if method == ...`` chains:

- the backend contract and the dispatchers: which methods reach a backend and how
  (:attr:`ApiMethod.served`), the order of a backend method's arguments
  (:attr:`ApiMethod.backend_args`), argument bounds (:attr:`ApiMethod.text_bounds`,
  :attr:`ApiMethod.count_bounds`, :attr:`ApiMethod.nested_bounds`), and the check and
  normalisation of a backend's result (:meth:`ApiMethod.normalize`);
- the CoT converter: how a call reads in a step, without its code name (:attr:`ApiMethod.cot`);
- the attribute labeler: how a checker cross-examines a result (:attr:`ApiMethod.cross_check`);
- the logic labeler: what a result must look like (:attr:`ApiMethod.result`), what a
  variable bound to the call holds (:attr:`ApiMethod.binds`), and how it reads a call in a
  program's code: a verdict on objects (:attr:`ApiMethod.verdict`), the argument naming the
  objects asked about (:attr:`ApiMethod.asks_about`), an axis patches are ordered along
  (:attr:`ApiMethod.measures`);
- the benchmark's truth oracle: how two answers to one call are compared
  (:attr:`ApiMethod.agreement`);
- the static analysis and the linter: which attribute calls are module calls, which functions
  are pure logic (:attr:`ApiMethod.glue`), and which names a program's namespace holds.

Adding an API method is one :class:`ApiMethod` entry here plus its implementations (the class
method in :mod:`vipexec.modules.api` and, when it reaches a backend, a :class:`Backend` method
and the backends that can answer it).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from vipexec.modules.bounds import (
    MAX_OPTIONS,
    MAX_PATCHES,
    MAX_PHRASE_CHARS,
    MAX_PROMPT_CHARS,
    MAX_QUESTION_CHARS,
    check_count,
    check_nested,
    check_text,
)

__all__ = [
    "API_FUNCTIONS",
    "API_METHODS",
    "CROSS_CHECKS",
    "MEASURES",
    "METHODS",
    "RESULT_KINDS",
    "SERVED",
    "VERDICTS",
    "VQA_METHOD",
    "ApiMethod",
    "ContractBroken",
    "CotPhrase",
    "CrossCheck",
    "check_arguments",
    "lookup",
    "method_named",
]

RESULT_KINDS = frozenset(
    {"patches", "bool", "text", "option", "number", "index", "patch", "segment", "frames", "yesno"}
)
"""what a call returns: a list of patches, a bool, free text, one of the given options, a
finite number, an index into the given list, one patch, one video segment, an iterator of
frame patches, or the text "yes"/"no\""""

SERVED = frozenset({"patch", "crops", "text"})
"""how a call reaches a backend: with one patch's pixels and box, with several crops, or as
text alone (``None`` on an entry: answered in the program's process, no backend involved)"""


class ContractBroken(Exception):
    """A backend's result does not fit the method's result kind (the message says how)."""


@dataclass(frozen=True)
class CotPhrase:
    """How a call reads in a CoT step, without naming the method.

    ``tool`` names what answers the call ("an object detector"); ``purpose`` says what it is
    asked, a ``str.format`` template over the call's plain arguments (``{object_name}``).
    """

    tool: str
    purpose: str

    def render(self, args: Mapping[str, Any]) -> str:
        """``"<tool> <purpose>"`` with the arguments filled in (a missing one reads "it",
        "object", "the options" or "the texts")."""
        return f"{self.tool} {self.purpose.format_map(_Filled(args))}".strip()


class _Filled(dict):
    def __init__(self, args: Mapping[str, Any]) -> None:
        super().__init__({key: _argument_text(value) for key, value in args.items()})

    def __missing__(self, key: str) -> str:
        return _UNKNOWN_ARGUMENTS.get(key, "it")


_UNKNOWN_ARGUMENTS = {"object_name": "object", "options": "the options", "content": "the texts"}
"""how an argument the trace did not record reads"""


def _argument_text(value: Any) -> str:
    if isinstance(value, (list, tuple)):
        texts = [f'"{item}"' for item in value]
        return ", ".join(texts[:-1]) + f" or {texts[-1]}" if len(texts) > 1 else "".join(texts)
    return str(value)


@dataclass(frozen=True)
class CrossCheck:
    """How an independent checker cross-examines one result of the method.

    ``kind`` is one of ``detections`` (each box confirmed by the checker's VQA, none missed by
    its detector), ``yes_no`` (the checker's VQA answers ``question``), ``answer`` (the checker
    answers the same question), ``option`` (the checker picks among the same options),
    ``number`` (a relative difference within a tolerance) and ``crops`` (the checker picks among
    the same crops). ``question`` is a ``str.format`` template over the call's arguments.
    """

    kind: str
    question: str | None = None


VQA_METHOD = "simple_query"
"""the method a checker asks its own yes/no questions with"""

CROSS_CHECKS = frozenset({"detections", "yes_no", "answer", "option", "number", "crops"})

VERDICTS = frozenset({"any", "one"})
"""what a bool result is a verdict on: whether ANY object the call names is in the patch (a
whole-region existence verdict), or whether ONE object has a property"""

MEASURES = frozenset({"depth"})
"""the axes a number-returning patch method orders patches along (``depth``: larger is
farther)"""


@dataclass(frozen=True)
class ApiMethod:
    """One API method or function and everything the project knows about it."""

    name: str
    owners: tuple[str, ...]
    """the classes it is a method of (``ImagePatch``, ``VideoSegment``) and ``function`` when a
    program's namespace holds it as a free function"""
    signature: str
    """how a program calls it (the public signature in :mod:`vipexec.modules.api`)"""
    result: str
    """what it returns, one of :data:`RESULT_KINDS`"""
    cot: CotPhrase
    served: str | None = None
    """how it reaches a backend (one of :data:`SERVED`), ``None`` when it never does"""
    backend_args: tuple[str, ...] = ()
    """the call's arguments in the order the backend method takes them (after pixels and box)"""
    text_bounds: Mapping[str, int] = field(default_factory=dict)
    """argument -> most characters of it (of each item, for a list)"""
    count_bounds: Mapping[str, int] = field(default_factory=dict)
    """argument -> most items of it"""
    nested_bounds: tuple[str, ...] = ()
    """arguments that are nested plain data, bounded in items and characters as a whole"""
    cross_check: CrossCheck | None = None
    """how a checker cross-examines a recorded result; ``None``: not checked"""
    agreement: str | None = None
    """how the truth oracle compares a result with the true one (``boxes``, ``bool``, ``text``,
    ``number``); ``None``: the benchmark does not judge this method"""
    binds: str | None = None
    """what a variable bound straight to this call must hold (a logic format role)"""
    glue: bool = False
    """pure logic over values the program has: a block calling only such functions is glue"""
    verdict: str | None = None
    """what its bool result is a verdict on (one of :data:`VERDICTS`); ``None``: it is not a
    verdict on objects"""
    asks_about: str | None = None
    """the argument naming the objects of the patch the call looks for or asks about
    (``object_name``, or ``question`` for a free question); ``None``: it names none"""
    measures: str | None = None
    """the axis its number orders patches along (one of :data:`MEASURES`); ``None``: none"""

    def check_arguments(self, args: Mapping[str, Any]) -> None:
        """Raise :class:`~vipexec.modules.errors.ArgumentTooLarge` if an argument of a call is
        over its bound (the bounds and their reasons: :mod:`vipexec.modules.bounds`)."""
        for name, limit in self.count_bounds.items():
            check_count(self.name, name, args.get(name), limit)
        for name, limit in self.text_bounds.items():
            check_text(self.name, name, args.get(name), limit)
        for name in self.nested_bounds:
            check_nested(self.name, name, args.get(name))

    def normalize(self, result: Any, args: Mapping[str, Any]) -> Any:
        """A backend's result checked against :attr:`result` and made plain Python data;
        :class:`ContractBroken` when it does not fit."""
        return _NORMALIZERS[self.result](result, args)


# --- result normalisation ------------------------------------------------------------------------


_PLAIN_SEQUENCES = (tuple, list)


def _boxes(result: Any, args: Mapping[str, Any]) -> list[tuple[int, ...]]:
    if not isinstance(result, (list, tuple)):
        raise ContractBroken(f"returned {type(result).__name__}, expected a list of boxes")
    boxes = []
    for item in result:
        # The common answer, a tuple or list of four ints, passes without the generic checks.
        if type(item) in _PLAIN_SEQUENCES and len(item) == 4:
            left, lower, right, upper = item
            if (
                type(left) is int
                and type(lower) is int
                and type(right) is int
                and type(upper) is int
            ):
                boxes.append((left, lower, right, upper))
                continue
        values = list(item) if hasattr(item, "__iter__") and not isinstance(item, str) else []
        if len(values) != 4:
            raise ContractBroken(f"returned a box that is not 4 numbers: {item!r}")
        if not all(isinstance(v, numbers.Real) and math.isfinite(v) for v in values):
            raise ContractBroken(f"returned a box with non-finite or non-numeric values: {item!r}")
        boxes.append(tuple(int(v) for v in values))
    return boxes


def _bool(result: Any, args: Mapping[str, Any]) -> bool:
    numpy_scalar = type(result).__module__ == "numpy"
    if not isinstance(result, (bool, numbers.Integral)) and not numpy_scalar:
        raise ContractBroken(f"returned {type(result).__name__}, expected a bool")
    return bool(result)


def _number(result: Any, args: Mapping[str, Any]) -> float:
    if not isinstance(result, numbers.Real):
        raise ContractBroken(f"returned {type(result).__name__}, expected a float")
    return float(result)


def _index(result: Any, args: Mapping[str, Any]) -> int:
    count = len(args["crops"])
    if not isinstance(result, numbers.Integral) or not 0 <= int(result) < count:
        raise ContractBroken(f"returned {result!r}, expected an index below {count}")
    return int(result)


def _text(result: Any, args: Mapping[str, Any]) -> str:
    if not isinstance(result, str):
        raise ContractBroken(f"returned {type(result).__name__}, expected a str")
    return str(result)


def _option(result: Any, args: Mapping[str, Any]) -> str:
    text = _text(result, args)
    if text not in args["options"]:
        raise ContractBroken(f"returned {text!r}, which is not one of the options")
    return text


def _not_served(result: Any, args: Mapping[str, Any]) -> Any:
    raise ContractBroken("is answered in the program's process, not by a backend")


_NORMALIZERS: dict[str, Callable[[Any, Mapping[str, Any]], Any]] = {
    "patches": _boxes,
    "bool": _bool,
    "number": _number,
    "index": _index,
    "text": _text,
    "option": _option,
    "yesno": _text,
    "patch": _not_served,
    "segment": _not_served,
    "frames": _not_served,
}


# --- the table ----------------------------------------------------------------------------------

_PATCH = ("ImagePatch",)
_VIDEO = ("VideoSegment",)
_FUNCTION = ("function",)
_DETECTOR = "an object detector"
_VQA = "a visual question answering model"
_MATCHER = "an image-text matching model"
_LANGUAGE = "a language model"


def _bounds(**limits: int) -> Mapping[str, int]:
    return MappingProxyType(dict(limits))


_ENTRIES = (
    ApiMethod(
        "find",
        _PATCH,
        "find(object_name: str) -> list[ImagePatch]",
        "patches",
        CotPhrase(_DETECTOR, "to locate every {object_name}"),
        served="patch",
        backend_args=("object_name",),
        text_bounds=_bounds(object_name=MAX_PHRASE_CHARS),
        cross_check=CrossCheck("detections", "Is there a {object_name}?"),
        agreement="boxes",
        binds="patches",
        asks_about="object_name",
    ),
    ApiMethod(
        "exists",
        _PATCH,
        "exists(object_name: str) -> bool",
        "bool",
        CotPhrase(_DETECTOR, "to check whether there is a {object_name}"),
        served="patch",
        backend_args=("object_name",),
        text_bounds=_bounds(object_name=MAX_PHRASE_CHARS),
        cross_check=CrossCheck("yes_no", "Is there a {object_name}?"),
        agreement="bool",
        binds="bool",
        verdict="any",
        asks_about="object_name",
    ),
    ApiMethod(
        "verify_property",
        _PATCH,
        "verify_property(object_name: str, property: str) -> bool",
        "bool",
        CotPhrase(_VQA, "to check whether the {object_name} is {attribute}"),
        served="patch",
        backend_args=("object_name", "attribute"),
        text_bounds=_bounds(object_name=MAX_PHRASE_CHARS, attribute=MAX_PHRASE_CHARS),
        cross_check=CrossCheck("yes_no", "Is the {object_name} {attribute}?"),
        agreement="bool",
        binds="bool",
        verdict="one",
        asks_about="object_name",
    ),
    ApiMethod(
        "best_text_match",
        _PATCH,
        "best_text_match(option_list: list[str], prefix: str | None = None) -> str",
        "option",
        CotPhrase(_MATCHER, "to choose which of {options} fits best"),
        served="patch",
        backend_args=("options", "prefix"),
        text_bounds=_bounds(options=MAX_PHRASE_CHARS, prefix=MAX_PHRASE_CHARS),
        count_bounds=_bounds(options=MAX_OPTIONS),
        cross_check=CrossCheck("option"),
        agreement="text",
        binds="str",
    ),
    ApiMethod(
        "simple_query",
        _PATCH,
        "simple_query(question: str | None = None) -> str",
        "text",
        CotPhrase(_VQA, 'to answer "{question}"'),
        served="patch",
        backend_args=("question",),
        text_bounds=_bounds(question=MAX_QUESTION_CHARS),
        cross_check=CrossCheck("answer"),
        agreement="text",
        binds="str",
        asks_about="question",
    ),
    ApiMethod(
        "compute_depth",
        _PATCH,
        "compute_depth() -> float",
        "number",
        CotPhrase("a depth estimator", "to measure how far away it is"),
        served="patch",
        cross_check=CrossCheck("number"),
        agreement="number",
        binds="number",
        measures="depth",
    ),
    ApiMethod(
        "crop",
        _PATCH,
        "crop(left, lower, right, upper) -> ImagePatch",
        "patch",
        CotPhrase("a crop", "to cut out a smaller region"),
    ),
    ApiMethod(
        "overlaps_with",
        _PATCH,
        "overlaps_with(left, lower, right, upper) -> bool",
        "bool",
        CotPhrase("an overlap test", "to check whether two regions overlap"),
    ),
    ApiMethod(
        "llm_query",
        _PATCH + _FUNCTION,
        "llm_query(question: str, long_answer: bool = True) -> str",
        "text",
        CotPhrase(_LANGUAGE, 'to answer "{question}"'),
        served="text",
        backend_args=("question", "long_answer"),
        text_bounds=_bounds(question=MAX_PROMPT_CHARS),
        binds="str",
    ),
    ApiMethod(
        "best_image_match",
        _FUNCTION,
        "best_image_match(list_patches: list[ImagePatch], content: list[str], "
        "return_index: bool = False) -> ImagePatch | int | None",
        "index",
        CotPhrase(_MATCHER, "to pick the region that best matches {content}"),
        served="crops",
        backend_args=("crops", "content"),
        text_bounds=_bounds(content=MAX_PHRASE_CHARS),
        count_bounds=_bounds(content=MAX_OPTIONS, crops=MAX_PATCHES),
        cross_check=CrossCheck("crops"),
    ),
    ApiMethod(
        "select_answer",
        _VIDEO,
        "select_answer(info: dict, question: str, options: list[str]) -> str",
        "option",
        CotPhrase(_LANGUAGE, 'to choose among {options} the answer to "{question}"'),
        served="text",
        backend_args=("info", "question", "options"),
        text_bounds=_bounds(question=MAX_QUESTION_CHARS, options=MAX_PHRASE_CHARS),
        count_bounds=_bounds(options=MAX_OPTIONS),
        nested_bounds=("info",),
    ),
    ApiMethod(
        "frame_from_index",
        _VIDEO,
        "frame_from_index(index: int) -> ImagePatch",
        "patch",
        CotPhrase("a frame picker", "to take one frame of the video"),
    ),
    ApiMethod(
        "trim",
        _VIDEO,
        "trim(start: int | None = None, end: int | None = None) -> VideoSegment",
        "segment",
        CotPhrase("a video cutter", "to keep a shorter stretch of frames"),
    ),
    ApiMethod(
        "frame_iterator",
        _VIDEO,
        "frame_iterator() -> Iterator[ImagePatch]",
        "frames",
        CotPhrase("a frame reader", "to go through the frames one by one"),
    ),
    ApiMethod(
        "distance",
        _FUNCTION,
        "distance(patch_a, patch_b) -> float",
        "number",
        CotPhrase("a distance measure", "to measure how far apart two regions are"),
    ),
    ApiMethod(
        "bool_to_yesno",
        _FUNCTION,
        "bool_to_yesno(bool_answer) -> str",
        "yesno",
        CotPhrase("a yes/no answer", 'to turn the result into "yes" or "no"'),
        binds="yesno",
        glue=True,
    ),
    ApiMethod(
        "coerce_to_numeric",
        _FUNCTION,
        "coerce_to_numeric(string, no_string: bool = False) -> float | int | str",
        "number",
        CotPhrase("a number reader", "to read a number from the text"),
        glue=True,
    ),
)

METHODS: Mapping[str, ApiMethod] = MappingProxyType({entry.name: entry for entry in _ENTRIES})
"""every API method and function by name, in declaration order"""

API_METHODS = frozenset(
    name for name, entry in METHODS.items() if set(entry.owners) & {"ImagePatch", "VideoSegment"}
)
"""names a program calls as methods of a patch or a segment"""

API_FUNCTIONS = frozenset(name for name, entry in METHODS.items() if "function" in entry.owners)
"""names a program's namespace holds as free functions"""


def lookup(name: Any) -> ApiMethod | None:
    """The entry named ``name``, or ``None`` when it is not an API method."""
    return METHODS.get(name) if isinstance(name, str) else None


def check_arguments(method: str, args: Mapping[str, Any]) -> None:
    """Raise :class:`~vipexec.modules.errors.ArgumentTooLarge` if an argument of this call is
    over its bound; an unknown method has no bounds."""
    entry = lookup(method)
    if entry is not None:
        entry.check_arguments(args)


def method_named(name: str) -> ApiMethod:
    """The entry named ``name``; ``KeyError`` naming the known methods when there is none."""
    entry = lookup(name)
    if entry is None:
        raise KeyError(f"{name!r} is not an API method (known: {', '.join(METHODS)})")
    return entry
