"""Step datasets for reward models: labelled runs -> JSONL / Parquet rows.

One row per program run, in the format :mod:`vipexec.core.step_rows` defines (and validates): the
query as ``prompt``, one CoT step per block (:mod:`vipexec.cot`) as ``completions``, the blocks'
labels per dimension and their AND, the image paths and ``meta``.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import secrets
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vipexec.core.errors import InvalidArgumentError
from vipexec.core.run import Run, json_text
from vipexec.core.step_rows import (
    DIMENSIONS,
    META_COLUMNS,
    ROW_COLUMNS,
    SPLIT_NAMES,
    and_label,
    answer_text,
    block_ids,
)

__all__ = [
    "DatasetSummary",
    "build_synthetic_dataset",
    "row_from_run",
    "split_for",
    "step_schema",
    "write_rows",
]

SPLITS = tuple(zip(SPLIT_NAMES, (0.8, 0.1, 0.1), strict=True))
FORMATS = {".jsonl": "jsonl", ".json": "jsonl", ".parquet": "parquet"}


def split_for(query_id: str, *, seed: int = 0, splits=SPLITS) -> str:
    """A stable split for a query: a hash of the id placed on the split fractions."""
    digest = hashlib.sha256(f"{seed}:{query_id}".encode()).digest()
    point = int.from_bytes(digest[:8], "big") / 2**64
    total = 0.0
    for name, fraction in splits:
        total += fraction
        if point < total:
            return name
    return splits[-1][0]


def row_from_run(
    run: Run,
    *,
    prompt: str,
    query_id: str,
    program_id: str | None = None,
    images: Sequence[str] = (),
    source: str = "vipexec",
    split: str | None = None,
    steps: Sequence[str] | None = None,
    seed: int = 0,
    expected_answer: Any = None,
    correct: bool | None = None,
) -> dict[str, Any]:
    """One dataset row from a labelled run (labels read from ``run.blocks[i].labels``).

    The row's answer is the run's result (:meth:`Run.result_from_summary`), null when the run
    failed; ``correct`` is the caller's verdict on it (the benchmark's own rule), never guessed.
    """
    from vipexec.cot import run_steps

    if not isinstance(prompt, str) or not prompt:
        raise InvalidArgumentError("a row needs the query as its prompt")
    completions = list(steps) if steps is not None else run_steps(run)
    if len(completions) != len(run.blocks):
        raise InvalidArgumentError(
            f"{len(completions)} steps for {len(run.blocks)} blocks: they must agree"
        )
    columns: dict[str, list[bool | None]] = {}
    for dimension in DIMENSIONS:
        column = []
        for block in run.blocks:
            value = (block.labels.get(dimension) or {}).get("value")
            column.append(value if isinstance(value, bool) else None)
        columns[dimension] = column
    combined = [and_label([columns[d][i] for d in DIMENSIONS]) for i in range(len(run.blocks))]
    answer = Run.result_from_summary(run.result_summary) if run.ok else None
    return {
        "prompt": prompt,
        "completions": completions,
        "labels": combined,
        **columns,
        "images": list(images),
        "meta": {
            "program_id": program_id or run.program.sha256[:16],
            "query_id": query_id,
            "block_ids": block_ids(run.program.segments(), query_id)[: len(run.blocks)],
            "source": source,
            "split": split or split_for(query_id, seed=seed),
            "program": run.program.source,
            "answer": answer_text(answer),
            "expected_answer": answer_text(expected_answer),
            "correct": correct,
        },
    }


def dataset_format(path: Path, format: str | None = None) -> str:
    kind = format or FORMATS.get(path.suffix)
    if kind not in ("jsonl", "parquet"):
        raise InvalidArgumentError(
            f"{path}: the dataset format is jsonl or parquet (by suffix or format=), not {kind!r}"
        )
    return kind


def step_schema() -> Any:
    """The Parquet (pyarrow) schema of step rows, built from the step-row contract's columns
    (:data:`~vipexec.core.step_rows.ROW_COLUMNS`, :data:`~vipexec.core.step_rows.META_COLUMNS`)."""
    import pyarrow as pa

    kinds = {
        "string": pa.string(),
        "strings": pa.list_(pa.string()),
        "flags": pa.list_(pa.bool_()),
        "bool": pa.bool_(),
    }
    meta = pa.struct([(name, kinds[kind]) for name, kind in META_COLUMNS.items()])
    columns = [(name, kinds[kind]) for name, kind in ROW_COLUMNS.items()]
    return pa.schema([*columns, ("meta", meta)])


def write_rows(
    rows: Iterable[dict[str, Any]],
    path: str | os.PathLike,
    format=None,
    *,
    schema: Any = None,
) -> Path:
    """Write rows as JSONL or Parquet (by ``format`` or the file suffix).

    Parquet columns follow :func:`step_schema` unless ``schema`` (a pyarrow schema) is given.

    The file appears whole or not at all: rows go to a temporary file next to ``path`` that
    replaces it only once complete (a kill mid-write never leaves a partial dataset).
    """
    path = Path(path)
    kind = dataset_format(path, format)
    path.parent.mkdir(parents=True, exist_ok=True)
    rows = list(rows)
    if kind == "jsonl":
        with (
            _replaced_when_done(path) as temporary,
            temporary.open("x", encoding="utf-8") as handle,
        ):
            for row in rows:
                handle.write(json_text(row) + "\n")
        return path
    try:
        import pyarrow.parquet as pq
    except ImportError:  # pragma: no cover - pyarrow is in the reward extra
        raise InvalidArgumentError("writing Parquet needs pyarrow (pip install pyarrow)") from None
    import pyarrow as pa

    schema = schema if schema is not None else step_schema()
    table = pa.Table.from_pylist(rows, schema=schema)
    with _replaced_when_done(path) as temporary:
        pq.write_table(table, temporary)
    return path


@contextlib.contextmanager
def _replaced_when_done(path: Path) -> Iterator[Path]:
    """A fresh path in ``path``'s folder, synced and renamed onto ``path`` when the block ends
    normally, removed when it does not (created by the writer, so the umask applies)."""
    temporary = path.parent / f".{path.name}.{secrets.token_hex(6)}.part"
    try:
        yield temporary
        with temporary.open("rb") as written:
            os.fsync(written.fileno())
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


@dataclass
class DatasetSummary:
    path: Path
    rows: int
    steps: int
    splits: dict[str, int] = field(default_factory=dict)
    labels: dict[str, dict[str, int]] = field(default_factory=dict)
    images: int = 0

    def describe(self) -> str:
        lines = [
            f"wrote {self.rows} rows ({self.steps} steps) to {self.path}; "
            f"{self.images} images; splits: "
            + ", ".join(f"{k} {v}" for k, v in sorted(self.splits.items()))
        ]
        for name, counts in self.labels.items():
            shown = ", ".join(f"{k} {v}" for k, v in counts.items())
            lines.append(f"  {name:<9} {shown}")
        return "\n".join(lines)


def summarize_rows(path: Path, rows: list[dict[str, Any]], images: int) -> DatasetSummary:
    summary = DatasetSummary(path, len(rows), sum(len(r["completions"]) for r in rows))
    summary.images = images
    summary.splits = dict(Counter(r["meta"]["split"] for r in rows))
    for name in ("labels", *DIMENSIONS):
        counts = Counter(v for r in rows for v in r[name])
        summary.labels[name] = {
            "true": counts[True],
            "false": counts[False],
            "null": counts[None],
        }
    return summary


def build_synthetic_dataset(
    output: str | os.PathLike,
    *,
    scenes: int = 40,
    seed: int = 0,
    faults: int = 2,
    format: str | None = None,
    max_examples: int = 40,
) -> DatasetSummary:
    """A step dataset from the label-quality generator: labelled synthetic programs (correct,
    noisy-backend and fault-injected) on generated scenes; images go to ``images/`` next to the
    dataset file."""
    from PIL import Image

    from vipexec.benchmark.quality import QualityConfig, iter_labelled

    output = Path(output)
    dataset_format(output, format)
    folder = output.parent / "images"
    folder.mkdir(parents=True, exist_ok=True)
    config = QualityConfig(
        scenes=scenes, seed=seed, faults_per_instance=faults, max_examples=max_examples
    )
    rows, written = [], set()
    seen: Counter = Counter()
    for item in iter_labelled(config):
        # Two injected faults of one kind on one query would share `{query}-{kind}`: the second
        # gets a number.
        seen[(item.query_id, item.variant)] += 1
        repeat = seen[(item.query_id, item.variant)]
        program_id = f"{item.query_id}-{item.variant}" + (f"-{repeat}" if repeat > 1 else "")
        image_path = folder / f"{item.image}.png"
        if item.image not in written:
            Image.fromarray(_pixels(item)).save(image_path)
            written.add(item.image)
        rows.append(
            row_from_run(
                item.run,
                prompt=item.query,
                query_id=item.query_id,
                program_id=program_id,
                images=[os.path.relpath(image_path, output.parent)],
                source=f"vipexec-synthetic/{item.template}/{item.variant}",
                seed=seed,
            )
        )
    write_rows(rows, output, format)
    return summarize_rows(output, rows, len(written))


def _pixels(item: Any) -> Any:
    from vipexec.benchmark.quality import scene_pixels

    return scene_pixels(item)
