"""Best-of-N ordering, aggregators and deterministic tie-breaks."""

from __future__ import annotations

import pytest

from vipexec.reward.select import SelectionError, candidate_key, rank, select_best


def step(r, lo, a):
    return {"relevance": r, "logic": lo, "attribute": a}


GOOD = step(0.9, 0.9, 0.9)
NO_LOGIC = step(0.9, 0.2, 0.9)
NO_ATTR = step(0.9, 0.9, 0.2)
NO_REL = step(0.2, 0.9, 0.9)


def test_paper_rule_counts_positive_labels_first():
    a = [GOOD, NO_LOGIC]  # 5 positives
    b = [GOOD, GOOD]  # 6 positives
    assert rank([a, b]) == [1, 0]
    assert candidate_key(b) == (6.0, 2.0, 2.0, 2.0)


def test_paper_rule_breaks_count_ties_by_relevance_then_logic_then_attribute():
    rel_missing = [NO_REL]  # (2; 0, 1, 1)
    logic_missing = [NO_LOGIC]  # (2; 1, 0, 1)
    attr_missing = [NO_ATTR]  # (2; 1, 1, 0)
    assert rank([rel_missing, logic_missing, attr_missing]) == [2, 1, 0]
    assert rank([attr_missing, rel_missing, logic_missing]) == [0, 2, 1]


def test_full_ties_go_to_the_earlier_candidate():
    a, b, c = [GOOD], [step(0.8, 0.8, 0.8)], [GOOD]
    assert rank([a, b, c]) == [0, 1, 2]
    assert select_best([b, a]) == 0
    assert rank([[GOOD], [GOOD]], aggregator="min") == [0, 1]


def test_normalising_by_step_count():
    short = [GOOD]  # 3 positives, 3 per step
    long = [GOOD, GOOD, NO_LOGIC]  # 8 positives, 2.67 per step
    assert select_best([short, long]) == 1
    assert select_best([short, long], normalize=True) == 0
    assert candidate_key(long, normalize=True)[0] == pytest.approx(8 / 3)


def test_threshold_is_strict():
    at = [step(0.5, 0.5, 0.5)]
    assert candidate_key(at) == (0.0, 0.0, 0.0, 0.0)
    assert candidate_key(at, threshold=0.4) == (3.0, 1.0, 1.0, 1.0)


def test_min_mean_last_use_the_product_of_the_three_probabilities():
    a = [step(1.0, 1.0, 1.0), step(0.5, 0.5, 1.0)]  # products 1.0, 0.25
    b = [step(0.6, 1.0, 1.0), step(0.6, 1.0, 1.0)]  # products 0.6, 0.6
    c = [step(0.1, 1.0, 1.0), step(0.9, 1.0, 1.0)]  # products 0.1, 0.9
    assert candidate_key(a, aggregator="mean") == (pytest.approx(0.625),)
    assert rank([a, b, c], aggregator="min") == [1, 0, 2]
    assert rank([a, b, c], aggregator="mean") == [0, 1, 2]
    assert rank([a, b, c], aggregator="last") == [2, 1, 0]


def test_unscored_steps_are_skipped_and_empty_candidates_lose():
    assert candidate_key([GOOD, None], aggregator="last") == candidate_key(
        [GOOD], aggregator="last"
    )
    for agg in ("paper", "min", "mean", "last"):
        assert rank([[], [None], [NO_REL]], aggregator=agg)[0] == 2


def test_sequences_of_three_are_accepted():
    assert candidate_key([(0.9, 0.9, 0.9)]) == candidate_key([GOOD])


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: select_best([]), "no candidates"),
        (lambda: rank([[GOOD]], aggregator="max"), "aggregator must be one of"),
        (lambda: rank([[GOOD]], threshold=1.5), "threshold"),
        (lambda: rank([[step(1.2, 0.5, 0.5)]]), "candidate 0, step 0: scores must be"),
        (lambda: rank([[{"relevance": 0.5}]]), "missing score 'logic'"),
        (lambda: rank(["abc"]), "candidate 0: expected a list"),
    ],
)
def test_bad_input_raises_selection_error(call, message):
    with pytest.raises(SelectionError, match=message):
        call()
