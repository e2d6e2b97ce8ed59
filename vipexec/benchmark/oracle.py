"""A backend that answers from a synthetic scene's ground truth instead of its pixels.

The label-quality benchmark uses it twice: programs run on it to learn how they *should* flow
on a scene (which blocks run, where a fault makes them fail), and every module call a program
made is re-asked of it to learn whether the result the program used was right. It knows the
objects (colour, shape, size, label, visible extent, depth) and which object owns each pixel,
and applies the synthetic backend's rules for what a box holds (at least half of an object's
visible pixels) and what a word means (:mod:`vipexec.modules.synthetic.language`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from vipexec.modules.backend import Backend, Box
from vipexec.modules.images import image_id
from vipexec.modules.synthetic import language
from vipexec.modules.synthetic.scene import Rendered
from vipexec.modules.synthetic.vision import Blob, SceneReading

__all__ = ["TruthBackend"]


class TruthBackend(Backend):
    """Answers calls on the images of the scenes it was given (:meth:`add`), from their truth."""

    name = "truth"
    version = 1

    def __init__(self) -> None:
        super().__init__()
        self._readings: dict[str, SceneReading] = {}

    def add(self, rendered: Rendered) -> str:
        """Register a rendered scene; returns its image id (the store's id for its pixels)."""
        key = image_id(rendered.image)
        if key not in self._readings:
            self._readings[key] = _reading(rendered)
        return key

    def reading(self, image: np.ndarray) -> SceneReading:
        key = image_id(image)
        if key not in self._readings:
            raise KeyError(f"the truth backend has no scene for image {key}")
        return self._readings[key]

    # --- the API ------------------------------------------------------------------------------

    def find(self, image: np.ndarray, box: Box, object_name: str) -> list[Box]:
        reading = self.reading(image)
        phrase = language.parse_phrase(object_name)
        blobs = [b for b in reading.blobs_in(box) if phrase.matches(b)]
        return [b.box for b in sorted(blobs, key=lambda b: (b.box[0], b.box[1], b.index))]

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
            found = [b for b in reading.blobs_in(box) if phrase.matches(b)]
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
        depths = np.array([b.depth for b in reading.blobs])
        return float(np.median(np.repeat(depths, counts)))

    def _subject(self, reading: SceneReading, box: Box, phrase_text: str) -> Blob | None:
        if language.is_self_reference(phrase_text):
            return reading.dominant(box)
        phrase = language.parse_phrase(phrase_text)
        return reading.dominant(box, [b for b in reading.blobs if phrase.matches(b)])


def _reading(rendered: Rendered) -> SceneReading:
    truth = rendered.truth
    owner = np.asarray(rendered.owner, dtype=np.int32)
    blobs = []
    labels = np.full(owner.shape, -1, dtype=np.int32)
    for obj in truth["objects"]:
        if obj["visible_box"] is None:
            continue
        index = len(blobs)
        labels[owner == obj["id"]] = index
        blobs.append(
            Blob(
                index=index,
                color=obj["color"],
                shape=obj["shape"],
                shape_score=1.0,
                size=obj["size"],
                box=tuple(obj["visible_box"]),
                area=int(obj["visible_area"]),
                depth=float(obj["depth"]),
                text=obj["text"] if obj["text_visible"] else "",
            )
        )
    labels.setflags(write=False)
    return SceneReading(truth["width"], truth["height"], truth["horizon"], tuple(blobs), labels)


def same_result(method: str, a: Any, b: Any, *, iou: float = 0.5) -> bool | None:
    """Whether two answers to one call agree (None: the call is not compared)."""
    if method == "find":
        boxes_a, boxes_b = [tuple(x) for x in a], [tuple(x) for x in b]
        if len(boxes_a) != len(boxes_b):
            return False
        unmatched = list(boxes_b)
        for box in boxes_a:
            match = next((m for m in unmatched if _iou(box, m) >= iou), None)
            if match is None:
                return False
            unmatched.remove(match)
        return True
    if method in ("exists", "verify_property"):
        return bool(a) == bool(b)
    if method in ("simple_query", "best_text_match"):
        if isinstance(b, str) and b.startswith("unknown"):
            return None
        return str(a).strip().lower() == str(b).strip().lower()
    if method == "compute_depth":
        return abs(float(a) - float(b)) <= 0.1 * max(abs(float(b)), 1e-9)
    return None


def _iou(a: tuple, b: tuple) -> float:
    width = min(a[2], b[2]) - max(a[0], b[0])
    height = min(a[3], b[3]) - max(a[1], b[1])
    inter = max(0, width) * max(0, height)
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0
