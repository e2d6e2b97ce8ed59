"""The program-facing API: ViperGPT's ``ImagePatch`` / ``VideoSegment`` and helper functions.

:func:`build_api` returns the names a program's namespace gets. API objects hold references (an
image id and a box), never pixels; every model question goes through a dispatcher as plain data.

Differences from ViperGPT's implementation, on purpose:

- coordinates given to ``ImagePatch(...)``, ``crop`` and ``overlaps_with`` are pixels of the
  *original* image (origin bottom-left, as the prompt documents); ViperGPT's ``crop`` adds the
  parent's offset. For crops of the whole image (what programs do) the two agree;
- ``crop`` clamps to the parent patch; a crop with no area raises ``ValueError``;
- ``VideoSegment.trim(start, end)`` takes frame indices of the original video, clamped to the
  segment; ``frame_from_index`` past the end gives the last frame (as ViperGPT's does);
- there is no ``cropped_image``: pixels never enter the sandbox. Ask the API about a patch instead;
- ``find("people")`` is ``find("person")`` (the words ``people``/``persons`` become ``person``);
- ``compute_depth`` returns a ``float``; ``frame_iterator`` returns a list iterator;
- patches are read-only values; all their state is private.

Security: programs may read any attribute not starting with ``_``. Public attributes and method
results are only ``bool``/``int``/``float``/``str``/``None``, ``ImagePatch``, ``VideoSegment``,
``ImageRef`` or lists/tuples of those; the dispatcher, backend, store and pixels sit in private
class attributes. That makes ``ImagePatch`` and ``VideoSegment`` safe API classes
(:func:`vipexec.sandbox.language.safe_api.mark_safe_api`): sandboxed programs hold them
without proxies.
"""

from __future__ import annotations

import math
import numbers
import re
from collections.abc import Iterator
from typing import Any

from vipexec.core import summarize
from vipexec.modules.backend import box_iou
from vipexec.modules.methods import check_arguments
from vipexec.modules.number_words import NUMBER_WORDS, SCALES
from vipexec.modules.refs import ImageRef, VideoRef
from vipexec.sandbox.language.safe_api import mark_safe_api

__all__ = [
    "ImagePatch",
    "VideoSegment",
    "bool_to_yesno",
    "build_api",
    "coerce_to_numeric",
    "distance",
]

_Box = tuple[int, int, int, int]


# --- read-only fields -------------------------------------------------------------------------


class _Field:
    """A read-only attribute computed from a patch's private state.

    Read on the class it returns itself, an object with no public attributes (a ``property``
    would expose ``fget``/``setter``).
    """

    __slots__ = ("_doc", "_getter")

    def __init__(self, getter: Any, doc: str) -> None:
        self._getter = getter
        self._doc = doc

    def __get__(self, obj: Any, owner: Any = None) -> Any:
        if obj is None:
            return self
        return self._getter(obj)

    def __set__(self, obj: Any, value: Any) -> None:
        raise AttributeError(f"{type(obj).__name__} attributes are read-only")

    def __delete__(self, obj: Any) -> None:
        raise AttributeError(f"{type(obj).__name__} attributes are read-only")


def _box_field(index: int, doc: str) -> _Field:
    return _Field(lambda patch: patch._box[index], doc)


# --- argument checks (everything that crosses the dispatcher must be plain data) -------------


def _text(value: Any, what: str) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{what} must be a str, not {type(value).__name__}")
    return str.__str__(value)  # an exact str even for a str subclass


def _coordinate(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{what} must be a number, not {type(value).__name__}")
    number = float(value)
    if math.isnan(number):
        raise ValueError(f"{what} must be a number, not NaN")
    return number


def _text_list(value: Any, what: str) -> list[str]:
    if isinstance(value, str) or not isinstance(value, (list, tuple)):
        raise TypeError(f"{what} must be a list of str, not {type(value).__name__}")
    return [_text(item, f"{what} items") for item in value]


_PERSON = re.compile(r"\b(people|persons)\b", re.IGNORECASE)


def _object_name(value: Any) -> str:
    """Validate an object name; "people"/"persons" become "person" (the same thing)."""
    name = " ".join(_text(value, "object_name").split())
    return _PERSON.sub("person", name)


def _plain_info(value: Any, depth: int = 0) -> Any:
    """Program values for ``select_answer`` as plain data (patches become their box)."""
    if depth > 10:
        raise ValueError("select_answer(): info is nested too deeply")
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str):
        return str.__str__(value)
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        return float(value)
    if isinstance(value, ImagePatch):
        return {"image_patch": list(value._box)}
    if isinstance(value, VideoSegment):
        return {"video_segment": [value._start, value._end]}
    if isinstance(value, (list, tuple)):
        return [_plain_info(item, depth + 1) for item in value]
    if isinstance(value, dict):
        return {_info_key(key): _plain_info(item, depth + 1) for key, item in value.items()}
    raise TypeError(f"select_answer(): info cannot hold a {type(value).__name__}")


def _info_key(key: Any) -> str:
    plain = _plain_info(key, 10)
    return plain if isinstance(plain, str) else repr(plain)


def _unbound() -> RuntimeError:
    return RuntimeError("this API object is not bound to a backend: get it from build_api()")


# --- ImagePatch -------------------------------------------------------------------------------


class ImagePatch:
    """A crop of an image, in the original image's pixels with the origin at the bottom-left.

    ``ImagePatch(image, left=None, lower=None, right=None, upper=None)``: ``image`` is an image
    the program received (or another ``ImagePatch``); without coordinates the patch is the whole
    image (or the whole given patch). Coordinates are clamped to the image (or patch); a patch
    with no area raises ``ValueError``.
    """

    __slots__ = ("_box", "_image")
    _dispatcher: Any = None
    _crop_margin: int = 0

    def __init__(
        self,
        image: Any,
        left: Any = None,
        lower: Any = None,
        right: Any = None,
        upper: Any = None,
    ) -> None:
        if isinstance(image, ImagePatch):
            ref, bounds = image._image, image._box
        elif isinstance(image, ImageRef):
            ref, bounds = image, (0, 0, image.width, image.height)
        elif isinstance(image, (list, tuple, dict)):
            raise TypeError(
                "ImagePatch() takes one image; this input holds several: "
                "use ImagePatch(images[0]) (or the key) for each"
            )
        else:
            raise TypeError(
                f"ImagePatch() takes an image or an ImagePatch, not {type(image).__name__}"
            )
        coords = (left, lower, right, upper)
        if all(c is None for c in coords):
            box = bounds
        else:
            names = ("left", "lower", "right", "upper")
            wanted = [
                bounds[i] if c is None else _coordinate(c, names[i]) for i, c in enumerate(coords)
            ]
            box = _clamp(wanted, bounds)
        object.__setattr__(self, "_image", ref)
        object.__setattr__(self, "_box", box)

    @classmethod
    def _make(cls, image: ImageRef, box: _Box) -> ImagePatch:
        patch = object.__new__(cls)
        object.__setattr__(patch, "_image", image)
        object.__setattr__(patch, "_box", box)
        return patch

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("ImagePatch objects are read-only")

    def __delattr__(self, name: str) -> None:
        raise AttributeError("ImagePatch objects are read-only")

    def __repr__(self) -> str:
        left, lower, right, upper = self._box
        return f"ImagePatch({left}, {lower}, {right}, {upper})"

    left = _box_field(0, "left border, in pixels of the original image")
    lower = _box_field(1, "bottom border (origin at the bottom of the image)")
    right = _box_field(2, "right border (exclusive)")
    upper = _box_field(3, "top border (exclusive)")
    width = _Field(lambda p: p._box[2] - p._box[0], "right - left")
    height = _Field(lambda p: p._box[3] - p._box[1], "upper - lower")
    horizontal_center = _Field(lambda p: (p._box[0] + p._box[2]) / 2, "(left + right) / 2")
    vertical_center = _Field(lambda p: (p._box[1] + p._box[3]) / 2, "(lower + upper) / 2")

    # --- calls --------------------------------------------------------------------------------

    def _call(self, method: str, args: dict[str, Any]) -> Any:
        dispatcher = type(self)._dispatcher
        if dispatcher is None:
            raise _unbound()
        check_arguments(method, args)
        return dispatcher.call(method, self._image.id, self._box, args)

    def _child(self, box: Any, margin: int) -> ImagePatch | None:
        left, lower, right, upper = box
        wanted = (left - margin, lower - margin, right + margin, upper + margin)
        clamped = _clamp_or_none(wanted, self._box)
        return None if clamped is None else type(self)._make(self._image, clamped)

    def find(self, object_name: str) -> list[ImagePatch]:
        """Patches of the ``object_name`` objects found in this patch (maybe none)."""
        name = _object_name(object_name)
        boxes = self._call("find", {"object_name": name})
        margin = type(self)._crop_margin
        patches = [self._child(box, margin) for box in boxes]
        return [patch for patch in patches if patch is not None]

    def exists(self, object_name: str) -> bool:
        """Whether an ``object_name`` is in this patch."""
        return bool(self._call("exists", {"object_name": _object_name(object_name)}))

    def verify_property(
        self, object_name: str, property: str | None = None, *, attribute: str | None = None
    ) -> bool:
        """Whether the ``object_name`` in this patch has ``property`` (keyword ``attribute=``
        is accepted too, the name ViperGPT's implementation uses)."""
        if property is not None and attribute is not None:
            raise TypeError("verify_property() takes property or attribute=, not both")
        value = property if property is not None else attribute
        if value is None:
            raise TypeError("verify_property() missing the property to check")
        args = {"object_name": _object_name(object_name), "attribute": _text(value, "property")}
        return bool(self._call("verify_property", args))

    def best_text_match(self, option_list: list[str], prefix: str | None = None) -> str:
        """The option that best describes this patch (``prefix`` is prepended for scoring)."""
        options = _text_list(option_list, "option_list")
        if not options:
            raise ValueError("best_text_match() needs at least one option")
        args = {"options": options, "prefix": None if prefix is None else _text(prefix, "prefix")}
        return self._call("best_text_match", args)

    def simple_query(self, question: str | None = None) -> str:
        """A short answer to a question about this patch; no question means "What is this?"."""
        question = "What is this?" if question is None else _text(question, "question")
        return self._call("simple_query", {"question": question})

    def compute_depth(self) -> float:
        """Median depth of this patch; larger is farther."""
        return float(self._call("compute_depth", {}))

    def crop(self, left: Any, lower: Any, right: Any, upper: Any) -> ImagePatch:
        """A new patch at these coordinates (original image pixels), clamped to this patch."""
        coords = [
            _coordinate(value, name)
            for value, name in zip((left, lower, right, upper), ("left", "lower", "right", "upper"))
        ]
        margin = type(self)._crop_margin
        coords = [coords[0] - margin, coords[1] - margin, coords[2] + margin, coords[3] + margin]
        return type(self)._make(self._image, _clamp(coords, self._box))

    def overlaps_with(self, left: Any, lower: Any, right: Any, upper: Any) -> bool:
        """Whether a box with these coordinates overlaps this patch (touching counts)."""
        left, lower, right, upper = (
            _coordinate(value, name)
            for value, name in zip((left, lower, right, upper), ("left", "lower", "right", "upper"))
        )
        own = self._box
        return own[0] <= right and own[2] >= left and own[1] <= upper and own[3] >= lower

    def llm_query(self, question: str, long_answer: bool = True) -> str:
        """A text-only question to the language model (the patch is not used)."""
        return _llm_query(type(self)._dispatcher, question, long_answer)


def _clamp(coords: Any, bounds: _Box) -> _Box:
    box = _clamp_or_none(coords, bounds)
    if box is None:
        left, lower, right, upper = (_show(c) for c in coords)
        raise ValueError(
            f"ImagePatch has no area: ({left}, {lower}, {right}, {upper}) clamped to "
            f"{tuple(bounds)} is empty"
        )
    return box


def _clamp_or_none(coords: Any, bounds: _Box) -> _Box | None:
    b_left, b_lower, b_right, b_upper = bounds
    left = int(min(max(coords[0], b_left), b_right))
    lower = int(min(max(coords[1], b_lower), b_upper))
    right = int(min(max(coords[2], b_left), b_right))
    upper = int(min(max(coords[3], b_lower), b_upper))
    if right <= left or upper <= lower:
        return None
    return (left, lower, right, upper)


def _show(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def _llm_query(dispatcher: Any, question: Any, long_answer: Any) -> str:
    if dispatcher is None:
        raise _unbound()
    args = {"question": _text(question, "question"), "long_answer": bool(long_answer)}
    check_arguments("llm_query", args)
    return dispatcher.call("llm_query", None, None, args)


# --- VideoSegment -----------------------------------------------------------------------------


class VideoSegment:
    """Frames ``start .. end-1`` of a video (frame indices of the original video).

    ``VideoSegment(video, start=None, end=None)``: ``video`` is a video the program received
    (or another segment); ``start``/``end`` are clamped to it; an empty segment raises.
    """

    __slots__ = ("_end", "_start", "_video")
    _dispatcher: Any = None
    _patch_class: Any = ImagePatch

    def __init__(self, video: Any, start: Any = None, end: Any = None) -> None:
        if isinstance(video, VideoSegment):
            ref, low, high = video._video, video._start, video._end
        elif isinstance(video, VideoRef):
            ref, low, high = video, 0, video.num_frames
        else:
            raise TypeError(f"VideoSegment() takes a video, not {type(video).__name__}")
        first = low if start is None else _frame_index(start, "start")
        last = high if end is None else _frame_index(end, "end")
        first, last = min(max(first, low), high), min(max(last, low), high)
        if last <= first:
            raise ValueError(f"VideoSegment has no frames: [{start}, {end}) of [{low}, {high})")
        object.__setattr__(self, "_video", ref)
        object.__setattr__(self, "_start", first)
        object.__setattr__(self, "_end", last)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("VideoSegment objects are read-only")

    def __delattr__(self, name: str) -> None:
        raise AttributeError("VideoSegment objects are read-only")

    def __repr__(self) -> str:
        return f"VideoSegment({self._start}, {self._end})"

    start = _Field(lambda s: s._start, "first frame, index in the original video")
    end = _Field(lambda s: s._end, "one past the last frame")
    num_frames = _Field(lambda s: s._end - s._start, "number of frames in the segment")

    def frame_from_index(self, index: Any) -> ImagePatch:
        """Frame ``index`` of this segment as an ImagePatch (past the end: the last frame)."""
        i = _frame_index(index, "index")
        count = self._end - self._start
        if i < 0:
            i += count
            if i < 0:
                raise IndexError(f"frame index {index} out of range for {count} frames")
        i = min(i, count - 1)
        return type(self)._patch_class(self._video.frame(self._start + i))

    def trim(self, start: Any = None, end: Any = None) -> VideoSegment:
        """A new segment of frames ``start .. end-1`` (original indices), clamped to this one."""
        return type(self)(self, start, end)

    def frame_iterator(self) -> Iterator[ImagePatch]:
        """An iterator over the frames of this segment, as ImagePatch objects."""
        make = type(self)._patch_class
        return iter([make(self._video.frame(i)) for i in range(self._start, self._end)])

    def select_answer(self, info: dict, question: str, options: list[str]) -> str:
        """The option best supported by ``info`` (facts the program gathered) for ``question``."""
        if not isinstance(info, dict):
            raise TypeError(f"select_answer(): info must be a dict, not {type(info).__name__}")
        options = _text_list(options, "options")
        if not options:
            raise ValueError("select_answer() needs at least one option")
        dispatcher = type(self)._dispatcher
        if dispatcher is None:
            raise _unbound()
        args = {
            "info": _plain_info(info),
            "question": _text(question, "question"),
            "options": options,
        }
        check_arguments("select_answer", args)
        return dispatcher.call("select_answer", None, None, args)


def _frame_index(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{what} must be an int, not {type(value).__name__}")
    if isinstance(value, numbers.Integral):
        return int(value)
    number = float(value)
    if not number.is_integer():
        raise TypeError(f"{what} must be an int, not {value!r}")
    return int(number)


# --- free functions ---------------------------------------------------------------------------


def distance(patch_a: Any, patch_b: Any) -> float:
    """Distance between the edges of two patches (negative IoU when they overlap), or
    ``abs(a - b)`` between two numbers."""
    if isinstance(patch_a, ImagePatch) and isinstance(patch_b, ImagePatch):
        a, b = patch_a._box, patch_b._box
        dx = max(0, a[0] - b[2], b[0] - a[2])
        dy = max(0, a[1] - b[3], b[1] - a[3])
        gap = math.hypot(dx, dy)
        if gap > 0:
            return float(gap)
        iou = box_iou(a, b)
        return -iou if iou > 0 else 0.0
    if isinstance(patch_a, ImagePatch) or isinstance(patch_b, ImagePatch):
        raise TypeError("distance() takes two ImagePatches or two numbers, not a mix")
    if isinstance(patch_a, bool) or isinstance(patch_b, bool):
        raise TypeError("distance() takes two ImagePatches or two numbers, not bools")
    if isinstance(patch_a, numbers.Real) and isinstance(patch_b, numbers.Real):
        return float(abs(patch_a - patch_b))
    raise TypeError(
        f"distance() takes two ImagePatches or two numbers, not "
        f"{type(patch_a).__name__} and {type(patch_b).__name__}"
    )


def bool_to_yesno(bool_answer: Any) -> str:
    """``"yes"`` if the value is true, else ``"no"``."""
    return "yes" if bool_answer else "no"


def _word_number(text: str) -> int | None:
    """``"twenty one"`` -> 21; ``None`` unless every word is a number word."""
    words = [w for w in re.split(r"[\s\-,]+", text.lower().strip()) if w and w != "and"]
    if not words or not all(w in NUMBER_WORDS or w in SCALES for w in words):
        return None
    total = current = 0
    for word in words:
        if word in NUMBER_WORDS:
            current += NUMBER_WORDS[word]
        elif word == "hundred":
            current = max(current, 1) * 100
        else:
            total += max(current, 1) * SCALES[word]
            current = 0
    return total + current


def coerce_to_numeric(string: Any, no_string: bool = False) -> Any:
    """A number from a string: number words (``"three"``), digits with other characters removed,
    the first value of a range (``"10-15"`` -> 10). Without digits it returns the string, or
    raises ``ValueError`` when ``no_string`` is true. Numbers come back unchanged."""
    if isinstance(string, bool):
        return int(string)
    if isinstance(string, numbers.Real):
        return string
    text = _text(string, "coerce_to_numeric() argument")
    words = _word_number(text)
    if words is not None:
        return words
    cleaned = re.sub(r"[^0-9.\-]", "", text)
    negative = cleaned.startswith("-")
    cleaned = cleaned.lstrip("-").split("-")[0]
    try:
        value: int | float = float(cleaned) if "." in cleaned else int(cleaned)
    except ValueError:
        if no_string:
            raise ValueError(f"no number in {text!r}") from None
        return text
    return -value if negative else value


# --- namespace --------------------------------------------------------------------------------


def build_api(dispatcher: Any, *, crop_margin: int = 0) -> dict[str, Any]:
    """The names a program's namespace gets, bound to ``dispatcher``.

    ``ImagePatch`` and ``VideoSegment`` are per-dispatcher subclasses of this module's classes
    (``isinstance`` against either works). ``crop_margin`` widens every ``crop`` and ``find``
    result by that many pixels on each side, clamped to the parent (ViperGPT's
    ``crop_larger_margin`` uses 10).
    """
    if not callable(getattr(dispatcher, "call", None)):
        raise TypeError(f"build_api() needs a dispatcher, not {type(dispatcher).__name__}")
    if isinstance(crop_margin, bool) or not isinstance(crop_margin, int) or crop_margin < 0:
        raise ValueError(f"crop_margin must be a non-negative int, got {crop_margin!r}")
    patch_class = type(
        "ImagePatch",
        (ImagePatch,),
        {
            "__slots__": (),
            "__module__": __name__,
            "__qualname__": "ImagePatch",
            "__doc__": ImagePatch.__doc__,
            "_dispatcher": dispatcher,
            "_crop_margin": crop_margin,
        },
    )
    video_class = type(
        "VideoSegment",
        (VideoSegment,),
        {
            "__slots__": (),
            "__module__": __name__,
            "__qualname__": "VideoSegment",
            "__doc__": VideoSegment.__doc__,
            "_dispatcher": dispatcher,
            "_patch_class": patch_class,
        },
    )

    def llm_query(question: str, long_answer: bool = True) -> str:
        """A text-only question to the language model."""
        return _llm_query(dispatcher, question, long_answer)

    def best_image_match(
        list_patches: list[ImagePatch], content: list[str], return_index: bool = False
    ) -> ImagePatch | int | None:
        """The patch most likely to contain ``content`` (its index with ``return_index``);
        ``None`` for an empty list."""
        if not isinstance(list_patches, (list, tuple)):
            kind = type(list_patches).__name__
            raise TypeError(f"best_image_match(): list_patches must be a list, not {kind}")
        patches = list(list_patches)
        if not patches:
            return None
        for patch in patches:
            if not isinstance(patch, ImagePatch):
                raise TypeError(
                    f"best_image_match(): list_patches items must be ImagePatch, "
                    f"not {type(patch).__name__}"
                )
        texts = [_text(content, "content")] if isinstance(content, str) else None
        texts = texts or _text_list(content, "content")
        if not texts:
            raise ValueError("best_image_match() needs at least one content string")
        args = {"crops": [[p._image.id, list(p._box)] for p in patches], "content": texts}
        check_arguments("best_image_match", args)
        index = dispatcher.call("best_image_match", None, None, args)
        return index if return_index else patches[index]

    return {
        "ImagePatch": patch_class,
        "VideoSegment": video_class,
        "llm_query": llm_query,
        "best_image_match": best_image_match,
        "distance": distance,
        "bool_to_yesno": bool_to_yesno,
        "coerce_to_numeric": coerce_to_numeric,
    }


# --- trace summaries --------------------------------------------------------------------------


def _summarize_patch(value: ImagePatch, limits: Any) -> dict[str, Any]:
    image = object.__getattribute__(value, "_image")
    box = object.__getattribute__(value, "_box")
    return {"type": "ImagePatch", "image": image.id, "box": list(box)}


def _summarize_segment(value: VideoSegment, limits: Any) -> dict[str, Any]:
    video = object.__getattribute__(value, "_video")
    return {
        "type": "VideoSegment",
        "video": video.id,
        "start": object.__getattribute__(value, "_start"),
        "end": object.__getattribute__(value, "_end"),
    }


summarize.register(f"{__name__}.ImagePatch", _summarize_patch, immutable=True)
summarize.register(f"{__name__}.VideoSegment", _summarize_segment, immutable=True)

# The contract of a safe API class is this module's security note (checked by
# tests/modules/test_security.py): programs get patches and segments without proxies.
mark_safe_api(ImagePatch, VideoSegment)
