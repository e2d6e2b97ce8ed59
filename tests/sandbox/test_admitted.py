"""What LLM-written programs need runs exactly as plain Python runs it, every way vipexec runs it.

Annotations and defaults in the signature, subscripted types, ``str.format`` with plain fields
and the ``typing`` view: each program runs with plain ``exec``, ``Program.run_in_process(policy=False)``,
``Program.run_in_process(policy=True)`` and the ``Sandbox`` pool, and all four give the same result, the
same exception type and message and the same printed text.
"""

import contextlib
import io
import typing

import pytest

from vipexec import Program

PROGRAMS = {
    "return annotation": "def execute_command(image) -> str:\n    return str(image)\n",
    "parameter annotations": (
        "def execute_command(image: int, query: str = 'q') -> bool:\n"
        "    return bool(image) and query == 'q'\n"
    ),
    "builtin in a default": (
        "def execute_command(image, d=len('ab'), e=max(1, 2)) -> int:\n    return image + d + e\n"
    ),
    "annotations with future import": (
        "from __future__ import annotations\n"
        "def execute_command(image: list[int]) -> str:\n"
        "    return str(image)\n"
    ),
    "decorated helper and nested def": (
        "def twice(f):\n    return lambda x: f(f(x))\n"
        "def execute_command(image) -> int:\n"
        "    @twice\n"
        "    def inc(x: int, step=abs(-1)) -> int:\n"
        "        return x + step\n"
        "    total: int = inc(image)\n"
        "    return total\n"
    ),
    "generic types": (
        "from typing import List, Optional, Dict, Tuple, Union, Any\n"
        "def execute_command(image) -> List[int]:\n"
        "    pairs: Dict[str, Tuple[int, ...]] = {'a': (1, 2)}\n"
        "    maybe: Optional[Union[int, str]] = None\n"
        "    kinds = [list[int], dict[str, Any], List[str], tuple[int, ...]]\n"
        "    return [len(pairs), len(kinds), maybe is None]\n"
    ),
    "typing module attribute": (
        "import typing\n"
        "def execute_command(image) -> typing.Optional[str]:\n"
        "    xs: typing.List[typing.Callable[[int], int]] = [abs]\n"
        "    return str(typing.cast(int, xs[0](-image)))\n"
    ),
    "str.format plain fields": (
        "import math\n"
        "def execute_command(image) -> str:\n"
        "    question = 'What is {}?'.format(math.floor(image * 2.5))\n"
        "    other = '{0} and {0}, {name!r:>8}'.format(image, name='x')\n"
        "    mapped = '{a}-{b:03d}'.format_map({'a': 1, 'b': 7})\n"
        "    unbound = str.format('{}|{}', 1, 2)\n"
        "    width = '{0:{1}}|'.format('ab', 5)\n"
        "    return question + other + mapped + unbound + width\n"
    ),
    "str.format error": (
        "def execute_command(image):\n    return 'What is {}, {}?'.format(image)\n"
    ),
    "broken template": "def execute_command(image):\n    return 'What is {'.format(image)\n",
    "type subscripted": (
        "def execute_command(image) -> str:\n"
        "    kind: type[int] = int\n"
        "    checks = [isinstance(int, type), isinstance(3, type), issubclass(bool, type)]\n"
        "    return str(type[int]) + str(kind(image)) + str(checks) + repr(type) + str(type(3))\n"
    ),
    "print argument errors": ("def execute_command(image):\n    print('a', 'b', sep=image)\n"),
    "getattr arity": "def execute_command(image):\n    return getattr(image)\n",
    "getattr name type": "def execute_command(image):\n    return getattr(image, image)\n",
    "hasattr arity": "def execute_command(image):\n    return hasattr(image)\n",
    "super().__init__ in program classes": (
        "class NotFound(Exception):\n"
        "    def __init__(self, name):\n"
        "        super().__init__(f'no {name} in the image')\n"
        "        self.name = name\n"
        "def execute_command(image) -> str:\n"
        "    class Box:\n"
        "        def __init__(self, width):\n"
        "            self.width = width\n"
        "    class Square(Box):\n"
        "        def __init__(self, width):\n"
        "            super().__init__(width)\n"
        "            super(Box, self).__init__()\n"
        "        def area(self):\n"
        "            return self.width * self.width\n"
        "    try:\n"
        "        raise NotFound('cat')\n"
        "    except NotFound as error:\n"
        "        return f'{error} ({error.name}) {Square(image).area()}'\n"
    ),
    "super().__init__ with wrong arguments": (
        "class Box:\n"
        "    def __init__(self):\n"
        "        super().__init__(1)\n"
        "def execute_command(image):\n    return Box()\n"
    ),
    "class names": (
        "class Skill:\n"
        "    def describe(self):\n"
        "        return type(self).__name__\n"
        "class Count(Skill):\n"
        "    pass\n"
        "def execute_command(image) -> str:\n"
        "    try:\n"
        "        [][image]\n"
        "    except Exception as error:\n"
        "        kind = type(error).__name__\n"
        "    names = [type(image).__name__, int.__name__, Count.__name__, Count().describe()]\n"
        "    return f'{kind}: ' + ', '.join(names) + getattr(str, '__name__')\n"
    ),
    "script with print": (
        "from typing import List\n"
        "names: List[str] = ['a', 'b']\n"
        "print('{} items: {}'.format(len(names), ', '.join(names)))\n"
    ),
}


def plain_exec(source):
    env = {}
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        try:
            exec(compile(source, "<plain>", "exec"), env)
            if "execute_command" in env:
                result = env["execute_command"](3)
            else:
                result = out.getvalue().strip() or None
        except Exception as exc:
            return None, (type(exc).__name__, str(exc)), out.getvalue()
    return result, None, out.getvalue()


def outcome(run):
    error = (run.error.type, run.error.message) if run.error else None
    return run.result, error, run.stdout


@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_admitted_program_runs_as_plain_python_does(pool, name):
    source = PROGRAMS[name]
    expected = plain_exec(source)
    program = Program.from_source(source, name=f"{name}.py")
    inputs = [3] if program.form == "function" else None
    for sandbox in (False, True):
        run = program.run_in_process(inputs=inputs, policy=sandbox)
        assert run.error is None or run.error.kind == "runtime", run.error
        assert outcome(run) == expected, (name, sandbox)
    pooled = pool.run(source, inputs=inputs)
    assert outcome(pooled) == expected, (name, "pool")


def test_builtin_types_handed_over_by_the_caller_stay_subscriptable():
    source = "def execute_command(image) -> List[int]:\n    return str(List[int]) + str(Seq[int])\n"
    namespace = {"List": list, "Seq": typing.Sequence}
    program = Program.from_source(source)
    for sandbox in (False, True):
        run = program.run_in_process(namespace=namespace, inputs=[1], policy=sandbox)
        assert run.ok and run.result == "list[int]typing.Sequence[int]"


def test_hoisting_never_renames_what_the_signature_evaluates():
    source = (
        "def execute_command(image: str, n=len('abc')) -> str:\n    return str(len(image) + n)\n"
    )
    program = Program.from_source(source)
    run = program.run_in_process(inputs=["xy"])
    assert run.ok and run.result == "5"
    code = program.compile(sandbox=True).code
    entry = next(c for c in code.co_consts if getattr(c, "co_name", None) == "execute_command")
    assert "_vx_b_len" in entry.co_varnames and "_vx_b_str" in entry.co_varnames
    assert not any(name.startswith("_vx_b_") for name in code.co_names)  # module level: as written
