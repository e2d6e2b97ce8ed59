"""Command functions for ``vipexec label``, ``vipexec test``, ``vipexec lint-suite``,
``vipexec label-quality`` and ``vipexec dataset`` (the CLI module wires them in).

Each returns an exit code: 0 success; 1 tests failed or lint findings; 2 bad invocation or
unreadable input, with one clear line on stderr and never a traceback.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, TextIO

from vipexec.core.errors import VipexecError
from vipexec.core.terminal import terminal_text

__all__ = [
    "dataset_command",
    "label_command",
    "lint_command",
    "test_command",
]

_BAD_INPUT = (VipexecError, ValueError, OSError, KeyError)


def _fail(err: TextIO, message: str) -> int:
    print(f"vipexec: {terminal_text(message)}", file=err)
    return 2


def _parse_options(pairs: Sequence[str] | dict[str, Any] | None) -> dict[str, Any]:
    """``["color_error=0.1", "seed=3"]`` -> ``{"color_error": 0.1, "seed": 3}``."""
    if pairs is None:
        return {}
    if isinstance(pairs, dict):
        return dict(pairs)
    out: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"option {pair!r} is not KEY=VALUE")
        out[key.strip()] = _scalar(value.strip())
    return out


def _scalar(text: str) -> Any:
    lowered = text.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


# --- vipexec label ------------------------------------------------------------------------------


def label_command(
    path: str | Path,
    labelers: str = "relevance,logic,attribute",
    *,
    output: str | Path | None = None,
    query: str | None = None,
    images: Sequence[str | Path] = (),
    checker: str = "synthetic-independent",
    checker_options: Sequence[str] | dict[str, Any] | None = None,
    suite: str | Path | None = None,
    backend: str = "synthetic",
    out: TextIO | None = None,
    err: TextIO | None = None,
) -> int:
    """Label a trace or program-tree JSON file in place (or into ``output``) and print a table.

    ``images`` are the run's image files (the attribute labeler re-asks calls on their pixels;
    a suite runs on them); ``query`` overrides the query recorded in the trace's meta.
    """
    from vipexec.labelers.apply import build_labelers, label_file
    from vipexec.labelers.base import LabelContext

    out = out or sys.stdout
    err = err or sys.stderr
    try:
        names = [n.strip() for n in labelers.split(",") if n.strip()]
        options: dict[str, dict[str, Any]] = {}
        if "attribute" in names:
            options["attribute"] = {
                "checker": checker,
                "checker_options": _parse_options(checker_options),
            }
        if "logic" in names:
            options["logic"] = {"backend": backend}
        built = build_labelers(names, options)
        store, refs = _load_images(images)
        inputs = {"image": refs[0]} if refs else None
        context = LabelContext(query=query, store=store, inputs=inputs, suite=suite)
        kind, item = label_file(path, built, output=output, context=context)
    except _BAD_INPUT as exc:
        return _fail(err, _one_line(exc))
    if kind == "trace":
        _print_labels(out, item, [labeler.name for labeler in built])
    else:
        print(f"labelled {len(item)} program(s) in the tree", file=out)
    return 0


def _load_images(paths: Sequence[str | Path]) -> tuple[Any, list[Any]]:
    if not paths:
        return None, []
    from vipexec.modules.images import ImageStore

    store = ImageStore()
    return store, [store.load(p) for p in paths]


def _print_labels(out: TextIO, run: Any, names: list[str]) -> None:
    header = f"{'block':>5}  {'step':>4}  " + "  ".join(f"{n:<10}" for n in names) + "  evidence"
    print(header, file=out)
    for trace in run.blocks:
        values = [_mark((trace.labels.get(n) or {}).get("value")) for n in names]
        negative = next(
            (
                trace.labels[n]["evidence"]["text"]
                for n in names
                if (trace.labels.get(n) or {}).get("value") is False
            ),
            "",
        )
        step = "" if trace.step is None else str(trace.step)
        row = f"{trace.index:>5}  {step:>4}  " + "  ".join(f"{v:<10}" for v in values)
        print(f"{row}  {terminal_text(_clip(negative, 70))}", file=out)


def _mark(value: Any) -> str:
    return {True: "yes", False: "NO", None: "-"}[value]


def _clip(text: str, width: int) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= width else text[: width - 1] + "…"


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


# --- vipexec test -------------------------------------------------------------------------------


def test_command(
    program: str | Path,
    suite: str | Path,
    inputs: Sequence[str | Path] = (),
    *,
    backend: str = "synthetic",
    backend_options: Sequence[str] | dict[str, Any] | None = None,
    lint: bool = True,
    isolate: bool = True,
    timeout: float = 10.0,
    out: TextIO | None = None,
    err: TextIO | None = None,
) -> int:
    """Run a property-test suite against a program; print a table (test, input, outcome,
    message); exit 0 only when every test passes.

    PropTest suites (``execute_test(image)`` functions, untrusted: an LLM wrote them) run on
    each INPUT image, the program and every test in a :class:`vipexec.Sandbox` worker with a
    ``timeout`` (``isolate=False``: in this process under the sandbox policy, no deadline).
    pytest suites (``test_*`` with the ``program`` fixture and
    :func:`vipexec.testing.scenes`) are the user's own code and generate their own scenes.
    """
    from vipexec.core.program import Program
    from vipexec.labelers.linter import lint_suite
    from vipexec.labelers.suites import Suite, run_suite

    out = out or sys.stdout
    err = err or sys.stderr
    try:
        loaded = Program.from_file(program)
        parsed = Suite.from_file(suite)
        options = _parse_options(backend_options)
        if parsed.kind == "proptest" and not inputs:
            raise ValueError("a PropTest suite runs on input images: give at least one INPUT")
        if lint:
            for finding in lint_suite(parsed):
                print(f"lint: {terminal_text(finding.describe(str(suite)))}", file=err)
        if parsed.kind == "pytest":
            outcomes = _run_pytest_suite(Path(program), Path(suite), backend, out, err)
        else:
            with _suite_executor(backend, options, isolate, timeout, err) as executor:
                refs = [executor.store.load(path) for path in inputs]
                outcomes = run_suite(
                    loaded,
                    parsed,
                    [{"image": ref} for ref in refs],
                    executor=executor,
                    input_names=[Path(p).name for p in inputs],
                )
    except _BAD_INPUT as exc:
        return _fail(err, _one_line(exc))
    _print_outcomes(out, outcomes)
    failed = [o for o in outcomes if o.outcome not in ("pass", "skipped")]
    return 1 if failed or not outcomes else 0


test_command.__test__ = False  # a command, not a pytest test, wherever it is imported


@contextlib.contextmanager
def _suite_executor(
    backend: str, options: dict[str, Any], isolate: bool, timeout: float, err: TextIO
) -> Iterator[Any]:
    from vipexec.labelers.execution import Executor

    if not isolate:
        yield Executor(backend, options)
        return
    from vipexec.sandbox.isolation.pool import Sandbox, SandboxError

    try:
        pool = Sandbox(workers=1, timeout=timeout, backend=backend, backend_options=options)
    except SandboxError as exc:
        print(f"vipexec: no sandbox worker ({exc}); running in this process", file=err)
        yield Executor(backend, options)
        return
    with pool:
        yield Executor(sandbox_pool=pool)


def _print_outcomes(out: TextIO, outcomes: list[Any]) -> None:
    # test names, inputs and messages come from the suite and the program: escaped for the terminal
    shown = [(terminal_text(o.test), terminal_text(o.input)) for o in outcomes]
    width = max([4, *(len(test) for test, _ in shown)])
    inputs = max([5, *(len(given) for _, given in shown)])
    print(f"{'test':<{width}}  {'input':<{inputs}}  {'outcome':<16}  message", file=out)
    for o, (test, given) in zip(outcomes, shown, strict=True):
        case = f"[case {o.case}] " if o.case is not None else ""
        message = terminal_text(_clip(case + o.message, 200))
        print(f"{test:<{width}}  {given:<{inputs}}  {o.outcome:<16}  {message}", file=out)
    counts: dict[str, int] = {}
    for o in outcomes:
        counts[o.outcome] = counts.get(o.outcome, 0) + 1
    summary = ", ".join(f"{n} {k}" for k, n in sorted(counts.items())) or "no tests ran"
    print(summary, file=out)


def _describe(exc: BaseException) -> str:
    """The exception's first line, plus hypothesis' falsifying example when it has one."""
    text = _one_line(exc)
    for note in getattr(exc, "__notes__", ()) or ():
        if note.startswith(("Falsifying example", "Failing test case")):
            example = " ".join(note.split())
            text += f" | {example}"
            break
    return text


def _classify(exception: Any) -> str:
    from vipexec.testing.pytest_plugin import ProgramFailed

    if exception is None:
        return "test_error"
    if isinstance(exception, type) and issubclass(exception, ProgramFailed):
        return "program_error"
    if isinstance(exception, type) and issubclass(exception, AssertionError):
        return "assertion_failed"
    return "test_error"


PLUGIN = "vipexec.testing.pytest_plugin"


def _plugin_args() -> list[str]:
    """``-p`` for the plugin unless pytest already loads it from its ``pytest11`` entry point
    (naming it twice is an error)."""
    import os
    from importlib.metadata import entry_points

    if not os.environ.get("PYTEST_DISABLE_PLUGIN_AUTOLOAD") and any(
        entry.value == PLUGIN for entry in entry_points(group="pytest11")
    ):
        return []
    return ["-p", PLUGIN]


def _run_pytest_suite(program: Path, suite: Path, backend: str, out: TextIO, err: TextIO):
    import pytest

    from vipexec.labelers.suites import TestOutcome

    class Collector:
        """Records one outcome per test, with the exception type that decided it."""

        def __init__(self) -> None:
            self.outcomes: list[TestOutcome] = []

        @pytest.hookimpl(hookwrapper=True)
        def pytest_runtest_makereport(self, item: Any, call: Any):
            outcome = yield
            report = outcome.get_result()
            if call.excinfo is not None and not report.skipped:
                report.vx_result = (_classify(call.excinfo.type), _describe(call.excinfo.value))

        def pytest_runtest_logreport(self, report: Any) -> None:
            name = report.nodeid.split("::", 1)[-1]
            if report.when == "call" or (report.when == "setup" and not report.passed):
                if report.passed:
                    self.outcomes.append(TestOutcome(name, "generated", "pass"))
                elif report.skipped:
                    self.outcomes.append(TestOutcome(name, "generated", "skipped"))
                else:
                    kind, message = getattr(report, "vx_result", ("test_error", ""))
                    self.outcomes.append(TestOutcome(name, "generated", kind, message))

    collector = Collector()
    args = [
        str(suite),
        *_plugin_args(),
        "-p",
        "no:cacheprovider",
        "--vipexec-program",
        str(program.resolve()),
        "--vipexec-backend",
        backend,
        "-p",
        "no:terminal",
    ]
    code = pytest.main(args, plugins=[collector])
    if code in (pytest.ExitCode.USAGE_ERROR, pytest.ExitCode.INTERNAL_ERROR):
        raise ValueError(f"{suite}: pytest could not run the suite (exit code {int(code)})")
    return collector.outcomes


# --- vipexec lint-suite -------------------------------------------------------------------------


def lint_command(suite: str | Path, *, out: TextIO | None = None, err: TextIO | None = None) -> int:
    """Print the linter's findings for a suite; exit 1 when there are any."""
    from vipexec.labelers.linter import lint_suite
    from vipexec.labelers.suites import Suite

    out = out or sys.stdout
    err = err or sys.stderr
    try:
        findings = lint_suite(Suite.from_file(suite))
    except _BAD_INPUT as exc:
        return _fail(err, _one_line(exc))
    for finding in findings:
        print(terminal_text(finding.describe(str(suite))), file=out)
    print(f"{len(findings)} finding(s)", file=out)
    return 1 if findings else 0


# --- vipexec label-quality ----------------------------------------------------------------------


# --- vipexec dataset ----------------------------------------------------------------------------


def dataset_command(
    output: str | Path,
    *,
    build: Callable[..., Any],
    scenes: int = 40,
    seed: int = 0,
    faults: int = 2,
    format: str | None = None,
    out: TextIO | None = None,
    err: TextIO | None = None,
) -> int:
    """Build a step dataset (JSONL or Parquet, by suffix or ``format``) from labelled synthetic
    programs; images are written next to it.

    ``build`` is the dataset builder (:func:`vipexec.dataset.build_synthetic_dataset`): it sits
    in a layer above the labelers, so the CLI passes it in.
    """
    out = out or sys.stdout
    err = err or sys.stderr
    try:
        if isinstance(scenes, bool) or not isinstance(scenes, int) or scenes < 1:
            raise ValueError(f"scenes must be a positive int, got {scenes!r}")
        summary = build(output, scenes=scenes, seed=seed, faults=faults, format=format)
    except _BAD_INPUT as exc:
        return _fail(err, _one_line(exc))
    print(summary.describe(), file=out)
    return 0
