"""Dataset files appear whole or not at all."""

import json
import os

import pytest

from vipexec.dataset import write_rows


class Unwritable:
    """A row value json cannot encode: the write fails after the first rows."""


def _rows(count):
    return [{"prompt": f"q{i}", "completions": ["a\ud800"], "labels": [True]} for i in range(count)]


def test_a_write_that_fails_midway_leaves_the_old_file_and_no_partial_one(tmp_path):
    path = tmp_path / "steps.jsonl"
    write_rows(_rows(2), path)
    before = path.read_bytes()
    broken = [*_rows(50), {"prompt": Unwritable()}]
    with pytest.raises(TypeError):
        write_rows(broken, path)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["steps.jsonl"]


def test_a_failed_first_write_creates_no_file(tmp_path):
    with pytest.raises(TypeError):
        write_rows([*_rows(3), {"prompt": Unwritable()}], tmp_path / "new.jsonl")
    assert os.listdir(tmp_path) == []


def test_rows_round_trip_with_any_string(tmp_path):
    rows = _rows(3)
    path = write_rows(rows, tmp_path / "steps.jsonl")
    assert [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()] == rows
    assert os.listdir(tmp_path) == ["steps.jsonl"]


def test_parquet_is_replaced_whole(tmp_path):
    pytest.importorskip("pyarrow.parquet")
    import pyarrow.parquet as pq

    row = {"prompt": "q", "completions": ["a"], "labels": [True], "relevance": [True],
           "logic": [True], "attribute": [True], "images": [],
           "meta": {"program_id": "p", "query_id": "q", "block_ids": ["b"], "source": "s",
                    "split": "train", "program": "x", "answer": "2", "expected_answer": "3",
                    "correct": False}}  # fmt: skip
    path = write_rows([row], tmp_path / "steps.parquet")
    assert pq.read_table(path).to_pylist() == [row]
    assert os.listdir(tmp_path) == ["steps.parquet"]


@pytest.mark.slow
def test_synthetic_file_builder_gives_unique_program_ids(tmp_path):
    """Scene 14 (seed 0) draws two faults of one kind for one query: they once shared an id."""
    from collections import Counter

    from vipexec.dataset import build_synthetic_dataset

    path = tmp_path / "steps.jsonl"
    build_synthetic_dataset(path, scenes=15, seed=0)
    ids = Counter(json.loads(line)["meta"]["program_id"] for line in path.read_text().splitlines())
    assert max(ids.values()) == 1
    assert "count-0014-off_by_one-2" in ids
