"""One rule for a run's result: every path that rebuilds a Run (sandbox pool, trace file, program
tree) gives the same result for the same program, and plain results equal the in-process one."""

import pytest

from vipexec import Program, ProgramTree, Run
from vipexec.labelers.apply import run_for_node

RESULTS = {
    "list": ("[1, 2, 3]", [1, 2, 3]),
    "tuple": ('(1, "two")', [1, "two"]),
    "none": ("None", None),
    "patch": ("patch", "summary"),
    "patches": ("[patch, patch]", "summary"),
}


def program(expression):
    return Program.from_source(
        f"def execute_command(image):\n    patch = ImagePatch(image)\n    return {expression}\n",
        name="result.py",
    )


@pytest.fixture(scope="module")
def in_process(pool):
    from vipexec.modules.api import build_api
    from vipexec.modules.backend import create_backend
    from vipexec.modules.dispatch import LocalDispatcher

    api = build_api(LocalDispatcher(create_backend("synthetic"), pool.images))
    return lambda prog: prog.run_in_process(api, {"image": pool.scene}, policy=True)


@pytest.mark.parametrize("kind", sorted(RESULTS))
def test_every_path_rebuilds_the_same_result(pool, in_process, kind):
    expression, expected = RESULTS[kind]
    prog = program(expression)
    local = in_process(prog)
    assert local.ok
    if expected != "summary":
        # tuples cross as JSON lists; everything else plain comes back equal
        live = list(local.result) if isinstance(local.result, tuple) else local.result
        assert live == expected
    else:
        expected = local.result_summary
        assert isinstance(expected, dict) and "type" in expected
    pooled = pool.run(prog, inputs={"image": pool.scene})
    assert pooled.ok and pooled.result == expected
    loaded = Run.from_json(local.to_json())
    assert loaded.result == expected
    tree = ProgramTree()
    node = tree.add(local)
    assert run_for_node(tree, node).result == expected
    assert Run.result_from_summary(local.result_summary) == expected


def test_a_worker_sends_a_plain_result_whole(pool, in_process):
    # The summary keeps the first items of a long list; the worker's result is the whole list.
    prog = program("list(range(300))")
    summary = in_process(prog).result_summary
    assert Run.result_from_summary(summary) == summary  # truncated: stays a summary
    assert pool.run(prog, inputs={"image": pool.scene}).result == list(range(300))
