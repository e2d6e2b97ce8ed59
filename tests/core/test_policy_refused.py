"""Constructs the policy refuses at compile time: each case is a tiny source and its exact outcome.

Every refusal is a run with error kind ``policy`` that names the line and the block, and no
block runs.
"""

import pytest

REFUSED = [
    # (source, line, message fragment)
    ("x = 1\ny = x.__class__\n", 2, '"__class__" is an invalid attribute name'),
    ("x = (1).__class__.__bases__\n", 1, '"__class__" is an invalid attribute name'),
    ("x = ().__class__.__subclasses__()\n", 1, '"__class__" is an invalid attribute'),
    ("x = object.__subclasses__()\n", 1, '"__subclasses__" is an invalid attribute'),
    ("m = __import__('os')\n", 1, '"__import__" is an invalid variable name'),
    ("_getattr_ = lambda o, n: o\n", 1, '"_getattr_" is an invalid variable name'),
    ("def f(_write_=None):\n    return 1\n", 1, '"_write_" is an invalid variable name'),
    ("def f(a, /, _getattr_=None):\n    return a\n", 1, '"_getattr_" is an invalid variable'),
    ("f = lambda _x: _x\n", 1, '"_x" is an invalid variable name'),
    ("y = [1 for _q in range(3)]\n", 1, '"_q" is an invalid variable name'),
    ("try:\n    pass\nexcept Exception as _e:\n    pass\n", 3, '"_e" is an invalid variable'),
    ("import os as _os\n", 1, '"_os" is an invalid variable name'),
    ("from os import *\n", 1, '"*" imports are not allowed'),
    ("import _thread\n", 1, '"_thread" is an invalid variable name'),
    ("exec('x = 1')\n", 1, "exec() calls are not allowed"),
    ("x = eval('1 + 1')\n", 1, "eval() calls are not allowed"),
    ("def f():\n    x = 1\n    def g():\n        nonlocal x\n    return g\n", 4, "Nonlocal"),
    ("async def f():\n    return 1\n", 1, "AsyncFunctionDef statements are not allowed"),
    ("try:\n    pass\nexcept* ValueError:\n    pass\n", 1, "TryStar statements are not"),
    ("match 1:\n    case 1:\n        pass\n", 1, "Match statements are not allowed"),
    ("class A(metaclass=type):\n    pass\n", 1, "class keyword arguments"),
    ("class A:\n    def __getattr__(self, n):\n        return 1\n", 2, '"__getattr__" is an'),
    ("def g():\n    yield 1\nf = g().gi_frame\n", 3, '"gi_frame" is a restricted name'),
    ("def g():\n    yield 1\nc = g().gi_code\n", 3, '"gi_code" is a restricted name'),
    ("try:\n    1 / 0\nexcept Exception as e:\n    t = e.tb_frame\n", 4, '"tb_frame"'),
    ("x = 1\nf = x.f_globals\n", 2, '"f_globals" is a restricted name'),
    ("x = 1\nf = x.f_back\n", 2, '"f_back" is a restricted name'),
    ("x = 1\ny = x.foo__roles__\n", 2, 'ends with "__roles__"'),
    ("print = 1\n", 1, '"print" is a reserved name'),
    ("x = printed\n", 1, '"printed" is a reserved name'),
    ("breakpoint()\n", 1, '"breakpoint" is a reserved name'),
    ("x = 1\ny = f'{x.__class__}'\n", 2, '"__class__" is an invalid attribute name'),
    ("x = [1]\ndel x.__doc__\n", 2, '"__doc__" is an invalid attribute name'),
    ("class A:\n    pass\na = A()\na.format += 'x'\n", 4, 'augmented assignment to ".format"'),
    ("__metaclass__ = type\n", 1, '"__metaclass__" is an invalid variable name'),
    ("_vx_rec = None\n", 1, '"_vx_rec" is an invalid variable name'),
]


@pytest.mark.parametrize(("source", "line", "message"), REFUSED)
def test_refused_at_compile_time(run_source, source, line, message):
    run = run_source(source)
    assert run.error is not None
    assert run.error.kind == "policy"
    assert run.error.line == line
    assert message in run.error.message
    assert all(block.status == "not_run" for block in run.blocks)


def test_refusal_names_the_block(run_source):
    run = run_source(
        "# Step 1: fine\nx = 1\n# Step 2: hostile\ny = x.__class__\n# Step 3: fine\nz = 2\n"
    )
    assert (run.error.kind, run.error.block, run.error.line) == ("policy", 1, 4)


def test_every_problem_is_reported(run_source):
    run = run_source("a = (1).__class__\nb = 2\nc = (3).__dict__\n")
    assert run.error.line == 1
    assert [d["line"] for d in run.error.details] == [3]


def test_syntax_error_is_a_compile_error(run_source):
    run = run_source("# Step 1: a\nx = 1\n# Step 2: b\ny = (\n")
    assert run.error.kind == "compile"
    assert run.error.type == "SyntaxError"
    assert run.error.block == 1


def test_trusted_mode_does_not_apply_the_policy(run_source):
    run = run_source("x = (1).__class__.__name__\nprint(x)\n", sandbox=False)
    assert run.ok
    assert run.result == "int"
