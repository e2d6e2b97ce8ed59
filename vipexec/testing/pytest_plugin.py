"""pytest plugin: the ``program`` fixture runs the program under test on scenes or images.

Name the program with ``pytest --vipexec-program PATH``, the ``vipexec_program`` ini option, or
a module-level ``VIPEXEC_PROGRAM = "path.py"`` in the test file (relative to that file)::

    VIPEXEC_PROGRAM = "count_red_circles.py"

    @given(scene=scenes(min_objects=1, colors=["red", "blue"]))
    def test_count(program, scene):
        assert program(scene) == scene.count(color="red", shape="circle")

``program(x)`` runs the program on ``x`` (a :class:`vipexec.testing.Scene`, an image array, an
image path or an ImageRef) in this process under the sandbox policy (an
:class:`vipexec.sandbox.runner.InProcessRunner`) and returns its answer; a program that fails raises
:class:`ProgramFailed`, so hypothesis shrinks to the smallest scene that breaks it.
``program.run(x)`` returns the whole :class:`vipexec.Run`. The fixture is module-scoped (it
works with ``@given``); ``--vipexec-backend`` picks the backend (default ``synthetic``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

__all__ = ["ProgramFailed", "ProgramUnderTest"]


class ProgramFailed(Exception):
    """The program under test failed (compile, policy, runtime, timeout, ...) on an input."""

    def __init__(self, run: Any) -> None:
        self.run = run
        super().__init__(run.error.describe())


class ProgramUnderTest:
    """Runs one program on many inputs, sharing one image store and API namespace."""

    def __init__(self, program: Any, *, backend: str = "synthetic", backend_options=None):
        from vipexec.sandbox.runner import InProcessRunner

        self.program = program
        self.runner = InProcessRunner(backend, backend_options=backend_options)
        self.last_run: Any = None

    def _image(self, value: Any) -> Any:
        from vipexec.modules.refs import ImageRef
        from vipexec.testing.strategies import Scene

        store = self.runner.images
        if isinstance(value, Scene):
            return store.add(value.image)
        if isinstance(value, ImageRef):
            return value
        if isinstance(value, (str, Path)):
            return store.load(value)
        return store.add(value)

    def run(self, image: Any, **inputs: Any) -> Any:
        """The :class:`vipexec.Run` of the program on ``image`` (plus other named inputs)."""
        values = {"image": self._image(image), **inputs}
        if self.program.form == "function" and self.program.params:
            first = self.program.params[0].lstrip("*")
            if first != "image" and "image" not in self.program.params:
                values[first] = values.pop("image")
        self.last_run = self.runner.run(self.program, values)
        return self.last_run

    def __call__(self, image: Any, **inputs: Any) -> Any:
        run = self.run(image, **inputs)
        if run.error is not None:
            raise ProgramFailed(run)
        return run.result

    def __repr__(self) -> str:
        return f"<program under test {self.program.name}>"


def pytest_addoption(parser: Any) -> None:
    group = parser.getgroup("vipexec", "vipexec program testing")
    group.addoption("--vipexec-program", default=None, help="program the `program` fixture runs")
    group.addoption(
        "--vipexec-backend", default=None, help="backend for the `program` fixture (synthetic)"
    )
    parser.addini("vipexec_program", "program the `program` fixture runs", default=None)
    parser.addini("vipexec_backend", "backend for the `program` fixture", default="synthetic")


@pytest.fixture(scope="module")
def program(request: Any) -> ProgramUnderTest:
    """The program under test (see the module docstring)."""
    from vipexec.core.errors import ProgramSourceError
    from vipexec.core.program import Program

    config = request.config
    path = config.getoption("--vipexec-program", default=None)
    origin = "--vipexec-program"
    if path is None:
        module_value = getattr(request.module, "VIPEXEC_PROGRAM", None)
        if module_value is not None:
            path = Path(request.module.__file__).parent / module_value
            origin = "VIPEXEC_PROGRAM"
    if path is None:
        path = config.getini("vipexec_program") or None
        origin = "vipexec_program (ini)"
    if path is None:
        raise pytest.UsageError(
            "the `program` fixture needs a program: pass --vipexec-program PATH, set "
            "VIPEXEC_PROGRAM in the test module, or the vipexec_program ini option"
        )
    try:
        loaded = Program.from_file(path)
    except ProgramSourceError as exc:
        raise pytest.UsageError(f"{origin}: {exc}") from None
    backend = config.getoption("--vipexec-backend", default=None) or config.getini(
        "vipexec_backend"
    )
    return ProgramUnderTest(loaded, backend=backend or "synthetic")
