"""The backend contract (one method per API operation) and the backend registry.

A backend answers API calls from pixels. Each method receives the *whole* image (an
``H x W x 3`` uint8 array) plus the patch's box, so a backend may use context outside the patch.

Boxes are ``(left, lower, right, upper)`` integer pixels of the original image with the origin at
the **bottom-left** (ViperGPT's convention, ``lower < upper``), half-open like array slices: the
patch covers columns ``left .. right-1`` and array rows ``H-upper .. H-lower-1``
(see :func:`crop_pixels`).

A backend that cannot do an operation raises :class:`ModuleUnavailable`. Backends are created by
name through :func:`create_backend`; built-in names resolve lazily, so nothing heavy is imported
until a backend is actually created.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from vipexec.core.registry import Registry
from vipexec.modules.errors import BackendError, ModuleUnavailable
from vipexec.modules.methods import METHODS as _TABLE
from vipexec.modules.methods import ContractBroken, method_named

if TYPE_CHECKING:
    import numpy as np

__all__ = [
    "IMAGE_METHODS",
    "METHODS",
    "Backend",
    "Box",
    "available_backends",
    "box_area",
    "box_iou",
    "create_backend",
    "crop_pixels",
    "intersect_boxes",
    "normalize_result",
    "register_backend",
]

Box = tuple[int, int, int, int]
"""``(left, lower, right, upper)``: pixels, origin bottom-left, half-open."""

IMAGE_METHODS = frozenset(name for name, entry in _TABLE.items() if entry.served == "patch")
"""Operations on one patch: the dispatcher passes ``(pixels, box)`` of one image."""

METHODS = frozenset(name for name, entry in _TABLE.items() if entry.served is not None)
"""Every operation of the contract (the API methods that reach a backend)."""


# --- boxes ------------------------------------------------------------------------------------


def crop_pixels(image: np.ndarray, box: Sequence[int]) -> np.ndarray:
    """The pixels of ``box`` (bottom-left origin) in ``image``: rows ``H-upper .. H-lower``."""
    left, lower, right, upper = (int(v) for v in box)
    height = image.shape[0]
    return image[max(height - upper, 0) : max(height - lower, 0), max(left, 0) : max(right, 0)]


def box_area(box: Sequence[int]) -> int:
    left, lower, right, upper = box
    return max(0, right - left) * max(0, upper - lower)


def intersect_boxes(a: Sequence[int], b: Sequence[int]) -> Box:
    """The intersection of two boxes (possibly empty: check :func:`box_area`)."""
    return (max(a[0], b[0]), max(a[1], b[1]), min(a[2], b[2]), min(a[3], b[3]))


def box_iou(a: Sequence[int], b: Sequence[int]) -> float:
    """Intersection over union of two boxes; 0.0 when both are empty."""
    inter = box_area(intersect_boxes(a, b))
    union = box_area(a) + box_area(b) - inter
    return inter / union if union > 0 else 0.0


# --- the contract -----------------------------------------------------------------------------


class Backend:
    """Base class: one method per API operation; override what the backend can do.

    Options shared by every backend:

    - ``exists_vqa``: ``exists()`` double-checks each detection with a VQA question
      (``"Is this a <name>?"``) the way ViperGPT's implementation does; default ``False``, the
      prompt's ``len(find(name)) > 0``.
    """

    name: ClassVar[str] = "backend"
    """registry name, the first part of :attr:`backend_id`"""
    version: ClassVar[int] = 1
    """bumped when answers change for the same inputs (invalidates caches)"""

    def __init__(self, *, exists_vqa: bool = False) -> None:
        if not isinstance(exists_vqa, bool):
            raise BackendError(f"{self.name}: exists_vqa must be a bool, got {exists_vqa!r}")
        self.exists_vqa = exists_vqa
        self._options: dict[str, Any] = {"exists_vqa": exists_vqa}

    def _add_options(self, **options: Any) -> None:
        """Record the options a subclass was built with (they go into :attr:`backend_id`)."""
        self._options.update(options)
        self.__dict__.pop("_backend_id", None)

    @property
    def options(self) -> dict[str, Any]:
        return dict(self._options)

    @property
    def backend_id(self) -> str:
        """Stable id of this backend and its options, for cache keys: ``name@version(k=v,...)``."""
        # Built once per set of options: every served call reports it.
        found = self.__dict__.get("_backend_id")
        if found is None:
            opts = ",".join(f"{key}={self._options[key]!r}" for key in sorted(self._options))
            found = self.__dict__["_backend_id"] = f"{self.name}@{self.version}({opts})"
        return found

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.backend_id}>"

    def _unavailable(self, method: str, reason: str = "not implemented") -> ModuleUnavailable:
        return ModuleUnavailable(method, self.name, reason)

    # --- operations on one patch ----------------------------------------------------------------

    def find(self, image: np.ndarray, box: Box, object_name: str) -> list[Box]:
        """Boxes (original image coordinates) of the ``object_name`` objects in the patch."""
        raise self._unavailable("find")

    def exists(self, image: np.ndarray, box: Box, object_name: str) -> bool:
        """Whether the patch holds an ``object_name``: ``find`` non-empty (see ``exists_vqa``)."""
        boxes = self.find(image, box, object_name)
        if not self.exists_vqa:
            return len(boxes) > 0
        question = f"Is this a {object_name}?"
        return any("yes" in self.simple_query(image, found, question).lower() for found in boxes)

    def verify_property(
        self, image: np.ndarray, box: Box, object_name: str, attribute: str
    ) -> bool:
        """Whether the ``object_name`` in the patch has ``attribute``."""
        raise self._unavailable("verify_property")

    def best_text_match(
        self, image: np.ndarray, box: Box, options: list[str], prefix: str | None
    ) -> str:
        """The option (returned as given, without the prefix) that best describes the patch."""
        raise self._unavailable("best_text_match")

    def simple_query(self, image: np.ndarray, box: Box, question: str) -> str:
        """A short answer to a perception question about the patch."""
        raise self._unavailable("simple_query")

    def compute_depth(self, image: np.ndarray, box: Box) -> float:
        """Median depth of the patch; larger is farther."""
        raise self._unavailable("compute_depth")

    # --- operations on several patches or on text -----------------------------------------------

    def best_image_match(self, crops: list[tuple[np.ndarray, Box]], content: list[str]) -> int:
        """Index of the crop that best matches the texts in ``content``."""
        raise self._unavailable("best_image_match")

    def llm_query(self, question: str, long_answer: bool) -> str:
        """A text-only answer to ``question``."""
        raise self._unavailable("llm_query")

    def select_answer(self, info: dict[str, Any], question: str, options: list[str]) -> str:
        """The option best supported by ``info`` (facts a video program gathered)."""
        raise self._unavailable("select_answer")


# --- results ----------------------------------------------------------------------------------


def normalize_result(method: str, result: Any, args: dict[str, Any], backend: str) -> Any:
    """Check a backend's result against the contract and convert it to plain Python data."""
    try:
        return method_named(method).normalize(result, args)
    except ContractBroken as exc:
        raise BackendError(f"backend {backend!r} broke the contract: {method}() {exc}") from None


# --- registry ---------------------------------------------------------------------------------

Factory = Callable[..., Backend]

_BACKENDS = Registry(
    "backend",
    BackendError,
    {
        "synthetic": "vipexec.modules.synthetic.backend:SyntheticBackend",
        "synthetic-noisy": "vipexec.modules.synthetic.backend:NoisySyntheticBackend",
        "profile": "vipexec.modules.models.backend:ProfileBackend",
    },
)


def register_backend(name: str, factory: Factory | str, *, replace: bool = False) -> None:
    """Register ``factory(**options) -> Backend`` under ``name``.

    ``factory`` may be a ``"module:attribute"`` string, imported on first use (keeps heavy
    backends out of start-up).
    """
    _BACKENDS.register(name, factory, replace=replace)


def available_backends() -> list[str]:
    """Registered backend names, sorted."""
    return _BACKENDS.names()


def create_backend(name: str, **options: Any) -> Backend:
    """A new backend by registered name; unknown names and options raise :class:`BackendError`."""
    backend = _BACKENDS.create(name, **options)
    if not isinstance(backend, Backend):
        raise BackendError(f"backend {name!r}: factory returned {type(backend).__name__}")
    return backend
