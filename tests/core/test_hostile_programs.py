"""Programs that try to break the host through their exceptions, results or trace."""

import json

import pytest

from vipexec.core.program import Program

VANISH = """
class Vanish(BaseException):
    pass

def execute_command():
    raise Vanish("gone")
"""

DEEP_LIST = """
def execute_command():
    x = []
    for i in range(100000):
        x = [x]
    return x
"""

DEEP_DICT = DEEP_LIST.replace("x = []", "x = {}").replace("x = [x]", "x = {'a': x}")


@pytest.mark.parametrize("sandbox", [True, False])
def test_a_program_defined_base_exception_is_the_programs_error(sandbox):
    run = Program.from_source(VANISH, name="vanish.py").run_in_process(policy=sandbox)
    assert (run.error.kind, run.error.type, run.error.message) == ("runtime", "Vanish", "gone")
    assert run.error.line == 6 and run.blocks[0].status == "error"


@pytest.mark.parametrize("source", [DEEP_LIST, DEEP_DICT])
def test_a_deeply_nested_result_is_the_programs_error_in_the_sandbox(source):
    run = Program.from_source(source, name="deep.py").run_in_process(policy=True)
    assert (run.error.kind, run.error.type) == ("runtime", "RecursionError")
    assert run.error.message == "the result is nested too deeply to return"
    assert json.loads(run.to_json())["result"] == {"type": "NoneType", "value": None}


def test_a_deeply_nested_trusted_result_is_kept_with_a_bounded_summary():
    run = Program.from_source(DEEP_LIST, name="deep.py").run_in_process(policy=False)
    assert run.ok and type(run.result) is list
    text = run.to_json()
    assert json.loads(text)["result"]["type"] == "list" and len(text) < 20_000


def test_the_users_keyboard_interrupt_still_reaches_the_host():
    source = "def execute_command(stop):\n    stop()\n"

    def stop():
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        Program.from_source(source, name="stop.py").run_in_process(inputs=[stop], policy=False)
