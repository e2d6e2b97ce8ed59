"""The step-dataset contract: the row validator and the loader built on it."""

from __future__ import annotations

import copy
import json

import pytest

from vipexec.reward.contract import and_label, validate_row
from vipexec.reward.data import load_step_dataset
from vipexec.reward.errors import StepDataError

ROW = {
    "prompt": "How many red cubes are there?",
    "completions": ["find cubes", "count them", "return 2"],
    "labels": [True, False, None],
    "relevance": [True, True, True],
    "logic": [True, False, None],
    "attribute": [True, None, True],
    "images": ["scene.png"],
    "meta": {
        "program_id": "p1",
        "block_ids": [0, 1, 2],
        "source": "unit",
        "split": "train",
        "query_id": "q1",
        "extra": "kept out",
    },
}


def row(**changes):
    out = copy.deepcopy(ROW)
    out.update(changes)
    return out


def test_valid_row_is_normalised():
    clean = validate_row(row(), index=1, source="x.jsonl")
    assert clean["meta"] == {
        "program_id": "p1",
        "block_ids": ["0", "1", "2"],
        "source": "unit",
        "split": "train",
        "query_id": "q1",
    }
    assert clean["logic"] == [True, False, None]
    minimal = validate_row(
        {k: ROW[k] for k in ("prompt", "completions", "labels", "relevance", "logic", "attribute")}
    )
    assert minimal["images"] == [] and minimal["meta"]["query_id"] is None


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"prompt": 3}, "prompt", "must be a string"),
        ({"completions": "one step"}, "completions", "list of strings"),
        ({"logic": [True, False]}, "logic", "has 2 entries but completions has 3"),
        ({"relevance": [True, "yes", True]}, "relevance", "entry 1 must be true, false or null"),
        ({"attribute": [1, 1, 1]}, "attribute", "entry 0"),
        ({"labels": [True, True, None]}, "labels", "entry 1 is True but the AND"),
        ({"images": "scene.png"}, "images", "list of file paths"),
        ({"meta": ["p1"]}, "meta", "must be an object"),
        ({"meta": {"block_ids": [0]}}, "meta.block_ids", "has 1 entries"),
    ],
)
def test_violations_name_row_and_field(changes, field, message):
    with pytest.raises(StepDataError, match=message) as info:
        validate_row(row(**changes), index=7, source="data.jsonl")
    assert info.value.field == field
    assert str(info.value).startswith(f"data.jsonl, row 7, field '{field}': ")


def test_missing_field():
    bad = row()
    del bad["attribute"]
    with pytest.raises(StepDataError, match="field 'attribute': is missing"):
        validate_row(bad, index=2)


def test_rows_to_score_may_omit_labels():
    bare = {"prompt": "How many?", "completions": ["a", "b"]}
    with pytest.raises(StepDataError, match="field 'labels': is missing"):
        validate_row(bare)
    clean = validate_row(bare, require_labels=False)
    assert clean["logic"] == [None, None] and clean["labels"] == [None, None]
    with pytest.raises(StepDataError, match="field 'logic': has 1 entries"):
        validate_row({**bare, "logic": [True]}, require_labels=False)


def test_and_label():
    assert and_label([True, True, True]) is True
    assert and_label([True, False, None]) is False
    assert and_label([True, None, True]) is None


def test_load_jsonl_and_parquet_with_explicit_features(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = [
        row(),
        row(
            prompt="Is there a cube?",
            labels=[True, False, False],
            relevance=[True, True, False],
            logic=[True, False, None],
            attribute=[True, True, None],
        ),
    ]
    jsonl = tmp_path / "steps.jsonl"
    jsonl.write_text("".join(json.dumps(r) + "\n" for r in rows))
    parquet = tmp_path / "steps.parquet"
    pq.write_table(pa.Table.from_pylist(rows), parquet)
    for path in (jsonl, parquet):
        ds = load_step_dataset(path)
        assert len(ds) == 2
        assert ds.features["logic"].feature.dtype == "bool"
        assert ds.features["meta"]["block_ids"].feature.dtype == "string"
        assert ds[1]["logic"] == [True, False, None]
        assert ds[0]["meta"]["block_ids"] == ["0", "1", "2"]
        assert (ds[1]["_file"], ds[1]["_row"]) == (str(path), 2)


def test_loader_reports_the_bad_row(tmp_path):
    path = tmp_path / "steps.jsonl"
    bad = row(logic=[True, None])
    path.write_text(json.dumps(row()) + "\n" + json.dumps(bad) + "\n")
    with pytest.raises(StepDataError, match=r"steps.jsonl, row 2, field 'logic'"):
        load_step_dataset(path)


def test_loader_reports_invalid_json_line(tmp_path):
    path = tmp_path / "steps.jsonl"
    path.write_text(json.dumps(row()) + "\n{not json\n")
    with pytest.raises(StepDataError, match=r"row 2: invalid JSON"):
        load_step_dataset(path)


def test_loader_missing_file_and_folder(tmp_path):
    with pytest.raises(StepDataError, match="file not found"):
        load_step_dataset(tmp_path / "nope.jsonl")
    with pytest.raises(StepDataError, match=r"no \.jsonl or \.parquet"):
        load_step_dataset(tmp_path)


def test_fixture_is_deterministic_valid_and_split_by_query(fixture_module):
    a = fixture_module.generate(queries=30, programs=4, seed=5)
    b = fixture_module.generate(queries=30, programs=4, seed=5)
    assert a == b
    assert a != fixture_module.generate(queries=30, programs=4, seed=6)
    for i, r in enumerate(a):
        validate_row(r, index=i)
    split_of_query = {}
    for r in a:
        split_of_query.setdefault(r["meta"]["query_id"], set()).add(r["meta"]["split"])
    assert len(split_of_query) == 30
    assert all(len(s) == 1 for s in split_of_query.values())
    values = [v for r in a for d in ("relevance", "logic", "attribute") for v in r[d]]
    assert {True, False, None} <= set(values)


def test_fixture_labels_follow_the_text(fixture_module):
    rows = fixture_module.generate(queries=80, programs=6, seed=0)
    errors = after = 0
    for r in rows:
        failed = False
        for i, text in enumerate(r["completions"]):
            if "raises" in text:
                failed = True
                errors += 1
                assert r["logic"][i] is None and r["attribute"][i] is None
            elif failed:
                after += 1
                assert r["logic"][i] is None and r["attribute"][i] is None
    assert errors > 20 and after > 10
