"""Builtins loaded once per call of the entry function: an optimisation that keeps meaning.

Every run gets a fresh globals dict, so the interpreter's global-lookup caches (specialised on
the dict they saw last) miss again in every run, in every loop. For a sandboxed program the
builtins are ours and fixed, so a builtin name the program never binds anywhere always
resolves to the same object during a call: loading it once into a hidden local at the top of
the entry function and reading that local is exactly equivalent, and cheaper in loops.

Only names that are builtins of the sandbox and are bound nowhere in the program (no
assignment, parameter, import, ``def``, ``class``, ``global`` or handler name, in any scope)
are hoisted; trusted (``sandbox=False``) code is left exactly as written.
"""

from __future__ import annotations

import ast

HOISTED_PREFIX = "_vx_b_"


def hoist_builtins(tree: ast.Module, entry: ast.FunctionDef, builtins: frozenset[str]) -> None:
    """Rewrite ``entry`` in place (see the module docstring)."""
    bound = _bound_anywhere(tree)
    used = {
        node.id
        for node in ast.walk(entry)
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load)
    }
    hoisted = sorted((used & builtins) - bound)
    if not hoisted:
        return
    for node in ast.walk(entry):
        if isinstance(node, ast.Name) and node.id in hoisted and isinstance(node.ctx, ast.Load):
            node.id = HOISTED_PREFIX + node.id
    anchor = entry.body[0]
    loads = [
        ast.copy_location(
            ast.Assign(
                targets=[ast.Name(HOISTED_PREFIX + name, ast.Store())],
                value=ast.Name(name, ast.Load()),
            ),
            anchor,
        )
        for name in hoisted
    ]
    position = _after_docstring(entry.body)
    entry.body[position:position] = loads


def _bound_anywhere(tree: ast.Module) -> set[str]:
    bound: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load):
            bound.add(node.id)
        elif isinstance(node, ast.arg):
            bound.add(node.arg)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            bound.add(node.name)
        elif isinstance(node, ast.alias):
            bound.add((node.asname or node.name).split(".")[0])
        elif isinstance(node, (ast.Global, ast.Nonlocal)):
            bound.update(node.names)
        elif isinstance(node, ast.ExceptHandler) and node.name:
            bound.add(node.name)
    return bound


def _after_docstring(body: list[ast.stmt]) -> int:
    first = body[0]
    is_docstring = (
        isinstance(first, ast.Expr)
        and isinstance(first.value, ast.Constant)
        and isinstance(first.value.value, str)
    )
    return 1 if is_docstring else 0
