"""Per-block traces: statuses, variables, loops and their bounds, errors in every position, calls."""

import pytest

from vipexec import Program, record_call
from vipexec.core.tracer import TraceLimits

FOUR_STEPS = """\
def execute_command(x):
    # Step 1: a
    a = x + 1
    # Step 2: b
    b = 10 / (a - {zero_at_2})
    # Step 3: c
    c = [b] * int(2 - {fail_at_3})
    c.pop(); c.pop(); c.pop()
    # Step 4: d
    d = len(c)
    return d
"""


def run_four(zero_at_2=100, fail_at_3=0):
    program = Program.from_source(FOUR_STEPS.format(zero_at_2=zero_at_2, fail_at_3=fail_at_3))
    return program.run_in_process(inputs={"x": 1})


@pytest.mark.parametrize("sandbox", [True, False])
def test_ok_run_records_every_block(sandbox):
    program = Program.from_source(
        "def execute_command(x):\n    # Step 1: a\n    a = x + 1\n    # Step 2: b\n"
        "    b = [a, a]\n    return len(b)\n"
    )
    run = program.run_in_process(inputs={"x": 1}, policy=sandbox)
    assert run.ok and run.result == 2
    assert [b.status for b in run.blocks] == ["ok", "ok"]
    assert run.blocks[0].variables == {"a": {"type": "int", "value": 2}}
    assert run.blocks[1].variables["b"]["len"] == 2
    assert all(b.executions == 1 and b.ms >= 0 for b in run.blocks)


def test_error_in_the_middle_block():
    run = run_four(zero_at_2=2)
    assert [b.status for b in run.blocks] == ["ok", "error", "not_run", "not_run"]
    error = run.error
    assert (error.kind, error.type, error.block, error.line) == (
        "runtime",
        "ZeroDivisionError",
        1,
        5,
    )
    assert run.blocks[1].error == {"type": "ZeroDivisionError", "message": "division by zero"}
    assert run.blocks[1].variables == {}


def test_error_in_a_later_block_keeps_earlier_values():
    run = run_four(fail_at_3=0)  # c has 2 items, three pops fail
    assert [b.status for b in run.blocks] == ["ok", "ok", "error", "not_run"]
    assert run.error.block == 2 and run.error.line == 8
    # values bound before the failure are still recorded
    assert run.blocks[2].variables["c"] == {"type": "list", "len": 0, "items": []}


def test_error_in_the_first_and_last_blocks():
    program = Program.from_source("# Step 1: boom\nx = 1 / 0\n# Step 2: never\ny = 2\n")
    run = program.run_in_process()
    assert [b.status for b in run.blocks] == ["error", "not_run"]
    assert run.error.block == 0
    program = Program.from_source("# Step 1: fine\nx = 1\n# Step 2: boom\ny = [][0]\n")
    run = program.run_in_process()
    assert [b.status for b in run.blocks] == ["ok", "error"]
    assert (run.error.type, run.error.block, run.error.line) == ("IndexError", 1, 4)


def test_early_return_leaves_later_blocks_not_run():
    program = Program.from_source(
        "def execute_command(x):\n    # Step 1: maybe return\n    if x:\n        return 'early'\n"
        "    # Step 2: rest\n    return 'late'\n"
    )
    run = program.run_in_process(inputs=[True])
    assert run.result == "early"
    assert [b.status for b in run.blocks] == ["ok", "not_run"]


LOOP = """\
def execute_command(n):
    # Step 1: loop
    total = 0
    for i in range(n):
        # Step 2: body
        sq = i * i
        total += sq
    # Step 3: answer
    return total
"""


def test_nested_block_records_each_iteration_up_to_the_bound():
    program = Program.from_source(LOOP)
    run = program.run_in_process(inputs=[50], limits=TraceLimits(max_iterations=5))
    body = run.blocks[1]
    assert body.executions == 50
    assert [it["variables"]["sq"]["value"] for it in body.iterations] == [0, 1, 4, 9, 16]
    # values at the last recorded iteration
    assert body.variables == {
        "sq": {"type": "int", "value": 16},
        "total": {"type": "int", "value": 30},
    }
    # the enclosing block sees everything bound inside it, nested blocks included
    assert run.blocks[0].variables == {
        "total": {"type": "int", "value": sum(i * i for i in range(50))},
        "i": {"type": "int", "value": 49},
        "sq": {"type": "int", "value": 49 * 49},
    }
    assert run.to_dict()["blocks"][1]["iterations"][4]["status"] == "ok"


def test_failing_iteration_is_recorded_even_past_the_bound():
    program = Program.from_source(
        "def execute_command(n):\n    for i in range(n):\n        # Step 1: body\n"
        "        inv = 1 / (i - 30)\n    return 0\n"
    )
    run = program.run_in_process(inputs=[40], limits=TraceLimits(max_iterations=3))
    body = run.blocks[1]
    assert body.status == "error"
    assert body.executions == 31
    # the failing iteration never rebound inv: the variable still holds the previous value
    assert body.variables == {"inv": {"type": "float", "value": -1.0}}
    assert run.error.block == 1 and run.error.line == 4


def test_exception_caught_by_the_program_marks_only_the_failing_block():
    program = Program.from_source(
        "def execute_command(xs):\n    out = []\n    for x in xs:\n        try:\n"
        "            # Step 1: invert\n            out.append(1 / x)\n"
        "        except ZeroDivisionError:\n            out.append(None)\n    return out\n"
    )
    run = program.run_in_process(inputs=[[1, 0, 2]])
    assert run.ok and run.result == [1.0, None, 0.5]
    statuses = [it["status"] for it in run.blocks[1].iterations]
    assert statuses == ["ok", "error", "ok"]
    assert run.blocks[1].status == "error"


def test_recursion_bomb_is_a_runtime_error_with_a_sane_trace():
    program = Program.from_source(
        "def f(n):\n    return f(n + 1)\n# Step 1: recurse\nx = f(0)\n# Step 2: after\ny = 1\n"
    )
    run = program.run_in_process()
    assert (run.error.kind, run.error.type) == ("runtime", "RecursionError")
    assert [b.status for b in run.blocks] == ["ok", "error", "not_run"]
    assert run.error.block == 1


class Api:
    def find(self, name):
        result = [name] * 2
        record_call("find", {"object_name": name}, result, ms=0.5, backend="fake")
        return result


def test_api_calls_are_filed_under_the_running_block():
    program = Program.from_source(
        "def execute_command(api):\n    # Step 1: one call\n    a = api.find('cat')\n"
        "    # Step 2: two calls\n    b = api.find('dog') + api.find('cow')\n    return b\n"
    )
    run = program.run_in_process(inputs=[Api()], policy=False)
    assert [len(b.calls) for b in run.blocks] == [1, 2]
    call = run.blocks[0].calls[0]
    assert call == {
        "method": "find",
        "args": {"object_name": {"type": "str", "value": "cat"}},
        "result": {
            "type": "list",
            "len": 2,
            "items": [{"type": "str", "value": "cat"}, {"type": "str", "value": "cat"}],
        },
        "ms": 0.5,
        "backend": "fake",
    }


def test_calls_per_block_are_bounded():
    program = Program.from_source(
        "def execute_command(api):\n    # Step 1: many\n    for i in range(10):\n"
        "        api.find('x')\n    return 0\n"
    )
    run = program.run_in_process(inputs=[Api()], policy=False, limits=TraceLimits(max_calls=3))
    assert len(run.blocks[0].calls) == 3
    assert run.blocks[0].calls_dropped == 7


def test_record_call_outside_a_run_is_a_no_op():
    record_call("find", {}, [], ms=0.0)


def test_no_live_references_are_kept():
    import gc
    import weakref

    class Thing:
        pass

    holder = {}

    def make():
        thing = Thing()
        holder["ref"] = weakref.ref(thing)
        return thing

    program = Program.from_source("def execute_command(make):\n    t = make()\n    return 1\n")
    run = program.run_in_process(inputs=[make], policy=False)
    gc.collect()
    assert holder["ref"]() is None
    assert run.blocks[0].variables["t"]["type"].endswith("Thing")


SCRIPTS = [
    ("x = 3\nprint(x)\nprint('Work is Done!')\n", 3),
    ("print('a')\nprint('b')\n", "b"),
    ("print('ans', 2)\nprint('Work is Done!')\nprint('later')\n", "ans 2"),
    ("x = 1\n", None),
    ("print([1, 2])\nprint('Work is Done!')\n", [1, 2]),
]


@pytest.mark.parametrize(("source", "expected"), SCRIPTS)
def test_script_results(run_source, source, expected):
    run = run_source(source)
    assert run.ok
    assert run.result == expected


def test_output_is_captured_and_bounded():
    program = Program.from_source("for i in range(1000):\n    print('x' * 100)\n")
    from vipexec.engine.execute import execute

    run = execute(program, namespace=None, inputs=None, sandbox=True, max_output=1000)
    assert len(run.stdout) == 1000
    assert run.stdout_dropped == 1000 * 101 - 1000


def test_inputs_are_summarised_with_content_hashes():
    import hashlib

    import numpy as np

    program = Program.from_source("def execute_command(img, q):\n    return q\n")
    img = np.zeros((2, 2, 3), dtype=np.uint8)
    run = program.run_in_process(inputs={"img": img, "q": "how many?"})
    assert run.inputs["img"]["sha256"] == hashlib.sha256(img.tobytes()).hexdigest()
    assert run.inputs["q"]["value"] == "how many?"


def test_mismatched_inputs_are_a_clear_caller_error():
    from vipexec.core.errors import InvalidArgumentError

    program = Program.from_source("def execute_command(image, query):\n    return 1\n")
    with pytest.raises(
        InvalidArgumentError, match="missing 1 required positional argument: 'query'"
    ):
        program.run_in_process(inputs={"image": 1})
    with pytest.raises(InvalidArgumentError, match="a script takes its inputs as a dict"):
        Program.from_source("x = 1\n").run_in_process(inputs=[1])
