"""Hoisting builtins to locals in sandboxed entry functions never changes what a program does."""

import dis

import pytest

from vipexec import Program


def entry_loads(program):
    code = program.compile(sandbox=True).code
    entry = next(c for c in code.co_consts if getattr(c, "co_name", None) == program.entry)
    return {i.argval for i in dis.get_instructions(entry) if i.opname == "LOAD_GLOBAL"}, entry


def test_builtins_used_in_loops_become_locals():
    program = Program.from_source(
        "def execute_command(xs):\n    t = 0\n    for x in xs:\n        t += abs(x) + len(xs)\n"
        "    return t\n"
    )
    loads, entry = entry_loads(program)
    assert {"abs", "len"} <= loads  # loaded once, at the top
    loop_loads = [i.argval for i in dis.get_instructions(entry) if i.opname == "LOAD_FAST"]
    assert "_vx_b_abs" in loop_loads and "_vx_b_len" in loop_loads
    assert program.run_in_process(inputs=[[-1, 2]]).result == 7


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        # a name bound anywhere in the program is never hoisted: its meaning can change
        ("def execute_command(x):\n    return len(x)\nlen = lambda v: 99\n", 99),
        ("def len(v):\n    return 5\ndef execute_command(x):\n    return len(x)\n", 5),
        ("def execute_command(x, abs=lambda v: 'mine'):\n    return abs(x)\n", "mine"),
        ("def execute_command(x):\n    for max in [1]:\n        pass\n    return max\n", 1),
        ("def execute_command(x):\n    y = [abs(v) for v in x]\n    return y\n", [1, 2]),
        ("def execute_command(x):\n    '''doc'''\n    return sum(x)\n", 1),
    ],
)
def test_hoisting_keeps_meaning(source, expected):
    arg = [-1, 2]
    assert Program.from_source(source).run_in_process(inputs=[arg]).result == expected
    assert Program.from_source(source).run_in_process(inputs=[arg], policy=False).result == expected
