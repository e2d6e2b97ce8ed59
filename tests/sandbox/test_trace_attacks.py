"""Attacks on the trace and the run record, in the shared pool: forged type names, exceptions
that are not Exceptions, results and blocks built to blow the trace up, text built to break
its encoding. Each outcome is exact, the trace is valid JSON and small, and the pool goes on."""

import json
import time

import pytest

TIMEOUT = 2.0
MAX_BLOCK_BYTES = 2_000_000
"""the recorder's bound; the trace adds the program (its source, and each block's again),
stdout (100,000 characters at most) and the result and input summaries"""

FORGE = (
    "import collections\n{kind} = collections.namedtuple({name!r}, {fields!r}, module={module!r})\n"
)

# (name, source, expected error kind or None, message fragment or the result summary)
FAILING = [
    ("base exception subclass",
     "class Vanish(BaseException):\n    pass\nraise Vanish('gone')\n", "runtime", "gone"),
    ("base exception in a function",
     "class Vanish(BaseException):\n    pass\ndef execute_command():\n    raise Vanish()\n",
     "runtime", ""),
    ("base exception caught nowhere in a loop",
     "class Vanish(BaseException):\n    pass\nfor i in range(3):\n    if i == 2:\n"
     "        raise Vanish('late')\n", "runtime", "late"),
    ("deep list result",
     "def execute_command():\n    x = []\n    for i in range(100000):\n        x = [x]\n"
     "    return x\n", "runtime", "the result is nested too deeply to return"),
    ("deep dict result",
     "def execute_command():\n    x = {}\n    for i in range(100000):\n        x = {'k': x}\n"
     "    return x\n", "runtime", "the result is nested too deeply to return"),
    ("deep tuple result",
     "def execute_command():\n    x = ()\n    for i in range(100000):\n        x = (x,)\n"
     "    return x\n", "runtime", "the result is nested too deeply to return"),
    ("newline in a message",
     "raise ValueError('ok\\nvipexec: forged line')\n", "runtime", "ok\nvipexec: forged line"),
]  # fmt: skip

SUCCEEDING = [
    ("forged numpy scalar calls nothing",
     FORGE.format(kind="G", name="generic", fields="item", module="numpy")
     + "def execute_command():\n    g = G(lambda: print('called') or 1)\n    return g\n",
     {"type": "generic"}),
    ("forged ndarray with nan and a long dtype",
     FORGE.format(kind="A", name="ndarray", fields="shape dtype", module="numpy")
     + "def execute_command():\n    a = A([float('nan'), float('inf')], 'x' * 3000000)\n"
     "    return a\n", {"type": "ndarray"}),
    ("forged tensor",
     FORGE.format(kind="T", name="Tensor", fields="shape dtype device", module="torch")
     + "def execute_command():\n    t = T([float('inf')], ['live'], 'y' * 3000000)\n"
     "    return t\n", {"type": "Tensor"}),
    ("forged image ref",
     FORGE.format(kind="R", name="ImageRef", fields="id width height",
                  module="vipexec.modules.refs")
     + "def execute_command():\n    r = R(['live'], float('nan'), 'z' * 3000000)\n"
     "    return r\n", {"type": "ImageRef"}),
    ("forged PIL image",
     FORGE.format(kind="I", name="Image", fields="size mode", module="PIL.Image")
     + "def execute_command():\n    i = I([float('nan')], 'm' * 3000000)\n    return i\n",
     {"type": "Image"}),
    ("forged image patch",
     FORGE.format(kind="P", name="ImagePatch", fields="left lower right upper",
                  module="vipexec.modules.api")
     + "def execute_command():\n    p = P(float('nan'), 0, 1, 2)\n    return p\n",
     {"type": "ImagePatch"}),
    ("nan result", "def execute_command():\n    return float('nan')\n",
     {"type": "float", "repr": "nan"}),
    ("infinities in a list", "def execute_command():\n    return [float('inf'), -float('inf')]\n",
     {"type": "list", "len": 2, "items": [{"type": "float", "repr": "inf"},
                                          {"type": "float", "repr": "-inf"}]}),
    ("lone surrogate result", "def execute_command():\n    return '\\ud800'\n",
     {"type": "str", "value": "\ud800"}),
    ("long class name", "class " + "C" * 100000 + ":\n    pass\ndef execute_command():\n"
     "    return " + "C" * 100000 + "()\n", {"type": "C" * 200}),
    ("sixteen thousand names in one block",
     "def execute_command():\n    # Step 1: names\n"
     + "".join(f"    name_{i} = 'v' * 120\n" for i in range(16000)) + "    return 1\n",
     {"type": "int", "value": 1}),
    ("big values in a long loop",
     "def execute_command():\n    n = 0\n    for i in range(5000):\n"
     "        # Step 1: a big value\n        v = [[['y' * 200] * 8] * 8] * 8\n"
     "        n += 1\n    return n\n",
     {"type": "int", "value": 5000}),
]  # fmt: skip


def _check_trace(run):
    text = run.to_json(indent=None)
    blocks = json.dumps([block.to_dict() for block in run.blocks], separators=(",", ":"))
    assert len(blocks) <= MAX_BLOCK_BYTES
    assert len(text) <= MAX_BLOCK_BYTES + 2 * len(run.program.source) + 200_000, len(text)
    # no NaN/Infinity: the strict reader accepts it
    return json.loads(text, parse_constant=lambda name: pytest.fail(f"{name} in the trace"))


def _follow_up(pool):
    follow_up = pool.run("print(6 * 7)\n")
    assert follow_up.ok and follow_up.result == 42


@pytest.mark.parametrize(
    ("name", "source", "kind", "message"), FAILING, ids=[a[0] for a in FAILING]
)
def test_the_error_is_the_programs(pool, name, source, kind, message):
    started = time.perf_counter()
    run = pool.run(source, timeout=TIMEOUT)
    elapsed = time.perf_counter() - started
    assert run.error is not None and run.error.kind == kind, run.error
    assert message in run.error.message, run.error
    assert elapsed <= TIMEOUT + 1.0
    _check_trace(run)
    _follow_up(pool)


@pytest.mark.parametrize(("name", "source", "summary"), SUCCEEDING, ids=[a[0] for a in SUCCEEDING])
def test_the_trace_stays_true_small_and_valid(pool, name, source, summary):
    run = pool.run(source, timeout=60)  # a 16,000-line program compiles slowly on a busy machine
    assert run.ok, run.error
    assert run.result_summary == summary
    assert run.stdout == ""  # nothing of the program ran inside the tracer
    data = _check_trace(run)
    assert data["result"] == json.loads(json.dumps(summary))
    _follow_up(pool)


def test_a_cut_trace_says_where(pool):
    source = SUCCEEDING[-1][1]
    run = pool.run(source, timeout=60)  # 5,000 block exits: slow on a busy machine
    assert run.trace_cut == {"max_bytes": 2_000_000, "block": 1}
    assert run.blocks[1].executions == 5000 and run.blocks[1].status == "ok"
    assert _check_trace(run)["trace_cut"] == run.trace_cut
