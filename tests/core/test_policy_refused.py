"""Constructs the policy refuses at compile time: each case is a tiny source and its exact outcome.

Every refusal is a run with error kind ``policy`` that names the line and the block, and no
block runs.
"""

import pytest

REFUSED = [
    # (source, line, what is refused)
    ("x = 1\ny = x.__class__\n", 2, "attribute '__class__' is not allowed"),
    ("x = (1).__class__.__bases__\n", 1, "attribute '__class__' is not allowed"),
    ("x = ().__class__.__subclasses__()\n", 1, "attribute '__class__' is not allowed"),
    ("x = object.__subclasses__()\n", 1, "attribute '__subclasses__' is not allowed"),
    ("m = __import__('os')\n", 1, "name '__import__' is not allowed"),
    ("_getattr_ = lambda o, n: o\n", 1, "name '_getattr_' is not allowed"),
    ("def f(_write_=None):\n    return 1\n", 1, "name '_write_' is not allowed"),
    ("def f(a, /, _getattr_=None):\n    return a\n", 1, "name '_getattr_' is not allowed"),
    ("f = lambda _x: _x\n", 1, "name '_x' is not allowed"),
    ("y = [1 for _q in range(3)]\n", 1, "name '_q' is not allowed"),
    ("try:\n    pass\nexcept Exception as _e:\n    pass\n", 3, "name '_e' is not allowed"),
    ("import os as _os\n", 1, "name '_os' is not allowed"),
    ("from os import *\n", 1, "'import *' is not allowed"),
    ("import _thread\n", 1, "name '_thread' is not allowed"),
    ("exec('x = 1')\n", 1, "exec() is not allowed (no dynamic code)"),
    ("x = eval('1 + 1')\n", 1, "eval() is not allowed (no dynamic code)"),
    (
        "def f():\n    x = 1\n    def g():\n        nonlocal x\n    return g\n",
        4,
        "'nonlocal' is not allowed",
    ),
    ("async def f():\n    return 1\n", 1, "'async def' is not allowed"),
    ("try:\n    pass\nexcept* ValueError:\n    pass\n", 1, "'except*' is not allowed"),
    ("match 1:\n    case 1:\n        pass\n", 1, "'match' is not allowed"),
    (
        "class A(metaclass=type):\n    pass\n",
        1,
        "class keyword arguments (metaclass=...) are not allowed",
    ),
    (
        "class A:\n    def __getattr__(self, n):\n        return 1\n",
        2,
        "name '__getattr__' is not allowed",
    ),
    (
        "def g():\n    yield 1\nf = g().gi_frame\n",
        3,
        "attribute 'gi_frame' is not allowed (interpreter internals)",
    ),
    (
        "def g():\n    yield 1\nc = g().gi_code\n",
        3,
        "attribute 'gi_code' is not allowed (interpreter internals)",
    ),
    (
        "try:\n    1 / 0\nexcept Exception as e:\n    t = e.tb_frame\n",
        4,
        "attribute 'tb_frame' is not allowed (interpreter internals)",
    ),
    ("x = 1\nf = x.f_globals\n", 2, "attribute 'f_globals' is not allowed (interpreter internals)"),
    ("x = 1\nf = x.f_back\n", 2, "attribute 'f_back' is not allowed (interpreter internals)"),
    ("x = 1\ny = x.foo__roles__\n", 2, "attribute 'foo__roles__' is not allowed"),
    ("print = 1\n", 1, "name 'print' is not allowed (reserved)"),
    ("x = printed\n", 1, "name 'printed' is not allowed (reserved)"),
    ("breakpoint()\n", 1, "name 'breakpoint' is not allowed (reserved)"),
    ("x = 1\ny = f'{x.__class__}'\n", 2, "attribute '__class__' is not allowed"),
    ("x = [1]\ndel x.__doc__\n", 2, "attribute '__doc__' is not allowed"),
    (
        "class A:\n    pass\na = A()\na.format += 'x'\n",
        4,
        "augmented assignment to attribute 'format' is not allowed",
    ),
    ("__metaclass__ = type\n", 1, "name '__metaclass__' is not allowed"),
    ("_vx_rec = None\n", 1, "name '_vx_rec' is not allowed"),
]


@pytest.mark.parametrize(("source", "line", "message"), REFUSED)
def test_refused_at_compile_time(run_source, source, line, message):
    run = run_source(source)
    assert run.error is not None
    assert run.error.kind == "policy"
    assert run.error.line == line
    assert run.error.message == f"policy: line {line}: {message}"
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
