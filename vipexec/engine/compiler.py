"""The one compile pipeline: parse -> policy transform -> block instrumentation -> compile."""

from __future__ import annotations

import ast
import linecache
from dataclasses import dataclass
from types import CodeType
from typing import TYPE_CHECKING

from vipexec.core.blocks import scan_source, split_blocks
from vipexec.core.errors import CompileError, CompileProblem
from vipexec.core.instrument import HIDDEN_NAMES, instrument_blocks
from vipexec.core.program import AST_LOCK, remember

if TYPE_CHECKING:
    from vipexec.core.program import Program


@dataclass(frozen=True)
class CompiledProgram:
    """A program's code object plus what the tracer needs to read it."""

    program: Program
    code: CodeType
    filename: str
    sandbox: bool
    bound_names: tuple[tuple[str, ...], ...]


def compile_program(
    program: Program, *, sandbox: bool, as_factory: bool = False
) -> CompiledProgram:
    """Compile ``program``; raises :class:`CompileError` listing every problem with its block.

    ``as_factory`` (function form only) compiles just the entry function, undecorated, inside
    ``def _vx_factory(<the instrumentation's hidden names>): ...; return <entry>``, so that the
    tracer's names are closure cells rather than globals: :func:`vipexec.traced` builds the
    function with the original module's globals and adds nothing to them.
    """
    if program.syntax_error is not None:
        raise CompileError([program.syntax_error], program.name)
    filename = program.filename
    key = (program.sha256, filename, program.entry, sandbox, as_factory)
    outcome = _COMPILED.get(key)
    if outcome is None:
        try:
            outcome = _compile(program, filename, sandbox=sandbox, as_factory=as_factory)
        except CompileError as exc:
            outcome = exc.problems
        remember(_COMPILED, key, outcome, len(program.source))
    if isinstance(outcome, list):
        raise CompileError(outcome, program.name)
    # Let tracebacks and debuggers show the program's lines.
    lines = program.source.splitlines(keepends=True)
    linecache.cache[filename] = (len(program.source), None, lines, filename)
    names = tuple(block.writes for block in program.blocks)
    return CompiledProgram(program, outcome, filename, sandbox, names)


_COMPILED: dict[tuple[str, str, str | None, bool, bool], CodeType | list[CompileProblem]] = {}
"""code (or the problems that refused it) by content hash, name and mode: the same program
text compiles once per process"""


def _compile(program: Program, filename: str, *, sandbox: bool, as_factory: bool) -> CodeType:
    parsed, program._parse = program._parse, None  # the policy rewrites the tree: use it once
    if parsed is None:
        with AST_LOCK:
            tree = ast.parse(program.source, filename=filename)
        scan = scan_source(program.source)
    else:
        tree, scan = parsed.tree, parsed.scan
    try:
        hoisting = sandbox and program.entry is not None and not as_factory
        entry = _entry_def(tree, program) if hoisting else None
        if sandbox:
            tree, builtin_reads = _apply_policy(tree, program, entry)
        spans = parsed.intact_spans() if parsed is not None else None
        if spans is None:
            spans = split_blocks(_entry_body(tree, program), scan)
        if len(spans) != len(program.blocks):  # pragma: no cover - a bug, not an input problem
            raise AssertionError("the policy transform changed the block structure")
        instrument_blocks(spans)
        if entry is not None:
            from vipexec.engine.hoist import hoist_builtins

            hoist_builtins(entry, builtin_reads)
        if as_factory:
            tree = _factory_module(tree, program)
        return _compile_located(tree, filename)
    except (SyntaxError, ValueError) as exc:
        line = getattr(exc, "lineno", None)
        problem = CompileProblem("compile", str(exc), line, program.block_at_line(line))
        raise CompileError([problem], program.name) from None
    except RecursionError:
        problem = CompileProblem("compile", "the program nests too deeply to compile", None, None)
        raise CompileError([problem], program.name) from None


def _compile_located(tree: ast.Module, filename: str) -> CodeType:
    # The transforms give their new nodes positions, so a pass over the whole tree to add
    # missing ones is only needed when some node still lacks one (compile() says so).
    try:
        with AST_LOCK:
            return compile(tree, filename, "exec", dont_inherit=True)
    except TypeError as exc:
        if "missing" not in str(exc):  # pragma: no cover - not a position problem
            raise
    ast.fix_missing_locations(tree)
    with AST_LOCK:
        return compile(tree, filename, "exec", dont_inherit=True)


def _apply_policy(
    tree: ast.Module, program: Program, entry: ast.FunctionDef | None
) -> tuple[ast.Module, list[ast.Name]]:
    """The policy-transformed tree, and the reads in ``entry`` of builtins it may hoist."""
    from vipexec.engine.hoist import NEVER_HOISTED
    from vipexec.sandbox.language.builtins import BUILTIN_NAMES
    from vipexec.sandbox.language.policy import ProgramPolicy

    hoistable = frozenset()
    if entry is not None:
        hoistable = BUILTIN_NAMES - NEVER_HOISTED - program.bound_anywhere
    policy = ProgramPolicy(entry, hoistable)
    tree = policy.visit(tree)
    if policy.problems:
        problems = [
            CompileProblem("policy", p.message, p.line, program.block_at_line(p.line))
            for p in sorted(policy.problems, key=lambda p: p.line or 0)
        ]
        raise CompileError(problems, program.name)
    return tree, policy.builtin_reads


FACTORY_NAME = "_vx_factory"


def _factory_module(tree: ast.Module, program: Program) -> ast.Module:
    entry = _entry_def(tree, program)
    entry.decorator_list = []
    factory = ast.FunctionDef(
        name=FACTORY_NAME,
        args=ast.arguments(
            posonlyargs=[],
            args=[ast.arg(arg=name) for name in HIDDEN_NAMES],
            kwonlyargs=[],
            kw_defaults=[],
            defaults=[],
        ),
        body=[entry, ast.Return(ast.Name(program.entry, ast.Load()))],
        decorator_list=[],
        returns=None,
        type_comment=None,
    )
    ast.copy_location(factory, entry)
    return ast.Module(body=[factory], type_ignores=[])


def _entry_body(tree: ast.Module, program: Program) -> list[ast.stmt]:
    return tree.body if program.entry is None else _entry_def(tree, program).body


def _entry_def(tree: ast.Module, program: Program) -> ast.FunctionDef:
    for node in reversed(tree.body):  # the last definition wins, as when the module runs
        if isinstance(node, ast.FunctionDef) and node.name == program.entry:
            return node
    raise AssertionError(f"entry {program.entry!r} vanished")  # pragma: no cover
