"""Trace JSON: versioned, round-trips, and refuses what it cannot read."""

import json

import pytest

from vipexec import Program, Run
from vipexec.core.errors import InvalidArgumentError
from vipexec.testing import FakeScene, fake_namespace

SOURCE = """\
def execute_command(image):
    # Step 1: find cats
    patch = ImagePatch(image)
    cats = patch.find("cat")
    # Step 2: answer
    return bool_to_yesno(len(cats) > 1)
"""


def make_run(**kwargs):
    scene = FakeScene(100, 100).add("cat", (0, 0, 10, 10)).add("cat", (50, 50, 60, 60))
    return Program.from_source(SOURCE, name="cats.py").run_in_process(
        namespace=fake_namespace(), inputs={"image": scene}, **kwargs
    )


def test_trace_json_shape():
    data = json.loads(make_run().to_json())
    assert data["schema"] == 1
    assert set(data) == {
        "schema",
        "program",
        "inputs",
        "backend",
        "result",
        "error",
        "stdout",
        "stdout_dropped",
        "ms",
        "blocks",
        "meta",
    }
    assert data["result"] == {"type": "str", "value": "yes"}
    assert data["error"] is None
    assert [b["status"] for b in data["blocks"]] == ["ok", "ok"]
    block = data["blocks"][0]
    assert set(block) >= {
        "index",
        "step",
        "description",
        "lines",
        "status",
        "variables",
        "calls",
        "ms",
        "executions",
    }
    assert block["variables"]["cats"]["len"] == 2
    assert block["variables"]["cats"]["items"][0]["box"] == [0, 0, 10, 10]
    assert data["program"]["blocks"][1]["description"] == "answer"


@pytest.mark.parametrize("sandbox", [True, False])
def test_round_trip(sandbox):
    run = make_run(policy=sandbox)
    again = Run.from_json(run.to_json())
    assert again.to_dict() == run.to_dict()
    assert again.result == "yes"
    assert again.program.blocks == run.program.blocks


def test_round_trip_of_a_failed_run():
    run = Program.from_source("# Step 1: a\nx = 1\n# Step 2: b\ny = x.nope\n").run_in_process()
    again = Run.from_json(run.to_json())
    assert again.error == run.error
    assert again.error.describe() == (
        "runtime error in block 1, line 4: AttributeError: 'int' object has no attribute 'nope'"
    )


def test_round_trip_of_a_compile_failure(tmp_path):
    run = Program.from_source("x = (1).__class__\ny = (2).__dict__\n").run_in_process()
    path = tmp_path / "trace.json"
    run.save(path)
    again = Run.load(path)
    assert again.error.kind == "policy"
    assert again.error.details == run.error.details
    assert [b.status for b in again.blocks] == ["not_run", "not_run"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{not json", "invalid JSON"),
        ("[1, 2]", "no 'program' entry"),
        ('{"schema": 99, "program": {}}', "trace schema 99 is not supported"),
    ],
)
def test_unreadable_traces(text, message):
    with pytest.raises(InvalidArgumentError, match=message):
        Run.from_json(text)


def test_unreadable_trace_files(tmp_path):
    with pytest.raises(InvalidArgumentError, match="no such file"):
        Run.load(tmp_path / "missing.json")
    with pytest.raises(InvalidArgumentError, match="is a directory"):
        Run.load(tmp_path)
    (tmp_path / "latin.json").write_bytes(b'{"a": "\xe9"}')
    with pytest.raises(InvalidArgumentError, match="not UTF-8 text"):
        Run.load(tmp_path / "latin.json")
