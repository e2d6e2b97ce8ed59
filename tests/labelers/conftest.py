"""Shared helpers of the labeler tests: hand-built runs and real runs on synthetic scenes."""

from __future__ import annotations

import functools

import pytest

from vipexec import Program
from vipexec.core.run import BlockTrace, Run, RunError


def hand_run(
    source,
    statuses,
    *,
    error=None,
    variables=None,
    calls=None,
    result=None,
    executions=None,
    query=None,
):
    """A Run built by hand: one status per block, optional error / variables / calls."""
    program = Program.from_source(source, name="hand.py")
    blocks = []
    for block, status in zip(program.blocks, statuses, strict=True):
        runs = (executions or {}).get(block.index, 0 if status == "not_run" else 1)
        blocks.append(
            BlockTrace(
                block.index,
                block.step,
                block.description,
                block.lines,
                status,
                variables=dict((variables or {}).get(block.index, {})),
                calls=list((calls or {}).get(block.index, [])),
                executions=runs,
                error=(
                    {"type": error.type, "message": error.message}
                    if error is not None and status == "error"
                    else None
                ),
            )
        )
    summary = {"type": "NoneType", "value": None}
    if result is not None:
        summary = {"type": type(result).__name__, "value": result}
    meta = {"query": query} if query else {}
    return Run(program, result, summary, error, blocks, meta=meta)


def err(kind="runtime", type_="ValueError", message="boom", block=None, line=None):
    return RunError(kind, type_, message, block, line)


def values(labels):
    return [label.value for label in labels]


@pytest.fixture(scope="session")
def kit():
    """The hand-built-trace helpers: ``kit.hand_run``, ``kit.err``, ``kit.values``."""
    import types

    return types.SimpleNamespace(hand_run=hand_run, err=err, values=values)


@pytest.fixture(scope="session")
def rendered():
    from vipexec.modules.synthetic.scene import generate_scene, render

    return functools.cache(lambda seed, **kw: render(generate_scene(seed, **kw)))


@pytest.fixture
def world(rendered):
    """(store, api namespace, image ref) for a fixed scene of red and blue circles and squares."""
    from vipexec.modules.api import build_api
    from vipexec.modules.backend import create_backend
    from vipexec.modules.dispatch import LocalDispatcher, ServerDispatcher
    from vipexec.modules.images import ImageStore

    scene = rendered(
        11,
        min_objects=4,
        max_objects=6,
        colors=("red", "blue"),
        shapes=("circle", "square"),
        text_prob=0.0,
    )
    store = ImageStore()
    ref = store.add(scene.image)
    api = build_api(ServerDispatcher(LocalDispatcher(create_backend("synthetic"), store)))
    return store, api, ref, scene


@pytest.fixture
def run_on(world):
    """``run_on(source, query)``: the source run on the fixed scene, with the query in meta."""
    _store, api, ref, _ = world

    def run(source, query=None, namespace=None):
        result = Program.from_source(source, name="prog.py").run_in_process(
            namespace=namespace or api, inputs={"image": ref}, policy=True
        )
        if query:
            result.meta["query"] = query
        return result

    return run
