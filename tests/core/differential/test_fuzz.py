"""Property: for any valid Python program, vipexec either refuses it with a policy error or
runs it exactly as plain ``exec`` does.

Programs come from ``hypothesmith.from_grammar()`` (random programs from Python's grammar),
each checked as a script and, wrapped in ``def execute_command(image):``, as a function, and
both again with a ``# Step N:`` marker before every statement.
Compiling must never fail otherwise: without the sandbox every valid program compiles, and
with it the only acceptable compile failure is a policy refusal. A program the policy admits
must then end the same way in process with ``sandbox=False`` and ``sandbox=True`` as under
plain ``exec``: same result, same exception type and message, same printed text (the sandbox
may still stop it with a policy error at run time).

Generated code is arbitrary code, so it is only executed after the policy admitted it (no
underscore names or attributes), when it names none of the builtins the sandbox withholds and
imports only allow-listed modules, and after a forked child ran it to the end within a CPU,
memory and file-size limit. Programs failing those screens are rejected as examples (they say
nothing about the compile pipeline's semantics).

``VIPEXEC_FUZZ_EXAMPLES`` sets the number of examples of the deep run (``-m slow``). Most of
its time is Hypothesis drawing programs from the grammar (about nine draws in ten end invalid:
too deep, empty, or naming what must not run), so a long run is several processes with
distinct ``--hypothesis-seed`` values rather than one: see docs/sandbox.md.
"""

from __future__ import annotations

import ast
import os
import re
import resource
import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import hypothesmith
import pytest
from hypothesis import HealthCheck, Phase, event, given, reject, settings

from vipexec import CompileError, Program, ProgramSourceError
from vipexec.sandbox.language.builtins import FORBIDDEN, MODULE_EXPORTS

FAST = settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    # hypothesmith's targeting phase (mutating the largest programs found) costs more than
    # half the time and rarely reaches code the generate phase does not
    phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink],
)
DEEP = settings(FAST, max_examples=int(os.environ.get("VIPEXEC_FUZZ_EXAMPLES", "20000")))
pytestmark = pytest.mark.filterwarnings(
    # generated programs are full of odd literals ("invalid escape sequence", "'int' object is
    # not callable; perhaps you missed a comma?"): the compiler's warnings are not findings
    "ignore::SyntaxWarning",
    "ignore::DeprecationWarning",
)

PROGRAMS = hypothesmith.from_grammar(auto_target=False)
"""hypothesmith's auto-targeting only scores programs (a compile and two AST walks each) for
Hypothesis's target phase, which these settings leave out: without it, generating costs about
40% less and draws the same programs"""

CHILD_CPU_SECONDS = 2
"""CPU a program may use in the screening child: generated programs that finish do so in
microseconds, so this only separates them from runaway ones (e.g. ``9**9**9``)."""
CHILD_MEMORY_BYTES = 512 * 2**20
UNBOUNDED = 3
WITHHELD_NAMES = frozenset(FORBIDDEN) | {"__import__"}
ADDRESS = re.compile(r"0x[0-9a-fA-F]+")


def as_function(source: str) -> str | None:
    """``source`` as the body of ``execute_command``, if it is still valid Python there."""
    body = textwrap.indent(source, "    ") if source.strip() else ""
    wrapped = f"def execute_command(image):\n{body}\n    pass\n"
    try:
        compile(wrapped, "<wrapped>", "exec", dont_inherit=True)
    except (SyntaxError, ValueError):
        return None
    return wrapped


def with_step_markers(source: str) -> str | None:
    """``source`` with a ``# Step N:`` line before every line a statement starts on (at its
    indentation), if that is still valid Python: the block instrumentation then wraps
    every statement, nested ones included."""
    lines = source.splitlines(keepends=True)
    starts = sorted(
        {node.lineno for node in ast.walk(ast.parse(source)) if isinstance(node, ast.stmt)}
    )
    for number, lineno in enumerate(reversed(starts)):
        line = lines[lineno - 1]
        indent = line[: len(line) - len(line.lstrip(" \t\f"))]
        lines.insert(lineno - 1, f"{indent}# Step {len(starts) - number}: statement\n")
    marked = "".join(lines)
    try:
        compile(marked, "<marked>", "exec", dont_inherit=True)
    except (SyntaxError, ValueError):
        return None
    return marked


def safe_to_execute(source: str) -> bool:
    """No withheld builtin is named and only allow-listed modules are imported (the sandbox
    refuses both at run time, but plain ``exec`` would really do them)."""
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Name) and node.id in WITHHELD_NAMES:
            return False
        if isinstance(node, ast.Import) and any(
            alias.name not in MODULE_EXPORTS for alias in node.names
        ):
            return False
        if isinstance(node, ast.ImportFrom) and (node.level or node.module not in MODULE_EXPORTS):
            return False
    return True


def finishes_in_bounds(run_all) -> bool:
    """Whether ``run_all()`` (a list of outcomes) returns in a forked child within the CPU,
    memory and file-size limits (the outcomes are not needed: the child only proves the
    programs are bounded). One child screens every form of a generated program: a fork of
    the test process costs more than running the forms."""
    pid = os.fork()
    if pid == 0:  # the child: never returns into pytest
        code = 0
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, 1)
            os.dup2(devnull, 2)
            resource.setrlimit(resource.RLIMIT_CPU, (CHILD_CPU_SECONDS, CHILD_CPU_SECONDS + 1))
            resource.setrlimit(resource.RLIMIT_FSIZE, (0, 0))
            used = _address_space()
            resource.setrlimit(resource.RLIMIT_AS, (used + CHILD_MEMORY_BYTES,) * 2)
            for outcome in run_all():
                if outcome.status == "error" and outcome.detail[0] == "MemoryError":
                    code = UNBOUNDED
        except BaseException:  # e.g. SystemExit: not a program the in-process runs can take
            code = UNBOUNDED
        os._exit(code)
    _, status = os.waitpid(pid, 0)
    return os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0


def _address_space() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")


def normalized(outcome):
    """Object addresses (``<function f at 0x...>``) differ from run to run of one program."""
    return type(outcome)(
        outcome.status,
        ADDRESS.sub("0x?", repr(outcome.detail)),
        ADDRESS.sub("0x?", outcome.stdout),
    )


@dataclass(frozen=True)
class Comparison:
    """A form of a generated program that the policy admitted, and its plain-exec oracle."""

    program: Program
    inputs: list[None] | None
    oracle: Callable[[], Any]


def admitted_form(differential, source: str) -> Comparison | None:
    """Compile ``source`` both ways: None if the policy refuses it (the only acceptable
    compile failure), else what to compare; rejects the example if the source has no
    statement or does what plain ``exec`` must not really do."""
    try:
        program = Program.from_source(source, name="prog.py")
    except ProgramSourceError:
        # documented: a source without a statement is not a program
        assert not ast.parse(source).body, source
        reject()
    # Valid Python always compiles without the sandbox; with it, only the policy may refuse.
    program.compile(sandbox=False)
    try:
        program.compile(sandbox=True)
    except CompileError as exc:
        assert exc.kind == "policy", f"{exc}\n{source}"
        event("refused at compile time")
        return None
    if not safe_to_execute(source):
        reject()
    inputs = [None] if program.form == "function" else None

    def oracle():
        return differential.plain_exec(source, {}, inputs, form=program.form, entry=program.entry)

    return Comparison(program, inputs, oracle)


def compare(differential, form: Comparison) -> None:
    """Plain ``exec`` and both in-process runs end the same way."""
    program = form.program
    expected = normalized(form.oracle())
    for sandbox in (False, True):
        run = program.run_in_process({}, form.inputs, policy=sandbox)
        got = differential.run_outcome(run)
        if sandbox and got.refused:
            event("refused at run time")
            continue
        assert normalized(got) == expected, (
            differential.explain(f"sandbox={sandbox}", got, expected) + "\n" + program.source
        )
    event(f"compared ({program.form} form, {expected.status})")


def every_form(source: str) -> list[str]:
    """The program as generated, as a function body, and both again with step markers."""
    forms = []
    for variant in (source, with_step_markers(source)):
        if variant is None:
            continue
        forms.append(variant)
        wrapped = as_function(variant)
        if wrapped is not None:
            forms.append(wrapped)
    return forms


def check_every_form(differential, source: str) -> None:
    admitted = [c for c in (admitted_form(differential, f) for f in every_form(source)) if c]
    if not admitted:
        return
    if not finishes_in_bounds(lambda: [form.oracle() for form in admitted]):
        reject()
    for form in admitted:
        compare(differential, form)


@FAST
@given(source=PROGRAMS)
def test_generated_programs_are_refused_or_run_as_python_runs_them(differential, source):
    check_every_form(differential, source)


@pytest.mark.slow
@DEEP
@given(source=PROGRAMS)
def test_generated_programs_deep_run(differential, source):
    check_every_form(differential, source)
