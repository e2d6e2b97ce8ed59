"""Programs and their step blocks.

Two program forms are accepted:

- **function form** (ViperGPT, PropTest): the source defines ``def execute_command(...)`` (any
  parameter list; ``solve_query`` is accepted too, or name one with ``entry=``). Its body holds
  the blocks; the function's return value is the result.
- **script form** (SVIP least-to-most): top-level statements are the blocks. The result is the
  value printed last before the line ``Work is Done!``; without that line, the value printed
  last; with no print at all, ``None``. A ``print`` of one value gives that value (a number stays
  a number); several values give the printed text.
"""

from __future__ import annotations

import ast
import hashlib
import os
import threading
import warnings
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vipexec.core.blocks import (
    MAX_BLOCKS,
    BlockLimitError,
    BlockSpan,
    SourceScan,
    check_block_count,
    scan_source,
    split_blocks,
)
from vipexec.core.errors import (
    CompileProblem,
    InvalidArgumentError,
    ProgramSourceError,
    VipexecError,
)
from vipexec.core.names import NameAnalysis
from vipexec.core.registry import Registry

AST_LOCK = threading.Lock()
"""Held by every parse and every compile of a syntax tree in this process: CPython 3.11 keeps
the AST converter's recursion depth per interpreter, not per thread, so two threads converting
at once can fail with "SystemError: AST constructor recursion depth mismatch" (seen under load
when ``Sandbox.map`` parsed on its threads)."""

if TYPE_CHECKING:
    from vipexec.core.run import Run
    from vipexec.core.tracer import TraceLimits
    from vipexec.engine.compiler import CompiledProgram

ENTRY_NAMES = ("execute_command", "solve_query")
PROGRAM_FILE_PREFIX = "<vipexec:"
"""how the filenames of programs' code objects start (no real file's name does): frames of a
program are told apart from vipexec's own by it"""
STAGES = Registry(
    "program stage",
    VipexecError,
    {
        "compile": "vipexec.engine.compiler:compile_program",
        "run_in_process": "vipexec.engine.execute:execute",
    },
)
"""The stages :meth:`Program.compile` and :meth:`Program.run_in_process` hand over to. They live
in :mod:`vipexec.engine`, a layer above this module (they take a Program), so they are named
here and imported on first call rather than imported: the layers stay one-way."""
_PARSED: dict[tuple[str, str, str | None], tuple[Any, ...]] = {}
"""what parsing a (text, name, entry) gave, so the same program text is parsed once per process"""
MAX_CACHED_PROGRAMS = 256
MAX_CACHED_CHARS = 100_000
"""the per-process caches of parses and compiled code hold at most this many programs, each
at most this long (generated programs are a few KB)"""
_CACHE_LOCK = threading.Lock()


def remember(cache: dict[Any, Any], key: Any, value: Any, size: int) -> None:
    """Put ``value`` in one of the per-process caches, evicting the oldest entry when full."""
    if size > MAX_CACHED_CHARS:
        return
    with _CACHE_LOCK:  # programs may be parsed and compiled on several threads at once
        if len(cache) >= MAX_CACHED_PROGRAMS:
            del cache[next(iter(cache))]
        cache[key] = value


MAX_SOURCE_BYTES = 1_000_000
"""Generated programs are a few KB; anything past this is refused before parsing."""


@dataclass(frozen=True)
class Block:
    """One step of a program: a run of statements, usually introduced by ``# Step N: ...``."""

    index: int
    step: int | None
    description: str
    lines: tuple[int, int]
    source: str
    parent: int | None = None
    writes: tuple[str, ...] = ()
    """names the block binds (these are the variables its trace records)"""
    reads: tuple[str, ...] = ()
    """names the block reads that it did not bind first"""

    def to_dict(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "step": self.step,
            "description": self.description,
            "lines": list(self.lines),
            "source": self.source,
            "parent": self.parent,
            "writes": list(self.writes),
            "reads": list(self.reads),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Block:
        return cls(
            index=data["index"],
            step=data.get("step"),
            description=data.get("description", ""),
            lines=tuple(data["lines"]),
            source=data.get("source", ""),
            parent=data.get("parent"),
            writes=tuple(data.get("writes", ())),
            reads=tuple(data.get("reads", ())),
        )


@dataclass(frozen=True)
class ParsedSource:
    """A source's syntax tree, token scan and block spans, until a compile takes them."""

    tree: ast.Module
    scan: SourceScan
    spans: tuple[BlockSpan, ...]
    anchors: tuple[tuple[ast.stmt, int], ...]
    """each span's first statement and its list's length, to tell the spans still hold"""

    @classmethod
    def of(cls, tree: ast.Module, scan: SourceScan, spans: list[BlockSpan]) -> ParsedSource:
        anchors = tuple((span.body[span.start], len(span.body)) for span in spans)
        return cls(tree, scan, tuple(spans), anchors)

    def intact_spans(self) -> list[BlockSpan] | None:
        """The spans, if every one still starts at the statement it started at (a transform
        that replaced or removed statements means splitting again)."""
        for span, (first, length) in zip(self.spans, self.anchors):
            if len(span.body) != length or span.body[span.start] is not first:
                return None
        return list(self.spans)


@dataclass(eq=False)
class Program:
    """A parsed program: source, form, entry point and blocks. Build with ``from_source``."""

    source: str
    name: str
    form: str
    entry: str | None
    params: tuple[str, ...]
    blocks: tuple[Block, ...]
    syntax_error: CompileProblem | None = None
    optional_params: frozenset[str] = frozenset()
    """entry parameters that have a default value"""
    bound_anywhere: frozenset[str] = frozenset()
    """every name the program binds in any scope"""
    _compiled: dict[bool, CompiledProgram] = field(default_factory=dict, repr=False)
    _parse: ParsedSource | None = field(default=None, repr=False)
    """the parse ``from_source`` made, handed to the first compile so it need not parse again"""

    # --- construction -------------------------------------------------------------------------

    @classmethod
    def from_source(
        cls,
        source: str | bytes,
        name: str | None = None,
        *,
        entry: str | None = None,
        max_bytes: int = MAX_SOURCE_BYTES,
    ) -> Program:
        """Parse ``source`` into a Program.

        Raises :class:`ProgramSourceError` for input that is not a program at all (not UTF-8,
        binary, empty, too large, too many blocks). Source that is text but not valid Python
        still gives a Program: its ``syntax_error`` is set and running it reports a compile
        error per block.
        """
        name = name or "program"
        text = _decode(source, name, max_bytes)
        key = (text, name, entry)
        parts = _PARSED.get(key)
        if parts is not None:
            return cls(text, name, *parts)
        scan = scan_source(text)
        try:
            with AST_LOCK:
                tree = ast.parse(text, filename=name)
        except SyntaxError as exc:
            return cls._unparsable(text, name, scan, exc)
        except (ValueError, MemoryError, RecursionError) as exc:
            raise ProgramSourceError(f"{name}: cannot be parsed: {exc}") from None
        entry_def = _find_entry(tree, entry, name)
        body = entry_def.body if entry_def else tree.body
        try:
            spans = split_blocks(body, scan)
        except BlockLimitError as exc:
            raise ProgramSourceError(f"{name}: {exc}") from None
        names = NameAnalysis(tree)
        blocks = _describe_blocks(text, spans, names)
        params, optional = _parameters(entry_def) if entry_def else ((), frozenset())
        form = "function" if entry_def else "script"
        entry_name = entry_def.name if entry_def else None
        parts = (form, entry_name, params, blocks, None, optional, frozenset(names.bound_anywhere))
        remember(_PARSED, key, parts, len(text))
        return cls(text, name, *parts, _parse=ParsedSource.of(tree, scan, spans))

    @classmethod
    def from_file(cls, path: str | os.PathLike[str], *, entry: str | None = None) -> Program:
        """Read and parse a program file; unreadable files raise :class:`ProgramSourceError`."""
        path = Path(path)
        if not path.exists():
            raise ProgramSourceError(f"{path}: no such file")
        if path.is_dir():
            raise ProgramSourceError(f"{path}: is a directory, not a program file")
        try:
            size = path.stat().st_size
            if size > MAX_SOURCE_BYTES:
                raise ProgramSourceError(
                    f"{path}: {size / 1e6:.1f} MB is too large for a program "
                    f"(limit {MAX_SOURCE_BYTES / 1e6:.0f} MB)"
                )
            data = path.read_bytes()
        except OSError as exc:
            raise ProgramSourceError(f"{path}: cannot be read: {exc.strerror or exc}") from None
        return cls.from_source(data, name=str(path), entry=entry)

    @classmethod
    def _unparsable(cls, text: str, name: str, scan: SourceScan, exc: SyntaxError) -> Program:
        """A program that does not parse: blocks from markers, else from indentation."""
        lines = text.splitlines()
        starts = [marker.line for marker in scan.markers] or _statement_starts(lines)
        if len(starts) > MAX_BLOCKS:
            try:
                check_block_count(len(starts), starts[MAX_BLOCKS])
            except BlockLimitError as limit:
                raise ProgramSourceError(f"{name}: {limit}") from None
        blocks = []
        for index, start in enumerate(starts):
            stop = starts[index + 1] - 1 if index + 1 < len(starts) else len(lines)
            marker = scan.marker_at(start)
            blocks.append(
                Block(
                    index=index,
                    step=marker.step if marker else None,
                    description=marker.description if marker else "",
                    lines=(start, max(start, stop)),
                    source="\n".join(lines[start - 1 : stop]),
                )
            )
        line = exc.lineno
        block = _block_at(blocks, line)
        problem = CompileProblem("compile", f"{type(exc).__name__}: {exc.msg}", line, block)
        form = "function" if any(f"def {e}(" in text for e in ENTRY_NAMES) else "script"
        return cls(text, name, form, None, (), tuple(blocks), syntax_error=problem)

    # --- derived views ------------------------------------------------------------------------

    @property
    def filename(self) -> str:
        """The filename of the program's code objects (see :data:`PROGRAM_FILE_PREFIX`)."""
        return f"{PROGRAM_FILE_PREFIX}{self.name}>"

    @cached_property
    def sha256(self) -> str:
        return hashlib.sha256(self.source.encode()).hexdigest()

    def block_at_line(self, line: int | None) -> int | None:
        """Index of the innermost block whose lines contain ``line``."""
        return _block_at(self.blocks, line)

    def segments(self) -> list[str]:
        """The source cut at block starts: ``"".join(segments()) == source``.

        Segment ``i`` runs from block ``i``'s first line to the line before block ``i+1``; the
        first also holds whatever precedes it (imports, the ``def`` line), the last whatever
        follows. Program trees key their nodes on these.
        """
        lines = self.source.splitlines(keepends=True)
        if not self.blocks:
            return [self.source]
        starts = [block.lines[0] for block in self.blocks]
        starts[0] = 1
        out = []
        for k, start in enumerate(starts):
            stop = starts[k + 1] - 1 if k + 1 < len(starts) else len(lines)
            out.append("".join(lines[start - 1 : stop]))
        return out

    # --- compile and run ----------------------------------------------------------------------

    def compile(self, *, sandbox: bool = True) -> CompiledProgram:
        """Compile once per mode; raises :class:`vipexec.CompileError` with every problem."""
        compiled = self._compiled.get(sandbox)
        if compiled is None:
            compiled = STAGES.resolve("compile")(self, sandbox=sandbox)
            self._compiled[sandbox] = compiled
        return compiled

    def run_in_process(
        self,
        namespace: dict[str, Any] | None = None,
        inputs: Any = None,
        *,
        policy: bool = True,
        limits: TraceLimits | None = None,
    ) -> Run:
        """Run in this process, with no process isolation and no deadline, and return the traced
        :class:`vipexec.Run`.

        ``inputs`` are the entry function's arguments (a dict by name, or a list/tuple in
        order); for a script they become global names (a dict). ``namespace`` supplies the API
        (``ImagePatch`` and friends). With ``policy=True`` the sandbox language policy applies
        and the caller's objects are reached only through proxies of their public methods; with
        ``policy=False`` the program is trusted and sees the objects as given. Untrusted code
        belongs in a :class:`vipexec.Sandbox` pool (worker processes, deadlines, memory limits).
        """
        execute = STAGES.resolve("run_in_process")
        return execute(self, namespace=namespace, inputs=inputs, sandbox=policy, limits=limits)

    def run(
        self,
        namespace: dict[str, Any] | None = None,
        inputs: Any = None,
        *,
        sandbox: bool = True,
        limits: TraceLimits | None = None,
    ) -> Run:
        """Deprecated for one release: :meth:`run_in_process` (``policy`` is this ``sandbox``)."""
        warnings.warn(
            "Program.run is deprecated: use Program.run_in_process(policy=...) (this process, "
            "no isolation) or a vipexec.Sandbox pool",
            DeprecationWarning,
            stacklevel=2,
        )
        return self.run_in_process(namespace, inputs, policy=sandbox, limits=limits)

    def __repr__(self) -> str:
        return f"Program(name={self.name!r}, form={self.form!r}, blocks={len(self.blocks)})"


def _decode(source: str | bytes, name: str, max_bytes: int) -> str:
    if isinstance(source, (bytes, bytearray)):
        if len(source) > max_bytes:
            raise ProgramSourceError(
                f"{name}: {len(source) / 1e6:.1f} MB is too large for a program "
                f"(limit {max_bytes / 1e6:.0f} MB)"
            )
        if b"\x00" in source:
            raise ProgramSourceError(f"{name}: binary data (NUL bytes), not a Python program")
        try:
            text = bytes(source).decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            line = source[: exc.start].count(b"\n") + 1
            raise ProgramSourceError(
                f"{name}: not UTF-8 text (byte 0x{source[exc.start]:02x} on line {line})"
            ) from None
    elif isinstance(source, str):
        text = source
        if len(text) > max_bytes:
            raise ProgramSourceError(
                f"{name}: {len(text) / 1e6:.1f} MB is too large for a program "
                f"(limit {max_bytes / 1e6:.0f} MB)"
            )
        if "\x00" in text:
            raise ProgramSourceError(f"{name}: contains NUL characters, not a Python program")
    else:
        raise InvalidArgumentError(
            f"program source must be str or bytes, not {type(source).__name__}"
        )
    if not any(line.strip() and not line.lstrip().startswith("#") for line in text.splitlines()):
        raise ProgramSourceError(f"{name}: the program is empty (no code)")
    return text


def _find_entry(tree: ast.Module, entry: str | None, name: str) -> ast.FunctionDef | None:
    defs = {n.name: n for n in tree.body if isinstance(n, ast.FunctionDef)}
    if entry is not None:
        if entry not in defs:
            raise ProgramSourceError(f"{name}: no top-level function named {entry!r}")
        return defs[entry]
    for candidate in ENTRY_NAMES:
        if candidate in defs:
            return defs[candidate]
    return None


def _parameters(fn: ast.FunctionDef) -> tuple[tuple[str, ...], frozenset[str]]:
    """Parameter names (``*args``/``**kw`` keep their stars) and those with defaults."""
    args = fn.args
    positional = [a.arg for a in (*args.posonlyargs, *args.args)]
    optional = set(positional[len(positional) - len(args.defaults) :])
    optional.update(a.arg for a, d in zip(args.kwonlyargs, args.kw_defaults) if d is not None)
    names = list(positional)
    if args.vararg:
        names.append("*" + args.vararg.arg)
    names.extend(a.arg for a in args.kwonlyargs)
    if args.kwarg:
        names.append("**" + args.kwarg.arg)
    return tuple(names), frozenset(optional)


def _describe_blocks(text: str, spans: list[BlockSpan], names: NameAnalysis) -> tuple[Block, ...]:
    lines = text.splitlines()
    blocks = []
    for index, span in enumerate(spans):
        first, last = span.first_line, span.last_line
        marker = span.marker
        blocks.append(
            Block(
                index=index,
                step=marker.step if marker else None,
                description=marker.description if marker else "",
                lines=(first, last),
                source="\n".join(lines[first - 1 : last]),
                parent=span.parent,
                writes=names.writes(span.statements),
                reads=names.reads(span.statements),
            )
        )
    return tuple(blocks)


def _statement_starts(lines: list[str]) -> list[int]:
    """Lines that start a top-level statement of the entry body, judged by indentation.

    Only for text that does not parse (the AST is not available): it keeps compile errors
    attributed to a plausible block, as the per-statement fallback does for valid programs.
    """
    entry = next(
        (n for n, line in enumerate(lines, 1) for e in ENTRY_NAMES if line.startswith(f"def {e}(")),
        None,
    )
    body_from = entry + 1 if entry else 1
    indent = None
    starts = []
    for number in range(body_from, len(lines) + 1):
        line = lines[number - 1]
        stripped = line.lstrip()
        if not stripped or stripped.startswith("#"):
            continue
        width = len(line) - len(stripped)
        if indent is None:
            indent = width
        if width == indent:
            starts.append(number)
        elif width < indent:
            break
    return starts or [1]


def _block_at(blocks: tuple[Block, ...] | list[Block], line: int | None) -> int | None:
    if line is None:
        return None
    found = None
    for block in blocks:
        if block.lines[0] <= line <= block.lines[1]:
            found = block.index  # later blocks that contain the line are nested deeper
    return found
