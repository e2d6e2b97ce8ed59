"""The one place the labelers run programs (test suites, re-runs).

Everything goes through :func:`run_program`: with a :class:`vipexec.Sandbox` pool it runs in a
worker process (deadline, memory limit); without one it runs in this process under the
sandbox policy (RestrictedPython guards and API proxies, no deadline).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from vipexec.program import Program
from vipexec.run import Run

__all__ = ["Executor", "run_program"]


@dataclass
class Executor:
    """How programs run: a backend over an image store, or a sandbox pool.

    The in-process API namespace is built once per executor (its dispatcher caches nothing:
    the synthetic backend caches its scene readings itself).
    """

    backend: str = "synthetic"
    backend_options: dict[str, Any] = field(default_factory=dict)
    store: Any = None
    sandbox_pool: Any = None
    _namespace: dict[str, Any] | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self.store is None:
            if self.sandbox_pool is not None:
                self.store = self.sandbox_pool.images
            else:
                from vipexec.modules.images import ImageStore

                self.store = ImageStore()

    def namespace(self) -> dict[str, Any]:
        if self._namespace is None:
            from vipexec.modules.api import build_api
            from vipexec.modules.backend import create_backend
            from vipexec.modules.dispatch import LocalDispatcher, ServerDispatcher

            backend = create_backend(self.backend, **self.backend_options)
            self._namespace = build_api(ServerDispatcher(LocalDispatcher(backend, self.store)))
        return self._namespace

    def run(self, program: Program, inputs: Any) -> Run:
        return run_program(program, inputs, executor=self)

    @property
    def in_process(self) -> bool:
        return self.sandbox_pool is None


def run_program(program: Program, inputs: Any, *, executor: Executor | None = None) -> Run:
    """Run ``program`` on ``inputs`` the executor's way (see the module docstring)."""
    executor = executor or Executor()
    if executor.sandbox_pool is not None:
        return executor.sandbox_pool.run(program, inputs=inputs)
    return program.run(namespace=executor.namespace(), inputs=inputs, sandbox=True)
