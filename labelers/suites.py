"""Property-test suites: PropTest's format, run in the sandbox against a program.

A **PropTest suite** is a file of ``def execute_test(image)`` functions (any name starting with
``execute_test``) that call ``solve_query(image)`` and assert properties of the answer, with
``# Test case n:`` comments naming the cases (PropTest's prompt asks the LLM for exactly that).
Suites are untrusted code: each test runs as its own sandboxed program, after the program under
test has run on the input; ``solve_query`` returns that program's answer, as the live object
(a returned ``ImagePatch`` keeps its methods). In a sandbox worker, where a result leaves the
worker only as a summary, the program runs again inside the test's own sandboxed run; a suite
that rebinds one of the program's top-level names gets the summary's plain value instead.

Outcomes are kept apart, as PropTest does (its codes: 1 pass, 0 assertion error, 2 other):

- ``pass``;
- ``assertion_failed``: an ``assert`` of the test failed: the program's answer lacks a property;
- ``test_error``: the test itself is broken (syntax error, undefined name, a refused construct,
  a crash in its own code): *not* evidence against the program;
- ``program_error``: the program failed on that input, so its answer could not be tested.

Suites of ``test_*`` functions are **pytest suites** (hypothesis properties over generated
scenes, see :mod:`vipexec.testing`); :func:`run_pytest_suite` runs them with the ``program``
fixture.
"""

from __future__ import annotations

import ast
import io
import re
import tokenize
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vipexec.core.errors import InvalidArgumentError
from vipexec.core.program import Program
from vipexec.core.run import Run
from vipexec.labelers.execution import Executor

__all__ = ["OUTCOMES", "Suite", "SuiteTest", "TestOutcome", "run_suite"]

OUTCOMES = ("pass", "assertion_failed", "test_error", "program_error")
_CASE = re.compile(r"#\s*test\s*case\s*(\d+)", re.IGNORECASE)
_MAX_SUITE_BYTES = 1_000_000


@dataclass(frozen=True)
class SuiteTest:
    name: str
    lines: tuple[int, int]
    cases: tuple[tuple[int, int], ...] = ()
    """``(line, n)`` of each ``# Test case n`` comment inside the function"""

    def case_at(self, line: int | None) -> int | None:
        if line is None:
            return None
        found = None
        for case_line, number in self.cases:
            if case_line <= line:
                found = number
        return found


@dataclass
class Suite:
    """A parsed suite: ``kind`` is ``proptest`` or ``pytest``."""

    source: str
    name: str
    kind: str
    tests: list[SuiteTest]
    tree: ast.Module | None = field(default=None, repr=False)

    @classmethod
    def from_source(cls, source: str, name: str = "suite.py") -> Suite:
        if not isinstance(source, str):
            raise InvalidArgumentError(f"a suite is source text, not {type(source).__name__}")
        try:
            tree = ast.parse(source, filename=name)
        except SyntaxError as exc:
            raise InvalidArgumentError(
                f"{name}: the suite is not valid Python (line {exc.lineno}: {exc.msg})"
            ) from None
        functions = [n for n in tree.body if isinstance(n, ast.FunctionDef)]
        cases = _case_comments(source)
        proptest = [f for f in functions if f.name.startswith("execute_test")]
        pytest_style = [f for f in functions if f.name.startswith("test")]
        chosen, kind = (proptest, "proptest") if proptest else (pytest_style, "pytest")
        if not chosen:
            raise InvalidArgumentError(
                f"{name}: no tests found (define execute_test(image) functions, PropTest's "
                "format, or pytest test_* functions)"
            )
        tests = []
        for function in chosen:
            span = (function.lineno, function.end_lineno or function.lineno)
            inside = tuple((line, n) for line, n in cases if span[0] <= line <= span[1])
            tests.append(SuiteTest(function.name, span, inside))
        return cls(source, name, kind, tests, tree)

    @classmethod
    def from_file(cls, path: str | Path) -> Suite:
        path = Path(path)
        if not path.is_file():
            what = "is a directory" if path.is_dir() else "no such file"
            raise InvalidArgumentError(f"{path}: {what}")
        if path.stat().st_size > _MAX_SUITE_BYTES:
            raise InvalidArgumentError(f"{path}: too large for a test suite")
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise InvalidArgumentError(f"{path}: cannot be read ({exc})") from None
        return cls.from_source(text, str(path))

    @classmethod
    def coerce(cls, suite: Suite | str | Path) -> Suite:
        if isinstance(suite, Suite):
            return suite
        if isinstance(suite, Path) or (isinstance(suite, str) and "\n" not in suite):
            return cls.from_file(suite)
        return cls.from_source(suite)


def _case_comments(source: str) -> list[tuple[int, int]]:
    found = []
    try:
        for token in tokenize.generate_tokens(io.StringIO(source).readline):
            if token.type == tokenize.COMMENT:
                match = _CASE.match(token.string)
                if match:
                    found.append((token.start[0], int(match.group(1))))
    except (tokenize.TokenError, SyntaxError):
        pass
    return found


@dataclass(frozen=True)
class TestOutcome:
    """One test on one input."""

    __test__ = False  # not a pytest test class

    test: str
    input: str
    outcome: str
    message: str = ""
    case: int | None = None
    line: int | None = None

    @property
    def passed(self) -> bool:
        return self.outcome == "pass"

    def to_dict(self) -> dict[str, Any]:
        return {
            "test": self.test,
            "input": self.input,
            "outcome": self.outcome,
            "message": self.message,
            "case": self.case,
            "line": self.line,
        }


def run_suite(
    program: Program,
    suite: Suite | str | Path,
    inputs: list[dict[str, Any]],
    *,
    executor: Executor | None = None,
    input_names: list[str] | None = None,
    runs: list[Run] | None = None,
) -> list[TestOutcome]:
    """Run a PropTest suite against ``program`` on each inputs mapping; one outcome per test
    and input. ``runs`` may hold the program's runs on those inputs (else it is run here)."""
    suite = Suite.coerce(suite)
    if suite.kind != "proptest":
        raise InvalidArgumentError(
            f"{suite.name}: a pytest suite; run it with run_pytest_suite() (vipexec test does)"
        )
    executor = executor or Executor()
    names = input_names or [_input_name(i, item) for i, item in enumerate(inputs)]
    outcomes = []
    for position, item in enumerate(inputs):
        run = runs[position] if runs is not None else executor.run(program, item)
        for test in suite.tests:
            outcomes.append(_run_test(suite, test, program, run, item, names[position], executor))
    return outcomes


def _input_name(index: int, inputs: dict[str, Any]) -> str:
    value = next(iter(inputs.values()), None) if isinstance(inputs, dict) else None
    ident = getattr(value, "id", None)
    return f"input {index}" + (f" ({ident[:8]})" if isinstance(ident, str) else "")


def _run_test(
    suite: Suite,
    test: SuiteTest,
    program: Program,
    run: Run,
    inputs: dict[str, Any],
    input_name: str,
    executor: Executor,
) -> TestOutcome:
    if run.error is not None:
        return TestOutcome(
            test.name, input_name, "program_error", run.error.describe(), line=run.error.line
        )
    image = _first_input(inputs)
    live = not (
        executor.in_process
        or program.form != "function"
        or not isinstance(inputs, dict)
        or _suite_shadows_program(suite, program)
    )
    if not live:
        # In this process the run's result is the live object; a script's result is printed
        # plain data, which its summary holds exactly.
        answer = run.result if executor.in_process else Run.result_from_summary(run.result_summary)
        harness, offset = _harness(suite, test), 0
        result = executor.run(harness, {"image": image, "program_answer": answer})
    else:
        # A worker's result crosses the process boundary as a summary; to give the test the
        # live objects (patches keep their methods), the program runs again inside the
        # test's own sandboxed run.
        harness, offset = _live_harness(suite, test, program)
        result = executor.run(harness, {"image": image, "vx_program_inputs": inputs})
    error = result.error
    if error is None:
        return TestOutcome(test.name, input_name, "pass")
    line = error.line - offset if error.line is not None else None
    if line is not None and line < 1:
        return TestOutcome(
            test.name, input_name, "program_error", error.describe(), line=error.line
        )
    in_test = line is not None and test.lines[0] <= line <= test.lines[1]
    if error.kind == "runtime" and error.type == "AssertionError" and in_test:
        message = error.message or _source_line(suite.source, line)
        return TestOutcome(
            test.name, input_name, "assertion_failed", message, test.case_at(line), line
        )
    if error.kind in ("compile", "policy") and all(b.executions == 0 for b in result.blocks):
        message = f"the test does not compile: {error.message}"
    else:
        message = f"{error.kind} error: {error.type}: {error.message}"
    return TestOutcome(test.name, input_name, "test_error", message, test.case_at(line), line)


def _first_input(inputs: dict[str, Any]) -> Any:
    if isinstance(inputs, dict) and inputs:
        return inputs.get("image", next(iter(inputs.values())))
    return inputs


def _harness(suite: Suite, test: SuiteTest) -> Program:
    """The suite as a script that defines ``solve_query`` (giving the program's answer, passed
    in as ``program_answer``) and calls one test. The suite's lines keep their numbers."""
    # No def named solve_query/execute_command: the harness stays a script.
    return Program.from_source(_harness_source(suite, test), name=suite.name)


def _harness_source(suite: Suite, test: SuiteTest) -> str:
    return suite.source.rstrip("\n") + (
        "\n\n\ndef vx_program_answer(image):\n"
        "    return program_answer\n\n\n"
        "solve_query = vx_program_answer\n"
        f"{test.name}(image)\n"
    )


def _live_harness(suite: Suite, test: SuiteTest, program: Program) -> tuple[Program, int]:
    """The program, then the suite, then ``vx_run_test(image, vx_program_inputs)``, which runs
    the program and then the test on its answer; also how many lines precede the suite.

    The program's entry is taken before the suite is defined; a suite that rebinds one of the
    program's own top-level names would change the program, so it is not merged (None).
    """
    head = program.source.rstrip("\n") + f"\nvx_program_entry = {program.entry}\n"
    offset = head.count("\n")
    source = (
        head
        + suite.source.rstrip("\n")
        + (
            "\n\n\nvx_answers = []\n\n\n"
            "def vx_program_answer(image):\n"
            "    return vx_answers[0]\n\n\n"
            "solve_query = vx_program_answer\n\n\n"
            "def vx_run_test(image, vx_program_inputs):\n"
            "    vx_answers.append(vx_program_entry(**vx_program_inputs))\n"
            f"    {test.name}(image)\n"
        )
    )
    return Program.from_source(source, name=suite.name, entry="vx_run_test"), offset


def _top_level_names(tree: ast.Module) -> set[str]:
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((a.asname or a.name).split(".")[0] for a in node.names)
        else:
            for target in ast.walk(node):
                if isinstance(target, ast.Name) and isinstance(target.ctx, ast.Store):
                    names.add(target.id)
    return names


def _suite_shadows_program(suite: Suite, program: Program) -> bool:
    if suite.tree is None:
        return True
    program_names = _top_level_names(ast.parse(program.source)) - {program.entry}
    return bool(program_names & (_top_level_names(suite.tree) - {"solve_query"}))


def _source_line(source: str, line: int | None) -> str:
    if line is None:
        return "assertion failed"
    lines = source.splitlines()
    return lines[line - 1].strip() if 0 < line <= len(lines) else "assertion failed"
