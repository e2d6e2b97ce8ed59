"""Step datasets for reward models (DESIGN.md section 6): labelled runs -> JSONL / Parquet rows.

One row per program run:

- ``prompt``: the query; ``completions``: one CoT step per block (:mod:`vipexec.cot`);
- ``relevance``, ``logic``, ``attribute``: the blocks' labels (``true``/``false``/``null``);
  a label a labeler did not give is ``null``, never guessed;
- ``labels``: their AND per step (false if any is false, true if all are true, else null);
- ``images``: image file paths, relative to the dataset file;
- ``meta``: ``program_id``, ``query_id``, ``block_ids`` (equal for blocks that share a program
  prefix, like program-tree node ids), ``source`` (where the row comes from), ``split``
  (assigned per query, so no query is in two splits) and ``program`` (the program's source).

The format is a superset of TRL's stepwise supervision and passes
``vipexec.reward.contract.validate_row``.
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

from vipexec.errors import InvalidArgumentError
from vipexec.run import Run, json_text

__all__ = [
    "DIMENSIONS",
    "DatasetSummary",
    "and_label",
    "build_synthetic_dataset",
    "row_from_run",
    "split_for",
    "step_schema",
    "write_rows",
]

DIMENSIONS = ("relevance", "logic", "attribute")
SPLITS = (("train", 0.8), ("val", 0.1), ("test", 0.1))
FORMATS = {".jsonl": "jsonl", ".json": "jsonl", ".parquet": "parquet"}


def and_label(values: Sequence[bool | None]) -> bool | None:
    """False if any is False, True if all are True, else None (unknown)."""
    if any(v is False for v in values):
        return False
    if values and all(v is True for v in values):
        return True
    return None


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


def block_ids(run: Run, query_id: str) -> list[str]:
    """Ids that are equal for blocks that share a program prefix (for the same query)."""
    ids, parent = [], query_id
    segments = run.program.segments()
    for position in range(len(run.blocks)):
        segment = segments[position] if position < len(segments) else ""
        parent = hashlib.sha256(f"{parent}\0{segment}".encode()).hexdigest()[:16]
        ids.append(parent)
    return ids


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
) -> dict[str, Any]:
    """One dataset row from a labelled run (labels read from ``run.blocks[i].labels``)."""
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
    return {
        "prompt": prompt,
        "completions": completions,
        "labels": combined,
        **columns,
        "images": list(images),
        "meta": {
            "program_id": program_id or run.program.sha256[:16],
            "query_id": query_id,
            "block_ids": block_ids(run, query_id),
            "source": source,
            "split": split or split_for(query_id, seed=seed),
            "program": run.program.source,
        },
    }


def dataset_format(path: Path, format: str | None = None) -> str:
    kind = format or FORMATS.get(path.suffix)
    if kind not in ("jsonl", "parquet"):
        raise InvalidArgumentError(
            f"{path}: the dataset format is jsonl or parquet (by suffix or format=), not {kind!r}"
        )
    return kind


def step_schema(*, answers: bool = False) -> Any:
    """The Parquet (pyarrow) schema of step rows; ``answers`` adds the ``answer``,
    ``expected_answer`` and ``correct`` columns that built datasets carry."""
    import pyarrow as pa

    flags = pa.list_(pa.bool_())
    meta = pa.struct(
        [
            ("program_id", pa.string()),
            ("query_id", pa.string()),
            ("block_ids", pa.list_(pa.string())),
            ("source", pa.string()),
            ("split", pa.string()),
            ("program", pa.string()),
        ]
    )
    columns = [
        ("prompt", pa.string()),
        ("completions", pa.list_(pa.string())),
        ("labels", flags),
        ("relevance", flags),
        ("logic", flags),
        ("attribute", flags),
        ("images", pa.list_(pa.string())),
        ("meta", meta),
    ]
    if answers:
        columns += [
            ("answer", pa.string()),
            ("expected_answer", pa.string()),
            ("correct", pa.bool_()),
        ]
    return pa.schema(columns)


def write_rows(
    rows: Iterable[dict[str, Any]],
    path: str | os.PathLike,
    format=None,
    *,
    answers: bool = False,
    schema: Any = None,
) -> Path:
    """Write rows as JSONL or Parquet (by ``format`` or the file suffix).

    Parquet columns follow :func:`step_schema` (``answers`` as there) unless ``schema`` (a
    pyarrow schema) is given.

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

    schema = schema if schema is not None else step_schema(answers=answers)
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

    from vipexec.labelers.quality import QualityConfig, iter_labelled

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
    from vipexec.labelers.quality import scene_pixels

    return scene_pixels(item)
