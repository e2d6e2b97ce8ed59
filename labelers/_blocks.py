"""Block-structure helpers shared by the labelers (nesting, order, source of one block)."""

from __future__ import annotations

import ast
from collections.abc import Sequence
from typing import Any

from vipexec.core.program import Block


def ancestors(blocks: Sequence[Block], index: int) -> list[int]:
    """Indices of the blocks enclosing block ``index``, innermost first."""
    out = []
    parent = blocks[index].parent if index < len(blocks) else None
    while parent is not None and parent not in out:
        out.append(parent)
        parent = blocks[parent].parent
    return out


def descendants(blocks: Sequence[Block], index: int) -> list[int]:
    """Indices of the blocks nested (at any depth) inside block ``index``."""
    found = []
    for block in blocks:
        if block.index != index and index in ancestors(blocks, block.index):
            found.append(block.index)
    return found


def statements_in_lines(tree: ast.AST, lines: tuple[int, int]) -> list[ast.stmt]:
    """The outermost statements of ``tree`` whose lines lie within ``lines`` (inclusive)."""
    first, last = lines
    found: list[ast.stmt] = []

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.stmt):
                end = getattr(child, "end_lineno", child.lineno)
                if first <= child.lineno and end <= last:
                    found.append(child)
                    continue
            visit(child)

    visit(tree)
    return found


def literal_strings(node: ast.AST) -> list[str]:
    """Every string constant inside ``node``."""
    return [
        n.value for n in ast.walk(node) if isinstance(n, ast.Constant) and isinstance(n.value, str)
    ]


def plain(summary: Any) -> Any:
    """A summary's plain value where it has one (``{"type": "int", "value": 3}`` -> 3)."""
    if isinstance(summary, dict) and "value" in summary:
        return summary["value"]
    return summary
