"""Block instrumentation: the AST pass that wraps every block in the tracer's calls.

Each block ``i`` becomes::

    with _vx_blocks[i]:
        <the block's statements>

where ``_vx_blocks`` holds one :class:`BlockScope` per block for the run
(:func:`hidden_bindings`): entering it tells the recorder the block started; leaving it, however
the block ends (normally, by ``return``/``break``/``continue``, or by an exception), tells the
recorder the block ended, with the frame's variables and, for an exception, that it failed.

A ``with`` rather than ``try``/``except``/``finally`` around each block because a new program
pays for compiling its instrumentation once, and the ``with`` is the smallest tree for it (a
name, a subscript and a constant per block: about a tenth of the nodes), which CPython also
compiles to the least code (a ``finally`` body is emitted once per way out of the block). It
runs after the policy transform, so ``_vx_blocks`` (a name starting with ``_``, which the policy
refuses in program code) cannot be reached by the program.
"""

from __future__ import annotations

import ast
import sys
from typing import Any

from vipexec.core.blocks import BlockSpan

BLOCKS_NAME = "_vx_blocks"
HIDDEN_NAMES = (BLOCKS_NAME,)
"""every name instrumented code reads besides the program's own"""


class BlockScope:
    """The context manager around one block in one run: reports to the run's recorder."""

    __slots__ = ("index", "recorder")

    def __init__(self, recorder: Any, index: int) -> None:
        self.recorder = recorder
        self.index = index

    def __enter__(self) -> None:
        self.recorder.enter(self.index)

    def __exit__(self, kind: Any, exc: Any, traceback: Any) -> None:
        # Returns None: an exception goes on unchanged. While it runs, the failing block's
        # exception is the one being handled (sys.exc_info), which ``raised`` reads.
        if kind is not None:
            self.recorder.raised(self.index)
        self.recorder.exit(self.index, sys._getframe(1).f_locals)  # the block's frame


def hidden_bindings(recorder: Any) -> dict[str, Any]:
    """What the :data:`HIDDEN_NAMES` are bound to for one run recorded by ``recorder``."""
    return {BLOCKS_NAME: tuple(BlockScope(recorder, i) for i in range(len(recorder.blocks)))}


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
            rebuilt.append(_wrap(index, span.statements))
            position = span.stop
        rebuilt.extend(body[position:])
        body[:] = rebuilt


_LOAD = ast.Load()  # context nodes carry no state: the parser shares them too


def _wrap(index: int, statements: list[ast.stmt]) -> ast.With:
    # Every new node carries the block's position (so no pass over the whole tree has to add
    # missing ones); the statements inside keep their own.
    at = located_at(statements[0])
    scopes = ast.Name(BLOCKS_NAME, _LOAD, **at)
    scope = ast.Subscript(scopes, ast.Constant(index, **at), _LOAD, **at)
    return ast.With(items=[ast.withitem(scope, None)], body=statements, **at)


def located_at(anchor: ast.AST) -> dict[str, int]:
    """The position attributes of ``anchor``, to give new nodes as keyword arguments."""
    return {
        "lineno": anchor.lineno,
        "col_offset": anchor.col_offset,
        "end_lineno": anchor.end_lineno,
        "end_col_offset": anchor.end_col_offset,
    }
