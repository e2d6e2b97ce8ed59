"""Choosing one of N candidate programs (pure Python, no torch).

Every rule here ignores the order the candidates come in: where the rule leaves several
candidates equal, it picks one of them uniformly with the given :class:`random.Random`. So a
list that puts the right program first (as the tree builder does: the grammar's first
alternative is always correct) gives a rule no advantage, and a shuffled list of the same
candidates gives each rule the same chance of picking a right one.

- :func:`by_reward`: the reward model's step scores, ranked by :func:`vipexec.reward.select.
  candidate_key` (the paper's rule by default: more positive labels first, then relevance,
  logic, attribute; length-normalised);
- :func:`at_random`: any candidate;
- :func:`first_answered`: a program that did not crash (one that gave an answer);
- :func:`majority_vote`: a program whose answer most candidates gave (crashed programs do not
  vote; answers are compared as tree execution compares them, :func:`same_answer`).
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Any

from vipexec.generate.execute_tree import same_answer
from vipexec.reward.select import candidate_key

__all__ = ["at_random", "best_keyed", "by_reward", "first_answered", "majority_vote"]


def best_keyed(keys: Sequence[Any], rng: random.Random) -> int:
    """The index of a largest key; ties go to a uniformly random one of them."""
    if not keys:
        raise ValueError("no candidates to choose from")
    best = max(keys)
    return rng.choice([i for i, key in enumerate(keys) if key == best])


def by_reward(
    scores: Sequence[Sequence[Any]],
    rng: random.Random,
    *,
    aggregator: str = "paper",
    threshold: float = 0.5,
    normalize: bool = True,
) -> int:
    """The candidate whose step scores rank first (see the module docstring)."""
    keys = [
        candidate_key(steps, aggregator=aggregator, threshold=threshold, normalize=normalize)
        for steps in scores
    ]
    return best_keyed(keys, rng)


def at_random(count: int, rng: random.Random) -> int:
    if count < 1:
        raise ValueError("no candidates to choose from")
    return rng.randrange(count)


def first_answered(answers: Sequence[Any], rng: random.Random) -> int:
    """A candidate that gave an answer (``None`` stands for a program that crashed); any one
    when none did. In a shuffled list this is "the first that did not crash"."""
    return best_keyed([answer is not None for answer in answers], rng)


def majority_vote(answers: Sequence[Any], rng: random.Random) -> int:
    """A candidate whose answer the most candidates gave; answers tied for most votes are
    decided at random, and so is the candidate that carries the winning answer."""
    given = [answer for answer in answers if answer is not None]
    votes = [0 if mine is None else sum(same_answer(mine, o) for o in given) for mine in answers]
    if not any(votes):
        return at_random(len(answers), rng)
    most = max(votes)
    groups: list[list[int]] = []
    for index, answer in enumerate(answers):
        if votes[index] != most:
            continue
        group = next((g for g in groups if same_answer(answers[g[0]], answer)), None)
        if group is None:
            groups.append([index])
        else:
            group.append(index)
    return rng.choice(rng.choice(groups))
