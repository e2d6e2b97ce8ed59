"""Refusals that can only happen at run time (type-dependent names, builtins, imports, writes)."""

import pytest

from vipexec.sandbox.language.builtins import MODULE_EXPORTS
from vipexec.testing import FakeImagePatch, FakeScene, fake_namespace

ALLOWED = ", ".join(sorted(MODULE_EXPORTS))
TRAVERSING = "(format fields may not read attributes or items)"

RUNTIME_REFUSED = [
    # (source, line, what is refused)
    (
        "s = '{0.__class__}'.format(1)\n",
        1,
        f"str.format() with the field {{0.__class__}} is not allowed {TRAVERSING}",
    ),
    (
        "s = '{a.real}'.format_map({'a': 1})\n",
        1,
        f"str.format_map() with the field {{a.real}} is not allowed {TRAVERSING}",
    ),
    (
        "s = '{a[0]}'.format_map({'a': [1]})\n",
        1,
        f"str.format_map() with the field {{a[0]}} is not allowed {TRAVERSING}",
    ),
    (
        "f = str.format\ns = f('{0[0]}', [1])\n",
        2,
        f"str.format() with the field {{0[0]}} is not allowed {TRAVERSING}",
    ),
    (
        "m = '{0.real}'\nf = getattr(m, 'for' + 'mat')\ns = f(1)\n",
        3,
        f"str.format() with the field {{0.real}} is not allowed {TRAVERSING}",
    ),
    (
        "s = '{0:{1.real}}'.format(1, 2)\n",
        1,
        f"str.format() with the field {{1.real}} is not allowed {TRAVERSING}",
    ),
    ("x = getattr(1, '__class__')\n", 1, "attribute '__class__' is not allowed"),
    ("x = getattr(1, '__cl' + 'ass__')\n", 1, "attribute '__class__' is not allowed"),
    (
        "x = getattr(1, 'f_' + 'globals')\n",
        1,
        "attribute 'f_globals' is not allowed (interpreter internals)",
    ),
    ("x = hasattr(1, '__dict__')\n", 1, "attribute '__dict__' is not allowed"),
    ("import os\n", 1, f"import of 'os' is not allowed (available: {ALLOWED})"),
    ("import os.path\n", 1, f"import of 'os.path' is not allowed (available: {ALLOWED})"),
    (
        "from subprocess import run\n",
        1,
        f"import of 'subprocess' is not allowed (available: {ALLOWED})",
    ),
    ("import importlib\n", 1, f"import of 'importlib' is not allowed (available: {ALLOWED})"),
    ("import sys\n", 1, f"import of 'sys' is not allowed (available: {ALLOWED})"),
    ("f = open('/etc/passwd')\n", 1, "open() is not allowed (no file access)"),
    ("g = globals()\n", 1, "globals() is not allowed (no namespace access)"),
    ("v = vars()\n", 1, "vars() is not allowed (no namespace access)"),
    ("d = dir(1)\n", 1, "dir() is not allowed (no introspection)"),
    ("c = compile('1', 'f', 'eval')\n", 1, "compile() is not allowed (no dynamic code)"),
    ("e = [eval][0]\n", 1, None),  # `eval` as a value is refused when called, see below
    ("i = id(1)\n", 1, "id() is not allowed (no object addresses)"),
    ("t = type(int)\n", 1, "type() of a class is not allowed (no metaclasses)"),
    ("t = type(type(1))\n", 1, "type() of a class is not allowed (no metaclasses)"),
    (
        "x = 1\nsetattr(x, 'y', 1)\n",
        2,
        "assignment to attributes or items of type 'int' is not allowed",
    ),
    (
        "x = 'abc'\nx.upper = None\n",
        2,
        "assignment to attributes or items of type 'str' is not allowed",
    ),
    (
        "t = (1, 2)\nt[0] = 5\n",
        2,
        "assignment to attributes or items of type 'tuple' is not allowed",
    ),
    (
        "import math\nmath.pi = 3\n",
        2,
        "assignment to attributes or items of type 'ModuleView' is not allowed",
    ),
    (
        "print('x', file=None or 1)\n",
        1,
        "print(file=...) is not allowed (programs cannot write files)",
    ),
]


@pytest.mark.parametrize(("source", "line", "message"), RUNTIME_REFUSED)
def test_refused_at_run_time(run_source, source, line, message):
    run = run_source(source)
    if message is None:  # merely naming a refused builtin is harmless
        assert run.ok
        return
    assert run.error is not None, source
    assert (run.error.kind, run.error.type) == ("policy", "PolicyError")
    assert run.error.message == f"policy: line {line}: {message}"
    assert run.error.line == line
    assert run.error.block == line - 1


def test_calling_an_aliased_eval_is_refused(run_source):
    run = run_source("e = [eval][0]\nx = e('1 + 1')\n")
    assert run.error.kind == "policy"
    assert run.error.message == "policy: line 2: eval() is not allowed (no dynamic code)"


def test_a_caught_violation_is_still_reported(run_source):
    run = run_source(
        "# Step 1: probe\ntry:\n    import os\nexcept Exception:\n    pass\n# Step 2: go on\nx = 1\n"
    )
    assert run.error.kind == "policy"
    assert (run.error.block, run.error.line) == (0, 3)
    assert (
        run.error.message == f"policy: line 3: import of 'os' is not allowed (available: {ALLOWED})"
    )
    assert run.result is None


def test_a_caught_violation_keeps_its_line(run_source):
    # the refusal at line 4 is caught and the program goes on to its end
    run = run_source(
        "# Step 1: probe\nx = 1\ntry:\n    getattr(x, '__class__')\nexcept Exception as e:\n"
        "    caught = str(e)\n# Step 2: go on\ny = 2\nprint(y)\n"
    )
    assert (run.error.kind, run.error.block, run.error.line) == ("policy", 0, 4)
    assert run.error.message == "policy: line 4: attribute '__class__' is not allowed"
    assert run.blocks[0].variables["caught"]["value"] == run.error.message


def test_a_refusal_inside_a_helper_names_the_helper_line(run_source):
    run = run_source(
        "def probe(value):\n    return getattr(value, 'gi_' + 'frame')\n\n"
        "def execute_command():\n    try:\n        return probe(1)\n"
        "    except Exception:\n        return 0\n"
    )
    assert (run.error.kind, run.error.line) == ("policy", 2)
    assert run.error.message == (
        "policy: line 2: attribute 'gi_frame' is not allowed (interpreter internals)"
    )


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
    assert run.error.message == (
        "policy: line 2: assignment to attributes or items of type 'FakeImagePatch' is not allowed"
    )
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
