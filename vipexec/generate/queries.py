"""Reading a QUERIES.jsonl file: one query per line, ``{"id", "query", "images", "answer"?,
"split"?}`` with image paths relative to the images folder. Other keys are kept in
``Query.meta``. A bad line is one error naming the file and line; the other lines still load.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from vipexec.generate.protocol import Query

__all__ = ["read_queries"]

_SAFE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
"""ids name the output files (``<out>/<id>.json``)"""
_KNOWN = ("id", "query", "images", "answer", "split", "meta")


class _BadLine(ValueError):
    pass


def read_queries(
    path: str | Path, images_dir: str | Path, *, require_images: bool = False
) -> tuple[list[Query], list[str]]:
    """The queries of ``path`` and one error line per bad line (``FILE:LINE: problem``);
    with ``require_images``, a query without images is a bad line."""
    path, images_dir = Path(path), Path(images_dir)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or exc
        return [], [f"{path}: cannot read the queries file: {reason}"]
    queries: list[Query] = []
    errors: list[str] = []
    seen: dict[str, int] = {}
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            query = _query(line, images_dir)
            if require_images and not query.images:
                raise _BadLine("'images' must name at least one image")
            if query.id in seen:
                raise _BadLine(f"id {query.id!r} repeats line {seen[query.id]}")
        except _BadLine as exc:
            errors.append(f"{path}:{number}: {exc}")
            continue
        seen[query.id] = number
        queries.append(query)
    return queries, errors


def _query(line: str, images_dir: Path) -> Query:
    try:
        data = json.loads(line)
    except (ValueError, RecursionError) as exc:
        raise _BadLine(f"not JSON ({exc})") from None
    if not isinstance(data, dict):
        raise _BadLine(f"expected a JSON object, got {type(data).__name__}")
    query_id = data.get("id")
    if isinstance(query_id, int) and not isinstance(query_id, bool):
        query_id = str(query_id)
    if not isinstance(query_id, str) or not _SAFE_ID.fullmatch(query_id):
        raise _BadLine(
            f"id {query_id!r}: expected 1-128 letters, digits, '.', '_' or '-' (it names a file)"
        )
    text = data.get("query")
    if not isinstance(text, str) or not text.strip():
        raise _BadLine("'query' must be a non-empty string")
    images = data.get("images", [])
    if not isinstance(images, list) or not all(isinstance(i, str) and i for i in images):
        raise _BadLine("'images' must be a list of paths (strings)")
    split = data.get("split")
    if split is not None and not isinstance(split, str):
        raise _BadLine("'split' must be a string")
    meta = data.get("meta", {})
    if not isinstance(meta, dict):
        raise _BadLine("'meta' must be a JSON object")
    return Query(
        id=query_id,
        query=text,
        images=tuple(_image(images_dir, name) for name in images),
        answer=data.get("answer"),
        split=split,
        # generator facts (e.g. the grammar family) come in "meta"; other unknown keys join them
        meta={**{k: v for k, v in data.items() if k not in _KNOWN}, **meta},
    )


def _image(images_dir: Path, name: str) -> Path:
    path = (images_dir / name).resolve()
    if not path.exists():
        raise _BadLine(f"image {name!r} not found in {images_dir}")
    return path
