"""Builtins loaded once per call of the entry function: an optimisation that keeps meaning.

Every run gets a fresh globals dict, so the interpreter's global-lookup caches (specialised on
the dict they saw last) miss again in every run, in every loop. For a sandboxed program the
builtins are ours and fixed, so a builtin name the program never binds anywhere always
resolves to the same object during a call: loading it once into a hidden local at the top of
the entry function and reading that local is exactly equivalent, and cheaper in loops.

Only names that are builtins of the sandbox and are bound nowhere in the program (no
assignment, parameter, import, ``def``, ``class``, ``global``, handler or pattern name, in any
scope) are hoisted, and only where they are read inside the entry's body. The entry's
signature and decorators are evaluated in the enclosing scope before the hidden locals exist,
and annotations anywhere may be kept as text (``from __future__ import annotations``), so
those are left exactly as written. Trusted (``sandbox=False``) code is not rewritten at all.
"""

from __future__ import annotations

import ast

from vipexec.core.instrument import located_at

HOISTED_PREFIX = "_vx_b_"
NEVER_HOISTED = frozenset({"super"})
"""builtins read under their own name: zero-argument ``super()`` finds its class through the
``__class__`` cell, which the compiler makes only for functions that read the name ``super``"""


def hoist_builtins(entry: ast.FunctionDef, reads: list[ast.Name]) -> None:
    """Rewrite ``entry`` in place: ``reads`` are the loads of hoistable builtins in its body
    (bound nowhere in the program, annotations left out), which the policy's walk collects."""
    if not reads:
        return
    hoisted = sorted({node.id for node in reads})
    for node in reads:
        node.id = HOISTED_PREFIX + node.id
    at = located_at(entry.body[0])
    loads = [
        ast.Assign(
            targets=[ast.Name(HOISTED_PREFIX + name, ast.Store(), **at)],
            value=ast.Name(name, ast.Load(), **at),
            **at,
        )
        for name in hoisted
    ]
    position = _after_docstring(entry.body)
    entry.body[position:position] = loads


def _after_docstring(body: list[ast.stmt]) -> int:
    first = body[0]
    is_docstring = (
        isinstance(first, ast.Expr)
        and isinstance(first.value, ast.Constant)
        and isinstance(first.value.value, str)
    )
    return 1 if is_docstring else 0
