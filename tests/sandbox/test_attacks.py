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
    ("dunder traversal", "x = ().__class__.__bases__[0]\n", "policy",
     "policy: line 1: attribute '__class__' is not allowed"),
    ("subclasses", "x = object.__subclasses__()\n", "policy",
     "policy: line 1: attribute '__subclasses__' is not allowed"),
    ("subclasses by getattr", "c = getattr((), '__cla' + 'ss__')\n", "policy",
     "policy: line 1: attribute '__class__' is not allowed"),
    ("mro walk", "x = getattr(int, 'mro')()[1]\ny = getattr(x, '__subclasses__')\n", "policy",
     "policy: line 2: attribute '__subclasses__' is not allowed"),
    ("import os", "import os\n", "policy", "policy: line 1: import of 'os' is not allowed"),
    ("from import", "from os import system\n", "policy",
     "policy: line 1: import of 'os' is not allowed"),
    ("import dotted", "import os.path as p\n", "policy",
     "policy: line 1: import of 'os.path' is not allowed"),
    ("dunder import", "m = __import__('os')\n", "policy",
     "policy: line 1: name '__import__' is not allowed"),
    ("importlib", "import importlib\n", "policy",
     "policy: line 1: import of 'importlib' is not allowed"),
    ("builtins module", "import builtins\n", "policy",
     "policy: line 1: name 'builtins' is not allowed (reserved)"),
    ("pickle", "import pickle\n", "policy", "policy: line 1: import of 'pickle' is not allowed"),
    ("subprocess", "import subprocess\n", "policy",
     "policy: line 1: import of 'subprocess' is not allowed"),
    ("open read", "f = open('/etc/passwd')\n", "policy",
     "policy: line 1: open() is not allowed (no file access)"),
    ("open write", "f = open('{tmp}/pwned', 'w')\n", "policy",
     "policy: line 1: open() is not allowed (no file access)"),
    ("eval", "x = eval('1 + 1')\n", "policy",
     "policy: line 1: eval() is not allowed (no dynamic code)"),
    ("aliased eval", "e = [eval][0]\nx = e('1')\n", "policy",
     "policy: line 2: eval() is not allowed (no dynamic code)"),
    ("exec", "exec('x = 1')\n", "policy",
     "policy: line 1: exec() is not allowed (no dynamic code)"),
    ("compile", "c = compile('1', 'f', 'eval')\n", "policy",
     "policy: line 1: compile() is not allowed (no dynamic code)"),
    ("globals", "g = globals()\n", "policy",
     "policy: line 1: globals() is not allowed (no namespace access)"),
    ("vars", "v = vars()\n", "policy",
     "policy: line 1: vars() is not allowed (no namespace access)"),
    ("dir", "d = dir()\n", "policy", "policy: line 1: dir() is not allowed (no introspection)"),
    ("locals", "l = locals()\n", "policy",
     "policy: line 1: locals() is not allowed (no namespace access)"),
    ("builtins name", "b = __builtins__\n", "policy",
     "policy: line 1: name '__builtins__' is not allowed"),
    ("getattr built string", "a = 'f_' + 'globals'\nx = getattr(lambda: 0, a)\n", "policy",
     "policy: line 2: attribute 'f_globals' is not allowed (interpreter internals)"),
    ("str.format traversal", "s = '{0.__class__.__mro__}'.format(1)\n", "policy",
     "policy: line 1: str.format() with the field {0.__class__.__mro__} is not allowed"),
    ("format_map", "s = '{x.__class__}'.format_map({'x': 1})\n", "policy",
     "policy: line 1: str.format_map() with the field {x.__class__} is not allowed"),
    ("unbound str.format", "f = str.format\ns = f('{0.__class__}', 1)\n", "policy",
     "policy: line 2: str.format() with the field {0.__class__} is not allowed"),
    ("string.Formatter", "import string\nf = string.Formatter()\n", "policy",
     "policy: line 2: string.Formatter is not allowed (not in the sandbox's view)"),
    # admitted: str.format with plain fields, typing; each keeps its own refusals
    ("format field attribute", "s = '{0.real.__class__}'.format(1)\n", "policy",
     "policy: line 1: str.format() with the field {0.real.__class__} is not allowed"),
    ("format field item", "s = '{0[0]}'.format([1])\n", "policy",
     "policy: line 1: str.format() with the field {0[0]} is not allowed"),
    ("format nested spec field", "s = '{0:{1.__class__}}'.format(1, 2)\n", "policy",
     "policy: line 1: str.format() with the field {1.__class__} is not allowed"),
    ("format_map item", "s = '{m[k]}'.format_map({'m': {'k': 1}})\n", "policy",
     "policy: line 1: str.format_map() with the field {m[k]} is not allowed"),
    ("format via getattr", "f = getattr('{0.__doc__}', 'format')\ns = f(1)\n", "policy",
     "policy: line 2: str.format() with the field {0.__doc__} is not allowed"),
    ("typing sys", "import typing\ns = typing.sys\n", "policy",
     "policy: line 2: typing.sys is not allowed (not in the sandbox's view)"),
    ("typing get_type_hints", "from typing import get_type_hints\n", "policy",
     "policy: line 1: typing.get_type_hints is not allowed (not in the sandbox's view)"),
    ("typing ForwardRef", "from typing import ForwardRef\n", "policy",
     "policy: line 1: typing.ForwardRef is not allowed (not in the sandbox's view)"),
    ("typing forward ref evaluate", "from typing import Optional\n"
     "r = Optional['os'].__args__[0]._evaluate(None, None, frozenset())\n", "policy",
     "policy: line 2: attribute '__args__' is not allowed"),
    ("typing module dict", "import typing\nd = typing.__dict__\n", "policy",
     "policy: line 2: attribute '__dict__' is not allowed"),
    ("typing origin", "from typing import List\nx = List.__origin__\n", "policy",
     "policy: line 2: attribute '__origin__' is not allowed"),
    ("typing alias module", "from typing import Callable\nx = getattr(Callable, '__module__')\n",
     "policy", "policy: line 2: attribute '__module__' is not allowed"),
    ("typing ABC register", "from typing import Sequence\nSequence.register(dict)\n", "policy",
     "policy: line 2: ABC.register() is not allowed (it changes the host's isinstance checks)"),
    ("typing ABC register by getattr", "from typing import Iterable\n"
     "r = getattr(Iterable, 'reg' + 'ister')\n", "policy",
     "policy: line 2: ABC.register() is not allowed (it changes the host's isinstance checks)"),
    ("typing NamedTuple", "from typing import NamedTuple\n", "policy",
     "policy: line 1: typing.NamedTuple is not allowed (not in the sandbox's view)"),
    ("typing TypeVar", "import typing\nT = typing.TypeVar('T')\n", "policy",
     "policy: line 2: typing.TypeVar is not allowed (not in the sandbox's view)"),
    ("typing alias instantiation", "from typing import List\nx = List()\n", "runtime",
     "Type List cannot be instantiated"),
    ("type alias as class factory", "t = type[int]\nM = t('M', (object,), {'__eq__': None})\n",
     "policy", "policy: line 2: type() with 3 arguments is not allowed (no class factory)"),
    ("type three arguments", "M = type('M', (), {})\n", "policy",
     "policy: line 1: type() with 3 arguments is not allowed (no class factory)"),
    ("assign to typing", "import typing\ntyping.List = None\n", "policy",
     "policy: line 2: assignment to attributes or items of type 'ModuleView' is not allowed"),
    ("generator frame", "g = (x for x in [1])\nf = g.gi_frame\n", "policy",
     "policy: line 2: attribute 'gi_frame' is not allowed (interpreter internals)"),
    ("traceback frame", "try:\n    1 / 0\nexcept Exception as e:\n    t = e.__traceback__\n",
     "policy", "policy: line 4: attribute '__traceback__' is not allowed"),
    ("traceback tb_frame", "try:\n    1 / 0\nexcept Exception as e:\n    t = e.tb_frame\n",
     "policy", "policy: line 4: attribute 'tb_frame' is not allowed (interpreter internals)"),
    ("guard shadowing", "_getattr_ = lambda o, n: o\n", "policy",
     "policy: line 1: name '_getattr_' is not allowed"),
    ("positional-only default", "def f(a, /, _write_=None):\n    return a\n", "policy",
     "policy: line 1: name '_write_' is not allowed"),
    ("except star", "try:\n    pass\nexcept* ValueError:\n    pass\n", "policy",
     "policy: line 1: 'except*' is not allowed"),
    ("write to API object", "p = ImagePatch(image)\np.left = 0\n", "policy",
     "policy: line 2: assignment to attributes or items of type 'ImagePatch' is not allowed"),
    ("replace API method", "ImagePatch.find = lambda self, name: []\n", "policy",
     "policy: line 1: assignment to attributes or items of type 'type' is not allowed"),
    ("setattr API method", "setattr(ImagePatch, 'find', None)\n", "policy",
     "policy: line 1: assignment to attributes or items of type 'type' is not allowed"),
    ("API internals", "d = ImagePatch(image)._dispatcher\n", "policy",
     "policy: line 1: attribute '_dispatcher' is not allowed"),
    ("bound method self", "s = ImagePatch(image).find.__self__\n", "policy",
     "policy: line 1: attribute '__self__' is not allowed"),
    ("API class dict", "d = ImagePatch.__dict__\n", "policy",
     "policy: line 1: attribute '__dict__' is not allowed"),
    ("image ref internals", "d = getattr(image, '__slots__')\n", "policy",
     "policy: line 1: attribute '__slots__' is not allowed"),
    ("forged image ref", "r = type(image)('ffffffffffffffff', 10, 10)\n"
     "n = ImagePatch(r).find('circle')\n", "runtime", "ffffffffffffffff"),
    # admitted: super().__init__ in the program's own classes, a class's __name__
    ("super of an API class", "class P(ImagePatch):\n    pass\np = P(image)\n"
     "i = super(ImagePatch, p).__init__\n", "policy",
     "policy: line 4: attribute '__init__' is not allowed (only super().__init__ in a class the "
     "program defines)"),
    ("super of a proxy", "p = ImagePatch(image)\ni = super(type(p), p).__init__\n", "policy",
     "policy: line 2: attribute '__init__' is not allowed"),
    ("rebound super", "class A:\n    def f(self, o):\n        super = lambda: o\n"
     "        return super().__init__\nA().f(ImagePatch(image))\n", "policy",
     "policy: line 4: attribute '__init__' is not allowed"),
    ("aliased super", "class A:\n    def f(self):\n        s = super()\n"
     "        return s.__init__\n", "policy",
     "policy: line 4: attribute '__init__' is not allowed"),
    ("super internals", "class A:\n    def f(self):\n        return super().__thisclass__\n",
     "policy", "policy: line 3: attribute '__thisclass__' is not allowed"),
    ("super to subclasses", "class A:\n    def f(self):\n"
     "        return super().__subclasses__()\n", "policy",
     "policy: line 3: attribute '__subclasses__' is not allowed"),
    ("super init then self", "class A:\n    def f(self):\n"
     "        return super().__init__.__self__\n", "policy",
     "policy: line 3: attribute '__self__' is not allowed"),
    ("function name", "n = len.__name__\n", "policy",
     "policy: line 1: attribute '__name__' is not allowed (only on classes"),
    ("module name", "import math\nn = getattr(math, '__name__')\n", "policy",
     "policy: line 2: attribute '__name__' is not allowed"),
    ("class name write", "class A:\n    pass\nA.__name__ = 'B'\n", "policy",
     "policy: line 3: attribute '__name__' is not allowed"),
    ("class of a caller object", "n = type(image).__module__\n", "policy",
     "policy: line 1: attribute '__module__' is not allowed"),
    ("SystemExit", "raise SystemExit(0)\n", "runtime", "name 'SystemExit' is not defined"),
    ("KeyboardInterrupt", "raise KeyboardInterrupt\n", "runtime",
     "name 'KeyboardInterrupt' is not defined"),
    ("exit()", "exit(0)\n", "policy",
     "policy: line 1: exit() is not allowed (a program ends by returning)"),
    ("dunder method", "class A:\n    def __del__(self):\n        pass\n", "policy",
     "policy: line 2: name '__del__' is not allowed"),
    ("metaclass", "class A(metaclass=type):\n    pass\n", "policy",
     "policy: line 1: class keyword arguments (metaclass=...) are not allowed"),
    ("type() class factory", "T = type(type(1))\n", "policy",
     "policy: line 1: type() of a class is not allowed (no metaclasses)"),
    ("print to a file", "print('x', file=1)\n", "policy",
     "policy: line 1: print(file=...) is not allowed (programs cannot write files)"),
    ("infinite loop", "while True:\n    pass\n", "timeout", "the wall-clock deadline passed"),
    ("loop catching everything", "while True:\n    try:\n        while True:\n            pass\n"
     "    except:\n        pass\n", "timeout", "did not stop; the worker was killed"),
    ("huge integer", "x = 10 ** 10 ** 7\n", "timeout", ""),
    ("memory bomb string", "x = 'a' * 10 ** 10\n", "memory", "out of memory"),
    ("memory bomb list", "x = [0] * 10 ** 9\n", "memory", "out of memory"),
    ("recursion bomb", "def f(n):\n    return f(n + 1)\nx = f(0)\n", "runtime",
     "maximum recursion depth exceeded"),
    ("fork bomb", "import os\nwhile True:\n    os.fork()\n", "policy",
     "policy: line 1: import of 'os' is not allowed"),
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
