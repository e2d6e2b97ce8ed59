"""Loading the step dataset and turning rows into padded batches.

Files are read with ``datasets.load_dataset`` (JSONL or Parquet), every row goes through the
contract validator (errors name file, row and field), and the result is a ``datasets.Dataset``
with explicit features. Rows are encoded with the shared :class:`StepEncoder`.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from vipexec.core.step_rows import META_COLUMNS, READ_META_FIELDS, ROW_COLUMNS, SPLIT_NAMES
from vipexec.reward.contract import DIMENSIONS, LABEL_FIELDS, and_label, validate_row
from vipexec.reward.errors import RewardError, StepDataError
from vipexec.reward.tokenize import EncodedRow, StepEncoder

log = logging.getLogger("vipexec.reward")

IGNORE = -100.0
SPLITS = SPLIT_NAMES
_SPLIT_ALIASES = {
    "train": "train",
    "training": "train",
    "val": "val",
    "valid": "val",
    "validation": "val",
    "dev": "val",
    "test": "test",
    "testing": "test",
}
_FORMATS = {".jsonl": "json", ".json": "json", ".parquet": "parquet"}


def step_features() -> Any:
    """Explicit ``datasets`` features of a validated step dataset (from the row contract)."""
    from datasets import Features, List, Value

    kinds = {
        "string": Value("string"),
        "strings": List(Value("string")),
        "flags": List(Value("bool")),
        "bool": Value("bool"),
    }
    features = {name: kinds[kind] for name, kind in ROW_COLUMNS.items()}
    features["meta"] = {name: kinds[META_COLUMNS[name]] for name in READ_META_FIELDS}
    return Features(features)


def data_files(paths: str | Path | Sequence[str | Path]) -> list[Path]:
    """Expand a file, a folder (its .jsonl/.parquet files) or a list; missing paths raise."""
    items = [paths] if isinstance(paths, (str, Path)) else list(paths)
    files: list[Path] = []
    for item in items:
        path = Path(item).expanduser()
        if path.is_dir():
            found = sorted(p for p in path.iterdir() if p.suffix in _FORMATS)
            if not found:
                raise StepDataError("folder holds no .jsonl or .parquet file", source=str(path))
            files += found
        elif path.is_file():
            if path.suffix not in _FORMATS:
                raise StepDataError("expected a .jsonl, .json or .parquet file", source=str(path))
            files.append(path)
        else:
            raise StepDataError("file not found", source=str(path))
    return files


def _read_raw(path: Path) -> list[Any]:
    """Rows of one file through ``datasets``; on a parse failure, find the bad line ourselves."""
    from datasets import load_dataset
    from datasets.utils import logging as datasets_logging
    from datasets.utils.tqdm import (
        are_progress_bars_disabled,
        disable_progress_bars,
        enable_progress_bars,
    )

    quiet = are_progress_bars_disabled()
    disable_progress_bars()
    # datasets logs a parse failure (with the raw file name) before raising; the error we raise
    # says it in one escaped line, so its logger is silenced while it reads.
    verbosity = datasets_logging.get_verbosity()
    datasets_logging.set_verbosity(datasets_logging.CRITICAL)
    try:
        ds = load_dataset(_FORMATS[path.suffix], data_files=str(path), split="train")
    except Exception as exc:
        if path.suffix != ".parquet":
            _raise_bad_json_line(path)
        raise StepDataError(
            f"cannot be read: {type(exc).__name__}: {exc}".splitlines()[0], source=str(path)
        ) from exc
    finally:
        datasets_logging.set_verbosity(verbosity)
        if not quiet:
            enable_progress_bars()
    return list(ds)


def _raise_bad_json_line(path: Path) -> None:
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise StepDataError(
                    f"invalid JSON: {exc.msg}", source=str(path), row=number
                ) from exc
            validate_row(row, index=number, source=str(path))
    raise StepDataError("rows have inconsistent types across lines", source=str(path))


def load_step_dataset(
    paths: str | Path | Sequence[str | Path],
    *,
    max_rows: int | None = None,
    require_labels: bool = True,
) -> Any:
    """Validated step dataset (``datasets.Dataset`` with :func:`step_features`).

    Extra columns say where each row came from, ``_file`` and ``_row`` (1-based), and whether it
    carried all four label fields, ``_labelled``. With ``require_labels=False`` (rows to score)
    absent label fields are accepted as all-null.
    """
    from datasets import Dataset, Value

    rows: list[dict[str, Any]] = []
    for path in data_files(paths):
        for number, raw in enumerate(_read_raw(path), start=1):
            row = validate_row(raw, index=number, source=str(path), require_labels=require_labels)
            row["_file"] = str(path)
            row["_row"] = number
            row["_labelled"] = all(raw.get(name) is not None for name in LABEL_FIELDS)
            rows.append(row)
            if max_rows is not None and len(rows) >= max_rows:
                break
        if max_rows is not None and len(rows) >= max_rows:
            break
    if not rows:
        raise StepDataError("no rows", source=str(paths))
    features = step_features()
    features["_file"] = Value("string")
    features["_row"] = Value("int64")
    features["_labelled"] = Value("bool")
    return Dataset.from_list(rows, features=features)


def require_labelled(rows: Any) -> None:
    """Raise naming the first row that lacks label fields (training and evaluation need them)."""
    for row in rows:
        if not row["_labelled"]:
            missing = [n for n in LABEL_FIELDS if all(v is None for v in row[n])]
            raise StepDataError(
                "has no labels; fit/validate/test need relevance, logic, attribute and labels",
                source=row["_file"],
                row=row["_row"],
                field=missing[0] if missing else None,
            )


def split_of(
    meta: dict[str, Any], *, prompt: str, val_fraction: float, test_fraction: float, salt: str
) -> str:
    """``train``/``val``/``test`` from ``meta.split``, else from a stable hash of the query.

    Hashing the query (``meta.query_id``, else the prompt) keeps every candidate program of a
    question in one split, so evaluation is held out by query.
    """
    given = meta.get("split")
    if given is not None and str(given).lower() in _SPLIT_ALIASES:
        return _SPLIT_ALIASES[str(given).lower()]
    key = meta.get("query_id") or prompt
    digest = hashlib.blake2b(f"{salt}\0{key}".encode(), digest_size=8).digest()
    u = int.from_bytes(digest, "big") / 2**64
    if u < test_fraction:
        return "test"
    if u < test_fraction + val_fraction:
        return "val"
    return "train"


def row_targets(row: dict[str, Any], kept: int) -> tuple[list[list[float]], list[float]]:
    """Per kept step: the three dimension labels and the AND label (-100 when missing)."""

    def value(v: bool | None) -> float:
        return IGNORE if v is None else float(v)

    dims, ands = [], []
    for i in range(kept):
        flags = [row[d][i] for d in DIMENSIONS]
        dims.append([value(v) for v in flags])
        given = row["labels"][i]
        ands.append(value(given if given is not None else and_label(flags)))
    return dims, ands


class StepRowDataset(torch.utils.data.Dataset):
    """Encoded rows of a step dataset; text-backbone encodings are memoised.

    Relative image paths are resolved against the folder of the row's own data file, never
    against the working directory.
    """

    def __init__(self, rows: Any, encoder: StepEncoder) -> None:
        self.rows = rows
        self.encoder = encoder
        self._memo: dict[int, EncodedRow] = {}

    def __len__(self) -> int:
        return len(self.rows)

    def row(self, index: int) -> dict[str, Any]:
        return self.rows[index]

    def encoded(self, index: int) -> EncodedRow:
        if index in self._memo:
            return self._memo[index]
        row = self.rows[index]
        images = self.images(index)
        encoded = self.encoder.encode(
            row["prompt"], row["completions"], images if self.encoder.is_vlm else ()
        )
        if not self.encoder.is_vlm:
            self._memo[index] = encoded
        return encoded

    def images(self, index: int) -> list[Path]:
        row = self.rows[index]
        return [_resolve_image(p, row.get("_file")) for p in row["images"]]

    def truncation(self) -> dict[str, int]:
        """Steps and dropped steps over every row (encodes what is not encoded yet)."""
        steps = dropped = rows_cut = 0
        for i in range(len(self)):
            enc = self.encoded(i)
            steps += enc.n_steps
            dropped += enc.dropped
            rows_cut += enc.dropped > 0
        return {
            "rows": len(self),
            "steps": steps,
            "dropped_steps": dropped,
            "rows_with_dropped_steps": rows_cut,
        }

    def __getitem__(self, index: int) -> dict[str, Any]:
        enc = self.encoded(index)
        dims, ands = row_targets(self.rows[index], enc.kept)
        return {
            "row_id": index,
            "encoded": enc,
            "labels": dims,
            "and_labels": ands,
            "images": self.images(index),
        }


def _resolve_image(path: str, data_file: str | None) -> Path:
    p = Path(path).expanduser()
    if not p.is_absolute() and data_file:
        p = Path(data_file).parent / p
    return p


def collate_steps(examples: Sequence[dict[str, Any]], *, pad_id: int) -> dict[str, Any]:
    """Pad encoded rows into one batch (right padding).

    Keys: ``input_ids``, ``attention_mask``, ``block_ids`` (-1 on padding) ``[B, T]``;
    ``step_ends``, ``step_mask`` ``[B, S]``; ``labels`` ``[B, S, 3]`` and ``and_labels``
    ``[B, S, 1]`` (-100 missing or padding); ``row_ids`` ``[B]``; ``images`` (per row, its
    images as given: paths or pixels, for a separate image encoder); VLM inputs when present.
    """
    if not examples:
        raise RewardError("cannot collate an empty batch")
    encs: list[EncodedRow] = [e["encoded"] for e in examples]
    b = len(encs)
    t = max(len(e.input_ids) for e in encs)
    s = max(1, max(e.kept for e in encs))
    input_ids = torch.full((b, t), pad_id, dtype=torch.long)
    attention = torch.zeros((b, t), dtype=torch.long)
    blocks = torch.full((b, t), -1, dtype=torch.long)
    step_ends = torch.zeros((b, s), dtype=torch.long)
    step_mask = torch.zeros((b, s), dtype=torch.bool)
    labels = torch.full((b, s, 3), IGNORE)
    and_labels = torch.full((b, s, 1), IGNORE)
    for i, (ex, enc) in enumerate(zip(examples, encs)):
        n = len(enc.input_ids)
        input_ids[i, :n] = torch.tensor(enc.input_ids)
        attention[i, :n] = 1
        blocks[i, :n] = torch.tensor(enc.block_ids)
        if enc.kept:
            step_ends[i, : enc.kept] = torch.tensor(enc.step_ends)
            step_mask[i, : enc.kept] = True
            labels[i, : enc.kept] = torch.tensor(ex["labels"])
            and_labels[i, : enc.kept, 0] = torch.tensor(ex["and_labels"])
    batch: dict[str, Any] = {
        "input_ids": input_ids,
        "attention_mask": attention,
        "block_ids": blocks,
        "step_ends": step_ends,
        "step_mask": step_mask,
        "labels": labels,
        "and_labels": and_labels,
        "row_ids": torch.tensor([ex["row_id"] for ex in examples], dtype=torch.long),
        "n_steps": torch.tensor([enc.n_steps for enc in encs], dtype=torch.long),
        "images": [list(ex.get("images") or ()) for ex in examples],
    }
    if any("mm_token_type_ids" in e.extras for e in encs):
        mm = torch.zeros((b, t), dtype=torch.long)
        for i, enc in enumerate(encs):
            values = enc.extras.get("mm_token_type_ids")
            if values is not None:
                mm[i, : len(values)] = torch.tensor(values)
        batch["mm_token_type_ids"] = mm
    pixels = [e.extras["pixel_values"] for e in encs if "pixel_values" in e.extras]
    if pixels:
        batch["pixel_values"] = torch.cat(pixels, 0)
        batch["image_grid_thw"] = torch.cat(
            [e.extras["image_grid_thw"] for e in encs if "image_grid_thw" in e.extras], 0
        )
    return batch
