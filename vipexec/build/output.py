"""The finished dataset: shards, Parquet splits, the TRL view and the errors file.

Layout of an output folder (rows in query order, then program order, whatever order the
journal holds them in):

- ``data/{split}-00000-of-0000N.parquet``: the rows, one set of shards per split (the
  step-row contract's columns, and the build's own ``meta`` keys: :data:`BUILD_META`);
- ``jsonl/{split}-00000-of-0000N.jsonl``: the same rows as JSON lines;
- ``trl/{split}-....parquet``: the TRL view (``prompt``, ``completions``, ``labels``,
  ``images``) whose labels are all booleans: a row is cut before its first unknown step, and a
  row whose first step is unknown is left out;
- ``errors.log``: one line per failed query or program;
- ``README.md``: the dataset card (:mod:`vipexec.build.card`), whose YAML header names the
  Parquet files per split, so ``datasets.load_dataset(folder, split="test")`` reads them.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from vipexec.dataset import dataset_format, step_schema, write_rows

__all__ = ["BUILD_META", "ROWS_PER_SHARD", "shard_names", "trl_view", "write_output"]

ROWS_PER_SHARD = 5_000
TRL_COLUMNS = ("prompt", "completions", "labels", "images")
TRL_RULE = (
    "rows are cut before their first step with an unknown (null) label; rows whose first step "
    "is unknown are left out"
)


BUILD_META = {"backend": "string", "noise": "float", "code_steps": "strings"}
"""``meta`` keys a build adds to the contract's: the backend a program ran on, its error rate,
and one code-and-values step per block (:mod:`vipexec.build.code_steps`)"""


def trl_view(row: dict[str, Any]) -> dict[str, Any] | None:
    """The row with only known labels (see :data:`TRL_RULE`), or None when none is left."""
    labels = row["labels"]
    known = next((i for i, label in enumerate(labels) if label is None), len(labels))
    if known == 0:
        return None
    return {
        "prompt": row["prompt"],
        "completions": row["completions"][:known],
        "labels": labels[:known],
        "images": row["images"],
    }


def shard_names(split: str, rows: int, suffix: str) -> list[str]:
    count = max(1, math.ceil(rows / ROWS_PER_SHARD))
    return [f"{split}-{index:05d}-of-{count:05d}{suffix}" for index in range(count)]


def write_output(
    out: Path, rows_by_split: dict[str, list[dict[str, Any]]], errors: Iterable[str]
) -> dict[str, dict[str, int]]:
    """Write every file but the card; returns ``{split: {"rows", "trl_rows"}}``."""
    _remove_stale(out)
    trl_schema, row_schema = _trl_schema(), _row_schema()
    counts = {}
    for split, rows in rows_by_split.items():
        trl_rows = [view for view in map(trl_view, rows) if view is not None]
        _write_shards(out / "data", split, rows, ".parquet", schema=row_schema)
        _write_shards(out / "jsonl", split, rows, ".jsonl")
        _write_shards(out / "trl", split, trl_rows, ".parquet", schema=trl_schema)
        counts[split] = {"rows": len(rows), "trl_rows": len(trl_rows)}
    write_text(out / "errors.log", "".join(line + "\n" for line in errors))
    return counts


def write_text(path: Path, text: str) -> None:
    """Replace ``path`` whole (a kill leaves the old file or the new one, never half)."""
    temporary = path.with_name(f".{path.name}.part")
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, path)


def _write_shards(
    folder: Path, split: str, rows: Sequence[dict[str, Any]], suffix: str, **options: Any
) -> None:
    names = shard_names(split, len(rows), suffix)
    for index, name in enumerate(names):
        chunk = rows[index * ROWS_PER_SHARD : (index + 1) * ROWS_PER_SHARD]
        write_rows(chunk, folder / name, dataset_format(Path(name)), **options)


def _row_schema() -> Any:
    import pyarrow as pa

    kinds = {"string": pa.string(), "float": pa.float64(), "strings": pa.list_(pa.string())}
    full = step_schema()
    meta = full.field("meta").type
    fields = [meta.field(i) for i in range(meta.num_fields)]
    fields += [pa.field(name, kinds[kind]) for name, kind in BUILD_META.items()]
    return full.set(full.get_field_index("meta"), pa.field("meta", pa.struct(fields)))


def _trl_schema() -> Any:
    import pyarrow as pa

    full = step_schema()
    return pa.schema([full.field(name) for name in TRL_COLUMNS])


def _remove_stale(out: Path) -> None:
    """Shards of an earlier finish (a build finishing again rewrites them all) and temporary
    files a kill left behind."""
    for folder in ("data", "jsonl", "trl"):
        for path in (out / folder).glob("*"):
            if path.is_file():
                path.unlink()
