"""A registered :class:`~vipexec.modules.backend.Backend` as a model module (kind ``backend``).

Lets a profile mix a classical backend (e.g. the synthetic world's) with real models, and runs
the host's batching and caching machinery without torch. Requests of a batch are answered one
by one (a backend has no batched form); a failing request fails alone.
"""

from __future__ import annotations

from typing import Any, ClassVar

from vipexec.modules.backend import METHODS, Backend, create_backend
from vipexec.modules.models.base import ModelModule, Option, Request
from vipexec.modules.models.checkpoints import Located

__all__ = ["BackendModule"]


class BackendModule(ModelModule):
    kind: ClassVar[str] = "backend"
    methods: ClassVar[frozenset[str]] = frozenset(METHODS)
    needs_checkpoint: ClassVar[bool] = False
    uses_torch: ClassVar[bool] = False
    packages: ClassVar[tuple[str, ...]] = ()
    default_memory_gb: ClassVar[float] = 0.0
    OPTIONS: ClassVar[dict[str, Option]] = {
        "backend": Option("synthetic", str, "registered backend name"),
        "backend_options": Option({}, dict, "keyword options of the backend"),
    }

    def __init__(self, spec: Any, context: Any) -> None:
        super().__init__(spec, context)
        self._backend: Backend | None = None

    @property
    def model_id(self) -> str:
        return f"backend:{self.options['backend']}"

    def _locate(self, method: str) -> Located:
        name = self.options["backend"]
        return Located(name, None, f"registered backend {name!r}", f"backend:{name}")

    def check(self) -> tuple[bool, str]:
        from vipexec.modules.backend import available_backends

        name = self.options["backend"]
        if name not in available_backends():
            return False, f"no registered backend {name!r}"
        return True, f"registered backend {name!r}"

    def _compute_identity(self) -> str:
        backend = self._backend or create_backend(
            self.options["backend"], **dict(self.options["backend_options"])
        )
        return f"backend@{self.version}|{backend.backend_id}"

    def _load(self, located: Located, device: str, dtype: str, resolve: Any) -> None:
        self._backend = create_backend(
            self.options["backend"], **dict(self.options["backend_options"])
        )

    def _run(self, requests: list[Request]) -> list[Any]:
        backend = self._backend
        assert backend is not None
        results: list[Any] = []
        for request in requests:
            try:
                results.append(self._one(backend, request))
            except Exception as exc:
                results.append(exc)
        return results

    @staticmethod
    def _one(backend: Backend, request: Request) -> Any:
        method = getattr(backend, request.method)
        if request.image is not None:
            return method(request.image, request.box, **request.args)
        if request.method == "best_image_match":
            return method(request.crops, list(request.args["content"]))
        return method(**request.args)
