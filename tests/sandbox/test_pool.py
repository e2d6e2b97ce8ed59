"""The Sandbox pool: lifecycle, concurrency, deadlines, crashes and what comes back."""

import os
import signal
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import vipexec
from vipexec.core.errors import InvalidArgumentError

COUNT = (
    "def execute_command(image):\n"
    "    # Step 1: find\n"
    "    circles = ImagePatch(image).find('circle')\n"
    "    # Step 2: count\n"
    "    return len(circles)\n"
)


def test_close_leaves_no_process_behind(children):
    before = children()
    with vipexec.Sandbox(workers=2) as sandbox:
        pids = set(sandbox.worker_pids)
        assert pids <= children()
        assert sandbox.run("print(1)\n").result == 1
    assert not (children() - before)
    for pid in pids:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
    with pytest.raises(vipexec.sandbox.isolation.pool.SandboxError, match="closed"):
        sandbox.run("print(1)\n")


def test_workers_run_under_seccomp(pool):
    assert pool.seccomp is None


def test_api_calls_cross_to_the_parent_and_are_traced(pool):
    run = pool.run(COUNT, inputs={"image": pool.scene})
    assert run.ok and isinstance(run.result, int)
    call = run.blocks[0].calls[0]
    assert call["method"] == "find" and call["image"] == pool.scene.id
    assert call["backend"].startswith("synthetic")
    assert run.backend.startswith("synthetic")
    assert run.meta["worker"] in pool.worker_pids


def test_inputs_as_paths_and_arrays(pool, scene_pixels, tmp_path):
    path = tmp_path / "scene.png"
    Image.fromarray(scene_pixels).save(path)
    by_path = pool.run(COUNT, inputs={"image": Path(path)})
    by_array = pool.run(COUNT, inputs={"image": np.asarray(scene_pixels)})
    by_ref = pool.run(COUNT, inputs={"image": pool.scene})
    assert by_path.result == by_array.result == by_ref.result
    assert by_path.inputs["image"]["image"] == pool.scene.id


def test_non_plain_results_come_back_as_summaries(pool):
    run = pool.run(
        "def execute_command(image):\n    return [ImagePatch(image)]\n",
        inputs={"image": pool.scene},
    )
    assert run.ok
    assert run.result["type"] == "list"
    assert run.result["items"][0] == {
        "type": "ImagePatch",
        "image": pool.scene.id,
        "box": [0, 0, pool.scene.width, pool.scene.height],
    }


def test_bad_inputs_are_the_callers_error(pool):
    with pytest.raises(InvalidArgumentError, match="inputs do not match"):
        pool.run(COUNT, inputs={"picture": pool.scene})
    with pytest.raises(InvalidArgumentError, match="cannot be sent to a sandbox worker"):
        pool.run(COUNT, inputs={"image": object()})
    assert pool.run("print(2)\n").result == 2


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"workers": 0}, "workers must be a positive integer"),
        ({"timeout": -1}, "timeout must be a positive number"),
        ({"memory": 1.5}, "memory must be a positive integer"),
        ({"backend": "nope"}, "nope"),
    ],
)
def test_bad_arguments(kwargs, message):
    with pytest.raises(Exception, match=message):
        vipexec.Sandbox(**kwargs)


def test_map_runs_concurrently_and_keeps_order(pool):
    programs = [
        f"import math\nx = 0\nfor i in range(20000):\n    x += i\nprint({k})\n" for k in range(8)
    ]
    runs = pool.map(programs)
    assert [r.result for r in runs] == list(range(8))
    assert len({r.meta["worker"] for r in runs}) == 2


def test_soft_deadline_keeps_the_trace(pool):
    run = pool.run(
        "# Step 1: setup\nn = 0\n# Step 2: spin\nwhile True:\n    n += 1\n# Step 3: never\nm = 1\n",
        timeout=0.5,
    )
    assert (run.error.kind, run.error.block) == ("timeout", 1)
    assert run.error.line in (4, 5)  # the loop test or its body, wherever the signal landed
    assert [b.status for b in run.blocks] == ["ok", "error", "not_run"]
    assert run.blocks[0].variables == {"n": {"type": "int", "value": 0}}
    assert run.blocks[1].variables["n"]["value"] > 0


def test_hard_kill_still_says_which_block_was_running(pool):
    run = pool.run(
        "# Step 1: setup\nn = 0\n# Step 2: stubborn\nwhile True:\n    try:\n        while True:\n"
        "            n += 1\n    except:\n        pass\n# Step 3: never\nm = 1\n",
        timeout=0.5,
    )
    assert run.error.kind == "timeout" and "killed" in run.error.message
    assert run.error.block == 1
    assert [b.status for b in run.blocks] == ["ok", "error", "not_run"]
    assert run.meta["trace"].startswith("partial")


def _kill_busy_worker(pool, sig):
    def killer():
        # Only the worker that took this job: never an idle one or a replacement still starting.
        while not pool.busy_worker_pids:
            time.sleep(0.01)
        time.sleep(0.3)  # into its first block
        os.kill(pool.busy_worker_pids[0], sig)

    thread = threading.Thread(target=killer)
    thread.start()
    run = pool.run("# Step 1: spin\nx = 0\nwhile True:\n    x += 1\n", timeout=5)
    thread.join()
    return run


def test_a_crashed_worker_costs_one_program(pool):
    run = _kill_busy_worker(pool, signal.SIGSEGV)
    assert run.error.kind == "crashed"
    assert "SIGSEGV" in run.error.message
    assert run.error.block == 0
    assert pool.run("print(3)\n").result == 3


def test_an_outside_sigkill_is_reported_as_memory(pool):
    run = _kill_busy_worker(pool, signal.SIGKILL)
    assert run.error.kind == "memory"
    assert "out-of-memory killer" in run.error.message
    assert pool.run("print(4)\n").result == 4


def test_programs_see_a_fresh_namespace_each_run(pool):
    first = pool.run("counter = 41\nprint(counter)\n")
    second = pool.run("print(counter + 1)\n")
    assert first.result == 41
    assert second.error.type == "NameError"


def test_compile_errors_come_back_without_a_worker_round_trip_problem(pool):
    run = pool.run("# Step 1: a\nx = 1\n# Step 2: b\ny = (\n")
    assert (run.error.kind, run.error.block) == ("compile", 1)
