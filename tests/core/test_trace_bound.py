"""The trace as a whole is bounded in bytes, always valid JSON, and says where it was cut."""

import json

import pytest

from vipexec.core.program import Program
from vipexec.core.run import Run
from vipexec.core.tracer import TraceLimits, json_size, record_call

MANY_NAMES = "def execute_command():\n    # Step 1: many names\n{names}\n    return 1\n".format(
    names="\n".join(f"    name_{i} = 'x' * 150" for i in range(16_000))
)

BIG_VALUES = """
def execute_command():
    kept = 0
    for i in range(2000):
        # Step 1: big values
        v = [[["y" * 200] * 8] * 8] * 8
        w = [[["z" * 200] * 8] * 8] * 8
        kept += 1
    # Step 2: after
    done = kept
    return done
"""


def _block_bytes(run: Run) -> int:
    return len(json.dumps([block.to_dict() for block in run.blocks], separators=(",", ":")))


@pytest.mark.parametrize("sandbox", [True, False])
def test_sixteen_thousand_names_in_one_block_are_cut_at_the_byte_bound(sandbox):
    run = Program.from_source(MANY_NAMES, name="names.py").run_in_process(policy=sandbox)
    assert run.ok and run.result == 1
    assert run.trace_cut == {"max_bytes": 2_000_000, "block": 0}
    assert 0 < len(run.blocks[0].variables) < 16_000
    assert _block_bytes(run) <= 2_000_000
    text = run.to_json(indent=None)
    assert len(text.encode()) <= 2_000_000 + len(MANY_NAMES) + 10_000
    assert json.loads(text)["trace_cut"] == {"max_bytes": 2_000_000, "block": 0}


def test_a_loop_of_big_values_is_cut_and_later_blocks_still_counted():
    limits = TraceLimits(max_bytes=300_000)
    run = Program.from_source(BIG_VALUES, name="big.py").run_in_process(limits=limits)
    assert run.ok and run.result == 2000
    assert run.trace_cut == {"max_bytes": 300_000, "block": 1}
    assert _block_bytes(run) <= 300_000
    assert run.blocks[1].executions == 2000 and run.blocks[2].executions == 1
    assert run.blocks[2].status == "ok" and run.blocks[2].variables == {}


def test_a_trace_within_the_bound_is_not_marked():
    source = BIG_VALUES.replace("range(2000)", "range(2)")
    run = Program.from_source(source, name="big.py").run_in_process()
    assert run.trace_cut is None and "trace_cut" not in run.to_dict()
    assert run.blocks[2].variables == {"done": {"type": "int", "value": 2}}
    assert len(run.blocks[1].iterations) == 2


def test_the_cut_marker_survives_a_round_trip():
    run = Program.from_source(BIG_VALUES, name="big.py").run_in_process(
        limits=TraceLimits(max_bytes=1000)
    )
    again = Run.from_json(run.to_json())
    assert again.trace_cut == run.trace_cut == {"max_bytes": 1000, "block": 1}


class Api:
    def find(self, name):
        result = [name * 100] * 8
        record_call("find", {"object_name": name}, result, ms=0.5)
        return result


def test_calls_past_the_byte_bound_are_counted_not_recorded():
    program = Program.from_source(
        "def execute_command(api):\n    # Step 1: many\n    for i in range(50):\n"
        "        api.find('x' * 100)\n    return 0\n"
    )
    run = program.run_in_process(inputs=[Api()], policy=False, limits=TraceLimits(max_bytes=20_000))
    calls = run.blocks[0].calls
    assert 0 < len(calls) < 50 and len(calls) + run.blocks[0].calls_dropped == 50
    assert sum(json_size(call) for call in calls) <= 20_000
    assert run.trace_cut == {"max_bytes": 20_000, "block": 0}


def test_json_size_is_not_below_the_compact_json_length():
    value = {"type": "list", "len": 3, "items": [{"type": "str", "value": "abc"}, 1.5, None]}
    assert json_size(value) >= len(json.dumps(value, separators=(",", ":")))


@pytest.mark.parametrize("expression", ["float('nan')", "float('-inf')", "[float('inf')] * 3"])
def test_non_finite_results_make_valid_json(expression):
    run = Program.from_source(
        f"def execute_command():\n    r = {expression}\n    return r\n"
    ).run_in_process()
    text = run.to_json()
    data = json.loads(text, parse_constant=lambda name: pytest.fail(f"{name} in the trace"))
    assert data["result"]["type"] in ("float", "list")


def test_non_finite_floats_added_by_tools_still_make_valid_json():
    run = Program.from_source("def execute_command():\n    return 1\n").run_in_process()
    run.meta["score"] = float("nan")
    data = json.loads(run.to_json(), parse_constant=lambda name: pytest.fail(name))
    assert data["meta"]["score"] == "nan"
