"""Splitting a program into step blocks.

A block is a run of consecutive statements of one statement list. ``# Step N: description``
comments (found with ``tokenize``: comments are not in the AST) start blocks; a marker inside a
compound statement (a loop body, say) starts a *nested* block that is recorded every time that
body runs. Without markers, every top-level statement of the entry body is a block.

The same function splits the parsed source (to describe the blocks) and the policy-transformed
tree (to instrument them): both keep statement line numbers, so both give the same blocks.
"""

from __future__ import annotations

import ast
import bisect
import io
import re
import tokenize
from dataclasses import dataclass
from functools import cached_property

MARKER = re.compile(r"#\s*step\s*(\d+)\s*[:.)\-]?\s*(.*?)\s*$", re.IGNORECASE)
"""``# Step 3: count the cars`` (also ``# step 3 - ...``, ``# Step 3.``); the number is the step"""


@dataclass(frozen=True)
class Marker:
    line: int
    step: int
    description: str


@dataclass(frozen=True)
class SourceScan:
    """What the tokenizer tells about a source: step markers and the lines that hold code."""

    markers: tuple[Marker, ...]
    """in line order"""
    code_lines: frozenset[int]

    @cached_property
    def _marker_lines(self) -> list[int]:
        return [marker.line for marker in self.markers]

    @cached_property
    def _sorted_code_lines(self) -> list[int]:
        return sorted(self.code_lines)

    def marker_before(self, line: int) -> Marker | None:
        """The last marker above ``line`` with only comments and blank lines in between."""
        # Binary searches: splitting asks this once per statement, so it must not scan.
        position = bisect.bisect_left(self._marker_lines, line)
        if position == 0:
            return None
        found = self.markers[position - 1]
        code = self._sorted_code_lines
        next_code = bisect.bisect_right(code, found.line)
        if next_code < len(code) and code[next_code] < line:
            return None
        return found

    def marker_at(self, line: int) -> Marker | None:
        position = bisect.bisect_left(self._marker_lines, line)
        if position < len(self.markers) and self.markers[position].line == line:
            return self.markers[position]
        return None


@dataclass
class BlockSpan:
    """Where a block's statements live in a tree: ``body[start:stop]``."""

    body: list[ast.stmt]
    start: int
    stop: int
    marker: Marker | None
    parent: int | None

    @property
    def statements(self) -> list[ast.stmt]:
        return self.body[self.start : self.stop]

    @property
    def first_line(self) -> int:
        return self.marker.line if self.marker else first_line(self.body[self.start])

    @property
    def last_line(self) -> int:
        last = self.body[self.stop - 1]
        return last.end_lineno or last.lineno


def first_line(stmt: ast.stmt) -> int:
    decorators = getattr(stmt, "decorator_list", None)
    if not decorators:
        return stmt.lineno
    return min(stmt.lineno, *(d.lineno for d in decorators))


def scan_source(source: str) -> SourceScan:
    """Find step markers (comments alone on their line) and the lines holding code."""
    if _SPANS_LINES.search(source) is None:
        # No token can span lines (no triple-quoted string, no backslash continuation, no
        # lone CR), so every line holds its own tokens: reading lines gives what the
        # tokenizer would, at a fraction of its cost.
        return _scan_lines(source.split("\n"))
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(source).readline))
    except (tokenize.TokenError, SyntaxError):
        return _scan_by_line(source)
    markers = []
    code_lines: set[int] = set()
    for tok in tokens:
        if tok.type == tokenize.COMMENT:
            match = MARKER.match(tok.string)
            if match and tok.start[0] not in code_lines:
                markers.append(Marker(tok.start[0], int(match[1]), match[2]))
        elif tok.type not in _LAYOUT_TOKENS:
            code_lines.update(range(tok.start[0], tok.end[0] + 1))
    return SourceScan(tuple(markers), frozenset(code_lines))


_LAYOUT_TOKENS = frozenset(
    {tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT, tokenize.ENDMARKER}
)


_SPANS_LINES = re.compile(r"""\"\"\"|'''|\\(\r?\n|$)|\r""")


def _scan_by_line(source: str) -> SourceScan:
    # For text that does not tokenize (it will not compile either): still show its steps.
    return _scan_lines(source.splitlines())


def _scan_lines(lines: list[str]) -> SourceScan:
    markers = []
    code_lines = set()
    for number, line in enumerate(lines, start=1):
        stripped = line.strip()
        if stripped.startswith("#"):
            match = MARKER.match(stripped)
            if match:
                markers.append(Marker(number, int(match[1]), match[2]))
        elif stripped:
            code_lines.add(number)
    return SourceScan(tuple(markers), frozenset(code_lines))


MAX_BLOCKS = 5_000
"""Generated programs have tens of steps; past this a source is refused before compiling."""
MAX_BLOCK_DEPTH = 32
"""how deep step blocks may nest inside one another"""


class BlockLimitError(ValueError):
    """A source with more blocks, or more deeply nested ones, than a program can have."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(f"line {line}: {message}")
        self.line = line


def split_blocks(entry_body: list[ast.stmt], scan: SourceScan) -> list[BlockSpan]:
    """Blocks of ``entry_body`` in line order (nested blocks right after their parent).

    A leading docstring and ``from __future__`` imports are not blocks: they are not steps,
    and a future import cannot be wrapped. Raises :class:`BlockLimitError` past
    :data:`MAX_BLOCKS` blocks or :data:`MAX_BLOCK_DEPTH` levels of nesting.
    """
    skip = _preamble_length(entry_body)
    if skip == len(entry_body):
        return []
    first = first_line(entry_body[skip])
    last = entry_body[-1].end_lineno or entry_body[-1].lineno
    has_markers = scan.marker_before(first) is not None or any(
        first < marker.line <= last for marker in scan.markers
    )
    if not has_markers:
        if len(entry_body) - skip > MAX_BLOCKS:
            _too_many(first_line(entry_body[skip + MAX_BLOCKS]))
        return [BlockSpan(entry_body, i, i + 1, None, None) for i in range(skip, len(entry_body))]
    spans: list[BlockSpan] = []
    _split_list(entry_body, scan, None, spans, [], first=skip)
    return spans


def check_block_count(count: int, line: int) -> None:
    """Refuse a source whose ``count``-th block starts at ``line`` if that is too many."""
    if count > MAX_BLOCKS:
        _too_many(line)


def _too_many(line: int) -> None:
    raise BlockLimitError(line, f"more than {MAX_BLOCKS} step blocks (a program has tens)")


def _preamble_length(body: list[ast.stmt]) -> int:
    count = 0
    for stmt in body:
        is_docstring = (
            count == 0
            and isinstance(stmt, ast.Expr)
            and isinstance(stmt.value, ast.Constant)
            and isinstance(stmt.value.value, str)
        )
        is_future = isinstance(stmt, ast.ImportFrom) and stmt.module == "__future__"
        if not (is_docstring or is_future):
            break
        count += 1
    return count


def _split_list(
    body: list[ast.stmt],
    scan: SourceScan,
    parent: int | None,
    spans: list[BlockSpan],
    depths: list[int],
    *,
    first: int | None = None,
) -> None:
    """Split one statement list; ``first`` is set for the entry body, whose code before the
    first marker is a block of its own (in nested lists that code belongs to the parent).
    ``depths[i]`` is how many blocks enclose block ``i``."""
    # Depth-first, statements in order: spans come out in line order, parents first.
    open_span: int | None = None
    depth = 0 if parent is None else depths[parent] + 1
    for position, stmt in enumerate(body):
        if first is not None and position < first:
            continue
        marker = scan.marker_before(first_line(stmt))
        if marker is not None or position == first:
            line = marker.line if marker else first_line(stmt)
            check_block_count(len(spans) + 1, line)
            if depth >= MAX_BLOCK_DEPTH:
                raise BlockLimitError(
                    line, f"step blocks nested more than {MAX_BLOCK_DEPTH} levels deep"
                )
            spans.append(BlockSpan(body, position, position + 1, marker, parent))
            depths.append(depth)
            open_span = len(spans) - 1
        elif open_span is not None:
            spans[open_span].stop = position + 1
        owner = open_span if open_span is not None else parent
        for child in _child_bodies(stmt):
            _split_list(child, scan, owner, spans, depths)


COMPOUND_STATEMENTS = (
    ast.For,
    ast.AsyncFor,
    ast.While,
    ast.If,
    ast.With,
    ast.AsyncWith,
    ast.Try,
    ast.TryStar,
    ast.Match,
    ast.FunctionDef,
    ast.AsyncFunctionDef,
    ast.ClassDef,
)
"""statements that hold statement lists"""


def _child_bodies(stmt: ast.stmt) -> list[list[ast.stmt]]:
    """Statement lists nested in ``stmt`` that run as part of it, in line order.

    Class bodies are left out: they run once, at definition, and a step inside a class body
    would not be a step of the reasoning.
    """
    if not isinstance(stmt, COMPOUND_STATEMENTS) or isinstance(stmt, ast.ClassDef):
        return []
    bodies = []
    for name in ("body", "orelse", "finalbody"):
        child = getattr(stmt, name, None)
        if isinstance(child, list) and child and isinstance(child[0], ast.stmt):
            bodies.append(child)
    bodies.extend(handler.body for handler in getattr(stmt, "handlers", None) or [])
    bodies.extend(case.body for case in getattr(stmt, "cases", None) or [])
    bodies.sort(key=lambda child: first_line(child[0]))
    return bodies
