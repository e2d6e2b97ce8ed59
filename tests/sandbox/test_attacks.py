"""The attack suite: hostile programs, each with its exact outcome.

Every attack runs in the shared pool. After each one: the outcome has the expected error kind
and message, it was reported within its deadline plus one second, no file appeared, no process
outlived it, the host's objects are unchanged, and the next program on the pool runs normally.
"""

import time
from pathlib import Path

import pytest

TIMEOUT = 1.0

# (name, source, expected kind, message fragment)
ATTACKS = [
    ("dunder traversal", "x = ().__class__.__bases__[0]\n", "policy", '"__class__" is an invalid'),
    ("subclasses", "x = object.__subclasses__()\n", "policy", '"__subclasses__" is an invalid'),
    ("subclasses by getattr", "c = getattr((), '__cla' + 'ss__')\n", "policy", '"__class__"'),
    ("mro walk", "x = getattr(int, 'mro')()[1]\ny = getattr(x, '__subclasses__')\n", "policy",
     '"__subclasses__"'),
    ("import os", "import os\n", "policy", "import of 'os' is not allowed"),
    ("from import", "from os import system\n", "policy", "import of 'os' is not allowed"),
    ("import dotted", "import os.path as p\n", "policy", "import of 'os.path' is not allowed"),
    ("dunder import", "m = __import__('os')\n", "policy", '"__import__" is an invalid'),
    ("importlib", "import importlib\n", "policy", "import of 'importlib' is not allowed"),
    ("builtins module", "import builtins\n", "policy", '"builtins" is a reserved name'),
    ("pickle", "import pickle\n", "policy", "import of 'pickle' is not allowed"),
    ("subprocess", "import subprocess\n", "policy", "import of 'subprocess' is not allowed"),
    ("open read", "f = open('/etc/passwd')\n", "policy", "open() is not available"),
    ("open write", "f = open('{tmp}/pwned', 'w')\n", "policy", "open() is not available"),
    ("eval", "x = eval('1 + 1')\n", "policy", "eval() calls are not allowed"),
    ("aliased eval", "e = [eval][0]\nx = e('1')\n", "policy", "eval() is not available"),
    ("exec", "exec('x = 1')\n", "policy", "exec() calls are not allowed"),
    ("compile", "c = compile('1', 'f', 'eval')\n", "policy", "compile() is not available"),
    ("globals", "g = globals()\n", "policy", "globals() is not available"),
    ("vars", "v = vars()\n", "policy", "vars() is not available"),
    ("dir", "d = dir()\n", "policy", "dir() is not available"),
    ("locals", "l = locals()\n", "policy", "locals() is not available"),
    ("builtins name", "b = __builtins__\n", "policy", '"__builtins__" is an invalid'),
    ("getattr built string", "a = 'f_' + 'globals'\nx = getattr(lambda: 0, a)\n", "policy",
     '"f_globals" is a restricted name'),
    ("str.format traversal", "s = '{0.__class__.__mro__}'.format(1)\n", "policy",
     "str.format() is not allowed"),
    ("format_map", "s = '{x.__class__}'.format_map({'x': 1})\n", "policy",
     "str.format_map() is not allowed"),
    ("unbound str.format", "f = str.format\ns = f('{0.__class__}', 1)\n", "policy",
     "str.format() is not allowed"),
    ("string.Formatter", "import string\nf = string.Formatter()\n", "policy",
     "string.Formatter is not available to programs"),
    # admitted: str.format with plain fields, typing; each keeps its own refusals
    ("format field attribute", "s = '{0.real.__class__}'.format(1)\n", "policy",
     "str.format() is not allowed with the field {0.real.__class__}"),
    ("format field item", "s = '{0[0]}'.format([1])\n", "policy",
     "str.format() is not allowed with the field {0[0]}"),
    ("format nested spec field", "s = '{0:{1.__class__}}'.format(1, 2)\n", "policy",
     "str.format() is not allowed with the field {1.__class__}"),
    ("format_map item", "s = '{m[k]}'.format_map({'m': {'k': 1}})\n", "policy",
     "str.format_map() is not allowed with the field {m[k]}"),
    ("format via getattr", "f = getattr('{0.__doc__}', 'format')\ns = f(1)\n", "policy",
     "str.format() is not allowed"),
    ("typing sys", "import typing\ns = typing.sys\n", "policy",
     "typing.sys is not available to programs"),
    ("typing get_type_hints", "from typing import get_type_hints\n", "policy",
     "typing.get_type_hints is not available to programs"),
    ("typing ForwardRef", "from typing import ForwardRef\n", "policy",
     "typing.ForwardRef is not available to programs"),
    ("typing forward ref evaluate", "from typing import Optional\n"
     "r = Optional['os'].__args__[0]._evaluate(None, None, frozenset())\n", "policy",
     '"__args__" is an invalid'),
    ("typing module dict", "import typing\nd = typing.__dict__\n", "policy",
     '"__dict__" is an invalid'),
    ("typing origin", "from typing import List\nx = List.__origin__\n", "policy",
     '"__origin__" is an invalid'),
    ("typing alias module", "from typing import Callable\nx = getattr(Callable, '__module__')\n",
     "policy", '"__module__" is an invalid'),
    ("typing ABC register", "from typing import Sequence\nSequence.register(dict)\n", "policy",
     "ABC.register() is not allowed"),
    ("typing ABC register by getattr", "from typing import Iterable\n"
     "r = getattr(Iterable, 'reg' + 'ister')\n", "policy", "ABC.register() is not allowed"),
    ("typing NamedTuple", "from typing import NamedTuple\n", "policy",
     "typing.NamedTuple is not available to programs"),
    ("typing TypeVar", "import typing\nT = typing.TypeVar('T')\n", "policy",
     "typing.TypeVar is not available to programs"),
    ("typing alias instantiation", "from typing import List\nx = List()\n", "runtime",
     "Type List cannot be instantiated"),
    ("type alias as class factory", "t = type[int]\nM = t('M', (object,), {'__eq__': None})\n",
     "policy", "type() with 3 arguments is not available to programs"),
    ("type three arguments", "M = type('M', (), {})\n", "policy",
     "type() with 3 arguments is not available to programs"),
    ("assign to typing", "import typing\ntyping.List = None\n", "policy",
     "cannot assign to attributes or items of type 'ModuleView'"),
    ("generator frame", "g = (x for x in [1])\nf = g.gi_frame\n", "policy",
     '"gi_frame" is a restricted name'),
    ("traceback frame", "try:\n    1 / 0\nexcept Exception as e:\n    t = e.__traceback__\n",
     "policy", '"__traceback__" is an invalid'),
    ("traceback tb_frame", "try:\n    1 / 0\nexcept Exception as e:\n    t = e.tb_frame\n",
     "policy", '"tb_frame" is a restricted name'),
    ("guard shadowing", "_getattr_ = lambda o, n: o\n", "policy", '"_getattr_" is an invalid'),
    ("positional-only default", "def f(a, /, _write_=None):\n    return a\n", "policy",
     '"_write_" is an invalid'),
    ("except star", "try:\n    pass\nexcept* ValueError:\n    pass\n", "policy",
     "TryStar statements are not allowed"),
    ("write to API object", "p = ImagePatch(image)\np.left = 0\n", "policy",
     "cannot assign to attributes or items of type 'ImagePatch'"),
    ("replace API method", "ImagePatch.find = lambda self, name: []\n", "policy",
     "cannot assign to attributes or items of type 'type'"),
    ("setattr API method", "setattr(ImagePatch, 'find', None)\n", "policy",
     "cannot assign to attributes or items"),
    ("API internals", "d = ImagePatch(image)._dispatcher\n", "policy", '"_dispatcher" is an'),
    ("bound method self", "s = ImagePatch(image).find.__self__\n", "policy", '"__self__" is an'),
    ("API class dict", "d = ImagePatch.__dict__\n", "policy", '"__dict__" is an invalid'),
    ("image ref internals", "d = getattr(image, '__slots__')\n", "policy", '"__slots__" is an'),
    ("forged image ref", "r = type(image)('ffffffffffffffff', 10, 10)\n"
     "n = ImagePatch(r).find('circle')\n", "runtime", "ffffffffffffffff"),
    ("SystemExit", "raise SystemExit(0)\n", "runtime", "name 'SystemExit' is not defined"),
    ("KeyboardInterrupt", "raise KeyboardInterrupt\n", "runtime",
     "name 'KeyboardInterrupt' is not defined"),
    ("exit()", "exit(0)\n", "policy", "exit() is not available"),
    ("dunder method", "class A:\n    def __del__(self):\n        pass\n", "policy",
     '"__del__" is an invalid'),
    ("metaclass", "class A(metaclass=type):\n    pass\n", "policy", "class keyword arguments"),
    ("type() class factory", "T = type(type(1))\n", "policy", "type() of a class is not available"),
    ("print to a file", "print('x', file=1)\n", "policy", "print(file=...) is not allowed"),
    ("infinite loop", "while True:\n    pass\n", "timeout", "the wall-clock deadline passed"),
    ("loop catching everything", "while True:\n    try:\n        while True:\n            pass\n"
     "    except:\n        pass\n", "timeout", "did not stop; the worker was killed"),
    ("huge integer", "x = 10 ** 10 ** 7\n", "timeout", ""),
    ("memory bomb string", "x = 'a' * 10 ** 10\n", "memory", "out of memory"),
    ("memory bomb list", "x = [0] * 10 ** 9\n", "memory", "out of memory"),
    ("recursion bomb", "def f(n):\n    return f(n + 1)\nx = f(0)\n", "runtime",
     "maximum recursion depth exceeded"),
    ("fork bomb", "import os\nwhile True:\n    os.fork()\n", "policy",
     "import of 'os' is not allowed"),
    ("output flood", "while True:\n    print('x' * 1000)\n", "timeout",
     "the wall-clock deadline passed"),
    ("long C call", "xs = [(i * 7919) % 1000003 for i in range(3 * 10 ** 6)]\n"
     "ys = sorted(xs * 4)\n", "timeout", ""),
]  # fmt: skip


@pytest.mark.parametrize(
    ("name", "source", "kind", "message"), ATTACKS, ids=[a[0] for a in ATTACKS]
)
def test_attack_is_contained(pool, tmp_path, children, name, source, kind, message):
    host_inputs = {"image": pool.scene}
    workers_before = set(pool.worker_pids)
    started = time.perf_counter()
    run = pool.run(source.replace("{tmp}", str(tmp_path)), inputs=host_inputs, timeout=TIMEOUT)
    elapsed = time.perf_counter() - started

    assert run.error is not None, f"{name}: the attack ran to completion"
    assert run.error.kind == kind, run.error
    assert message in run.error.message, run.error
    assert elapsed <= TIMEOUT + 1.0, f"{name}: reported after {elapsed:.2f} s"
    assert list(tmp_path.iterdir()) == []
    assert list(Path(pool._workdir.name).iterdir()) == []  # the workers' working directory
    assert host_inputs == {"image": pool.scene}
    # the pool recovers: the next program runs, and only pool workers are left as children
    follow_up = pool.run("print(6 * 7)\n")
    assert follow_up.ok and follow_up.result == 42
    deadline = time.time() + 10
    while children() - set(pool.worker_pids) and time.time() < deadline:
        time.sleep(0.05)
    assert children() <= set(pool.worker_pids) | workers_before


def test_the_suite_is_large_enough():
    assert len(ATTACKS) >= 40


def test_mutating_a_shared_dict_leaves_the_host_copy_alone(pool):
    shared = {"counts": [1, 2], "name": "host"}
    run = pool.run(
        "def execute_command(data):\n    data['counts'].append(3)\n    data['name'] = 'hacked'\n"
        "    return data\n",
        inputs={"data": shared},
    )
    assert run.ok and run.result == {"counts": [1, 2, 3], "name": "hacked"}
    assert shared == {"counts": [1, 2], "name": "host"}


def test_output_is_bounded(pool):
    run = pool.run("for i in range(10 ** 5):\n    print('y' * 100)\n")
    assert run.ok
    assert len(run.stdout) == pool.max_output
    assert run.stdout_dropped == 10**5 * 101 - pool.max_output
