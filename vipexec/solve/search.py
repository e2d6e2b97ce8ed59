"""Reward-guided least-to-most search: one program for a query, one block at a time.

At every step the generator proposes ``alternatives`` next blocks after the blocks chosen so
far (:func:`vipexec.generate.tree_builder.add_alternatives`: malformed answers and failed
requests become failing blocks, identical ones merge). Each candidate prefix — the chosen
blocks and the new one — runs in the sandbox (:func:`vipexec.generate.execute_tree.
execute_tree`, only the new prefixes), its new block becomes a CoT step (an answer only when
the block printed one), and a :class:`StepChooser` keeps one. The search goes on from the kept
block and ends when that block prints the answer and ``Work is Done!`` (``done``), fails
(``error``; ``malformed`` or ``request_failed`` for a block the generator did not write), or
reaches ``max_steps`` (``step_limit``), or when the generator proposes nothing
(``no_alternatives``).

Candidates are shuffled before a chooser sees them (the grammar lists a correct one first),
and choosers break ties at random, so the order carries no information.

Everything explored stays in a :class:`vipexec.core.tree.ProgramTree` (every candidate is a
program of it, with its trace, CoT step and, under ``search``, its scores and whether it was
kept), which can be saved as JSON like the trees of ``vipexec generate``.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from vipexec.core.errors import InvalidArgumentError
from vipexec.core.run import BlockTrace, Run
from vipexec.core.tree import ROOT, ProgramTree
from vipexec.cot.converter import StepConverter
from vipexec.generate.blocks import is_final
from vipexec.generate.execute_tree import execute_tree, same_answer, step_context
from vipexec.generate.protocol import Generator, Query
from vipexec.generate.tree_builder import TreeLimits, add_alternatives, query_record
from vipexec.reward.select import candidate_key
from vipexec.solve.choose import at_random, best_keyed

__all__ = [
    "RandomChooser",
    "RewardChooser",
    "Scorer",
    "SearchLimits",
    "SearchResult",
    "StepCandidate",
    "StepChooser",
    "search",
]


class Scorer(Protocol):
    """What a reward model offers the search (:class:`vipexec.reward.RewardModel`)."""

    def score(
        self, prompt: str, steps: Sequence[str], images: Sequence[Any] = ()
    ) -> list[dict[str, float] | None]: ...


@dataclass
class StepCandidate:
    """One proposed next block, run as the last block of its prefix."""

    node: str
    """its node in the search tree"""
    block: str
    failure: str | None
    """``malformed`` or ``request_failed`` when the generator did not write a block"""
    run: Run
    """the run of the prefix it ends"""
    steps: tuple[str, ...]
    """the CoT steps of the prefix, this block's last"""
    notes: dict[str, Any] = field(default_factory=dict)
    """what the chooser found (scores, key), kept in the tree"""


class StepChooser(Protocol):
    name: str

    def choose(
        self, query: Query, candidates: Sequence[StepCandidate], rng: random.Random
    ) -> int: ...


class RandomChooser:
    """Unguided sampling: any candidate, uniformly."""

    name = "random"

    def choose(self, query: Query, candidates: Sequence[StepCandidate], rng: random.Random) -> int:
        return at_random(len(candidates), rng)


class RewardChooser:
    """The candidate whose new step the reward model rates best: the step's scores ranked by
    :func:`vipexec.reward.select.candidate_key` (the paper's rule by default), ties at random.
    The earlier steps are the same for every candidate, so only the new one decides."""

    def __init__(self, scorer: Scorer, *, aggregator: str = "paper", threshold: float = 0.5):
        candidate_key([], aggregator=aggregator, threshold=threshold)  # refuses bad settings now
        self.scorer = scorer
        self.aggregator = aggregator
        self.threshold = threshold
        self.name = f"reward:{aggregator}"

    def choose(self, query: Query, candidates: Sequence[StepCandidate], rng: random.Random) -> int:
        images = [str(path) for path in query.images]
        keys = []
        for candidate in candidates:
            scores = self.scorer.score(query.query, list(candidate.steps), images)
            if len(scores) != len(candidate.steps):
                raise InvalidArgumentError(
                    f"the scorer gave {len(scores)} scores for {len(candidate.steps)} steps"
                )
            last = scores[-1]
            key = candidate_key(
                [] if last is None else [last],
                aggregator=self.aggregator,
                threshold=self.threshold,
            )
            candidate.notes.update(score=last, key=[k if k != float("-inf") else None for k in key])
            keys.append(key)
        return best_keyed(keys, rng)


@dataclass(frozen=True)
class SearchLimits:
    alternatives: int = 4
    """next blocks proposed at every step (the N of best-of-N)"""
    max_steps: int = 6

    def __post_init__(self) -> None:
        TreeLimits(self.alternatives, self.max_steps)  # the tree builder's checks, same words


@dataclass
class SearchResult:
    query: Query
    tree: ProgramTree
    path: list[str]
    """the kept nodes, first block first"""
    ending: str
    run: Run | None
    """the run of the kept program (None when nothing was kept)"""
    proposed: int
    """candidate blocks proposed (and run) over all steps"""

    @property
    def answer(self) -> Any:
        """The program's answer; None when it failed or ended without one."""
        if self.run is None or self.run.error is not None or self.ending != "done":
            return None
        return self.run.result

    @property
    def correct(self) -> bool | None:
        """Whether the answer is the expected one (None when none is expected)."""
        if self.query.answer is None:
            return None
        return self.answer is not None and same_answer(self.query.answer, self.answer)

    @property
    def program(self) -> str:
        return self.tree.source(self.path[-1]) if self.path else ""


def search(
    query: Query,
    generator: Generator,
    chooser: StepChooser,
    sandbox: Any,
    converter: StepConverter,
    limits: SearchLimits | None = None,
    *,
    rng: random.Random,
) -> SearchResult:
    """Grow one program for ``query`` (see the module docstring)."""
    limits = limits or SearchLimits()
    tree = ProgramTree(query_id=query.id)
    tree.root.update(
        query=query_record(query),
        generator=generator.name,
        search={"chooser": chooser.name, **vars(limits)},
    )
    parent, blocks, path = ROOT, [], []
    kept: StepCandidate | None = None
    proposed = 0
    ending = "step_limit"
    for depth in range(1, limits.max_steps + 1):
        children = add_alternatives(tree, generator, query, parent, blocks, limits.alternatives)
        if not children:
            ending = "no_alternatives"
            break
        rng.shuffle(children)
        candidates = _run_candidates(tree, query, sandbox, converter, children, depth)
        proposed += len(candidates)
        index = chooser.choose(query, candidates, rng)
        kept = candidates[index]
        for position, candidate in enumerate(candidates):
            tree.graph.nodes[candidate.node]["search"] = {
                "depth": depth,
                "position": position,
                "kept": position == index,
                **candidate.notes,
            }
        parent, path = kept.node, [*path, kept.node]
        blocks = [*blocks, kept.block]
        if kept.failure is not None:
            ending = kept.failure
        elif kept.run.error is not None:
            ending = "error"
        elif is_final(kept.block):
            ending = "done"
        else:
            continue
        break
    if path:
        tree.graph.nodes[path[-1]]["ending"] = ending
    tree.root["search"]["ending"] = ending
    return SearchResult(query, tree, path, ending, kept.run if kept else None, proposed)


def _run_candidates(
    tree: ProgramTree,
    query: Query,
    sandbox: Any,
    converter: StepConverter,
    children: Sequence[tuple[str, str, str | None]],
    depth: int,
) -> list[StepCandidate]:
    """Run each child's prefix and write its CoT step."""
    nodes = [node for node, _, _ in children]
    for position, node in enumerate(nodes):
        tree.end_program(node, name=f"{query.id}/{depth}.{position}")
    outcome = execute_tree(tree, query, sandbox, labelers=(), converter=None, ends=nodes)
    candidates = []
    for node, block, failure in children:
        run = outcome.runs[node]
        path = tree.path(node)
        earlier = [tree.graph.nodes[n]["cot"] for n in path[:-1]]
        data = tree.graph.nodes[node]
        if data.get("cot") is None and data.get("trace") is not None:
            answered = run.error is None and is_final(block)
            context = step_context(
                query,
                run,
                len(path) - 1,
                BlockTrace.from_dict(data["trace"]),
                earlier,
                answered=answered,
            )
            data["cot"] = converter.convert(context)
        steps = (*earlier, data.get("cot") or "")
        candidates.append(StepCandidate(node, block, failure, run, steps))
    return candidates
