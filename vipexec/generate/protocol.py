"""Least-to-most generation (SVIP step 1): the query record and the generator interface.

A generator writes a program one block at a time. Given a query (text and images) it proposes
the first block — a ``# Step 1: <description>`` line followed by its code, with no function
definition and no return — and, given the blocks so far, the next one, until a block prints the
final result and then ``Work is Done!``. Each call returns ``n`` alternatives; sampling them at
every step grows a tree whose root-to-leaf paths are programs (see :mod:`vipexec.core.tree`).

An alternative is data, never an exception: a malformed answer or a failed request is returned as
an alternative whose ``block`` is what came back (possibly empty) and whose ``origin`` says what
went wrong, so the tree records it as a failing node and the run goes on.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol


@dataclass(frozen=True)
class Query:
    """One line of a QUERIES.jsonl file: ``{"id", "query", "images", "answer"?, "split"?}``."""

    id: str
    query: str
    images: tuple[Path, ...]
    """absolute paths (the file holds them relative to ``--images``)"""
    answer: Any = None
    """the expected answer, when known"""
    split: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    """generator-specific facts, e.g. the grammar family or the scene id"""


@dataclass(frozen=True)
class Alternative:
    """One proposed block and how it was produced."""

    block: str
    """the block's text as proposed: ``# Step N: ...`` then its code (may be malformed)"""
    origin: dict[str, Any]
    """sampling metadata: generator, model, seed, sample index, temperature; ``fault`` for a
    grammar block that carries one; when the request or the parse failed, ``failure``
    (``"request_failed"`` or ``"malformed"``: the tree builder ends the path there) and ``error``
    (why, one line)"""


class Generator(Protocol):
    """Proposes blocks one step at a time."""

    name: str
    """a short id recorded in trees and dataset cards (``grammar``, ``llm:<model>``)"""

    def first_block(self, query: Query, n: int) -> list[Alternative]:
        """``n`` alternatives for the first block of a program answering ``query``."""
        ...

    def next_block(self, query: Query, blocks: Sequence[str], n: int) -> list[Alternative]:
        """``n`` alternatives for the block after ``blocks`` (the texts chosen so far)."""
        ...
