"""Best-of-N rules: no rule reads the candidates' order; ties are decided at random."""

from __future__ import annotations

import itertools
import random

import pytest

from vipexec.solve.choose import (
    at_random,
    best_keyed,
    by_reward,
    first_answered,
    majority_vote,
)


def step(relevance: float, logic: float, attribute: float) -> dict[str, float]:
    return {"relevance": relevance, "logic": logic, "attribute": attribute}


GOOD = [step(0.9, 0.9, 0.9), step(0.9, 0.8, 0.9)]
LOGIC_SLIP = [step(0.9, 0.2, 0.9), step(0.9, 0.9, 0.9)]
IRRELEVANT = [step(0.1, 0.9, 0.9), step(0.9, 0.9, 0.9)]
BAD = [step(0.1, 0.1, 0.1)]


def picks(rule, items, seeds=range(200)):
    """The set of items a rule picks over many random streams."""
    return {items[rule(items, random.Random(seed))] for seed in seeds}


def test_best_keyed_only_picks_a_largest_key_and_every_tied_one():
    keys = [(1, 2), (3, 0), (3, 0), (2, 9)]
    chosen = {best_keyed(keys, random.Random(seed)) for seed in range(200)}
    assert chosen == {1, 2}
    with pytest.raises(ValueError):
        best_keyed([], random.Random(0))


def test_reward_choice_is_the_same_candidate_in_every_order():
    named = {"good": GOOD, "logic": LOGIC_SLIP, "irrelevant": IRRELEVANT, "bad": BAD}
    for order in itertools.permutations(named):
        scores = [named[name] for name in order]
        for seed in range(5):
            assert order[by_reward(scores, random.Random(seed))] == "good"


def test_reward_rule_ranks_relevance_before_logic_on_equal_counts():
    # both have 5 of 6 positive labels; the one that slips on logic keeps its relevance
    for order in itertools.permutations(["logic", "irrelevant"]):
        scores = [{"logic": LOGIC_SLIP, "irrelevant": IRRELEVANT}[name] for name in order]
        assert order[by_reward(scores, random.Random(0))] == "logic"


def test_reward_ties_are_random_not_first():
    twins = ["a", "b", "c"]
    scores = {"a": GOOD, "b": GOOD, "c": BAD}
    chosen = picks(lambda items, rng: by_reward([scores[i] for i in items], rng), twins)
    assert chosen == {"a", "b"}


def test_length_normalisation_does_not_favour_long_programs():
    short = [step(0.9, 0.9, 0.9)]
    long = [step(0.9, 0.9, 0.9)] * 3 + [step(0.2, 0.9, 0.9)]
    for seed in range(5):
        assert by_reward([long, short], random.Random(seed)) == 1
        # without normalisation the longer program collects more positive labels
        assert by_reward([long, short], random.Random(seed), normalize=False) == 0


def test_majority_vote_follows_the_most_common_answer_in_any_order():
    answers = ["3", 3, "2", None, "3.0"]  # 3 and "3" agree as tree execution compares answers
    for order in itertools.permutations(range(len(answers))):
        shuffled = [answers[i] for i in order]
        index = majority_vote(shuffled, random.Random(sum(order)))
        assert str(shuffled[index]) == "3"


def test_majority_vote_ties_go_either_way_and_never_to_the_minority():
    answers = ["red", "blue", "red", "blue", "green"]
    chosen = {answers[majority_vote(answers, random.Random(seed))] for seed in range(200)}
    assert chosen == {"red", "blue"}


def test_crashed_programs_do_not_vote():
    answers = [None, None, None, "yes"]
    for seed in range(20):
        assert majority_vote(answers, random.Random(seed)) == 3
    # nobody answered: any candidate
    assert {majority_vote([None, None], random.Random(s)) for s in range(50)} == {0, 1}


def test_first_answered_skips_crashes_and_picks_among_the_rest_at_random():
    answers = [None, "no", None, "yes"]
    assert {first_answered(answers, random.Random(s)) for s in range(100)} == {1, 3}
    assert {first_answered([None, None], random.Random(s)) for s in range(50)} == {0, 1}


def test_random_choice_covers_every_candidate():
    assert {at_random(3, random.Random(s)) for s in range(100)} == {0, 1, 2}
    with pytest.raises(ValueError):
        at_random(0, random.Random(0))
