"""Reading QUERIES.jsonl: one query per line, ``{"id", "query", "images", "answer"?, "split"?,
"meta"?}``, image paths relative to the images folder.

A bad line does not stop the others: it becomes one error naming the line, and the query is
left out. Ids must be unique (rows and splits are keyed by them); a repeated id is an error on
its second line.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from vipexec.core.errors import InvalidArgumentError
from vipexec.generate.protocol import Query

__all__ = ["read_queries"]


def read_queries(path: Path, images: Path) -> tuple[list[Query], list[str]]:
    """The queries of ``path`` in file order, and one error line per bad line."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidArgumentError(f"{path}: cannot read the queries: {exc}") from None
    queries: list[Query] = []
    errors: list[str] = []
    seen: dict[str, int] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            query = _query(json.loads(line), images)
        except (ValueError, InvalidArgumentError) as exc:
            errors.append(f"{path.name} line {number}: {str(exc).splitlines()[0]}")
            continue
        if query.id in seen:
            errors.append(
                f"{path.name} line {number}: id {query.id!r} repeats line {seen[query.id]}"
            )
            continue
        seen[query.id] = number
        queries.append(query)
    return queries, errors


def _query(record: Any, images: Path) -> Query:
    if not isinstance(record, dict):
        raise InvalidArgumentError(f"expected an object, got {type(record).__name__}")
    for name in ("id", "query"):
        if not isinstance(record.get(name), str) or not record[name]:
            raise InvalidArgumentError(f'"{name}" must be a non-empty string')
    paths = record.get("images")
    if not isinstance(paths, list) or not paths or not all(isinstance(p, str) for p in paths):
        raise InvalidArgumentError('"images" must be a non-empty list of paths')
    resolved = []
    for name in paths:
        path = (images / name).resolve()
        if not path.exists():
            raise InvalidArgumentError(f"image {name!r} is not in {images}")
        resolved.append(path)
    split, meta = record.get("split"), record.get("meta", {})
    if split is not None and not isinstance(split, str):
        raise InvalidArgumentError('"split" must be a string')
    if not isinstance(meta, dict):
        raise InvalidArgumentError('"meta" must be an object')
    return Query(
        id=record["id"],
        query=record["query"],
        images=tuple(resolved),
        answer=record.get("answer"),
        split=split,
        meta=meta,
    )
