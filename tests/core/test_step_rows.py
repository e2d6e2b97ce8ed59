"""The step-row contract has one owner, vipexec.core.step_rows: its rules, and no second copy."""

import re
from pathlib import Path

import pytest

from vipexec.core.step_rows import (
    DIMENSIONS,
    META_COLUMNS,
    ROW_COLUMNS,
    StepRowError,
    and_label,
    answer_text,
    block_ids,
    node_id,
    validate_row,
)

REPOSITORY = Path(__file__).resolve().parents[2]


def test_and_label():
    assert and_label([True, True, True]) is True
    assert and_label([True, None, False]) is False
    assert and_label([True, None, True]) is None
    # nothing labelled is unknown, not vacuously correct
    assert and_label([]) is None


def test_block_ids_chain_from_the_root():
    ids = block_ids(["a\n", "b\n"], "q1")
    assert ids == [node_id("q1", "a\n"), node_id(node_id("q1", "a\n"), "b\n")]
    assert block_ids(["a\n", "c\n"], "q1")[0] == ids[0]
    assert block_ids(["a\n", "b\n"], "q2") != ids
    assert block_ids(["a\n"]) == [node_id("root", "a\n")]


def test_answers_are_json_text():
    assert answer_text(None) is None
    assert answer_text(2) == "2"
    assert answer_text("yes") == '"yes"'
    assert answer_text({"b": 1, "a": [1.5]}) == '{"a": [1.5], "b": 1}'


def test_schema_names_every_field_once():
    assert set(ROW_COLUMNS) == {"prompt", "completions", "labels", *DIMENSIONS, "images"}
    assert {"program_id", "query_id", "block_ids", "answer", "correct"} <= set(META_COLUMNS)


def row(**meta):
    return {
        "prompt": "q",
        "completions": ["a", "b"],
        "labels": [True, None],
        "relevance": [True, True],
        "logic": [True, None],
        "attribute": [True, True],
        "meta": meta,
    }


def test_answer_fields_are_checked_and_kept_out_of_the_model_view():
    clean = validate_row(row(answer="2", expected_answer="2", correct=True, program="x = 1\n"))
    assert set(clean["meta"]) == {"program_id", "block_ids", "source", "split", "query_id"}
    with pytest.raises(StepRowError, match=r"field 'meta\.correct': must be true, false or null"):
        validate_row(row(correct="yes"))
    with pytest.raises(StepRowError, match=r"field 'meta\.answer': must be a string"):
        validate_row(row(answer=[2]))


def test_the_error_class_is_the_callers():
    from vipexec.reward.contract import validate_row as reward_validate
    from vipexec.reward.errors import RewardError, StepDataError

    with pytest.raises(StepDataError) as info:
        reward_validate(row(correct=1), index=3, source="x.jsonl")
    assert isinstance(info.value, RewardError) and isinstance(info.value, StepRowError)
    assert (
        str(info.value)
        == "x.jsonl, row 3, field 'meta.correct': must be true, false or null, got 1"
    )


def test_no_second_definition_of_the_contract():
    """DIMENSIONS, and_label, validate_row, node_id and block_ids are defined only in
    vipexec/core/step_rows.py; everything else imports them."""
    definition = re.compile(
        r"^\s*(DIMENSIONS\s*(:[^=]*)?=|def (and_label|validate_row|node_id|block_ids|_node_id)\b)",
        re.MULTILINE,
    )
    owners = []
    for folder in ("vipexec", "sandbox", "modules", "labelers", "reward", "scripts", "bench"):
        for path in (REPOSITORY / folder).rglob("*.py"):
            if definition.search(path.read_text(encoding="utf-8")):
                owners.append(path.relative_to(REPOSITORY).as_posix())
    assert owners == ["vipexec/core/step_rows.py"]


def test_reward_reads_the_rest_of_vipexec_only_through_the_contract():
    import ast

    # step_rows is the contract; lazy and terminal (escaping text for one terminal line) know
    # nothing of programs or runs.
    allowed = (
        "vipexec.reward",
        "vipexec.core.step_rows",
        "vipexec.core.lazy",
        "vipexec.core.terminal",
    )
    found = set()
    for path in (REPOSITORY / "reward").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module:
                found.add(node.module)
            elif isinstance(node, ast.Import):
                found.update(alias.name for alias in node.names)
    outside = {m for m in found if m.startswith("vipexec") and not m.startswith(allowed)}
    assert "vipexec.core.step_rows" in found and not outside
