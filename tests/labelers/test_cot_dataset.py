"""CoT steps from traces, and the step dataset (validated by the reward model's contract)."""

from __future__ import annotations

import io
import json

import pytest

from vipexec.core.step_rows import and_label
from vipexec.cot import block_step, describe_value, run_steps
from vipexec.dataset import row_from_run, split_for, write_rows
from vipexec.labelers import label_run
from vipexec.labelers.base import LabelContext

SOURCE = """def execute_command(image):
    # Step 1: find the circles
    image_patch = ImagePatch(image)
    circle_patches = image_patch.find("circle")
    # Step 2: keep the red ones
    red_circles = []
    for patch in circle_patches:
        # Step 3: check the colour of each circle
        if patch.verify_property("circle", "red"):
            red_circles.append(patch)
    # Step 4: count them
    count = len(red_circles)
    return count
"""
QUERY = "How many red circles are there?"


def test_steps_are_deterministic_and_use_trace_values(run_on):
    run = run_on(SOURCE, QUERY)
    steps = run_steps(run)
    assert steps == run_steps(run)
    assert len(steps) == len(run.blocks) == 4
    assert steps[0].startswith(
        "In this step, we use an object detector to locate every circle in the region at "
        "(0, 0, 320, 240): it finds 4, at (19, 49, 47, 77), (156, 37, 184, 65), "
        "(168, 113, 196, 141) and (232, 41, 260, 69)."
    )
    assert "a list of 4 regions at (19, 49, 47, 77)" in steps[0]
    assert steps[2].startswith(
        "In this step, we use a visual question answering model to check whether the circle "
        "is red 4 times: the answer is yes at (19, 49, 47, 77); the answer is no at "
        "(156, 37, 184, 65), (168, 113, 196, 141) and (232, 41, 260, 69)."
    )
    assert "This step runs 4 times, once for each item." in steps[2]
    assert "We count the items of the red circles" in steps[3]
    assert steps[3].endswith("This gives 1. The final answer is 1.")


def test_failing_and_skipped_steps(run_on):
    broken = run_on(SOURCE.replace("len(red_circles)", "len(red_circle)"), QUERY)
    steps = run_steps(broken)
    assert steps[3].endswith("This step fails because it uses a value that was never defined."), (
        "the NameError message quotes a variable name, so it is left out"
    )
    block = broken.program.blocks[2]
    assert block_step(block, {**broken.blocks[2].to_dict(), "status": "not_run"}).endswith(
        "This step is not executed: the program did not reach it."
    )


def test_many_calls_are_aggregated(kit):
    calls = [
        {
            "method": "verify_property",
            "args": {"attribute": {"type": "str", "value": "red"}},
            "result": {"type": "bool", "value": i % 3 == 0},
        }
        for i in range(9)
    ]
    run = kit.hand_run(SOURCE, ["ok", "ok", "ok", "ok"], calls={2: calls})
    assert run_steps(run)[2].startswith(
        "In this step, we use a visual question answering model to check whether the object "
        "is red 9 times: the answer is no 6 times; the answer is yes 3 times."
    )


@pytest.mark.parametrize(
    ("summary", "text"),
    [
        ({"type": "int", "value": 3}, "3"),
        ({"type": "str", "value": "yes"}, '"yes"'),
        ({"type": "list", "len": 0, "items": []}, "an empty list"),
        ({"type": "ImagePatch", "image": "x", "box": [1, 2, 3, 4]}, "a region at (1, 2, 3, 4)"),
        ({"type": "float", "repr": "nan"}, "nan"),
        ({"type": "Widget"}, "a Widget"),
    ],
)
def test_describe_value(summary, text):
    assert describe_value(summary) == text


def test_and_label_and_splits():
    assert and_label([True, True, True]) is True
    assert and_label([True, None, False]) is False
    assert and_label([True, None, True]) is None
    splits = {split_for(f"q{i}") for i in range(200)}
    assert splits == {"train", "val", "test"}
    assert split_for("q7") == split_for("q7")


def test_rows_pass_the_reward_contract(run_on, world, tmp_path):
    from vipexec.reward.contract import validate_row

    store, *_ = world
    good = run_on(SOURCE, QUERY)
    bad = run_on(SOURCE.replace("len(red_circles)", "len(red_circles) + 1"), QUERY)
    rows = []
    for name, run in (("good", good), ("bad", bad)):
        label_run(run, context=LabelContext(store=store))
        rows.append(
            row_from_run(
                run,
                prompt=QUERY,
                query_id="q1",
                program_id=name,
                images=["scene.png"],
                source="test",
            )
        )
    for index, row in enumerate(rows):
        validate_row(row, index=index)
        assert len(row["completions"]) == len(row["labels"]) == len(row["meta"]["block_ids"])
    assert rows[0]["labels"] == [True, True, True, True]
    assert rows[1]["logic"] == [True, True, True, False]
    assert rows[1]["labels"][3] is False
    # shared prefix, shared block ids; same query, same split
    assert rows[0]["meta"]["block_ids"][:3] == rows[1]["meta"]["block_ids"][:3]
    assert rows[0]["meta"]["block_ids"][3] != rows[1]["meta"]["block_ids"][3]
    assert rows[0]["meta"]["split"] == rows[1]["meta"]["split"]
    path = write_rows(rows, tmp_path / "steps.jsonl")
    assert [json.loads(line) for line in path.read_text().splitlines()] == rows


def test_missing_labels_are_null_not_guessed(run_on):
    run = run_on(SOURCE, QUERY)
    label_run(run, "relevance")
    row = row_from_run(run, prompt=QUERY, query_id="q")
    assert row["relevance"] == [True, True, True, True]
    assert row["logic"] == [None] * 4 and row["attribute"] == [None] * 4
    assert row["labels"] == [None] * 4


def test_block_ids_are_the_program_tree_node_ids(run_on):
    from vipexec import ProgramTree

    run = run_on(SOURCE, QUERY)
    label_run(run)
    other = run_on(SOURCE.replace('"red"', '"blue"'), QUERY)
    label_run(other)
    tree = ProgramTree(query_id="q")
    ends = [tree.add(run), tree.add(other)]
    rows = [row_from_run(r, prompt=QUERY, query_id="q") for r in (run, other)]
    for row, end in zip(rows, ends):
        assert row["meta"]["block_ids"] == tree.path(end)
    # a tree saved and loaded keeps its query id, so its ids still match the rows
    loaded = ProgramTree.from_json(tree.to_json())
    assert loaded.add(run) == ends[0]


def test_dataset_command_builds_a_loadable_dataset(tmp_path):
    from vipexec.dataset import build_synthetic_dataset
    from vipexec.labelers.cli import dataset_command
    from vipexec.reward.contract import validate_row

    out = io.StringIO()
    target = tmp_path / "data" / "steps.jsonl"
    assert dataset_command(target, build=build_synthetic_dataset, scenes=1, seed=3, out=out) == 0
    assert out.getvalue().startswith("wrote ")
    rows = [json.loads(line) for line in target.read_text().splitlines()]
    assert rows
    for index, row in enumerate(rows):
        validate_row(row, index=index)
        assert (target.parent / row["images"][0]).is_file()
    assert (
        len(
            {
                r["meta"]["split"]
                for r in rows
                if r["meta"]["query_id"] == rows[0]["meta"]["query_id"]
            }
        )
        == 1
    )
    err = io.StringIO()
    assert (
        dataset_command(
            tmp_path / "steps.csv",
            build=build_synthetic_dataset,
            scenes=1,
            out=io.StringIO(),
            err=err,
        )
        == 2
    )
    assert "jsonl or parquet" in err.getvalue()


def test_answers_travel_through_parquet_to_the_reward_loader(run_on, tmp_path):
    pytest.importorskip("pyarrow")
    from vipexec.reward.data import load_step_dataset

    run = run_on(SOURCE, QUERY)
    label_run(run)
    row = row_from_run(run, prompt=QUERY, query_id="q", expected_answer=2, correct=run.result == 2)
    assert row["meta"]["answer"] == str(run.result) and row["meta"]["expected_answer"] == "2"
    path = write_rows([row], tmp_path / "steps.parquet")
    loaded = load_step_dataset(path)
    assert loaded[0]["meta"]["block_ids"] == row["meta"]["block_ids"]
    assert loaded[0]["labels"] == row["labels"]
    failed = run_on(SOURCE.replace("return count", "return count / 0"), QUERY)
    assert row_from_run(failed, prompt=QUERY, query_id="q")["meta"]["answer"] is None
