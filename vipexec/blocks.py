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
import io
import re
import tokenize
from dataclasses import dataclass

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
    code_lines: frozenset[int]

    def marker_before(self, line: int) -> Marker | None:
        """The last marker above ``line`` with only comments and blank lines in between."""
        found = None
        for marker in self.markers:
            if marker.line >= line:
                break
            found = marker
        if found is None:
            return None
        if any(found.line < code < line for code in self.code_lines):
            return None
        return found


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
    decorators = getattr(stmt, "decorator_list", None) or []
    return min([stmt.lineno, *(d.lineno for d in decorators)])


def scan_source(source: str) -> SourceScan:
    """Find step markers (comments alone on their line) and the lines holding code."""
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


def _scan_by_line(source: str) -> SourceScan:
    # For text that does not tokenize (it will not compile either): still show its steps.
    markers = []
    code_lines = set()
    for number, line in enumerate(source.splitlines(), start=1):
        stripped = line.strip()
        match = MARKER.match(stripped)
        if match:
            markers.append(Marker(number, int(match[1]), match[2]))
        elif stripped and not stripped.startswith("#"):
            code_lines.add(number)
    return SourceScan(tuple(markers), frozenset(code_lines))


def split_blocks(entry_body: list[ast.stmt], scan: SourceScan) -> list[BlockSpan]:
    """Blocks of ``entry_body`` in line order (nested blocks right after their parent).

    A leading docstring and ``from __future__`` imports are not blocks: they are not steps,
    and a future import cannot be wrapped.
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
        return [BlockSpan(entry_body, i, i + 1, None, None) for i in range(skip, len(entry_body))]
    spans: list[BlockSpan] = []
    _split_list(entry_body, scan, None, spans, first=skip)
    return spans


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
    *,
    first: int | None = None,
) -> None:
    """Split one statement list; ``first`` is set for the entry body, whose code before the
    first marker is a block of its own (in nested lists that code belongs to the parent)."""
    # Depth-first, statements in order: spans come out in line order, parents first.
    open_span: int | None = None
    for position, stmt in enumerate(body):
        if first is not None and position < first:
            continue
        marker = scan.marker_before(first_line(stmt))
        if marker is not None or position == first:
            spans.append(BlockSpan(body, position, position + 1, marker, parent))
            open_span = len(spans) - 1
        elif open_span is not None:
            spans[open_span].stop = position + 1
        owner = open_span if open_span is not None else parent
        for child in _child_bodies(stmt):
            _split_list(child, scan, owner, spans)


def _child_bodies(stmt: ast.stmt) -> list[list[ast.stmt]]:
    """Statement lists nested in ``stmt`` that run as part of it, in line order.

    Class bodies are left out: they run once, at definition, and a step inside a class body
    would not be a step of the reasoning.
    """
    if isinstance(stmt, ast.ClassDef):
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


def bound_names(statements: list[ast.stmt]) -> tuple[str, ...]:
    """Names the statements bind in their own scope, in first-binding order."""
    seen: dict[str, None] = {}
    for stmt in statements:
        _collect_bound(stmt, seen)
    return tuple(seen)


def _collect_bound(node: ast.AST, seen: dict[str, None]) -> None:
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        seen.setdefault(node.name, None)
        for decorator in node.decorator_list:
            _collect_bound(decorator, seen)
        return
    if isinstance(node, (ast.Lambda, ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)):
        # Their targets live in their own scope, except a walrus, which binds outside.
        for inner in ast.walk(node):
            if isinstance(inner, ast.NamedExpr) and isinstance(inner.target, ast.Name):
                seen.setdefault(inner.target.id, None)
        return
    if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
        seen.setdefault(node.id, None)
    elif isinstance(node, ast.alias):
        seen.setdefault((node.asname or node.name).split(".")[0], None)
    elif isinstance(node, ast.ExceptHandler) and node.name:
        pass  # deleted when the handler ends: never visible at block exit
    for child in ast.iter_child_nodes(node):
        _collect_bound(child, seen)


def read_names(statements: list[ast.stmt]) -> tuple[str, ...]:
    """Names the statements read that an earlier statement of theirs did not bind.

    An approximation that is exact for straight-line code: a simple statement reads its loads
    before it binds (``x = x + 1`` reads ``x``); a compound statement's own bindings (a loop
    variable) are not counted as reads.
    """
    bound: set[str] = set()
    seen: dict[str, None] = {}
    for stmt in statements:
        own = set(bound_names([stmt]))
        exclude = bound if _is_simple(stmt) else bound | own
        for node in ast.walk(stmt):
            is_read = isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load)
            if is_read and node.id not in exclude:
                seen.setdefault(node.id, None)
        bound |= own
    return tuple(seen)


def _is_simple(stmt: ast.stmt) -> bool:
    return not any(isinstance(stmt, kind) for kind in _COMPOUND)


_COMPOUND = (
    ast.For,
    ast.AsyncFor,
    ast.While,
    ast.If,
    ast.With,
    ast.AsyncWith,
    ast.Try,
    ast.FunctionDef,
    ast.AsyncFunctionDef,
    ast.ClassDef,
)
