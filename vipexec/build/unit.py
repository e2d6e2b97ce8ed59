"""One unit of build work: a query goes in, its dataset rows come out.

:func:`process` is the whole per-query pipeline behind ``vipexec build``; the engines (local,
Ray) only call it and journal what it returns. It asks the context's program source
(:func:`vipexec.build.trees.tree_programs`: generate tree -> execute tree -> label -> CoT) for
the query's labelled runs with their CoT steps and makes one row per run. A failure is data:
it becomes an entry of ``errors`` and the other programs of the query still make rows.
"""

from __future__ import annotations

import contextlib
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from vipexec.core.run import Run
from vipexec.core.step_rows import validate_row
from vipexec.dataset import row_from_run
from vipexec.generate.protocol import Query

__all__ = ["LabelledRun", "QueryResult", "Stopwatch", "process"]


@dataclass(frozen=True)
class LabelledRun:
    """One program of a query, executed and labelled (labels in ``run.blocks[i].labels``)."""

    run: Run
    variant: str
    """how the program came about: ``correct``, ``noisy``, a fault kind, a tree path"""
    steps: tuple[str, ...]
    """one CoT step per executed block (a tree's nodes carry them)"""
    block_ids: tuple[str, ...]
    """the ids of the blocks' tree nodes (equal to :func:`vipexec.core.step_rows.block_ids`)"""
    correct: bool | None = None
    """whether the program's answer is the expected one (tree execution's end record); None
    when the query has no expected answer"""
    failure: str | None = None
    """why this path is no program (its generator request failed): an error line, not a row"""
    meta: dict[str, Any] = field(default_factory=dict)
    """extra ``meta`` keys of the row (the backend it ran on, its code steps)"""


@dataclass
class QueryResult:
    """What one query contributed: its rows, one line per failure, and counts.

    ``rows`` and ``errors`` depend only on the inputs and the seed; ``seconds`` (time per stage)
    and anything about the host go to the log, never into the dataset.
    """

    query_id: str
    rows: list[dict[str, Any]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def stats(self) -> dict[str, int]:
        return {
            "programs": len(self.rows),
            "steps": sum(len(row["completions"]) for row in self.rows),
            "errors": len(self.errors),
        }


class Stopwatch:
    """Seconds spent per named stage (summed over calls)."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)

    @contextlib.contextmanager
    def stage(self, name: str) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[name] += time.perf_counter() - started

    def take(self) -> dict[str, float]:
        """The times so far, and a fresh start."""
        out = dict(self.seconds)
        self.seconds.clear()
        return out


ProgramSource = Callable[[Query, Any], Iterable[LabelledRun]]


def process(query: Query, context: Any) -> QueryResult:
    """The rows of one query.

    ``context`` (see :class:`vipexec.build.context.BuildContext`) provides ``programs(query,
    context)``, ``convert(query, run)``, ``split_of(query_id)``, ``source`` (the row source
    prefix), ``image_paths(query)`` and a ``clock`` :class:`Stopwatch`.
    """
    result = QueryResult(query.id)
    try:
        for position, item in enumerate(context.programs(query, context)):
            program_id = f"{query.id}/{position}-{item.variant}"
            if item.failure is not None:
                result.errors.append(f"{program_id}: {item.failure}")
                continue
            try:
                row = row_from_run(
                    item.run,
                    prompt=query.query,
                    query_id=query.id,
                    program_id=program_id,
                    images=context.image_paths(query),
                    source=f"{context.source}/{item.variant}",
                    split=context.split_of(query.id),
                    steps=item.steps,
                    expected_answer=query.answer,
                    correct=item.correct,
                )
                row["meta"]["block_ids"] = list(item.block_ids)
                row["meta"].update(item.meta)
                validate_row(row)
            except Exception as exc:  # one program's failure must not cost the query's others
                result.errors.append(f"{program_id}: {_describe(exc)}")
                continue
            result.rows.append(row)
    except Exception as exc:  # a query that cannot be processed is logged, never fatal
        result.errors.append(f"{query.id}: {_describe(exc)}")
    result.seconds = context.clock.take()
    return result


def _describe(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__
