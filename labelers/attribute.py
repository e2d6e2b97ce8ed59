"""Attribute: do the module results a block used survive a second model's check?

Every module call a block made (its own and those of blocks nested in it) is re-asked of an
independent *checker* backend on the same pixels, image and box:

==================  =================================================================
call                cross-check (``mode="cross"``; ``mode="same"`` repeats the method)
==================  =================================================================
find(X)             each returned box: the checker's VQA must answer "yes" to
                    "Is there a X?" on that box (a detection the checker does not see
                    is contradicted); the checker's own detector must find no X the
                    call missed (no box with IoU >= ``iou`` among the results)
exists(X)           VQA "Is there a X?" on the same box agrees
verify_property     VQA "Is the X A?" on the same box agrees
simple_query(q)     the checker's answer to q agrees (case, articles and number words
                    folded)
best_text_match     the checker picks the same option
compute_depth       relative difference at most ``depth_tolerance``
best_image_match    the checker picks the same patch
llm_query, ...      not visual: not checked
==================  =================================================================

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

from vipexec.labelers._blocks import descendants, plain
from vipexec.labelers.base import Label, LabelContext
from vipexec.run import Run

__all__ = ["AttributeLabeler", "CallVerdict"]

UNCHECKED_METHODS = frozenset({"llm_query", "select_answer"})
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
        if call.get("error"):
            return CallVerdict(block, method, None, "the call failed")
        if method in UNCHECKED_METHODS:
            return CallVerdict(block, method, None, "not a visual call")
        args = {key: plain(value) for key, value in (call.get("args") or {}).items()}
        result = call.get("result") or {}
        if method == "best_image_match":
            return self._best_image_match(block, args, result, store)
        image, box = call.get("image"), call.get("box")
        if image is None or box is None:
            return CallVerdict(block, method, None, "the call names no image and box")
        if store is None or image not in store:
            return CallVerdict(block, method, None, "the image's pixels are not available")
        pixels = store.pixels(image)
        box = tuple(int(v) for v in box)
        try:
            return self._check(block, method, args, result, image, pixels, box)
        except Exception as exc:  # a checker that cannot answer does not judge
            return CallVerdict(block, method, None, f"checker failed: {type(exc).__name__}: {exc}")

    def _ask(self, method: str, image: str, pixels: Any, box: tuple, *args: Any) -> Any:
        key = json.dumps([method, image, box, args], default=str)
        if key not in self._cache:
            self._cache[key] = getattr(self.backend, method)(pixels, box, *args)
        return self._cache[key]

    def _yes(self, image: str, pixels: Any, box: tuple, question: str) -> bool | None:
        answer = str(self._ask("simple_query", image, pixels, box, question)).strip().lower()
        if answer.startswith("yes"):
            return True
        if answer.startswith("no"):
            return False
        return None

    def _check(
        self,
        block: int,
        method: str,
        args: dict[str, Any],
        result: dict[str, Any],
        image: str,
        pixels: Any,
        box: tuple,
    ) -> CallVerdict:
        value = result.get("value")
        if method == "find":
            return self._find(block, args, result, image, pixels, box)
        if method in ("exists", "verify_property"):
            name = str(args.get("object_name", "object"))
            if method == "exists":
                question = f"Is there a {name}?"
                same = ("exists", name)
            else:
                attribute = str(args.get("attribute", ""))
                question = f"Is the {name} {attribute}?"
                same = ("verify_property", name, attribute)
            theirs = None if self.mode == "same" else self._yes(image, pixels, box, question)
            if theirs is None:  # same mode, or the checker's VQA cannot answer: same method
                theirs = bool(self._ask(same[0], image, pixels, box, *same[1:]))
            agrees = theirs == bool(value)
            reason = f"said {value}, the checker says {theirs}"
            return CallVerdict(block, method, agrees, reason, theirs)
        if method == "simple_query":
            question = str(args.get("question", ""))
            theirs = self._ask("simple_query", image, pixels, box, question)
            if str(theirs).lower().startswith("unknown"):
                return CallVerdict(block, method, None, f"the checker cannot answer {question!r}")
            agrees = _same_answer(value, theirs)
            return CallVerdict(
                block, method, agrees, f"answered {value!r}, the checker {theirs!r}", theirs
            )
        if method == "best_text_match":
            options = args.get("options")
            options = (
                [plain(o) for o in options.get("items", [])]
                if isinstance(options, dict)
                else options
            )
            prefix = args.get("prefix")
            theirs = self._ask("best_text_match", image, pixels, box, list(options), prefix)
            return CallVerdict(
                block, method, theirs == value, f"chose {value!r}, the checker {theirs!r}", theirs
            )
        if method == "compute_depth":
            theirs = float(self._ask("compute_depth", image, pixels, box))
            if value is None:
                return CallVerdict(block, method, None, "no depth recorded")
            gap = abs(float(value) - theirs) / max(abs(theirs), 1e-9)
            agrees = gap <= self.depth_tolerance
            reason = f"depth {value:.3g}, the checker {theirs:.3g} ({100 * gap:.0f}% apart)"
            return CallVerdict(block, method, agrees, reason, theirs)
        return CallVerdict(block, method, None, f"{method}() is not cross-checked")

    def _find(
        self,
        block: int,
        args: dict[str, Any],
        result: dict[str, Any],
        image: str,
        pixels: Any,
        box: tuple,
    ) -> CallVerdict:
        name = str(args.get("object_name", "object"))
        boxes = [_box_of(item) for item in result.get("items", [])]
        boxes = [b for b in boxes if b is not None]
        complete = len(boxes) == result.get("len", len(boxes))
        for found in boxes:
            if self.mode == "same":
                seen = bool(self._ask("find", image, pixels, found, name))
            else:
                seen = self._yes(image, pixels, found, f"Is there a {name}?")
            if seen is False:
                return CallVerdict(
                    block,
                    "find",
                    False,
                    f"the checker sees no {name} in box {list(found)}",
                    {"spurious": list(found)},
                )
        if self.check_misses and complete:
            theirs = [tuple(b) for b in self._ask("find", image, pixels, box, name)]
            missed = [b for b in theirs if all(_iou(b, f) < self.iou for f in boxes)]
            if missed:
                return CallVerdict(
                    block,
                    "find",
                    False,
                    f"missed a {name} the checker finds at {list(missed[0])}",
                    {"missed": [list(b) for b in missed]},
                )
        return CallVerdict(block, "find", True, f"{len(boxes)} {name} box(es) confirmed")

    def _best_image_match(
        self, block: int, args: dict[str, Any], result: dict[str, Any], store: Any
    ) -> CallVerdict:
        crops = args.get("crops")
        items = crops.get("items", []) if isinstance(crops, dict) else crops or []
        pairs = []
        for item in items:
            pair = plain(item)
            values = [plain(v) for v in pair.get("items", [])] if isinstance(pair, dict) else pair
            if not values or len(values) != 2:
                return CallVerdict(block, "best_image_match", None, "crops not recorded in full")
            image_id, crop = (
                values[0],
                _box_of(values[1]) if isinstance(values[1], dict) else values[1],
            )
            if store is None or image_id not in store or crop is None:
                return CallVerdict(block, "best_image_match", None, "pixels not available")
            pairs.append((store.pixels(image_id), tuple(int(v) for v in crop)))
        content = args.get("content")
        content = (
            [plain(c) for c in content.get("items", [])] if isinstance(content, dict) else content
        )
        theirs = self.backend.best_image_match(pairs, list(content or []))
        value = result.get("value")
        return CallVerdict(
            block,
            "best_image_match",
            theirs == value,
            f"chose {value}, the checker {theirs}",
            theirs,
        )


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


def _iou(a: tuple, b: tuple) -> float:
    width = min(a[2], b[2]) - max(a[0], b[0])
    height = min(a[3], b[3]) - max(a[1], b[1])
    inter = max(0, width) * max(0, height)
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


_NUMBER_WORDS = {
    "zero": "0", "one": "1", "two": "2", "three": "3", "four": "4", "five": "5", "six": "6",
    "seven": "7", "eight": "8", "nine": "9", "ten": "10",
}  # fmt: skip


def _fold(answer: Any) -> str:
    text = str(answer).strip().lower()
    text = re.sub(r"[^a-z0-9 ]+", " ", text)
    tokens = [_NUMBER_WORDS.get(t, t) for t in text.split() if t not in ("a", "an", "the")]
    return " ".join(tokens)


def _same_answer(a: Any, b: Any) -> bool:
    fa, fb = _fold(a), _fold(b)
    if fa == fb:
        return True
    try:
        return math.isclose(float(fa), float(fb))
    except ValueError:
        return False
