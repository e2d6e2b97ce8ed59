"""One way to run: the in-process runner and the Sandbox pool behind one interface, and the
deprecated ``Program.run``."""

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import vipexec
from vipexec.core.errors import InvalidArgumentError
from vipexec.core.program import STAGES
from vipexec.modules.dispatch import LocalDispatcher
from vipexec.modules.images import ImageStore
from vipexec.modules.synthetic.backend import SyntheticBackend
from vipexec.sandbox.runner import InProcessRunner, Runner

COUNT = "def execute_command(image):\n    return len(ImagePatch(image).find('circle'))\n"
REACH = "def execute_command(x):\n    return (1).__class__.__name__\n"


def test_both_runners_give_the_same_runs(pool, scene_pixels):
    runner = InProcessRunner()
    scene = runner.images.add(np.asarray(scene_pixels))
    here = runner.run(COUNT, inputs={"image": scene})
    there = pool.run(COUNT, inputs={"image": pool.scene})
    assert here.ok and there.ok
    assert here.result == there.result
    assert [b.status for b in here.blocks] == [b.status for b in there.blocks]
    assert here.blocks[0].calls[0]["method"] == there.blocks[0].calls[0]["method"] == "find"
    assert isinstance(runner, Runner) and isinstance(pool, Runner)


def test_in_process_inputs_are_read_like_the_pool_reads_them(scene_pixels, tmp_path):
    runner = InProcessRunner()
    path = tmp_path / "scene.png"
    Image.fromarray(scene_pixels).save(path)
    by_path = runner.run(COUNT, inputs={"image": Path(path)})
    by_array = runner.run(COUNT, inputs={"image": np.asarray(scene_pixels)})
    assert by_path.ok and by_path.result == by_array.result


def test_in_process_map_keeps_order_and_per_program_inputs():
    runner = InProcessRunner()
    programs = ["def execute_command(x):\n    return x * 2\n"] * 3
    runs = runner.map(programs, inputs=[[1], [2], [3]])
    assert [run.result for run in runs] == [2, 4, 6]
    assert [run.result for run in runner.map(programs[:2], inputs=[5])] == [10, 10]


def test_in_process_runner_applies_the_policy_unless_told_not_to():
    refused = InProcessRunner().run(REACH, inputs=[1])
    assert refused.error is not None and refused.error.kind == "policy"
    trusted = InProcessRunner(policy=False).run(REACH, inputs=[1])
    assert trusted.ok and trusted.result == "int"


def test_in_process_runner_refuses_a_deadline_it_cannot_keep():
    with pytest.raises(InvalidArgumentError, match="no deadline"):
        InProcessRunner().run("print(1)\n", timeout=1.0)


def test_a_server_and_a_backend_together_are_refused():
    server = LocalDispatcher(SyntheticBackend(), ImageStore())
    for make in (vipexec.Sandbox, InProcessRunner):
        with pytest.raises(InvalidArgumentError, match="not both"):
            make(server=server, backend="synthetic")
        with pytest.raises(InvalidArgumentError, match="not both"):
            make(server=server, backend_options={"seed": 1})


def test_in_process_runner_with_a_server_uses_it():
    store = ImageStore()
    runner = InProcessRunner(server=LocalDispatcher(SyntheticBackend(), store), store=store)
    assert runner.images is store
    run = runner.run(COUNT, inputs={"image": store.add(np.zeros((20, 20, 3), np.uint8))})
    assert run.ok and run.result == 0


def test_program_run_is_a_deprecated_alias_of_run_in_process():
    program = vipexec.Program.from_source(REACH)
    with pytest.warns(DeprecationWarning, match="run_in_process"):
        old = program.run(inputs=[1], sandbox=False)
    assert old.ok and old.result == program.run_in_process(inputs=[1], policy=False).result
    with pytest.warns(DeprecationWarning):
        assert program.run(inputs=[1]).error.kind == "policy"


def test_the_program_stages_resolve_to_the_engine():
    from vipexec.engine.compiler import compile_program
    from vipexec.engine.execute import execute

    assert STAGES.resolve("compile") is compile_program
    assert STAGES.resolve("run_in_process") is execute
