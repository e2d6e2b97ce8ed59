"""A backend that answers from a synthetic scene's ground truth instead of its pixels.

The label-quality benchmark uses it twice: programs run on it to learn how they *should* flow
on a scene (which blocks run, where a fault makes them fail), and every module call a program
made is re-asked of it to learn whether the result the program used was right. It knows what
the scene file says (objects with colour, shape, size, visible box and area, depth, label) and
which object the renderer drew at each pixel; nothing is read back from pixels (the synthetic
backend's vision is never used here). What a box holds is the world's rule (at least half of an
object's visible pixels), what a word means is the world's language
(:mod:`vipexec.modules.synthetic.language`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from vipexec.labelers._blocks import plain
from vipexec.modules.backend import Backend, Box, box_iou
from vipexec.modules.images import image_id
from vipexec.modules.methods import lookup
from vipexec.modules.synthetic import language, world
from vipexec.modules.synthetic.scene import Rendered, SceneSpec, render

__all__ = ["TruthBackend", "TruthObject", "TruthScene", "same_result"]


class TruthBackend(Backend):
    """Answers calls on the images of the scenes it was given (:meth:`add`), from their truth."""

    name = "truth"
    version = 1

    def __init__(self) -> None:
        super().__init__()
        self._scenes: dict[str, TruthScene] = {}

    def add(self, rendered: Rendered) -> str:
        """Register a rendered scene; returns its image id (the store's id for its pixels)."""
        key = image_id(rendered.image)
        if key not in self._scenes:
            self._scenes[key] = TruthScene.of(rendered)
        return key

    def add_scene_file(self, path: str | Path) -> str | None:
        """Register the scene a scene file describes, rendered again from the spec it records
        (a clip's file: nothing, None); returns its image id."""
        truth = json.loads(Path(path).read_text(encoding="utf-8"))
        if truth.get("kind") != "scene":
            return None
        return self.add(render(SceneSpec.from_dict(truth["spec"])))

    def knows(self, image: str) -> bool:
        return image in self._scenes

    def judge_call(self, call: dict[str, Any], store: Any) -> bool | None:
        """Whether a recorded call's result is the truth's answer to the same call (None: not
        judged: the call failed, its method is not compared, or its pixels are unknown)."""
        method = call.get("method")
        entry = lookup(method)
        if call.get("error") or entry is None or entry.agreement is None:
            return None
        image, box = call.get("image"), call.get("box")
        if image is None or box is None or image not in store or not self.knows(image):
            return None
        args = {k: plain(v) for k, v in (call.get("args") or {}).items()}
        options = args.get("options")
        if isinstance(options, dict):
            args["options"] = [plain(o) for o in options.get("items", [])]
        result = call.get("result") or {}
        values = [args.get(name) for name in entry.backend_args]
        box = tuple(int(v) for v in box)
        expected = getattr(self, method)(store.pixels(image), box, *values)
        if entry.result != "patches":
            return same_result(method, result.get("value"), expected)
        items = result.get("items") or []
        if len(items) != result.get("len", len(items)):
            return None
        got = [[plain(v) for v in item.get("items", [])] for item in items]
        return same_result(method, got, expected)

    def reading(self, image: np.ndarray) -> TruthScene:
        key = image_id(image)
        if key not in self._scenes:
            raise KeyError(f"the truth backend has no scene for image {key}")
        return self._scenes[key]

    # --- the API ------------------------------------------------------------------------------

    def find(self, image: np.ndarray, box: Box, object_name: str) -> list[Box]:
        reading = self.reading(image)
        phrase = language.parse_phrase(object_name)
        found = [o for o in reading.objects_in(box) if phrase.matches(o)]
        return [o.box for o in sorted(found, key=lambda o: (o.box[0], o.box[1], o.index))]

    def verify_property(
        self, image: np.ndarray, box: Box, object_name: str, attribute: str
    ) -> bool:
        subject = self._subject(self.reading(image), box, object_name)
        return subject is not None and language.has_attribute(subject, attribute)

    def best_text_match(
        self, image: np.ndarray, box: Box, options: list[str], prefix: str | None
    ) -> str:
        subject = self.reading(image).dominant(box)
        texts = [option if prefix is None else f"{prefix} {option}" for option in options]
        scores = [language.score_option(text, subject) for text in texts]
        return options[max(range(len(options)), key=lambda i: (scores[i], -i))]

    def simple_query(self, image: np.ndarray, box: Box, question: str) -> str:
        reading = self.reading(image)
        parsed = language.parse_question(question)
        kind = parsed.kind
        if kind in ("count", "exists"):
            phrase = language.parse_phrase(parsed.phrase)
            found = [b for b in reading.objects_in(box) if phrase.matches(b)]
            if kind == "count":
                return str(len(found))
            return "yes" if found else "no"
        if kind == "is_this":
            subject = reading.dominant(box)
            matches = subject is not None and language.parse_phrase(parsed.phrase).matches(subject)
            return "yes" if matches else "no"
        if kind not in ("color", "shape", "size", "is_attr", "describe"):
            return language.unknown_answer(question)
        subject = self._subject(reading, box, parsed.phrase)
        if subject is None:
            return "nothing" if kind == "describe" else "unknown: no such object in this patch"
        if kind == "describe":
            return subject.describe()
        if kind == "is_attr":
            return "yes" if language.has_attribute(subject, parsed.attribute) else "no"
        return {"color": subject.color, "shape": subject.shape, "size": subject.size}[kind]

    def compute_depth(self, image: np.ndarray, box: Box) -> float:
        reading = self.reading(image)
        counts = reading.counts_in(box)
        if counts.sum() == 0:
            return reading.ground_depth(box)
        depths = np.array([b.depth for b in reading.objects])
        return float(np.median(np.repeat(depths, counts)))

    def _subject(self, reading: TruthScene, box: Box, phrase_text: str) -> TruthObject | None:
        if language.is_self_reference(phrase_text):
            return reading.dominant(box)
        phrase = language.parse_phrase(phrase_text)
        return reading.dominant(box, [b for b in reading.objects if phrase.matches(b)])


@dataclass(frozen=True)
class TruthObject:
    """One visible object as the scene file describes it."""

    index: int
    color: str
    shape: str
    size: str
    box: Box
    """visible extent, bottom-left origin, half-open"""
    area: int
    """visible pixels"""
    depth: float
    text: str
    """the label when it is fully visible, else empty"""

    def describe(self) -> str:
        return f"{self.size} {self.color} {self.shape}"


@dataclass(frozen=True)
class TruthScene:
    """A scene's objects and which of them the renderer drew at each pixel."""

    height: int
    horizon: int
    objects: tuple[TruthObject, ...]
    owner: np.ndarray
    """index into ``objects`` per pixel (array rows, top first), -1 for the background"""

    @classmethod
    def of(cls, rendered: Rendered) -> TruthScene:
        truth = rendered.truth
        drawn = np.asarray(rendered.owner, dtype=np.int32)
        owner = np.full(drawn.shape, -1, dtype=np.int32)
        objects = []
        for obj in truth["objects"]:
            if obj["visible_box"] is None:
                continue
            owner[drawn == obj["id"]] = len(objects)
            objects.append(
                TruthObject(
                    index=len(objects),
                    color=obj["color"],
                    shape=obj["shape"],
                    size=obj["size"],
                    box=tuple(obj["visible_box"]),
                    area=int(obj["visible_area"]),
                    depth=float(obj["depth"]),
                    text=obj["text"] if obj["text_visible"] else "",
                )
            )
        owner.setflags(write=False)
        return cls(truth["height"], truth["horizon"], tuple(objects), owner)

    def counts_in(self, box: Box) -> np.ndarray:
        """Visible pixels of each object inside ``box``."""
        rows = slice(max(self.height - box[3], 0), max(self.height - box[1], 0))
        region = self.owner[rows, max(box[0], 0) : max(box[2], 0)]
        return np.bincount(region.ravel() + 1, minlength=len(self.objects) + 1)[1:]

    def objects_in(self, box: Box) -> list[TruthObject]:
        """Objects with at least half of their visible pixels inside ``box``."""
        counts = self.counts_in(box)
        return [o for o in self.objects if counts[o.index] >= 0.5 * o.area]

    def dominant(self, box: Box, candidates: list[TruthObject] | None = None) -> TruthObject | None:
        """The object (among ``candidates``) with the most visible pixels in ``box``."""
        counts = self.counts_in(box)
        pool = [o for o in (self.objects if candidates is None else candidates) if counts[o.index]]
        return max(pool, key=lambda o: (counts[o.index], -o.index)) if pool else None

    def ground_depth(self, box: Box) -> float:
        """Median depth of the rows of ``box`` seen as ground (sky: the horizon row's)."""
        lower, upper = max(box[1], 0), min(box[3], self.height)
        if upper <= lower:
            return world.depth_at(self.horizon - 1, self.horizon)
        rows = range(lower, upper)
        return float(
            np.median([world.depth_at(min(r, self.horizon - 1), self.horizon) for r in rows])
        )


def same_result(method: str, a: Any, b: Any, *, iou: float = 0.5) -> bool | None:
    """Whether two answers to one call agree (None: the call is not compared); the method
    table's ``agreement`` facet says how."""
    entry = lookup(method)
    agreement = entry.agreement if entry is not None else None
    return None if agreement is None else _AGREEMENT[agreement](a, b, iou)


def _same_boxes(a: Any, b: Any, iou: float) -> bool:
    boxes_a, boxes_b = [tuple(x) for x in a], [tuple(x) for x in b]
    if len(boxes_a) != len(boxes_b):
        return False
    unmatched = list(boxes_b)
    for box in boxes_a:
        match = next((m for m in unmatched if box_iou(box, m) >= iou), None)
        if match is None:
            return False
        unmatched.remove(match)
    return True


def _same_bool(a: Any, b: Any, iou: float) -> bool:
    return bool(a) == bool(b)


def _same_text(a: Any, b: Any, iou: float) -> bool | None:
    if isinstance(b, str) and b.startswith("unknown"):
        return None
    return str(a).strip().lower() == str(b).strip().lower()


def _same_number(a: Any, b: Any, iou: float) -> bool:
    return abs(float(a) - float(b)) <= 0.1 * max(abs(float(b)), 1e-9)


_AGREEMENT = {"boxes": _same_boxes, "bool": _same_bool, "text": _same_text, "number": _same_number}
