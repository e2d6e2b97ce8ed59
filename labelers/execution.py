"""The one place the labelers run programs (test suites, re-runs).

Everything goes through :func:`run_program` and an :class:`Executor`, which holds one
:class:`vipexec.sandbox.runner.Runner`: a :class:`vipexec.Sandbox` pool (worker processes,
deadline, memory limit) or an :class:`~vipexec.sandbox.runner.InProcessRunner` (this process,
under the sandbox policy: RestrictedPython guards and API proxies, no deadline).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from vipexec.core.program import Program
from vipexec.core.run import Run
from vipexec.sandbox.runner import InProcessRunner, Runner

__all__ = ["Executor", "run_program"]


@dataclass
class Executor:
    """How programs run: a backend over an image store (in this process), or a sandbox pool.

    The in-process API namespace is built once per executor (its dispatcher caches nothing:
    the synthetic backend caches its scene readings itself).
    """

    backend: str = "synthetic"
    backend_options: dict[str, Any] = field(default_factory=dict)
    store: Any = None
    sandbox_pool: Any = None
    runner: Runner = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if self.sandbox_pool is not None:
            self.runner = self.sandbox_pool
        else:
            self.runner = InProcessRunner(
                self.backend, backend_options=self.backend_options, store=self.store
            )
        self.store = self.runner.images

    def namespace(self) -> dict[str, Any]:
        """The in-process runner's API namespace."""
        return self.runner.namespace()

    def run(self, program: Program, inputs: Any) -> Run:
        return run_program(program, inputs, executor=self)

    @property
    def in_process(self) -> bool:
        return self.sandbox_pool is None


def run_program(program: Program, inputs: Any, *, executor: Executor | None = None) -> Run:
    """Run ``program`` on ``inputs`` the executor's way (see the module docstring)."""
    executor = executor or Executor()
    return executor.runner.run(program, inputs)
