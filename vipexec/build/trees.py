"""The build's program source: a query's program tree, grown, executed, labelled and narrated.

For one query, :func:`tree_programs` grows the tree with the context's generator
(:func:`vipexec.generate.tree_builder.build_tree`), runs every program in the worker's sandbox
over the query's backend (:mod:`vipexec.build.backends`: clean or noisy)
(:func:`vipexec.generate.execute_tree.execute_tree`), labels every node
(:func:`vipexec.labelers.apply.label_tree`) and writes each node's CoT step
(:func:`vipexec.generate.execute_tree.write_cot`), each as its own timed stage. It yields one
labelled run per program (end node): the labels and CoT texts are the tree nodes' along the
path (programs that failed at one shared block make one row), and the block ids are the path's
node ids; its extra ``meta`` is the backend it ran on and its code steps
(:mod:`vipexec.build.code_steps`). A path that ends where a generator request failed (a server
down, a query the grammar cannot plan) is an error line, not a row.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

from vipexec.build.code_steps import code_steps
from vipexec.build.unit import LabelledRun
from vipexec.core.run import Run
from vipexec.generate.protocol import Query

__all__ = ["tree_programs"]


def tree_programs(query: Query, context: Any) -> Iterator[LabelledRun]:
    """The labelled programs of ``query`` (see the module docstring)."""
    from vipexec.generate.execute_tree import execute_tree, write_cot
    from vipexec.generate.tree_builder import build_tree
    from vipexec.labelers.apply import label_tree
    from vipexec.labelers.base import LabelContext

    with context.clock.stage("generate"):
        tree = build_tree(context.generator, query, context.limits, seed=context.settings.seed)
    backend = context.backend_of(query)
    sandbox = context.sandbox_for(backend)
    with context.clock.stage("execute"):
        outcome = execute_tree(tree, query, sandbox, labelers=(), converter=None)
    with context.clock.stage("label"):
        store = sandbox.images
        label_tree(tree, context.labelers, context=LabelContext(query=query.query, store=store))
    with context.clock.stage("convert"):
        write_cot(tree, query, outcome.runs, context.converter)
    yielded = set()
    for end, run in outcome.runs.items():
        # a program that failed ran only up to its failing block: its row ends there, and the
        # programs that share the blocks up to that failure are one row, not one per ending
        run = _up_to_failure(run)
        path = tree.path(end)[: len(run.blocks)]
        if tuple(path) in yielded:
            continue
        yielded.add(tuple(path))
        nodes = [tree.graph.nodes[node] for node in path]
        for block, node in zip(run.blocks, nodes, strict=True):
            block.labels = dict(node.get("labels") or {})
        end_data = tree.graph.nodes[end]
        failed_request = end_data.get("ending") == "request_failed"
        yield LabelledRun(
            run,
            _variant(nodes),
            steps=tuple(node.get("cot") for node in nodes),
            block_ids=tuple(path),
            correct=end_data["ends"][0]["correct"],
            # a request that failed wrote no block: nothing to learn from, so no row
            failure=(end_data.get("origin") or {}).get("error") if failed_request else None,
            meta={"backend": backend.name, "noise": backend.noise, "code_steps": code_steps(run)},
        )


def _up_to_failure(run: Run) -> Run:
    """``run`` without the blocks after the one that failed."""
    failed = run.error.block if run.error is not None else None
    if failed is None or failed + 1 >= len(run.blocks):
        return run
    return dataclasses.replace(run, blocks=run.blocks[: failed + 1])


def _variant(nodes: list[dict[str, Any]]) -> str:
    """How the program came about: the faults its blocks carry (grammar), else ``no-fault``."""
    faults = [(node.get("origin") or {}).get("fault") or {} for node in nodes]
    kinds = [fault["kind"] for fault in faults if fault.get("kind")]
    return "+".join(kinds) or "no-fault"
