"""Best-of-N selection over candidates' per-step scores (pure Python, no torch).

A candidate is a list of step scores; a step score is a mapping with ``relevance``, ``logic`` and
``attribute`` probabilities (or a 3-sequence in that order), or None for a step that was not
scored (dropped by truncation); unscored steps are left out.

Aggregators:

- ``min``/``mean``/``last``: a step's score is the product of its three probabilities (the
  probability that it is right on all three, if they were independent); the candidate's score
  is the minimum, mean, or last of those.
- ``paper``: the paper's rule. A step is positive on a dimension when its probability is above
  ``threshold``; candidates are ranked by their total number of positive labels, then by the
  positives on relevance, then logic, then attribute. With ``normalize`` every count is divided
  by the number of scored steps, so long programs are not favoured for being long.

Ties (equal keys) go to the candidate that comes first: the ranking is a stable sort.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from vipexec.reward.contract import DIMENSIONS
from vipexec.reward.errors import RewardError

AGGREGATORS = ("paper", "min", "mean", "last")


class SelectionError(RewardError):
    """Bad arguments or scores for best-of-N selection."""


def _triple(step: Any, where: str) -> tuple[float, float, float]:
    if isinstance(step, Mapping):
        try:
            values = [step[d] for d in DIMENSIONS]
        except KeyError as exc:
            raise SelectionError(f"{where}: missing score {exc.args[0]!r}") from None
    elif isinstance(step, Sequence) and not isinstance(step, str) and len(step) == len(DIMENSIONS):
        values = list(step)
    else:
        raise SelectionError(f"{where}: expected a {{relevance, logic, attribute}} mapping")
    out = []
    for v in values:
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0.0 <= v <= 1.0:
            raise SelectionError(f"{where}: scores must be probabilities in [0, 1], got {v!r}")
        out.append(float(v))
    return out[0], out[1], out[2]


def candidate_key(
    steps: Sequence[Any],
    *,
    aggregator: str = "paper",
    threshold: float = 0.5,
    normalize: bool = False,
) -> tuple[float, ...]:
    """Sort key of one candidate; larger is better."""
    if aggregator not in AGGREGATORS:
        raise SelectionError(
            f"aggregator must be one of {', '.join(AGGREGATORS)}, got {aggregator!r}"
        )
    if not 0.0 <= threshold < 1.0:
        raise SelectionError(f"threshold must be in [0, 1), got {threshold!r}")
    scored = [_triple(s, f"step {i}") for i, s in enumerate(steps) if s is not None]
    if aggregator == "paper":
        if not scored:
            return (-math.inf,) * 4
        per_dim = [sum(1 for s in scored if s[d] > threshold) for d in range(3)]
        key = [float(sum(per_dim)), *map(float, per_dim)]
        if normalize:
            key = [k / len(scored) for k in key]
        return tuple(key)
    if not scored:
        return (-math.inf,)
    products = [s[0] * s[1] * s[2] for s in scored]
    if aggregator == "min":
        return (min(products),)
    if aggregator == "mean":
        return (sum(products) / len(products),)
    return (products[-1],)


def rank(
    candidates: Sequence[Sequence[Any]],
    *,
    aggregator: str = "paper",
    threshold: float = 0.5,
    normalize: bool = False,
) -> list[int]:
    """Candidate indices, best first; equal keys keep input order."""
    keys = []
    for i, cand in enumerate(candidates):
        if isinstance(cand, (str, Mapping)) or not isinstance(cand, Sequence):
            raise SelectionError(f"candidate {i}: expected a list of step scores")
        try:
            keys.append(
                candidate_key(cand, aggregator=aggregator, threshold=threshold, normalize=normalize)
            )
        except SelectionError as exc:
            raise SelectionError(f"candidate {i}, {exc}") from None
    return sorted(range(len(candidates)), key=lambda i: tuple(-k for k in keys[i]))


def select_best(
    candidates: Sequence[Sequence[Any]],
    *,
    aggregator: str = "paper",
    threshold: float = 0.5,
    normalize: bool = False,
) -> int:
    """Index of the best candidate (see the module docstring for the rules)."""
    if not candidates:
        raise SelectionError("no candidates to select from")
    return rank(candidates, aggregator=aggregator, threshold=threshold, normalize=normalize)[0]
