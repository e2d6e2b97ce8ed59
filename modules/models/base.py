"""The model-module contract: one class per model family, one ``load()``, a batched ``__call__``.

A *module* wraps one model (a checkpoint of one family) and answers the API methods it knows
(``methods``) for a whole batch of :class:`Request` at once. The host decides which module
answers which method (a profile), batches requests, caches results and places modules on
devices; modules only load weights and compute.

Module files import nothing heavy at import time: torch, ultralytics, open_clip and
transformers are imported inside ``load()`` (so configs can be validated and listed without
them). Kinds are registered by name (``"yolo"``, ``"open_clip"``, ...) and resolved lazily.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from vipexec.modules.backend import crop_pixels
from vipexec.modules.errors import ModuleUnavailable
from vipexec.modules.models.checkpoints import Located, ModelContext, locate_file
from vipexec.modules.models.errors import ConfigError, ModelLoadError

if TYPE_CHECKING:
    import numpy as np

    from vipexec.modules.models.profile import ModelSpec

__all__ = [
    "ModelModule",
    "Option",
    "Request",
    "model_kinds",
    "module_class",
    "register_model_kind",
    "validate_options",
]


@dataclass(frozen=True, slots=True)
class Option:
    """One kind-specific option: default, accepted types, help text, optional choices."""

    default: Any
    types: type | tuple[type, ...]
    help: str
    choices: tuple[Any, ...] | None = None
    minimum: float | None = None
    nullable: bool = False


def _type_names(types: type | tuple[type, ...]) -> str:
    kinds = types if isinstance(types, tuple) else (types,)
    return " or ".join(t.__name__ for t in kinds)


def check_value(value: Any, option: Option, where: str) -> Any:
    """``value`` checked against ``option`` (ints are accepted for floats); raises ConfigError."""
    if value is None and (option.nullable or option.default is None):
        return None
    types = option.types if isinstance(option.types, tuple) else (option.types,)
    if float in types and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if isinstance(value, bool) and bool not in types:
        raise ConfigError(f"{where}: expected {_type_names(option.types)}, got {value!r}")
    if not isinstance(value, types):
        raise ConfigError(
            f"{where}: expected {_type_names(option.types)}, got {type(value).__name__} {value!r}"
        )
    if option.choices is not None and value not in option.choices:
        allowed = ", ".join(repr(c) for c in option.choices)
        raise ConfigError(f"{where}: {value!r} is not one of {allowed}")
    if option.minimum is not None and value < option.minimum:
        raise ConfigError(f"{where}: must be at least {option.minimum}, got {value!r}")
    if isinstance(value, list):
        value = tuple(value)
    return value


def validate_options(cls: type[ModelModule], raw: Mapping[str, Any], where: str) -> dict[str, Any]:
    """Kind-specific options with defaults filled in; unknown keys raise :class:`ConfigError`."""
    options: dict[str, Any] = {}
    for key, value in raw.items():
        option = cls.OPTIONS.get(key)
        if option is None:
            known = ", ".join(sorted(cls.OPTIONS)) or "none"
            raise ConfigError(
                f"{where}.{key}: unknown option for kind {cls.kind!r} (its options: {known})"
            )
        options[key] = check_value(value, option, f"{where}.{key}")
    for key, option in cls.OPTIONS.items():
        options.setdefault(key, option.default)
    return options


@dataclass(slots=True)
class Request:
    """One API call as a module sees it: pixels instead of ids.

    ``image`` is the whole image (``H x W x 3`` uint8) and ``box`` the patch for methods on one
    patch; ``crops`` holds ``(image, box)`` pairs for ``best_image_match``; ``image_id`` is the
    image's content id (modules may key per-image work on it).
    """

    method: str
    args: dict[str, Any]
    image: np.ndarray | None = None
    box: tuple[int, int, int, int] | None = None
    image_id: str | None = None
    crops: list[tuple[np.ndarray, tuple[int, int, int, int]]] | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def patch(self) -> np.ndarray:
        """The pixels of the patch (top-left origin array rows)."""
        if self.image is None or self.box is None:
            raise ValueError(f"{self.method}() request has no image")
        return crop_pixels(self.image, self.box)


Resolver = Callable[[str], "ModelModule"]


class ModelModule:
    """Base class of model modules; subclasses set the class attributes and ``_load``/``_run``.

    ``__call__(requests)`` returns one result per request, in order; an item may be an
    ``Exception`` instance (that request failed, the others did not). Calls are serialised by a
    per-module lock, so a module's state (e.g. a detector's current class list) is safe.
    """

    kind: ClassVar[str] = ""
    methods: ClassVar[frozenset[str]] = frozenset()
    OPTIONS: ClassVar[dict[str, Option]] = {}
    needs_checkpoint: ClassVar[bool] = True
    uses_torch: ClassVar[bool] = True
    half_precision: ClassVar[bool] = True
    """fp16/bf16 are fine on a GPU for this family"""
    bf16: ClassVar[bool] = True
    """bfloat16 is fine too (else half precision means float16)"""
    packages: ClassVar[tuple[str, ...]] = ("torch",)
    """import names the family needs (checked by :meth:`check` without importing them)"""
    version: ClassVar[int] = 1
    """bumped when answers change for the same inputs (part of cache keys)"""
    default_memory_gb: ClassVar[float] = 1.0
    """memory estimate when the config declares none"""
    REFERENCES: ClassVar[dict[str, str]] = {}
    """options naming another model of the config -> the method that model must have"""

    @classmethod
    def references(cls, options: Mapping[str, Any]) -> list[tuple[str, str]]:
        """``(option, model name)`` for each option that names another model."""
        return [(key, options[key]) for key in cls.REFERENCES if options.get(key)]

    @classmethod
    def reference_needs(cls, key: str) -> str:
        return cls.REFERENCES.get(key, "")

    def __init__(self, spec: ModelSpec, context: ModelContext) -> None:
        self.spec = spec
        self.name = spec.name
        self.options: dict[str, Any] = dict(spec.options)
        self.context = context
        self.device = "cpu"
        self.dtype = "float32"
        self.loaded = False
        self._lock = threading.RLock()
        self._located: Located | None = None
        self._identity: str | None = None

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r} {self.model_id}>"

    # --- without loading ----------------------------------------------------------------------

    @property
    def model_id(self) -> str:
        """What traces show as the model: ``kind:checkpoint``."""
        return f"{self.kind}:{self.spec.checkpoint or '-'}"

    def dependencies(self) -> list[str]:
        """Names of other models of the config this one uses (loaded before it)."""
        return [name for _, name in self.references(self.options)]

    def locate(self, method: str = "*") -> Located:
        """Find the checkpoint without loading it; raises ModelNotFound naming the places."""
        if self._located is None:
            self._located = self._locate(method)
        return self._located

    def _locate(self, method: str) -> Located:
        return locate_file(self.spec, self.context, method)

    def check(self) -> tuple[bool, str]:
        """Whether the model looks loadable here (packages importable, checkpoint present)."""
        for package in self.packages:
            if importlib.util.find_spec(package) is None:
                hint = "pip install 'vipexec[models]'"
                return False, f"package {package!r} is not installed ({hint})"
        try:
            located = self.locate()
        except Exception as exc:
            return False, str(getattr(exc, "reason", None) or exc)
        return True, located.where

    def identity(self) -> str:
        """Stable id of the weights and options, for cache keys (no device; the dtype is in).

        Computed once (after the host placed the model, so the dtype is the one it runs in)."""
        if self._identity is None:
            self._identity = self._compute_identity()
        return self._identity

    def _compute_identity(self) -> str:
        located = self.locate()
        options = json.dumps(self.options, sort_keys=True, default=str)
        return f"{self.kind}@{self.version}|{located.identity}|{self.dtype}|{options}"

    # --- loading and running ------------------------------------------------------------------

    def load(
        self, device: str = "cpu", dtype: str = "float32", resolve: Resolver | None = None
    ) -> None:
        """Load the weights onto ``device`` in ``dtype`` (idempotent)."""
        with self._lock:
            if self.loaded:
                return
            located = self.locate()
            self.device, self.dtype = device, dtype
            try:
                self._load(located, device, dtype, resolve or _no_resolver)
            except ModuleUnavailable:
                raise
            except Exception as exc:
                message = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
                raise ModelLoadError(
                    "*",
                    self.name,
                    self.kind,
                    f"cannot load {located.where}: {type(exc).__name__}: {message}",
                ) from exc
            self.loaded = True

    def _load(self, located: Located, device: str, dtype: str, resolve: Resolver) -> None:
        raise NotImplementedError

    def __call__(self, requests: Sequence[Request]) -> list[Any]:
        with self._lock:
            if not self.loaded:
                self.load()
            return self._run(list(requests))

    def _run(self, requests: list[Request]) -> list[Any]:
        raise NotImplementedError

    def unload(self) -> None:
        """Drop the weights (a later call loads them again)."""
        with self._lock:
            self._unload()
            self.loaded = False

    def _unload(self) -> None:
        for attribute in list(vars(self)):
            if attribute.startswith("_model") or attribute in ("_processor", "_tokenizer"):
                setattr(self, attribute, None)


def _no_resolver(name: str) -> ModelModule:
    raise ConfigError(f"model {name!r} is referenced but no resolver was given")


# --- torch helpers (imported lazily by the families) ------------------------------------------


def torch_dtype(name: str) -> Any:
    import torch

    return {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}[name]


def quiet_transformers() -> Any:
    """Import transformers with its progress bars and info logs off; returns the module."""
    import transformers

    transformers.utils.logging.disable_progress_bar()
    transformers.utils.logging.set_verbosity_error()
    return transformers


def hf_pretrained(
    class_name: str,
    target: str,
    *,
    local: bool,
    device: str | None = None,
    dtype: str | None = None,
) -> Any:
    """``transformers.<class_name>.from_pretrained(target)`` with progress output off.

    With ``dtype`` (a model), the weights load in that dtype and the model is moved to
    ``device`` in eval mode; without it (a processor or tokenizer), it is returned as loaded.
    """
    loader = getattr(quiet_transformers(), class_name)
    if dtype is None:
        return loader.from_pretrained(target, local_files_only=local)
    model = loader.from_pretrained(target, dtype=torch_dtype(dtype), local_files_only=local)
    return model.to(device).eval()


# --- kind registry ----------------------------------------------------------------------------

_KINDS: dict[str, str | type[ModelModule]] = {
    "yolo": "vipexec.modules.models.yolo:YoloModule",
    "owl": "vipexec.modules.models.owl:OwlModule",
    "open_clip": "vipexec.modules.models.clip:OpenClipModule",
    "hf_clip": "vipexec.modules.models.hf_clip:HfClipModule",
    "vqa": "vipexec.modules.models.vqa:VqaModule",
    "depth": "vipexec.modules.models.depth:DepthModule",
    "llm_http": "vipexec.modules.models.llm_http:HttpLLMModule",
    "llm_local": "vipexec.modules.models.llm_local:LocalLLMModule",
    "backend": "vipexec.modules.models.wrapped:BackendModule",
}


def register_model_kind(
    kind: str, target: str | type[ModelModule], *, replace: bool = False
) -> None:
    """Register a module class (or ``"module:Class"``) under ``kind`` for config files."""
    if not isinstance(kind, str) or not kind.strip() or kind != kind.strip():
        raise ConfigError(f"model kind must be a non-empty string without spaces: {kind!r}")
    if kind in _KINDS and not replace:
        raise ConfigError(f"model kind {kind!r} is already registered (pass replace=True)")
    _KINDS[kind] = target


def model_kinds() -> list[str]:
    return sorted(_KINDS)


def module_class(kind: str) -> type[ModelModule]:
    """The module class of a kind (imports its file: light, no torch)."""
    target = _KINDS.get(kind)
    if target is None:
        raise ConfigError(f"unknown model kind {kind!r}; known kinds: {', '.join(model_kinds())}")
    if isinstance(target, str):
        module, _, attribute = target.partition(":")
        target = getattr(importlib.import_module(module), attribute)
        _KINDS[kind] = target
    return target
