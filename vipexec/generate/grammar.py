"""The grammar generator: least-to-most programs for synthetic queries, without a language model.

A query made by :func:`vipexec.benchmark.synthetic_queries.make_synthetic_queries` names its
family and plan seed in ``Query.meta``; with the scene files beside its images that rebuilds
the query's :class:`~vipexec.benchmark.plan.Plan` (the same plan on every call). Step ``k`` of
the plan lists its variants: correct ones in several code styles and ones with a recorded fault.
Asked for ``n`` alternatives after ``k - 1`` blocks, the generator returns ``n`` distinct
variants of step ``k``: the first one always correct (so every tree holds a fault-free program),
each further one faulty with probability ``fault_rate``, chosen by a seed derived from the
generator's seed, the query id and the blocks so far (the same tree on every run). A faulty
alternative is a runtime fault (:data:`~vipexec.benchmark.plan.RUNTIME_FAULT_KINDS`: the block
fails when it runs) with probability ``crash_rate`` where the step has one; with ``crash_rate``
0 runtime faults are never proposed and trees are those of a generator without them. A variant's
``origin`` records its family, style, variant index and ``fault`` (``{"kind", "step"}``, or
None); the last step prints the answer, then ``Work is Done!``.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Sequence
from typing import Any

from vipexec.benchmark.plan import RUNTIME_FAULT_KINDS, Plan
from vipexec.benchmark.scene_facts import Scene
from vipexec.benchmark.synthetic_queries import build_plan
from vipexec.generate.protocol import Alternative, Query

__all__ = ["GrammarGenerator"]


class GrammarGenerator:
    """Proposes the blocks of a query's plan (see the module docstring)."""

    name = "grammar"

    def __init__(self, *, seed: int = 0, fault_rate: float = 0.5, crash_rate: float = 0.0) -> None:
        for name, rate in (("fault_rate", fault_rate), ("crash_rate", crash_rate)):
            if not 0.0 <= rate <= 1.0:
                raise ValueError(f"{name} must be within [0, 1], got {rate!r}")
        self.seed = seed
        self.fault_rate = fault_rate
        self.crash_rate = crash_rate
        self._plans: dict[tuple[str, str, int], Plan] = {}

    def plan(self, query: Query) -> Plan:
        """The plan behind ``query`` (cached per query)."""
        family, plan_seed = query.meta.get("family"), query.meta.get("plan_seed")
        if not isinstance(family, str) or not isinstance(plan_seed, int):
            raise ValueError(
                f"query {query.id}: the grammar generator needs meta.family and meta.plan_seed "
                "(queries written by make_synthetic_queries have them)"
            )
        key = (query.id, family, plan_seed)
        if key not in self._plans:
            plan = build_plan(family, plan_seed, [Scene.load(path) for path in query.images])
            if plan is None:
                raise ValueError(f"query {query.id}: family {family} does not fit its scenes")
            self._plans[key] = plan
        return self._plans[key]

    def first_block(self, query: Query, n: int) -> list[Alternative]:
        return self.next_block(query, (), n)

    def next_block(self, query: Query, blocks: Sequence[str], n: int) -> list[Alternative]:
        plan = self.plan(query)
        number = len(blocks) + 1
        if number > len(plan.steps):
            return []
        step = plan.steps[number - 1]
        chosen = self._choose(step.variants, self._rng(query, blocks), n)
        return [
            Alternative(step.block(number, index), self._origin(plan, number, index, sample))
            for sample, index in enumerate(chosen)
        ]

    def _rng(self, query: Query, blocks: Sequence[str]) -> random.Random:
        digest = hashlib.sha256(f"{self.seed}\0{query.id}\0".encode())
        for block in blocks:
            digest.update(block.encode() + b"\0")
        return random.Random(int.from_bytes(digest.digest()[:8], "big"))

    def _choose(self, variants: Sequence[Any], rng: random.Random, n: int) -> list[int]:
        correct = [i for i, v in enumerate(variants) if v.fault is None]
        faulty = [i for i, v in enumerate(variants) if v.fault not in (None, *RUNTIME_FAULT_KINDS)]
        crashing = [i for i, v in enumerate(variants) if v.fault in RUNTIME_FAULT_KINDS]
        chosen = [rng.choice(correct)]
        correct.remove(chosen[0])
        rng.shuffle(correct)
        rng.shuffle(faulty)
        if not self.crash_rate:
            crashing = []  # and no draw for them: the trees of a generator without them
        rng.shuffle(crashing)
        while len(chosen) < n and (correct or faulty or crashing):
            want_fault = (faulty or crashing) and (not correct or rng.random() < self.fault_rate)
            if not want_fault:
                chosen.append(correct.pop())
                continue
            crash = crashing and (not faulty or rng.random() < self.crash_rate)
            chosen.append((crashing if crash else faulty).pop())
        return chosen

    def _origin(self, plan: Plan, number: int, index: int, sample: int) -> dict[str, Any]:
        fault = plan.steps[number - 1].variants[index].fault
        return {
            "generator": self.name,
            "seed": self.seed,
            "family": plan.family,
            "style": plan.style,
            "variant": index,
            "sample": sample,
            "fault": {"kind": fault, "step": number} if fault else None,
        }
