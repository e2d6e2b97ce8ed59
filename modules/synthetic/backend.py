"""Backends of the synthetic world: a clean one that answers from pixels, and a noisy wrapper.

:class:`SyntheticBackend` reads the scene with classical image processing
(:mod:`~vipexec.modules.synthetic.vision`) and answers every API operation from that reading,
never from a ground-truth file. Which objects belong to a patch: those with at least half of
their visible pixels inside the box. The object a patch is "about" (``verify_property``,
``simple_query``, ``best_text_match``): the one with the most visible pixels in the box.

:class:`NoisySyntheticBackend` wraps the clean one and injects errors at configured rates. Its
randomness is seeded from the call's content (seed, method, image hash, box, arguments), so the
same call always gets the same answer and caches stay valid.
"""

from __future__ import annotations

import hashlib
import json
import random
from typing import Any

import numpy as np

from vipexec.modules.backend import Backend, Box, box_area, intersect_boxes
from vipexec.modules.errors import BackendError
from vipexec.modules.synthetic import language, world
from vipexec.modules.synthetic.vision import Blob, SceneReading, pixel_digest, read_scene

__all__ = ["NoisySyntheticBackend", "SyntheticBackend"]


class SyntheticBackend(Backend):
    """Answers the ImagePatch API from the pixels of synthetic scenes (see the module doc)."""

    name = "synthetic"
    version = 1

    def __init__(self, *, exists_vqa: bool = False) -> None:
        super().__init__(exists_vqa=exists_vqa)

    # --- helpers ------------------------------------------------------------------------------

    @staticmethod
    def read(image: np.ndarray) -> SceneReading:
        return read_scene(image)

    def _matching(self, image: np.ndarray, box: Box, object_name: str) -> list[Blob]:
        reading = read_scene(image)
        phrase = language.parse_phrase(object_name)
        return [b for b in reading.blobs_in(box) if phrase.matches(b)]

    def _subject(self, reading: SceneReading, box: Box, phrase_text: str) -> Blob | None:
        """The object a question or property is about: the most visible matching blob."""
        if language.is_self_reference(phrase_text):
            return reading.dominant(box)
        phrase = language.parse_phrase(phrase_text)
        candidates = [b for b in reading.blobs if phrase.matches(b)]
        return reading.dominant(box, candidates)

    # --- operations on one patch ----------------------------------------------------------------

    def find(self, image: np.ndarray, box: Box, object_name: str) -> list[Box]:
        blobs = self._matching(image, box, object_name)
        return [b.box for b in sorted(blobs, key=lambda b: (b.box[0], b.box[1], b.index))]

    def verify_property(
        self, image: np.ndarray, box: Box, object_name: str, attribute: str
    ) -> bool:
        reading = read_scene(image)
        subject = self._subject(reading, box, object_name)
        return subject is not None and language.has_attribute(subject, attribute)

    def best_text_match(
        self, image: np.ndarray, box: Box, options: list[str], prefix: str | None
    ) -> str:
        subject = read_scene(image).dominant(box)
        texts = [option if prefix is None else f"{prefix} {option}" for option in options]
        scores = [language.score_option(text, subject) for text in texts]
        return options[max(range(len(options)), key=lambda i: (scores[i], -i))]

    def simple_query(self, image: np.ndarray, box: Box, question: str) -> str:
        reading = read_scene(image)
        parsed = language.parse_question(question)
        kind = parsed.kind
        if kind == "count":
            phrase = language.parse_phrase(parsed.phrase)
            return str(sum(1 for b in reading.blobs_in(box) if phrase.matches(b)))
        if kind == "exists":
            phrase = language.parse_phrase(parsed.phrase)
            return "yes" if any(phrase.matches(b) for b in reading.blobs_in(box)) else "no"
        if kind == "text":
            texts = [b for b in reading.blobs_in(box) if b.text]
            if not texts:
                return "no text"
            texts.sort(key=lambda b: (-b.box[3], b.box[0]))
            return " ".join(b.text for b in texts)
        if kind == "unknown":
            return language.unknown_answer(question)
        if kind == "is_this":
            subject = reading.dominant(box)
            matches = subject is not None and language.parse_phrase(parsed.phrase).matches(subject)
            return "yes" if matches else "no"
        subject = self._subject(reading, box, parsed.phrase)
        if kind == "describe":
            return subject.describe() if subject is not None else "nothing"
        if subject is None:
            return "unknown: no such object in this patch"
        if kind == "color":
            return subject.color
        if kind == "shape":
            return subject.shape
        if kind == "size":
            return subject.size
        if kind == "is_attr":
            return "yes" if language.has_attribute(subject, parsed.attribute) else "no"
        return language.unknown_answer(question)  # pragma: no cover - every kind handled above

    def compute_depth(self, image: np.ndarray, box: Box) -> float:
        """Median depth over the patch's object pixels (each pixel at its object's depth);
        a patch without objects gets the median depth of its ground/sky rows."""
        reading = read_scene(image)
        counts = reading.counts_in(box)
        if counts.sum() == 0:
            return reading.ground_depth(box)
        depths = np.array([b.depth for b in reading.blobs])
        return float(np.median(np.repeat(depths, counts)))

    # --- operations on several patches or on text -----------------------------------------------

    def best_image_match(self, crops: list[tuple[np.ndarray, Box]], content: list[str]) -> int:
        """Each text scores a crop 10 if some object in it matches the text's phrase, plus the
        best option score among the matching objects (or all, or -10 for an empty crop); the
        crop's score is the mean over texts. Texts are parsed once, each image's objects are
        scored against every text once, and each distinct crop is scored once."""
        phrases = [language.parse_phrase(text) for text in content]
        options = [language.OptionWords.of(text) for text in content]
        tables: dict[int, tuple[SceneReading, np.ndarray, np.ndarray]] = {}
        crop_scores: dict[tuple[int, Box], float] = {}
        scores = []
        for image, box in crops:
            key = (id(image), tuple(box))  # the arrays live through the call: ids stay unique
            if key not in crop_scores:
                if id(image) not in tables:
                    tables[id(image)] = _blob_table(read_scene(image), phrases, options)
                crop_scores[key] = _crop_score(*tables[id(image)], box)
            scores.append(crop_scores[key])
        return max(range(len(crops)), key=lambda i: (scores[i], -i))

    def llm_query(self, question: str, long_answer: bool) -> str:
        answer = language.answer_arithmetic(question)
        return answer if answer is not None else language.unknown_answer(question)

    def select_answer(self, info: dict[str, Any], question: str, options: list[str]) -> str:
        return language.select_answer(info, options)


def _blob_table(
    reading: SceneReading, phrases: list[language.Phrase], options: list[language.OptionWords]
) -> tuple[SceneReading, np.ndarray, np.ndarray]:
    """For every (text, object) of one image: whether the text's phrase matches the object,
    and the text's option score for it."""
    matches = np.array([[p.matches(b) for b in reading.blobs] for p in phrases], dtype=bool)
    scores = np.array([[o.score(b) for b in reading.blobs] for o in options], dtype=float)
    shape = (len(phrases), len(reading.blobs))
    return reading, matches.reshape(shape), scores.reshape(shape)


def _crop_score(reading: SceneReading, matches: np.ndarray, scores: np.ndarray, box: Box) -> float:
    inside = [b.index for b in reading.blobs_in(box)]
    if not inside:
        return -10.0
    matched, option = matches[:, inside], scores[:, inside]
    any_match = matched.any(axis=1)
    best_matched = np.where(matched, option, -np.inf).max(axis=1)
    best = np.where(any_match, best_matched + 10.0, option.max(axis=1))
    return float(sum(best.tolist()) / len(best))


# --- the noisy variant ----------------------------------------------------------------------------


def _rate(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
        raise BackendError(f"synthetic-noisy: {name} must be a number in [0, 1], got {value!r}")
    return float(value)


class NoisySyntheticBackend(Backend):
    """The synthetic backend with injected, reproducible errors.

    - ``color_error``: a colour answer of ``simple_query`` is replaced by another palette colour,
      and ``verify_property`` with a colour attribute is flipped, each with this probability;
    - ``shape_error``: the same for shape answers and shape attributes;
    - ``miss_rate``: each detection of ``find`` is dropped with this probability;
    - ``spurious_rate``: with this probability ``find`` adds one box where nothing matches;
    - ``seed``: changes which calls get errors.

    ``exists`` is ``len(find(...)) > 0`` over the *noisy* ``find`` (same seed stream), so the two
    agree. Everything else is the clean backend's answer.
    """

    name = "synthetic-noisy"
    version = 1

    def __init__(
        self,
        *,
        color_error: float = 0.1,
        shape_error: float = 0.0,
        miss_rate: float = 0.1,
        spurious_rate: float = 0.05,
        seed: int = 0,
        exists_vqa: bool = False,
    ) -> None:
        super().__init__(exists_vqa=exists_vqa)
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise BackendError(f"synthetic-noisy: seed must be an int, got {seed!r}")
        self.color_error = _rate("color_error", color_error)
        self.shape_error = _rate("shape_error", shape_error)
        self.miss_rate = _rate("miss_rate", miss_rate)
        self.spurious_rate = _rate("spurious_rate", spurious_rate)
        self.seed = seed
        self._add_options(
            color_error=self.color_error,
            shape_error=self.shape_error,
            miss_rate=self.miss_rate,
            spurious_rate=self.spurious_rate,
            seed=seed,
        )
        self._clean = SyntheticBackend(exists_vqa=exists_vqa)

    def _rng(self, method: str, image: np.ndarray | None, box: Any, args: Any) -> random.Random:
        digest = hashlib.sha256()
        digest.update(f"{self.seed}|{method}|".encode())
        if image is not None:
            digest.update(pixel_digest(image))
            digest.update(str(image.shape).encode())
        digest.update(json.dumps([box, args], sort_keys=True, default=str).encode())
        return random.Random(int.from_bytes(digest.digest()[:8], "big"))

    # --- noisy operations -----------------------------------------------------------------------

    def find(self, image: np.ndarray, box: Box, object_name: str) -> list[Box]:
        boxes = self._clean.find(image, box, object_name)
        rng = self._rng("find", image, list(box), {"object_name": object_name})
        kept = [b for b in boxes if rng.random() >= self.miss_rate]
        if rng.random() < self.spurious_rate:
            spurious = _spurious_box(rng, box)
            if spurious is not None:
                kept.append(spurious)
        return kept

    def verify_property(
        self, image: np.ndarray, box: Box, object_name: str, attribute: str
    ) -> bool:
        answer = self._clean.verify_property(image, box, object_name, attribute)
        rate = self._error_rate(language.attribute_kind(attribute))
        if rate:
            rng = self._rng(
                "verify_property",
                image,
                list(box),
                {"object_name": object_name, "attribute": attribute},
            )
            if rng.random() < rate:
                return not answer
        return answer

    def simple_query(self, image: np.ndarray, box: Box, question: str) -> str:
        answer = self._clean.simple_query(image, box, question)
        kind = language.parse_question(question).kind
        choices = {"color": world.COLORS, "shape": world.SHAPES}.get(kind)
        rate = self._error_rate(kind)
        if choices is None or not rate or answer not in choices:
            return answer
        rng = self._rng("simple_query", image, list(box), {"question": question})
        if rng.random() < rate:
            return rng.choice([c for c in choices if c != answer])
        return answer

    def _error_rate(self, kind: str | None) -> float:
        return {"color": self.color_error, "shape": self.shape_error}.get(kind or "", 0.0)

    # --- passed through unchanged ---------------------------------------------------------------

    def best_text_match(
        self, image: np.ndarray, box: Box, options: list[str], prefix: str | None
    ) -> str:
        return self._clean.best_text_match(image, box, options, prefix)

    def compute_depth(self, image: np.ndarray, box: Box) -> float:
        return self._clean.compute_depth(image, box)

    def best_image_match(self, crops: list[tuple[np.ndarray, Box]], content: list[str]) -> int:
        return self._clean.best_image_match(crops, content)

    def llm_query(self, question: str, long_answer: bool) -> str:
        return self._clean.llm_query(question, long_answer)

    def select_answer(self, info: dict[str, Any], question: str, options: list[str]) -> str:
        return self._clean.select_answer(info, question, options)


def _spurious_box(rng: random.Random, box: Box) -> Box | None:
    left, lower, right, upper = box
    width, height = right - left, upper - lower
    if width < 2 or height < 2:
        return None
    side = rng.choice(tuple(world.SIZES.values()))
    w, h = min(side, width), min(side, height)
    x = rng.randint(left, right - w)
    y = rng.randint(lower, upper - h)
    out = intersect_boxes((x, y, x + w, y + h), box)
    return out if box_area(out) > 0 else None
