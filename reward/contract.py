"""The step-dataset contract (DESIGN.md section 6): a pure-Python row validator, no torch.

A row is one program: ``prompt``, ``completions`` (one CoT step per program block), ``labels``
(AND of the three dimensions), ``relevance``/``logic``/``attribute`` (bool or null per step),
``images`` (file paths) and ``meta`` (``program_id``, ``block_ids``, ``source``, ``split``,
``query_id``). Extra top-level columns are allowed (the format is a superset of TRL's
stepwise supervision); extra ``meta`` keys are allowed and ignored by the reward model.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from vipexec.reward.errors import StepDataError

DIMENSIONS: tuple[str, ...] = ("relevance", "logic", "attribute")
LABEL_FIELDS: tuple[str, ...] = ("labels", *DIMENSIONS)
META_FIELDS: tuple[str, ...] = ("program_id", "block_ids", "source", "split", "query_id")
REQUIRED_FIELDS: tuple[str, ...] = ("prompt", "completions", *LABEL_FIELDS)


def and_label(values: Sequence[bool | None]) -> bool | None:
    """AND of per-dimension labels: False if any is False, True if all are True, else unknown."""
    if any(v is False for v in values):
        return False
    if all(v is True for v in values):
        return True
    return None


def validate_row(
    row: Mapping[str, Any],
    *,
    index: int | None = None,
    source: str | None = None,
    require_labels: bool = True,
) -> dict[str, Any]:
    """Check one row against the contract and return it normalised.

    Normalised means: ``images`` defaults to ``[]``, ``meta`` to ``{}``, the known ``meta`` keys
    are present (``None`` when absent) and ``block_ids`` are strings. With
    ``require_labels=False`` (rows to score, not to train on) absent label fields become lists of
    nulls. Raises :class:`StepDataError` naming the row and the field on the first violation.
    """

    def fail(message: str, field: str | None = None) -> StepDataError:
        return StepDataError(message, source=source, row=index, field=field)

    if not isinstance(row, Mapping):
        raise fail(f"expected an object, got {type(row).__name__}")
    for name in REQUIRED_FIELDS if require_labels else ("prompt", "completions"):
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
    block_ids = meta.get("block_ids")
    if block_ids is not None:
        if not _is_list(block_ids):
            raise fail("must be a list", "meta.block_ids")
        if len(block_ids) != n:
            raise fail(f"has {len(block_ids)} entries but completions has {n}", "meta.block_ids")
        block_ids = [str(b) for b in block_ids]
    clean_meta: dict[str, Any] = {}
    for key in META_FIELDS:
        value = block_ids if key == "block_ids" else meta.get(key)
        if key != "block_ids" and value is not None:
            if not isinstance(value, (str, int)) or isinstance(value, bool):
                raise fail(f"must be a string, got {type(value).__name__}", f"meta.{key}")
            value = str(value)
        clean_meta[key] = value
    out = {
        "prompt": prompt,
        "completions": list(steps),
        **labels,
        "images": list(images),
        "meta": clean_meta,
    }
    return out


def _is_list(value: Any) -> bool:
    return isinstance(value, (list, tuple))
