"""vipexec.traced: tracing another project's functions without changing them."""

import importlib.util
import sys
import textwrap

import pytest

import vipexec
from vipexec.core.errors import InvalidArgumentError, ProgramSourceError


def load_module(tmp_path, name, source):
    path = tmp_path / f"{name}.py"
    path.write_text(textwrap.dedent(source))
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


PROJECT = """\
    SCALE = 10

    def helper(v):
        return v * SCALE

    def execute_command(image, extra=[]):
        # Step 1: scale
        scaled = helper(image)
        # Step 2: check
        if scaled > 100:
            raise ValueError("too big")
        extra.append(scaled)
        return scaled
"""


def test_wrapping_an_existing_function_keeps_its_behaviour(tmp_path):
    project = load_module(tmp_path, "viper_like_project", PROJECT)
    original = project.execute_command
    project.execute_command = vipexec.traced(project.execute_command)

    assert project.execute_command(3) == 30
    run = project.execute_command.last_run
    assert run.ok and run.result == 30
    assert [b.description for b in run.blocks] == ["scale", "check"]
    assert run.blocks[0].variables == {"scaled": {"type": "int", "value": 30}}

    project.SCALE = 1  # globals are the module's own, live
    assert project.execute_command(3) == 3
    # default objects are the original ones (the mutable default keeps accumulating)
    assert original.__defaults__[0] == [30, 3]

    with pytest.raises(ValueError, match="too big"):
        project.execute_command(500)
    failed = project.execute_command.last_run
    assert (failed.error.type, failed.error.block) == ("ValueError", 1)
    assert "vipexec" not in "".join(vars(project))  # nothing was added to the module


def test_decorator_form():
    @vipexec.traced
    def execute_command(x):
        # Step 1: half
        half = x / 2
        return half

    assert execute_command(4) == 2.0
    assert execute_command.last_run.blocks[0].variables["half"]["value"] == 2.0


def test_code_executed_from_a_string_needs_its_source():
    code = "def execute_command(x):\n    y = x + 1\n    return y\n"
    namespace = {}
    exec(compile(code, "Codex", "exec"), namespace)
    with pytest.raises(InvalidArgumentError, match="pass it with traced"):
        vipexec.traced(namespace["execute_command"])
    wrapped = vipexec.traced(namespace["execute_command"], source=code)
    assert wrapped(1) == 2
    assert wrapped.last_run.blocks[0].variables == {"y": {"type": "int", "value": 2}}


def test_closures_are_refused_with_a_reason():
    offset = 1

    def execute_command(x):
        return x + offset

    with pytest.raises(InvalidArgumentError, match="closes over offset"):
        vipexec.traced(execute_command)


def test_a_source_without_the_function_is_named_plainly():
    namespace = {}
    exec(compile("def execute_command(x):\n    return x\n", "Codex", "exec"), namespace)
    with pytest.raises(ProgramSourceError) as caught:
        vipexec.traced(namespace["execute_command"], source="def other(x):\n    return x\n")
    assert str(caught.value) == "execute_command: no top-level function named 'execute_command'"
