"""The differential harness: run a program every way vipexec can and as plain Python does.

The oracle is plain ``exec`` of the unchanged source with Python's own builtins. Every way of
running it through vipexec must end the same way: the same result, or the same exception type
and message, and the same printed text. The sandbox may also refuse a program with a policy
error, which the tests check separately (a corpus case says when it expects one).

Outcomes are compared as :class:`Outcome` values, so a failing assertion shows both sides.
"""

from __future__ import annotations

import builtins
import contextlib
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from vipexec import Program, Run
from vipexec.core.summarize import summarize
from vipexec.engine.execute import PROGRAM_MODULE_NAME
from vipexec.engine.output import ProgramOutput
from vipexec.sandbox.isolation.messages import plain_or_none
from vipexec.testing import FakeScene, fake_namespace

PROGRAMS = Path(__file__).parent / "programs"
CASE_MARK = "# === "


@dataclass(frozen=True)
class Outcome:
    """How one run ended: ``ok`` with a result, ``error`` with type and message, or
    ``policy`` (the sandbox refused the program) with the refusal's message."""

    status: str
    detail: Any
    stdout: str

    @property
    def refused(self) -> bool:
        return self.status == "policy"


def explain(way: str, got: Outcome, expected: Outcome) -> str:
    """The assertion message: both outcomes in full (pytest's diff truncates them)."""
    return f"{way} differs from plain exec:\n  got:      {got}\n  expected: {expected}"


def comparable(value: Any) -> Any:
    """A value that compares equal across runs of the same program in one process: plain data
    by its repr (so ``1``, ``1.0`` and ``True`` differ, and so do lists and tuples), anything
    else (API objects) by vipexec's summary of it."""
    if plain_or_none(value)[0] or isinstance(value, (set, frozenset)):
        return ("plain", repr(value))
    return ("summary", summarize(value))


def as_pool_result(value: Any) -> str:
    """What a pool Run's ``result`` holds for a value the program returned in the worker
    (compared by repr, as :func:`comparable` does): the value itself when it is plain JSON
    data (tuples arrive as lists), else what its summary holds (:meth:`Run.result_from_summary`)."""
    plain, converted = plain_or_none(value)
    return repr(converted if plain else Run.result_from_summary(summarize(value)))


def inputs_for(program: Program, image: Any) -> Any:
    """Every corpus program takes the image as ``image``: the entry's first parameter, or a
    global of a script."""
    if program.form == "script":
        return {"image": image}
    return [image] if program.params else []


def plain_exec(
    source: str,
    namespace: dict[str, Any],
    inputs: Any,
    *,
    form: str,
    entry: str | None,
    convert: Any = comparable,
) -> Outcome:
    """Run ``source`` as Python would, with ``namespace`` as its globals.

    A function-form program's entry is then called with ``inputs``; a script's result is
    read from what it printed by vipexec's rule for scripts (:class:`ProgramOutput`), while
    the printed text itself comes from Python's own ``print``.
    """
    script_output = ProgramOutput(sandbox=False)

    def print_(*values: Any, **kwargs: Any) -> None:
        builtins.print(*values, **kwargs)
        if kwargs.get("file") is None:
            script_output.print(*values, **kwargs)

    globals_ = {"__name__": PROGRAM_MODULE_NAME, **namespace}
    globals_["__builtins__"] = {**vars(builtins), "print": print_}
    if form == "script" and inputs:
        globals_.update(inputs)
    stdout = io.StringIO()
    try:
        with contextlib.redirect_stdout(stdout):
            # dont_inherit: this module's own `from __future__` imports must not leak in
            exec(compile(source, "<oracle>", "exec", dont_inherit=True), globals_)
            if form == "function":
                result = globals_[entry](*(inputs or []))
            else:
                result = script_output.result
    except Exception as exc:
        return Outcome("error", (type(exc).__name__, str(exc)), stdout.getvalue())
    return Outcome("ok", convert(result), stdout.getvalue())


def run_outcome(run: Run, *, pool: bool = False) -> Outcome:
    """How a vipexec Run ended; a pool Run's result is compared as :func:`as_pool_result`
    writes it."""
    if run.error is None:
        return Outcome("ok", repr(run.result) if pool else comparable(run.result), run.stdout)
    if run.error.kind == "policy":
        return Outcome("policy", run.error.message, run.stdout)
    return Outcome("error", (run.error.type, run.error.message), run.stdout)


def oracle_of(program: Program, namespace: dict[str, Any], image: Any, **kwargs: Any) -> Outcome:
    return plain_exec(
        program.source,
        namespace,
        inputs_for(program, image),
        form=program.form,
        entry=program.entry,
        **kwargs,
    )


def in_process_outcome(
    program: Program, namespace: dict[str, Any], image: Any, *, sandbox: bool
) -> Outcome:
    return run_outcome(
        program.run_in_process(namespace, inputs_for(program, image), policy=sandbox)
    )


# --- the corpus -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    """One corpus program; ``flags`` come from its header line (``# === name | flag=value``):
    ``raises``, ``refused`` and ``xfail`` (see the properties)."""

    name: str
    source: str
    flags: dict[str, str]

    @property
    def raises(self) -> str | None:
        """The exception type plain Python raises on the fake scene, when the case is about
        a runtime error."""
        return self.flags.get("raises")

    @property
    def known_bug(self) -> str | None:
        """An engine bug, not fixed yet, that makes vipexec disagree with plain ``exec`` on
        this case: the case's tests are then expected to fail (strictly)."""
        return self.flags.get("xfail")

    @property
    def refused(self) -> str | None:
        """A text the sandbox's policy error must contain, when the case is about a construct
        the sandbox refuses."""
        return self.flags.get("refused")


def load_corpus() -> list[Case]:
    cases = []
    for path in sorted(PROGRAMS.glob("*.corpus")):
        current: tuple[str, dict[str, str]] | None = None
        lines: list[str] = []
        for line in [*path.read_text().splitlines(keepends=True), CASE_MARK + "end\n"]:
            if line.startswith(CASE_MARK):
                if current is not None:
                    cases.append(Case(current[0], "".join(lines).strip("\n") + "\n", current[1]))
                name, *flags = line[len(CASE_MARK) :].strip().split(" | ")
                parsed = dict(f.split("=", 1) for f in flags)
                assert set(parsed) <= {"raises", "refused", "xfail"}, line
                assert all(parsed.values()), line
                current = (f"{path.stem}/{name}", parsed)
                lines = []
            elif current is not None:
                lines.append(line)
    return cases


def fake_scene() -> FakeScene:
    """The scene the corpus runs on in process: people, vehicles, animals, things with text,
    and a few of the synthetic world's shapes (so shape questions have answers both ways)."""
    return (
        FakeScene(640, 480)
        .add(
            "person",
            (40, 20, 120, 300),
            "standing",
            "red",
            depth=4.0,
            answers={"wearing": "jacket", "doing": "walking", "age": "32"},
        )
        .add(
            "person",
            (200, 30, 260, 250),
            "sitting",
            "blue",
            depth=6.5,
            answers={"wearing": "hat", "doing": "reading"},
        )
        .add("person", (500, 10, 560, 200), "standing", "green", depth=9.0)
        .add("car", (300, 10, 460, 120), "red", "parked", depth=5.0, answers={"brand": "volvo"})
        .add("car", (20, 350, 140, 420), "blue", depth=12.0)
        .add("dog", (130, 10, 190, 60), "brown", "sleeping", depth=3.5)
        .add("cat", (600, 40, 630, 80), "black", depth=8.0)
        .add("table", (220, 260, 420, 330), "wooden", depth=7.0)
        .add("cup", (250, 330, 280, 370), "white", "empty", depth=7.2)
        .add("cup", (300, 330, 330, 370), "blue", "full", depth=7.1)
        .add("sign", (480, 300, 620, 360), "yellow", answers={"say": "STOP", "text": "STOP"})
        .add("red square", (60, 400, 100, 440), "red", depth=2.0)
        .add("yellow star", (150, 400, 200, 450), "yellow", depth=2.5)
        .add("brown diamond", (560, 400, 600, 440), "brown", depth=2.2)
    )


@pytest.fixture(scope="session")
def fake_world() -> tuple[dict[str, Any], FakeScene]:
    """The fake API's names and the fake scene (shared: both are immutable)."""
    return fake_namespace(), fake_scene()


@pytest.fixture(scope="module")
def pool_world():
    """A one-worker Sandbox on the synthetic backend, a generated scene stored in it, and the
    same API in this process (over the pool's own dispatcher) for the oracle."""
    from vipexec import Sandbox
    from vipexec.modules.api import build_api
    from vipexec.modules.synthetic.scene import generate_scene, render

    sandbox = Sandbox(workers=1, timeout=30, memory=1024)
    try:
        ref = sandbox.images.add(np.asarray(render(generate_scene(11)).image))
        yield sandbox, build_api(sandbox.server), ref
    finally:
        sandbox.close()


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "case" in metafunc.fixturenames:
        params = [
            pytest.param(
                case,
                id=case.name,
                marks=[pytest.mark.xfail(strict=True, reason=case.known_bug)]
                if case.known_bug
                else [],
            )
            for case in load_corpus()
        ]
        metafunc.parametrize("case", params)


@pytest.fixture(scope="session")
def differential():
    """This module: the harness's functions for the test modules beside it (a conftest is not
    importable under pytest's importlib import mode)."""
    import sys

    return sys.modules[__name__]
