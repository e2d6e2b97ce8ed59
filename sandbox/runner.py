"""One way to run programs: the :class:`Runner` interface and its in-process implementation.

Two runners implement the same interface, so that callers (labelers, test suites, the pytest
plugin, dataset builders) choose *where* programs run by choosing a runner, and run them the
same way:

- :class:`vipexec.Sandbox` (:mod:`vipexec.sandbox.isolation.pool`): each program in a worker
  process, under the language policy, seccomp, a memory limit and a wall-clock deadline.
- :class:`InProcessRunner`: each program in this process under the language policy (guards,
  proxies of the API), with no process isolation and no deadline. For trusted programs, tests
  and the labelers' re-runs, where a process round trip buys nothing.

Both answer API calls with a backend over an image store (``runner.images``) and turn image
inputs (paths, numpy arrays, PIL images) into references to that store the same way.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from vipexec.core.errors import InvalidArgumentError
from vipexec.core.program import Program
from vipexec.core.run import Run

__all__ = ["InProcessRunner", "Runner", "as_program", "prepare_inputs"]

ProgramLike = Program | str | os.PathLike[str]


@runtime_checkable
class Runner(Protocol):
    """Runs programs and returns their :class:`vipexec.Run` (a failure is a Run too)."""

    images: Any
    """the :class:`vipexec.modules.images.ImageStore` image inputs are read from"""

    def run(self, program: ProgramLike, inputs: Any = None, *, timeout: float | None = None) -> Run:
        """One program on ``inputs`` (a dict by name, or a list in order)."""
        ...

    def map(
        self, programs: Iterable[ProgramLike], inputs: Any = None, *, timeout: float | None = None
    ) -> list[Run]:
        """Many programs; ``inputs`` is one value for all or a list with one per program."""
        ...

    def close(self) -> None: ...


class InProcessRunner:
    """Runs programs in this process under the sandbox language policy: no process isolation,
    no deadline (a ``timeout`` is refused, not ignored).

    API calls go to ``server`` (a :class:`vipexec.modules.dispatch.CallServer`) or to the
    named ``backend`` over ``store``, as in :class:`vipexec.Sandbox`. The API namespace is
    built once per runner. ``policy=False`` runs trusted programs without the policy.
    """

    def __init__(
        self,
        backend: str | None = None,
        *,
        backend_options: dict[str, Any] | None = None,
        server: Any = None,
        store: Any = None,
        policy: bool = True,
    ) -> None:
        check_one_api_source(server, backend, backend_options)
        from vipexec.modules.images import ImageStore

        self.images = store if store is not None else ImageStore()
        self.backend = backend or "synthetic"
        self.backend_options = dict(backend_options or {})
        self.server = server
        self.policy = policy
        self._namespace: dict[str, Any] | None = None

    def namespace(self) -> dict[str, Any]:
        """The API names (``ImagePatch`` and friends) programs run with."""
        if self._namespace is None:
            from vipexec.modules.api import build_api
            from vipexec.modules.backend import create_backend
            from vipexec.modules.dispatch import LocalDispatcher, ServerDispatcher

            server = self.server
            if server is None:
                backend = create_backend(self.backend, **self.backend_options)
                server = LocalDispatcher(backend, self.images)
            self._namespace = build_api(ServerDispatcher(server))
        return self._namespace

    def run(self, program: ProgramLike, inputs: Any = None, *, timeout: float | None = None) -> Run:
        if timeout is not None:
            raise InvalidArgumentError(
                "an in-process run has no deadline: run in a vipexec.Sandbox for a timeout"
            )
        return as_program(program).run_in_process(
            self.namespace(), prepare_inputs(inputs, self.images), policy=self.policy
        )

    def map(
        self, programs: Iterable[ProgramLike], inputs: Any = None, *, timeout: float | None = None
    ) -> list[Run]:
        programs = list(programs)
        return [
            self.run(program, value, timeout=timeout)
            for program, value in zip(programs, inputs_per_program(programs, inputs))
        ]

    def close(self) -> None:
        """Nothing to release (the interface's ``close``; the runner stays usable)."""

    def __enter__(self) -> InProcessRunner:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def check_one_api_source(server: Any, backend: str | None, backend_options: Any) -> None:
    """A runner's API calls go to a ``server`` or to a named ``backend``, never both: the
    backend would be silently unused."""
    if server is not None and (backend is not None or backend_options):
        raise InvalidArgumentError(
            "give a runner either server= (it answers the API calls) or backend= and "
            "backend_options=, not both"
        )


def as_program(program: ProgramLike) -> Program:
    """A Program from a Program, a path to a file, or source text."""
    if isinstance(program, Program):
        return program
    if isinstance(program, os.PathLike):
        return Program.from_file(program)
    if isinstance(program, str):
        if "\n" not in program and program.endswith(".py"):
            return Program.from_file(program)
        return Program.from_source(program)
    raise InvalidArgumentError(
        f"a program is a Program, a path or source text, not {type(program).__name__}"
    )


def inputs_per_program(programs: list[Any], inputs: Any) -> list[Any]:
    """``map``'s rule: a list with one inputs value per program, or one value for all."""
    if isinstance(inputs, list) and len(inputs) == len(programs) and programs:
        return inputs
    return [inputs] * len(programs)


def prepare_inputs(inputs: Any, images: Any) -> Any:
    """Inputs with every image (a ``Path``, numpy array or PIL image) replaced by its reference
    in ``images``; a single value that is not a dict or list becomes the first argument."""
    if inputs is None:
        return None
    if isinstance(inputs, dict):
        return {str(key): _prepare_value(value, images) for key, value in inputs.items()}
    if isinstance(inputs, (list, tuple)):
        return [_prepare_value(value, images) for value in inputs]
    return [_prepare_value(inputs, images)]


def _prepare_value(value: Any, images: Any) -> Any:
    if isinstance(value, Path):
        return images.load(value)
    kind = type(value)
    if kind.__module__ == "numpy" or kind.__module__.startswith("PIL"):
        return images.add(value)
    if kind in (list, tuple):
        return [_prepare_value(item, images) for item in value]
    return value
