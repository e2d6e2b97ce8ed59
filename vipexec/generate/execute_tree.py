"""Tree execution: run every program of a program tree, then trace, label and (optionally)
narrate each node.

:func:`execute_tree` takes a :class:`vipexec.ProgramTree` whose end nodes are the programs of
one query (the tree builder's output) and a :class:`vipexec.Sandbox`:

- the tree's graph attributes (its root) get the query: ``query``, ``images`` and ``answer``
  (the expected answer, when known); ``query_id`` is the tree builder's, because it roots the
  node ids (a tree built for another query is refused);
- every program runs in the sandbox pool with the block trace; its query's images are bound as
  script globals the way ``vipexec run`` binds them (``image`` is the first, ``images`` all,
  a directory or animated file is a video);
- every node gets its block's trace (nodes are shared by programs with the same prefix, and a
  prefix runs the same way in each of them, so one trace per node is the trace);
- each program's end record gets ``answer`` (its printed result) and ``correct`` (whether it
  equals the expected answer: :func:`same_answer`; None when no answer is expected);
- the labelers run on every program (:func:`vipexec.labelers.label_tree`); a node shared by
  several programs keeps one label per dimension, the most negative one (``False`` over
  ``True`` over ``None``), with the other programs' disagreeing labels kept in its evidence;
  a block is wrong for the tree when it is wrong in any program through it;
- with a :class:`vipexec.cot.converter.StepConverter`, every node gets its ``cot`` text.

Calls shared by programs of one tree are answered once when the sandbox's server caches them
(:func:`tree_sandbox` builds such a sandbox: a :class:`vipexec.modules.caching.CachingServer`
over a backend), so the calls a backend computes are the tree's distinct calls.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vipexec.core.errors import InvalidArgumentError
from vipexec.core.run import BlockTrace, Run
from vipexec.core.tree import ProgramTree
from vipexec.cot.converter import StepContext, StepConverter
from vipexec.cot.template import known_values
from vipexec.generate.protocol import Query
from vipexec.labelers.apply import DEFAULT_LABELERS, label_tree
from vipexec.labelers.base import LabelContext

__all__ = ["TreeOutcome", "execute_tree", "same_answer", "step_context", "tree_sandbox"]


@dataclass(frozen=True)
class TreeOutcome:
    programs: int
    correct: int
    """programs whose answer equals the expected one"""
    failed: int
    """programs that ended in an error"""
    runs: dict[str, Run]
    """each program's run, by the id of the node where it ends"""


def tree_sandbox(
    backend: str = "synthetic",
    *,
    workers: int = 2,
    backend_options: dict[str, Any] | None = None,
    **sandbox_options: Any,
) -> Any:
    """A :class:`vipexec.Sandbox` whose API calls go through a call cache over ``backend``."""
    from vipexec.modules.backend import create_backend
    from vipexec.modules.caching import CachingServer
    from vipexec.modules.dispatch import LocalDispatcher
    from vipexec.modules.images import ImageStore
    from vipexec.sandbox.isolation.pool import Sandbox

    store = ImageStore()
    server = CachingServer(
        LocalDispatcher(create_backend(backend, **(backend_options or {})), store)
    )
    return Sandbox(workers, server=server, store=store, **sandbox_options)


def same_answer(expected: Any, got: Any) -> bool:
    """Whether a program's answer is the expected one: equal after ``str``, trimmed and lower
    case (``3`` and ``"3"`` agree, ``"Red"`` and ``"red"`` too)."""
    return _canonical(expected) == _canonical(got)


def _canonical(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip().lower()


def execute_tree(
    tree: ProgramTree,
    query: Query,
    sandbox: Any,
    *,
    labelers: str | Iterable[Any] = DEFAULT_LABELERS,
    label_options: Mapping[str, Mapping[str, Any]] | None = None,
    converter: StepConverter | None = None,
    ends: Iterable[str] | None = None,
) -> TreeOutcome:
    """Run, trace, label (and narrate) every program of ``tree``; see the module docstring.

    ``ends`` runs only the programs ending at those nodes (a search that grows the tree a step
    at a time runs each new prefix once); by default every end node's program runs."""
    built_for = tree.graph.graph.get("query_id")
    if built_for is not None and built_for != query.id:
        raise InvalidArgumentError(f"this tree was built for query {built_for!r}, not {query.id!r}")
    # query_id is not set here: it roots the node ids, so only the builder may set it
    tree.graph.graph.update(
        query=query.query,
        images=[str(path) for path in query.images],
        answer=query.answer,
    )
    inputs = bind_images(query.images, sandbox.images)
    ends = tree.end_nodes() if ends is None else list(ends)
    runs = sandbox.map([tree.program(node) for node in ends], inputs)
    correct = failed = 0
    for node, run in zip(ends, runs):
        before = {record["program"]: record for record in tree.graph.nodes[node]["ends"]}
        for program_id in before:
            tree.add(run, program_id=program_id)
        answer = run.result_summary.get("value") if run.error is None else None
        right = None
        if query.answer is not None:
            right = run.error is None and same_answer(query.answer, run.result)
        for record in tree.graph.nodes[node]["ends"]:
            # what the tree builder recorded (how the program ended) stays; the run adds to it
            record.update({**before[record["program"]], **record, "answer": answer})
            record["correct"] = right
        correct += bool(right)
        failed += run.error is not None
    if labelers:
        context = LabelContext(query=query.query, store=sandbox.images)
        label_tree(tree, labelers, context=context, options=label_options)
    if converter is not None:
        write_cot(tree, query, dict(zip(ends, runs)), converter)
    return TreeOutcome(len(ends), correct, failed, dict(zip(ends, runs)))


def bind_images(paths: Iterable[Path], store: Any) -> dict[str, Any]:
    """Script globals for a query's images: ``image`` (the first) and ``images`` (all)."""
    refs = [store.load_input(path) for path in paths]
    return {"image": refs[0], "images": refs} if refs else {}


def write_cot(
    tree: ProgramTree, query: Query, runs: Mapping[str, Run], converter: StepConverter
) -> None:
    """Write each node's CoT step (``cot``), from the first program through it."""
    for end, run in runs.items():
        previous: list[str] = []
        path = tree.path(end)
        for position, node in enumerate(path):
            data = tree.graph.nodes[node]
            if data.get("cot") is None and data.get("trace") is not None:
                answered = position == len(path) - 1 and run.error is None
                trace = BlockTrace.from_dict(data["trace"])
                context = step_context(query, run, position, trace, previous, answered=answered)
                data["cot"] = converter.convert(context)
            if data.get("cot") is not None:
                previous.append(data["cot"])


def step_context(
    query: Query,
    run: Run,
    position: int,
    trace: BlockTrace,
    previous: Iterable[str],
    *,
    answered: bool,
) -> StepContext:
    """What a converter gets for block ``position`` of ``run`` traced as ``trace``: ``answered``
    says whether the run's result is this block's answer (a prefix that has not printed one yet
    has none)."""
    return StepContext(
        query=query.query,
        block=run.program.blocks[position],
        trace=trace,
        images=tuple(str(path) for path in query.images),
        previous=tuple(previous),
        result=run.result_summary if answered else None,
        extra={"values": known_values(run, position)},
    )
