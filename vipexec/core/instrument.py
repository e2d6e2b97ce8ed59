"""Block instrumentation: the AST pass that wraps every block in the tracer's calls.

Each block ``i`` becomes::

    _vx_rec.enter(i)
    try:
        <the block's statements>
    except _vx_any_error:          # BaseException
        _vx_rec.raised(i)
        raise
    finally:
        _vx_rec.exit(i, _vx_locals())

It runs after the policy transform, so ``_vx_rec`` and ``_vx_locals`` (names starting with
``_``, which the policy refuses in program code) cannot be reached by the program. The
``try`` costs nothing on the normal path in CPython 3.11+; the exit call is one Python call per
block execution.
"""

from __future__ import annotations

import ast

from vipexec.core.blocks import BlockSpan

RECORDER_NAME = "_vx_rec"
LOCALS_NAME = "_vx_locals"
ANY_ERROR_NAME = "_vx_any_error"
"""bound to ``BaseException``: a program may rebind the builtin's name, not this one"""


def instrument_blocks(spans: list[BlockSpan]) -> None:
    """Wrap every span in place; spans must be in line order (as ``split_blocks`` gives)."""
    # Each statement list is rebuilt once, whatever its number of blocks (replacing spans one
    # by one would shift the rest of the list every time). A parent's wrapped statements keep
    # their nested lists, which are rebuilt in place, so the order of lists does not matter.
    by_list: dict[int, list[int]] = {}
    for index, span in enumerate(spans):
        by_list.setdefault(id(span.body), []).append(index)
    for indexes in by_list.values():
        body = spans[indexes[0]].body
        rebuilt: list[ast.stmt] = []
        position = 0
        for index in indexes:
            span = spans[index]
            rebuilt.extend(body[position : span.start])
            rebuilt.extend(_wrap(index, span.statements))
            position = span.stop
        rebuilt.extend(body[position:])
        body[:] = rebuilt


_LOAD = ast.Load()  # context nodes carry no state: the parser shares them too


def _wrap(index: int, statements: list[ast.stmt]) -> list[ast.stmt]:
    anchor = statements[0]
    # Every new node carries the block's position (so no pass over the whole tree has to add
    # missing ones); the statements inside keep their own.
    at = located_at(anchor)

    def call(method: str, *args: ast.expr) -> ast.Expr:
        recorder = ast.Name(RECORDER_NAME, _LOAD, **at)
        func = ast.Attribute(recorder, method, _LOAD, **at)
        return ast.Expr(ast.Call(func, [ast.Constant(index, **at), *args], [], **at), **at)

    locals_call = ast.Call(ast.Name(LOCALS_NAME, _LOAD, **at), [], [], **at)
    handler = ast.ExceptHandler(
        type=ast.Name(ANY_ERROR_NAME, _LOAD, **at),
        name=None,
        body=[call("raised"), ast.Raise(exc=None, cause=None, **at)],
        **at,
    )
    guarded = ast.Try(
        body=statements,
        handlers=[handler],
        orelse=[],
        finalbody=[call("exit", locals_call)],
        **at,
    )
    return [call("enter"), guarded]


def located_at(anchor: ast.AST) -> dict[str, int]:
    """The position attributes of ``anchor``, to give new nodes as keyword arguments."""
    return {
        "lineno": anchor.lineno,
        "col_offset": anchor.col_offset,
        "end_lineno": anchor.end_lineno,
        "end_col_offset": anchor.end_col_offset,
    }
