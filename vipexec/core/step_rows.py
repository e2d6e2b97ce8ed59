"""The step-row contract: the one definition of a step-dataset row, shared by every writer and
reader (the dataset builders write rows, ``vipexec.reward`` reads them).

Stable names, for code that writes or reads rows:

- :data:`DIMENSIONS`: the three label dimensions, in column order;
- :func:`and_label`: the combined label of one step;
- :func:`validate_row`: check one row and return it normalised;
- :func:`node_id` and :func:`block_ids`: the ids of a program's blocks, equal to the node ids of
  the program tree of the same query (:class:`vipexec.ProgramTree` keys its nodes with them);
- :data:`ROW_COLUMNS` and :data:`META_COLUMNS`: every field and its kind, from which the
  Parquet writer and the reward loader build their schemas; :data:`SPLIT_NAMES`: the splits.

One row is one program run for one query:

- ``prompt``: the query; ``completions``: one CoT step per program block;
- ``relevance``, ``logic``, ``attribute``: the blocks' labels, ``true``/``false``/``null`` (a
  label no labeler gave is ``null``, never guessed);
- ``labels``: :func:`and_label` of the three, per step;
- ``images``: image file paths, relative to the dataset file;
- ``meta``: ``program_id``, ``query_id``, ``block_ids`` (:func:`block_ids`), ``source`` (where
  the row comes from), ``split`` (assigned per query or per image, so that none is in two
  splits), ``program`` (the program's source), ``answer`` (the program's final answer as JSON
  text, :func:`answer_text`; null when the run failed or the writer did not record it),
  ``expected_answer`` (the benchmark's answer, JSON text or null) and ``correct`` (whether the
  answer is right by the benchmark's own rule, or null when unknown).

The format is a superset of TRL's stepwise supervision: extra top-level columns and extra
``meta`` keys are allowed and ignored by the reward model. This module imports nothing beyond
the standard library and :mod:`vipexec.core.errors`, so any layer may use it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from typing import Any

from vipexec.core.errors import InvalidArgumentError

__all__ = [
    "DIMENSIONS",
    "LABEL_FIELDS",
    "META_COLUMNS",
    "READ_META_FIELDS",
    "ROW_COLUMNS",
    "SPLIT_NAMES",
    "TREE_ROOT",
    "StepRowError",
    "and_label",
    "answer_text",
    "block_ids",
    "node_id",
    "validate_row",
]

DIMENSIONS: tuple[str, ...] = ("relevance", "logic", "attribute")
LABEL_FIELDS: tuple[str, ...] = ("labels", *DIMENSIONS)
SPLIT_NAMES: tuple[str, ...] = ("train", "val", "test")
"""the values of ``meta.split`` a writer gives (readers also accept common aliases)"""

# Column kinds: "string", "strings" (list of strings), "flags" (list of bool-or-null), "bool".
ROW_COLUMNS: dict[str, str] = {
    "prompt": "string",
    "completions": "strings",
    **{name: "flags" for name in LABEL_FIELDS},
    "images": "strings",
}
META_COLUMNS: dict[str, str] = {
    "program_id": "string",
    "query_id": "string",
    "block_ids": "strings",
    "source": "string",
    "split": "string",
    "program": "string",
    "answer": "string",
    "expected_answer": "string",
    "correct": "bool",
}
READ_META_FIELDS: tuple[str, ...] = ("program_id", "block_ids", "source", "split", "query_id")
"""the ``meta`` keys the reward model reads: :func:`validate_row` keeps these (others are
checked, then dropped)"""

TREE_ROOT = "root"
"""the parent key of a program's first block when no query id is given"""


class StepRowError(InvalidArgumentError):
    """A row breaks the contract; the message names the source, the row and the field."""

    def __init__(
        self,
        message: str,
        *,
        source: str | None = None,
        row: int | None = None,
        field: str | None = None,
    ) -> None:
        self.source = source
        self.row = row
        self.field = field
        where = []
        if source is not None:
            where.append(source)
        if row is not None:
            where.append(f"row {row}")
        if field is not None:
            where.append(f"field {field!r}")
        prefix = ", ".join(where)
        super().__init__(f"{prefix}: {message}" if prefix else message)


def and_label(values: Sequence[bool | None]) -> bool | None:
    """The combined label of one step: False if any value is False, True if every value is True,
    else None (unknown).

    An empty list is None: a step no labeler looked at is unknown, not vacuously correct.
    """
    if any(v is False for v in values):
        return False
    if values and all(v is True for v in values):
        return True
    return None


def node_id(parent: str, segment: str) -> str:
    """The id of a block: a hash of its parent's id and the block's source segment, so the same
    program prefix always gets the same ids."""
    return hashlib.sha256(f"{parent}\0{segment}".encode()).hexdigest()[:16]


def block_ids(segments: Sequence[str], root: str | None = None) -> list[str]:
    """The ids of the blocks whose source segments are ``segments`` (see
    :meth:`vipexec.Program.segments`), chained from ``root``: the query id, or :data:`TREE_ROOT`
    when there is none. Programs for one query that share leading blocks share these ids, and
    they are the node ids of the query's :class:`vipexec.ProgramTree`."""
    ids, parent = [], root or TREE_ROOT
    for segment in segments:
        parent = node_id(parent, segment)
        ids.append(parent)
    return ids


def answer_text(value: Any) -> str | None:
    """An answer as the row holds it: JSON text (one column type for numbers, strings, lists),
    or None for no answer."""
    if value is None:
        return None
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def validate_row(
    row: Mapping[str, Any],
    *,
    index: int | None = None,
    source: str | None = None,
    require_labels: bool = True,
    error: type[StepRowError] = StepRowError,
) -> dict[str, Any]:
    """Check one row against the contract and return it normalised.

    Normalised means: ``images`` defaults to ``[]``, ``meta`` holds exactly
    :data:`READ_META_FIELDS` (``None`` when absent) and ``block_ids`` are strings. The other
    :data:`META_COLUMNS` are checked for their kind when present. With ``require_labels=False``
    (rows to score, not to train on) absent label fields become lists of nulls. Raises ``error``
    (a :class:`StepRowError`; reward passes its own subclass) naming the row and the field on the
    first violation.
    """

    def fail(message: str, field: str | None = None) -> StepRowError:
        return error(message, source=source, row=index, field=field)

    if not isinstance(row, Mapping):
        raise fail(f"expected an object, got {type(row).__name__}")
    for name in ("prompt", "completions", *(LABEL_FIELDS if require_labels else ())):
        if row.get(name) is None:
            raise fail("is missing", name)
    prompt = row["prompt"]
    if not isinstance(prompt, str):
        raise fail(f"must be a string, got {type(prompt).__name__}", "prompt")
    steps = row["completions"]
    if not _is_list(steps) or not all(isinstance(s, str) for s in steps):
        raise fail("must be a list of strings", "completions")
    n = len(steps)
    labels: dict[str, list[bool | None]] = {}
    for name in LABEL_FIELDS:
        values = row.get(name)
        if values is None:
            values = [None] * n
        if not _is_list(values):
            raise fail(f"must be a list of bool or null, got {type(values).__name__}", name)
        if len(values) != n:
            raise fail(f"has {len(values)} entries but completions has {n}", name)
        for i, v in enumerate(values):
            if v is not None and not isinstance(v, bool):
                raise fail(f"entry {i} must be true, false or null, got {v!r}", name)
        labels[name] = list(values)
    for i in range(n):
        implied = and_label([labels[d][i] for d in DIMENSIONS])
        given = labels["labels"][i]
        if given is not None and implied is not None and given != implied:
            raise fail(
                f"entry {i} is {given} but the AND of relevance/logic/attribute is {implied}",
                "labels",
            )
    images = row.get("images")
    if images is None:
        images = []
    if not _is_list(images) or not all(isinstance(p, str) for p in images):
        raise fail("must be a list of file paths", "images")
    meta = row.get("meta")
    if meta is None:
        meta = {}
    if not isinstance(meta, Mapping):
        raise fail(f"must be an object, got {type(meta).__name__}", "meta")
    ids = meta.get("block_ids")
    if ids is not None:
        if not _is_list(ids):
            raise fail("must be a list", "meta.block_ids")
        if len(ids) != n:
            raise fail(f"has {len(ids)} entries but completions has {n}", "meta.block_ids")
        ids = [str(b) for b in ids]
    clean_meta: dict[str, Any] = {}
    for key, kind in META_COLUMNS.items():
        if key == "block_ids":
            value = ids
        else:
            value = meta.get(key)
            if value is not None:
                value = _meta_value(value, kind, fail, f"meta.{key}")
        if key in READ_META_FIELDS:
            clean_meta[key] = value
    return {
        "prompt": prompt,
        "completions": list(steps),
        **labels,
        "images": list(images),
        "meta": {key: clean_meta[key] for key in READ_META_FIELDS},
    }


def _meta_value(value: Any, kind: str, fail: Any, field: str) -> Any:
    if kind == "bool":
        if not isinstance(value, bool):
            raise fail(f"must be true, false or null, got {value!r}", field)
        return value
    # Integer ids are accepted and read as their text (older writers used numbers).
    if not isinstance(value, (str, int)) or isinstance(value, bool):
        raise fail(f"must be a string, got {type(value).__name__}", field)
    return str(value)


def _is_list(value: Any) -> bool:
    return isinstance(value, (list, tuple))
