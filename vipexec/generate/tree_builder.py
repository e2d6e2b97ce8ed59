"""Growing a program tree for one query, breadth-first, from any :class:`Generator`.

Every node on the frontier asks the generator for ``alternatives`` next blocks; identical
siblings (same text up to whitespace) become one node, which lists the origins it merged. A
path ends when its block prints ``Work is Done!`` (``done``), when it reaches ``max_steps``
blocks (``step_limit``), when the generator's answer was not a block (``malformed``: the node's
block fails when run) or its request failed (``request_failed``, likewise), or when the
generator proposed nothing (``no_alternatives``). Each leaf is recorded as a program of the
tree (:meth:`ProgramTree.end_program`), not run yet.

``max_leaves`` bounds the tree (``alternatives ** max_steps`` grows fast): once the paths ended
plus those still growing would pass it, nodes ask for fewer alternatives, and the root records
``leaf_cap_hit`` and how many alternatives were not asked for.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from vipexec.core.errors import InvalidArgumentError
from vipexec.core.tree import ROOT, ProgramTree
from vipexec.generate.blocks import block_problem, failing_block, is_final, normalise
from vipexec.generate.protocol import Alternative, Generator, Query

__all__ = ["ENDINGS", "TreeLimits", "add_alternatives", "build_tree", "query_record"]

ENDINGS = ("done", "step_limit", "malformed", "request_failed", "no_alternatives")


@dataclass(frozen=True)
class TreeLimits:
    alternatives: int = 2
    """alternatives asked for at every step (the paper's X)"""
    max_steps: int = 6
    max_leaves: int = 64

    def __post_init__(self) -> None:
        for name in ("alternatives", "max_steps", "max_leaves"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise InvalidArgumentError(f"{name} must be an int of at least 1, got {value!r}")


def query_record(query: Query) -> dict[str, Any]:
    """The query as the root stores it (plain JSON data)."""
    return {
        "id": query.id,
        "text": query.query,
        "images": [str(path) for path in query.images],
        "answer": query.answer,
        "split": query.split,
        "meta": dict(query.meta),
    }


def build_tree(
    generator: Generator, query: Query, limits: TreeLimits | None = None, *, seed: int = 0
) -> ProgramTree:
    """The tree of programs ``generator`` proposes for ``query`` (``seed`` is recorded)."""
    limits = limits or TreeLimits()
    # The query id roots the node-id hash chain, so node ids equal the step rows' block ids.
    tree = ProgramTree(query_id=query.id)
    tree.root.update(
        query=query_record(query),
        generator=generator.name,
        seed=seed,
        alternatives=limits.alternatives,
        max_steps=limits.max_steps,
        max_leaves=limits.max_leaves,
        leaf_cap_hit=False,
        alternatives_not_asked=0,
    )
    ended = 0
    frontier: list[tuple[str, list[str]]] = [(ROOT, [])]
    for depth in range(1, limits.max_steps + 1):
        grown: list[tuple[str, list[str]]] = []
        for position, (parent, blocks) in enumerate(frontier):
            # every waiting frontier node ends as at least one leaf: the budget left for this
            # node's children is what the others do not already hold
            held = ended + len(grown) + (len(frontier) - position - 1)
            n = min(limits.alternatives, limits.max_leaves - held)
            if n < limits.alternatives:
                tree.root["leaf_cap_hit"] = True
                tree.root["alternatives_not_asked"] += limits.alternatives - n
            children = add_alternatives(tree, generator, query, parent, blocks, n)
            if not children:
                _end(tree, parent, "no_alternatives", query)
                ended += 1
            for node, block, failure in children:
                ending = failure or ("done" if is_final(block) else None)
                if ending is None and depth == limits.max_steps:
                    ending = "step_limit"
                if ending is None:
                    grown.append((node, [*blocks, block]))
                else:
                    _end(tree, node, ending, query)
                    ended += 1
        frontier = grown
        if not frontier:
            break
    return tree


def add_alternatives(
    tree: ProgramTree,
    generator: Generator,
    query: Query,
    parent: str,
    blocks: list[str],
    n: int,
) -> list[tuple[str, str, str | None]]:
    """Ask for ``n`` next blocks and add them under ``parent``: ``(node, block, failure)``.

    An answer that is not one block numbered for this step becomes a failing block
    (``malformed``), a generator that raises gives one (``request_failed``), and identical
    alternatives become one node that lists the origins it merged."""
    step = len(blocks) + 1
    try:
        if blocks:
            alternatives = generator.next_block(query, blocks, n)
        else:
            alternatives = generator.first_block(query, n)
    except Exception as exc:  # a generator that raises still gives data, not a crash
        reason = f"request failed: {type(exc).__name__}: {exc}"
        origin = {"generator": generator.name, "failure": "request_failed", "error": reason}
        alternatives = [Alternative(failing_block(step, "", reason), origin)]
    kept: dict[str, tuple[str, str, str | None]] = {}
    for alternative in alternatives[:n]:
        block, failure, origin = _checked(alternative, step, blocks)
        key = normalise(block)
        if key in kept:
            node = kept[key][0]
            tree.graph.nodes[node]["merged"].append(origin)
            continue
        node = tree.add_block(parent, block, origin=origin, merged=[], ending=None)
        kept[key] = (node, block, failure)
    return list(kept.values())


def _checked(
    alternative: Alternative, step: int, blocks: list[str]
) -> tuple[str, str | None, dict[str, Any]]:
    """The alternative's block if it is one block numbered ``step`` that parses after
    ``blocks``; else a failing block (``malformed``). Also its failure and origin."""
    origin = dict(alternative.origin)
    failure = origin.get("failure")
    block = alternative.block if alternative.block.endswith("\n") else alternative.block + "\n"
    if failure is None:
        problem = block_problem(block, step, blocks)
        if problem is not None:
            origin.update(failure="malformed", error=problem)
            failure = "malformed"
            block = failing_block(step, alternative.block, problem)
    return block, failure, origin


def _end(tree: ProgramTree, node: str, ending: str, query: Query) -> None:
    tree.graph.nodes[node]["ending"] = ending
    if node != ROOT:  # a root that got no block holds no program
        tree.end_program(node, name=f"{query.id}/{len(tree.end_nodes())}")
