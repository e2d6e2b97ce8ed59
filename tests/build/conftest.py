"""Small synthetic builds shared by the build tests."""

import io
import json
from pathlib import Path

import pytest

SMALL = 14
"""queries in a small build (every family of the first fourteen, one tree each)"""


def build(out: Path, *, queries: int = SMALL, seed: int = 0, **options) -> str:
    """Run the synthetic shortcut into ``out``; returns its stdout (asserting success)."""
    from vipexec.build.cli import dataset_command

    stdout, stderr = io.StringIO(), io.StringIO()
    code = dataset_command(
        out, queries=queries, seed=seed, command=f"test {out.name}", stdout=stdout,
        stderr=stderr, show_progress=False, **options,
    )  # fmt: skip
    assert code == 0, stderr.getvalue()
    return stdout.getvalue()


def read_rows(out: Path) -> list[dict]:
    """Every row of a build, from its JSONL shards, in file order (train, val, test)."""
    rows = []
    for shard in sorted((out / "jsonl").glob("*.jsonl")):
        rows += [json.loads(line) for line in shard.read_text().splitlines()]
    return rows


def dataset_files(out: Path) -> dict[str, bytes]:
    """The bytes of every dataset file (shards of all three views, errors file)."""
    files = {}
    for folder in ("data", "jsonl", "trl"):
        for path in sorted((out / folder).iterdir()):
            files[f"{folder}/{path.name}"] = path.read_bytes()
    files["errors.log"] = (out / "errors.log").read_bytes()
    return files


@pytest.fixture(scope="session")
def build_dataset():
    """``build_dataset(out, queries=, seed=, workers=, engine=)``: the synthetic shortcut."""
    return build


@pytest.fixture(scope="session")
def rows_of():
    """``rows_of(out)``: every row of a build."""
    return read_rows


@pytest.fixture(scope="session")
def files_of():
    """``files_of(out)``: the bytes of every dataset file of a build."""
    return dataset_files


@pytest.fixture(scope="session")
def small_build(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("build") / "small"
    build(out)
    return out
