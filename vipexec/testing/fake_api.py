"""A fake of ViperGPT's ImagePatch API over a hand-written scene description.

It answers from a list of objects (name, box, attributes, depth) instead of pixels and models,
in microseconds, with the same signatures as the real API: the engine's tests and the tracer
benchmark run ViperGPT-style programs against it. Boxes use ViperGPT's convention (pixels,
origin at the bottom-left, ``lower < upper``).

Like vipexec's own API classes, the fakes are *safe API classes* (see
:func:`vipexec.sandbox.language.safe_api.mark_safe_api`): everything public on them is plain
data, another fake, or a method returning those, so a sandboxed program receives them without
proxies.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from typing import Any

from vipexec.sandbox.language.safe_api import mark_safe_api

Box = tuple[int, int, int, int]


@dataclass(frozen=True)
class FakeObject:
    name: str
    box: Box
    attributes: frozenset[str] = frozenset()
    depth: float = 1.0
    answers: tuple[tuple[str, str], ...] = ()
    """(question substring, answer) pairs for ``simple_query``"""


@dataclass(frozen=True)
class FakeScene:
    """What the fake "sees": an image size and its objects (immutable, like an image)."""

    width: int
    height: int
    objects: tuple[FakeObject, ...] = ()

    def add(
        self,
        name: str,
        box: Box,
        *attributes: str,
        depth: float = 1.0,
        answers: dict[str, str] | None = None,
    ) -> FakeScene:
        """A new scene with one more object."""
        obj = FakeObject(name, box, frozenset(attributes), depth, tuple((answers or {}).items()))
        return replace(self, objects=(*self.objects, obj))


def _same_name(a: str, b: str) -> bool:
    plural = {"people": "person", "persons": "person"}
    a, b = a.lower().strip(), b.lower().strip()
    a, b = plural.get(a, a), plural.get(b, b)
    return a == b or a.rstrip("s") == b.rstrip("s") or a.endswith(" " + b) or b.endswith(" " + a)


class FakeImagePatch:
    """ViperGPT's ``ImagePatch`` answered from a :class:`FakeScene`."""

    def __init__(
        self,
        image: FakeScene | FakeImagePatch,
        left: int | None = None,
        lower: int | None = None,
        right: int | None = None,
        upper: int | None = None,
    ):
        scene = image._scene if isinstance(image, FakeImagePatch) else image
        self._scene = scene
        if left is None and lower is None and right is None and upper is None:
            left, lower, right, upper = 0, 0, scene.width, scene.height
        self.left, self.lower, self.right, self.upper = left, lower, right, upper
        if right <= left or upper <= lower:
            raise ValueError("ImagePatch has no area")
        self.width = right - left
        self.height = upper - lower
        self.horizontal_center = (left + right) / 2
        self.vertical_center = (lower + upper) / 2

    def _inside(self, box: Box) -> bool:
        cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
        return self.left <= cx <= self.right and self.lower <= cy <= self.upper

    def _object(self) -> FakeObject | None:
        for obj in self._scene.objects:
            if obj.box == (self.left, self.lower, self.right, self.upper):
                return obj
        return None

    def find(self, object_name: str) -> list[FakeImagePatch]:
        return [
            FakeImagePatch(self._scene, *obj.box)
            for obj in self._scene.objects
            if _same_name(obj.name, object_name) and self._inside(obj.box)
        ]

    def exists(self, object_name: str) -> bool:
        return len(self.find(object_name)) > 0

    def verify_property(self, object_name: str, attribute: str = "", **kwargs: Any) -> bool:
        attribute = kwargs.get("property", attribute)
        obj = self._object()
        return obj is not None and attribute in obj.attributes

    def best_text_match(self, option_list: Sequence[str], prefix: str | None = None) -> str:
        obj = self._object()
        for option in option_list:
            if obj is not None and option in obj.attributes:
                return option
        return option_list[0]

    def simple_query(self, question: str | None = None) -> str:
        obj = self._object()
        question = question or "What is this?"
        if obj is None:
            return "nothing"
        for key, answer in obj.answers:
            if key.lower() in question.lower():
                return answer
        if "color" in question.lower() or "colour" in question.lower():
            return next(iter(sorted(obj.attributes)), "unknown")
        return obj.name

    def compute_depth(self) -> float:
        obj = self._object()
        return obj.depth if obj is not None else 1.0

    def crop(self, left: int, lower: int, right: int, upper: int) -> FakeImagePatch:
        return FakeImagePatch(
            self._scene,
            max(left, self.left),
            max(lower, self.lower),
            min(right, self.right),
            min(upper, self.upper),
        )

    def overlaps_with(self, left: int, lower: int, right: int, upper: int) -> bool:
        return (
            self.left <= right
            and self.right >= left
            and self.lower <= upper
            and self.upper >= lower
        )

    def llm_query(self, question: str, long_answer: bool = True) -> str:
        return llm_query(question, long_answer)


def llm_query(question: str, long_answer: bool = True) -> str:
    return f"answer to: {question}" if long_answer else question.split()[-1].strip("?")


def bool_to_yesno(answer: bool) -> str:
    return "yes" if answer else "no"


def distance(a: Any, b: Any) -> float:
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return abs(a - b)
    dx = max(b.left - a.right, a.left - b.right, 0)
    dy = max(b.lower - a.upper, a.lower - b.upper, 0)
    if dx == 0 and dy == 0:
        inter = max(0, min(a.right, b.right) - max(a.left, b.left)) * max(
            0, min(a.upper, b.upper) - max(a.lower, b.lower)
        )
        union = a.width * a.height + b.width * b.height - inter
        return -inter / union if union else 0.0
    return float((dx**2 + dy**2) ** 0.5)


def coerce_to_numeric(text: Any) -> float:
    match = re.search(r"-?\d+(\.\d+)?", str(text))
    if match is None:
        raise ValueError(f"no number in {text!r}")
    return float(match.group())


def best_image_match(
    list_patches: list[FakeImagePatch], content: list[str], return_index: bool = False
) -> FakeImagePatch | int | None:
    if not list_patches:
        return None
    for index, patch in enumerate(list_patches):
        obj = patch._object()
        if obj is not None and any(_same_name(obj.name, c) for c in content):
            return index if return_index else patch
    return 0 if return_index else list_patches[0]


class FakeVideoSegment:
    """ViperGPT's ``VideoSegment`` over a list of :class:`FakeScene` frames."""

    def __init__(self, video: list[FakeScene], start: int | None = None, end: int | None = None):
        self._video = video
        self.start = 0 if start is None else max(start, 0)
        self.end = len(video) if end is None else min(end, len(video))
        self.num_frames = self.end - self.start

    def frame_from_index(self, index: int) -> FakeImagePatch:
        return FakeImagePatch(self._video[self.start + index])

    def trim(self, start: int | None = None, end: int | None = None) -> FakeVideoSegment:
        start = self.start + (start or 0)
        end = self.start + end if end is not None else self.end
        return FakeVideoSegment(self._video, start, end)

    def frame_iterator(self) -> Iterator[FakeImagePatch]:
        for index in range(self.num_frames):
            yield self.frame_from_index(index)

    def select_answer(self, info: dict, question: str, options: list[str]) -> str:
        return options[0]


mark_safe_api(FakeImagePatch, FakeVideoSegment, FakeScene, FakeObject)


def fake_namespace() -> dict[str, Any]:
    """The API names a ViperGPT program expects, bound to the fakes."""
    return {
        "ImagePatch": FakeImagePatch,
        "VideoSegment": FakeVideoSegment,
        "llm_query": llm_query,
        "bool_to_yesno": bool_to_yesno,
        "distance": distance,
        "coerce_to_numeric": coerce_to_numeric,
        "best_image_match": best_image_match,
    }
