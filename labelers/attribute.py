"""Attribute: do the module results a block used survive a second model's check?

Every module call a block made (its own and those of blocks nested in it) is re-asked of an
independent *checker* backend on the same pixels, image and box. How a call is cross-examined
is its method's ``cross_check`` facet in the method table (:mod:`vipexec.modules.methods`);
``mode="cross"`` asks the checker's VQA where the facet has a question, ``mode="same"``
repeats the method:

- ``detections``: each returned box must get "yes" to the facet's question from the checker's
  VQA, and the checker's own detector must find nothing the call missed (no result box with
  IoU >= ``iou``);
- ``yes_no``: the checker's VQA answer to the facet's question on the same box agrees;
- ``answer``: the checker's answer to the same question agrees (case, articles and number
  words folded);
- ``option`` / ``crops``: the checker picks the same option / the same patch;
- ``number``: relative difference at most ``depth_tolerance``;
- no facet (text-only calls): not visual, not checked.

A block is negative when any result it used is contradicted, positive when at least one was
checked and none was, and positive too when it used no module result at all (nothing can be
wrong). It is ``None`` when it never ran, when it failed (unless a result was contradicted
before), or when none of its calls could be checked (no pixels for its image, only non-visual
calls).
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from typing import Any, ClassVar

from vipexec.core.run import Run
from vipexec.labelers._blocks import descendants, plain
from vipexec.labelers.base import Label, LabelContext
from vipexec.modules.backend import box_iou
from vipexec.modules.methods import VQA_METHOD, CrossCheck, lookup
from vipexec.modules.number_words import SMALL_NUMBER_WORDS

__all__ = ["AttributeLabeler", "CallVerdict"]

INDEPENDENT_CHECKER = "synthetic-independent"
"""the default checker: a second pixel reader of synthetic scenes with its own segmentation,
colour and shape rules (:mod:`vipexec.labelers.pixel_checker`); any backend name works too"""
MODES = ("cross", "same")


@dataclass(frozen=True)
class CallVerdict:
    """``agrees``: True (confirmed), False (contradicted) or None (not checked)."""

    block: int
    method: str
    agrees: bool | None
    reason: str
    checker: Any = None

    def to_dict(self) -> dict[str, Any]:
        out = {"method": self.method, "agrees": self.agrees, "reason": self.reason}
        if self.checker is not None:
            out["checker"] = self.checker
        return out


@dataclass
class AttributeLabeler:
    """Cross-model checks of module results (see the module docstring).

    ``checker`` and ``checker_options`` name the independent backend (``create_backend``; a
    models profile is ``checker="profile", checker_options={"config": "models.toml",
    "profile": "checker"}``), or ``checker`` is a Backend instance;
    ``iou`` is the box overlap under which a checker detection counts as missed by the call;
    ``depth_tolerance`` is the largest relative depth difference that still agrees.
    """

    name: ClassVar[str] = "attribute"
    version: ClassVar[int] = 1

    checker: Any = INDEPENDENT_CHECKER
    checker_options: dict[str, Any] = field(default_factory=dict)
    mode: str = "cross"
    iou: float = 0.5
    depth_tolerance: float = 0.1
    check_misses: bool = True

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, got {self.mode!r}")
        for name, value in (("iou", self.iou), ("depth_tolerance", self.depth_tolerance)):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
                raise ValueError(f"{name} must be a non-negative number, got {value!r}")
        if self.iou > 1:
            raise ValueError(f"iou must be at most 1, got {self.iou}")
        self._backend: Any = None
        self._cache: dict[str, Any] = {}

    # --- configuration --------------------------------------------------------------------------

    @property
    def backend(self) -> Any:
        if self._backend is None:
            if self.checker == INDEPENDENT_CHECKER:
                from vipexec.labelers.pixel_checker import IndependentSyntheticChecker

                if self.checker_options:
                    raise ValueError(f"{INDEPENDENT_CHECKER} takes no checker options")
                self._backend = IndependentSyntheticChecker()
            elif isinstance(self.checker, str):
                from vipexec.modules.backend import available_backends, create_backend

                if self.checker == "profile" and "profile" not in available_backends():
                    import vipexec.modules.models  # registers the "profile" backend  # noqa: F401

                self._backend = create_backend(self.checker, **self.checker_options)
            else:
                self._backend = self.checker
        return self._backend

    def config(self) -> dict[str, Any]:
        checker = self.checker if isinstance(self.checker, str) else self.backend.backend_id
        return {
            "checker": checker,
            "checker_options": dict(self.checker_options),
            "mode": self.mode,
            "iou": self.iou,
            "depth_tolerance": self.depth_tolerance,
            "check_misses": self.check_misses,
        }

    # --- labelling ------------------------------------------------------------------------------

    def verdicts(self, run: Run, context: LabelContext | None = None) -> list[CallVerdict]:
        """One verdict per recorded call of ``run``."""
        store = (context or LabelContext()).store
        out = []
        for trace in run.blocks:
            for call in trace.calls:
                out.append(self._verify(trace.index, call, store))
        return out

    def label(self, run: Run, context: LabelContext | None = None) -> list[Label]:
        verdicts = self.verdicts(run, context)
        by_block: dict[int, list[CallVerdict]] = {}
        for verdict in verdicts:
            by_block.setdefault(verdict.block, []).append(verdict)
        blocks = run.program.blocks
        labels = []
        for trace in run.blocks:
            used = list(by_block.get(trace.index, []))
            for inner in descendants(blocks, trace.index):
                used += by_block.get(inner, [])
            labels.append(self._label(trace, used))
        return labels

    def _label(self, trace: Any, used: list[CallVerdict]) -> Label:
        data: dict[str, Any] = {"calls": [v.to_dict() for v in used[:50]]}
        if len(used) > 50:
            data["calls_omitted"] = len(used) - 50
        contradicted = [v for v in used if v.agrees is False]
        confirmed = [v for v in used if v.agrees is True]
        if contradicted:
            first = contradicted[0]
            more = f" (+{len(contradicted) - 1} more)" if len(contradicted) > 1 else ""
            return Label(False, f"{first.method}: {first.reason}{more}", data)
        if trace.executions == 0:
            return Label(None, "never ran; no module result to judge", data)
        if trace.status == "error":
            return Label(None, "failed before its results were used", data)
        if confirmed:
            return Label(True, f"{len(confirmed)} module result(s) confirmed by the checker", data)
        if not used:
            return Label(True, "uses no module result (nothing to contradict)", data)
        return Label(None, f"no checkable module result ({used[0].reason})", data)

    # --- one call -------------------------------------------------------------------------------

    def _verify(self, block: int, call: dict[str, Any], store: Any) -> CallVerdict:
        method = call.get("method", "?")
        entry = lookup(method)
        check = entry.cross_check if entry is not None else None
        if call.get("error"):
            return CallVerdict(block, method, None, "the call failed")
        if entry is not None and entry.served == "text":
            return CallVerdict(block, method, None, "not a visual call")
        args = {key: plain(value) for key, value in (call.get("args") or {}).items()}
        result = call.get("result") or {}
        if check is not None and check.kind == "crops":
            return self._crops(block, method, args, result, store)
        image, box = call.get("image"), call.get("box")
        if image is None or box is None:
            return CallVerdict(block, method, None, "the call names no image and box")
        if store is None or image not in store:
            return CallVerdict(block, method, None, "the image's pixels are not available")
        if check is None:
            return CallVerdict(block, method, None, f"{method}() is not cross-checked")
        call_at = _CallAt(block, method, entry.backend_args, check, image, store.pixels(image))
        box = tuple(int(v) for v in box)
        try:
            return self._CHECKS[check.kind](self, call_at, args, result, box)
        except Exception as exc:  # a checker that cannot answer does not judge
            return CallVerdict(block, method, None, f"checker failed: {type(exc).__name__}: {exc}")

    def _ask(self, method: str, image: str, pixels: Any, box: tuple, *args: Any) -> Any:
        key = json.dumps([method, image, box, args], default=str)
        if key not in self._cache:
            self._cache[key] = getattr(self.backend, method)(pixels, box, *args)
        return self._cache[key]

    def _ask_same(self, call: _CallAt, box: tuple, args: dict[str, Any]) -> Any:
        """The checker's answer to the very call the program made."""
        values = [args.get(name) for name in call.backend_args]
        return self._ask(call.method, call.image, call.pixels, box, *values)

    def _yes(self, call: _CallAt, box: tuple, question: str) -> bool | None:
        answer = self._ask(VQA_METHOD, call.image, call.pixels, box, question)
        answer = str(answer).strip().lower()
        if answer.startswith("yes"):
            return True
        if answer.startswith("no"):
            return False
        return None

    def _yes_no(
        self, call: _CallAt, args: dict[str, Any], result: dict[str, Any], box: tuple
    ) -> CallVerdict:
        value = result.get("value")
        words = _words(args)
        theirs = None
        if self.mode != "same":
            theirs = self._yes(call, box, call.check.question.format_map(words))
        if theirs is None:  # same mode, or the checker's VQA cannot answer: same method
            theirs = bool(self._ask_same(call, box, words))
        agrees = theirs == bool(value)
        reason = f"said {value}, the checker says {theirs}"
        return CallVerdict(call.block, call.method, agrees, reason, theirs)

    def _answer(
        self, call: _CallAt, args: dict[str, Any], result: dict[str, Any], box: tuple
    ) -> CallVerdict:
        value = result.get("value")
        question = str(args.get("question", ""))
        theirs = self._ask_same(call, box, {"question": question})
        if str(theirs).lower().startswith("unknown"):
            return CallVerdict(
                call.block, call.method, None, f"the checker cannot answer {question!r}"
            )
        agrees = _same_answer(value, theirs)
        reason = f"answered {value!r}, the checker {theirs!r}"
        return CallVerdict(call.block, call.method, agrees, reason, theirs)

    def _option(
        self, call: _CallAt, args: dict[str, Any], result: dict[str, Any], box: tuple
    ) -> CallVerdict:
        value = result.get("value")
        options = args.get("options")
        options = (
            [plain(o) for o in options.get("items", [])] if isinstance(options, dict) else options
        )
        theirs = self._ask_same(call, box, {**args, "options": list(options)})
        reason = f"chose {value!r}, the checker {theirs!r}"
        return CallVerdict(call.block, call.method, theirs == value, reason, theirs)

    def _number(
        self, call: _CallAt, args: dict[str, Any], result: dict[str, Any], box: tuple
    ) -> CallVerdict:
        value = result.get("value")
        theirs = float(self._ask_same(call, box, args))
        if value is None:
            return CallVerdict(call.block, call.method, None, "no depth recorded")
        gap = abs(float(value) - theirs) / max(abs(theirs), 1e-9)
        agrees = gap <= self.depth_tolerance
        reason = f"depth {value:.3g}, the checker {theirs:.3g} ({100 * gap:.0f}% apart)"
        return CallVerdict(call.block, call.method, agrees, reason, theirs)

    def _detections(
        self, call: _CallAt, args: dict[str, Any], result: dict[str, Any], box: tuple
    ) -> CallVerdict:
        words = _words(args)
        name = words["object_name"]
        boxes = [_box_of(item) for item in result.get("items", [])]
        boxes = [b for b in boxes if b is not None]
        complete = len(boxes) == result.get("len", len(boxes))
        for found in boxes:
            if self.mode == "same":
                seen = bool(self._ask_same(call, found, words))
            else:
                seen = self._yes(call, found, call.check.question.format_map(words))
            if seen is False:
                return CallVerdict(
                    call.block,
                    call.method,
                    False,
                    f"the checker sees no {name} in box {list(found)}",
                    {"spurious": list(found)},
                )
        if self.check_misses and complete:
            theirs = [tuple(b) for b in self._ask_same(call, box, words)]
            missed = [b for b in theirs if all(box_iou(b, f) < self.iou for f in boxes)]
            if missed:
                return CallVerdict(
                    call.block,
                    call.method,
                    False,
                    f"missed a {name} the checker finds at {list(missed[0])}",
                    {"missed": [list(b) for b in missed]},
                )
        return CallVerdict(call.block, call.method, True, f"{len(boxes)} {name} box(es) confirmed")

    _CHECKS: ClassVar[dict[str, Any]] = {
        "yes_no": _yes_no,
        "answer": _answer,
        "option": _option,
        "number": _number,
        "detections": _detections,
    }

    def _crops(
        self, block: int, method: str, args: dict[str, Any], result: dict[str, Any], store: Any
    ) -> CallVerdict:
        crops = args.get("crops")
        items = crops.get("items", []) if isinstance(crops, dict) else crops or []
        pairs = []
        for item in items:
            pair = plain(item)
            values = [plain(v) for v in pair.get("items", [])] if isinstance(pair, dict) else pair
            if not values or len(values) != 2:
                return CallVerdict(block, method, None, "crops not recorded in full")
            image_id, crop = (
                values[0],
                _box_of(values[1]) if isinstance(values[1], dict) else values[1],
            )
            if store is None or image_id not in store or crop is None:
                return CallVerdict(block, method, None, "pixels not available")
            pairs.append((store.pixels(image_id), tuple(int(v) for v in crop)))
        content = args.get("content")
        content = (
            [plain(c) for c in content.get("items", [])] if isinstance(content, dict) else content
        )
        theirs = getattr(self.backend, method)(pairs, list(content or []))
        value = result.get("value")
        reason = f"chose {value}, the checker {theirs}"
        return CallVerdict(block, method, theirs == value, reason, theirs)


@dataclass(frozen=True)
class _CallAt:
    """One recorded call being cross-examined: where it was made and how to ask it again."""

    block: int
    method: str
    backend_args: tuple[str, ...]
    check: CrossCheck
    image: str
    pixels: Any


def _words(args: dict[str, Any]) -> dict[str, str]:
    """The text arguments of a yes/no or detection call, as the checker's question uses them."""
    return {
        "object_name": str(args.get("object_name", "object")),
        "attribute": str(args.get("attribute", "")),
    }


def _box_of(item: Any) -> tuple[int, ...] | None:
    if isinstance(item, dict):
        if "box" in item:
            return tuple(int(v) for v in item["box"])
        values = [plain(v) for v in item.get("items", [])]
        if len(values) == 4 and all(isinstance(v, (int, float)) for v in values):
            return tuple(int(v) for v in values)
        return None
    if isinstance(item, (list, tuple)) and len(item) == 4:
        return tuple(int(v) for v in item)
    return None


_DIGITS = {word: str(number) for word, number in SMALL_NUMBER_WORDS.items()}


def _fold(answer: Any) -> str:
    text = str(answer).strip().lower()
    text = re.sub(r"[^a-z0-9 ]+", " ", text)
    tokens = [_DIGITS.get(t, t) for t in text.split() if t not in ("a", "an", "the")]
    return " ".join(tokens)


def _same_answer(a: Any, b: Any) -> bool:
    fa, fb = _fold(a), _fold(b)
    if fa == fb:
        return True
    try:
        return math.isclose(float(fa), float(fb))
    except ValueError:
        return False
