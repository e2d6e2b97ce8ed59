"""Refusals that can only happen at run time (type-dependent names, builtins, imports, writes)."""

import pytest

from vipexec.testing import FakeImagePatch, FakeScene, fake_namespace

RUNTIME_REFUSED = [
    # (source, line, message fragment)
    ("s = '{0.__class__}'.format(1)\n", 1, "str.format() is not allowed"),
    ("s = '{a.real}'.format_map({'a': 1})\n", 1, "str.format_map() is not allowed"),
    ("s = '{a[0]}'.format_map({'a': [1]})\n", 1, "str.format_map() is not allowed"),
    ("f = str.format\ns = f('{0[0]}', [1])\n", 2, "str.format() is not allowed"),
    ("m = '{0.real}'\nf = getattr(m, 'for' + 'mat')\ns = f(1)\n", 3, "str.format() is not"),
    ("s = '{0:{1.real}}'.format(1, 2)\n", 1, "str.format() is not allowed"),
    ("x = getattr(1, '__class__')\n", 1, '"__class__" is an invalid attribute name'),
    ("x = getattr(1, '__cl' + 'ass__')\n", 1, '"__class__" is an invalid attribute name'),
    ("x = getattr(1, 'f_' + 'globals')\n", 1, '"f_globals" is a restricted name'),
    ("x = hasattr(1, '__dict__')\n", 1, '"__dict__" is an invalid attribute name'),
    ("import os\n", 1, "import of 'os' is not allowed"),
    ("import os.path\n", 1, "import of 'os.path' is not allowed"),
    ("from subprocess import run\n", 1, "import of 'subprocess' is not allowed"),
    ("import importlib\n", 1, "import of 'importlib' is not allowed"),
    ("import sys\n", 1, "import of 'sys' is not allowed"),
    ("f = open('/etc/passwd')\n", 1, "open() is not available to programs"),
    ("g = globals()\n", 1, "globals() is not available to programs"),
    ("v = vars()\n", 1, "vars() is not available to programs"),
    ("d = dir(1)\n", 1, "dir() is not available to programs"),
    ("c = compile('1', 'f', 'eval')\n", 1, "compile() is not available to programs"),
    ("e = [eval][0]\n", 1, None),  # `eval` as a value is refused when called, see below
    ("i = id(1)\n", 1, "id() is not available to programs"),
    ("t = type(int)\n", 1, "type() of a class is not available"),
    ("t = type(type(1))\n", 1, "type() of a class is not available"),
    ("x = 1\nsetattr(x, 'y', 1)\n", 2, "cannot assign to attributes or items of type 'int'"),
    ("x = 'abc'\nx.upper = None\n", 2, "cannot assign to attributes or items of type 'str'"),
    ("t = (1, 2)\nt[0] = 5\n", 2, "cannot assign to attributes or items of type 'tuple'"),
    ("import math\nmath.pi = 3\n", 2, "cannot assign to attributes or items of type 'ModuleView'"),
    ("print('x', file=None or 1)\n", 1, "print(file=...) is not allowed"),
]


@pytest.mark.parametrize(("source", "line", "message"), RUNTIME_REFUSED)
def test_refused_at_run_time(run_source, source, line, message):
    run = run_source(source)
    if message is None:  # merely naming a refused builtin is harmless
        assert run.ok
        return
    assert run.error is not None, source
    assert (run.error.kind, run.error.type) == ("policy", "PolicyError")
    assert message in run.error.message
    assert run.error.line == line
    assert run.error.block == line - 1


def test_calling_an_aliased_eval_is_refused(run_source):
    run = run_source("e = [eval][0]\nx = e('1 + 1')\n")
    assert run.error.kind == "policy"
    assert "eval() is not available" in run.error.message


def test_a_caught_violation_is_still_reported(run_source):
    run = run_source(
        "# Step 1: probe\ntry:\n    import os\nexcept Exception:\n    pass\n# Step 2: go on\nx = 1\n"
    )
    assert run.error.kind == "policy"
    assert run.error.block == 0
    assert "import of 'os'" in run.error.message
    assert run.result is None


def test_missing_attribute_raises_attribute_error_not_none(run_source):
    run = run_source("x = (1).nope()\n")
    assert (run.error.kind, run.error.type) == ("runtime", "AttributeError")
    assert "'int' object has no attribute 'nope'" in run.error.message
    run = run_source("x = getattr(1, 'nope')\n")
    assert run.error.type == "AttributeError"


@pytest.mark.parametrize("name", ["SystemExit", "KeyboardInterrupt", "GeneratorExit"])
def test_process_exiting_exceptions_are_not_builtins(run_source, name):
    run = run_source(f"raise {name}\n")
    assert (run.error.kind, run.error.type) == ("runtime", "NameError")


def test_api_objects_are_read_only(run_source):
    scene = FakeScene(100, 100).add("cat", (0, 0, 10, 10))
    image = FakeImagePatch(scene)
    run = run_source(
        "def execute_command(image):\n    image.left = 50\n    return image.left\n",
        inputs={"image": image},
        namespace=fake_namespace(),
    )
    assert run.error.kind == "policy"
    assert "cannot assign to attributes or items of type 'FakeImagePatch'" in run.error.message
    assert image.left == 0


def test_replacing_api_methods_is_refused(run_source):
    scene = FakeScene(100, 100)
    run = run_source(
        "def execute_command(image):\n    patch = ImagePatch(image)\n"
        "    setattr(patch, 'find', lambda name: [])\n",
        inputs={"image": scene},
        namespace=fake_namespace(),
    )
    assert run.error.kind == "policy"


def test_host_containers_are_copied_not_shared(run_source):
    shared = {"counts": [1, 2]}
    run = run_source(
        "def execute_command(data):\n    data['counts'].append(3)\n    data['x'] = 1\n"
        "    return len(data['counts'])\n",
        inputs={"data": shared},
    )
    assert run.ok and run.result == 3
    assert shared == {"counts": [1, 2]}


def test_underscore_members_of_host_objects_are_unreachable(run_source):
    class Secret:
        def __init__(self):
            self._token = "s3cr3t"
            self.public = 1

        def reveal(self):
            return self

    run = run_source(
        "def execute_command(obj):\n    return getattr(obj.reveal(), '_token')\n",
        inputs={"obj": Secret()},
    )
    assert run.error.kind == "policy"
    run = run_source(
        "def execute_command(obj):\n    return obj.reveal().public\n", inputs={"obj": Secret()}
    )
    assert run.result == 1
