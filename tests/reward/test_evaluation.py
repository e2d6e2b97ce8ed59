"""The ablation table's metric code on tiny hand-checked data: AUROC, macro-F1, the validation
threshold and the query-level bootstrap."""

from __future__ import annotations

import math

import numpy as np
import pytest

from vipexec.reward.evaluation import (
    auroc,
    balanced_accuracy,
    bootstrap_interval,
    choose_threshold,
    evaluate,
    macro_f1,
    thresholds_on,
)


def test_auroc_counts_ordered_pairs_and_half_ties():
    scores = np.array([0.1, 0.4, 0.35, 0.8])
    labels = np.array([0, 0, 1, 1])
    # Pairs (pos, neg): (0.35, 0.1) yes, (0.35, 0.4) no, (0.8, both) yes -> 3 of 4.
    assert auroc(scores, labels) == pytest.approx(0.75)
    assert auroc(np.array([0.5, 0.5]), np.array([0, 1])) == pytest.approx(0.5)
    assert math.isnan(auroc(np.array([0.2, 0.9]), np.array([1, 1])))


def test_macro_f1_and_balanced_accuracy_by_hand():
    scores = np.array([0.9, 0.8, 0.7, 0.2, 0.6])
    labels = np.array([1, 1, 1, 0, 0])
    # At 0.5: predicted 1 1 1 0 1 -> positive F1 = 2*3/(4+3) = 6/7, negative F1 = 2*1/(1+2) = 2/3.
    assert macro_f1(scores, labels, 0.5) == pytest.approx((6 / 7 + 2 / 3) / 2)
    assert balanced_accuracy(scores, labels, 0.5) == pytest.approx((1.0 + 0.5) / 2)
    # Predicting the majority everywhere gives half the majority's F1.
    assert macro_f1(scores, labels, 0.0) == pytest.approx((2 * 3 / (5 + 3)) / 2)


def test_threshold_is_chosen_on_the_data_given_and_prefers_the_one_nearest_half():
    scores = np.array([0.95, 0.9, 0.85, 0.8, 0.7])
    labels = np.array([1, 1, 1, 0, 0])
    threshold = choose_threshold(scores, labels)
    assert 0.8 < threshold < 0.85  # separates perfectly; 0.5 would call everything positive
    assert macro_f1(scores, labels, threshold) == 1.0
    # Every threshold between 0.2 and 0.8 separates these: the chosen one is 0.5.
    assert choose_threshold(np.array([0.1, 0.2, 0.8, 0.9]), np.array([0, 0, 1, 1])) == 0.5
    assert choose_threshold(np.array([]), np.array([])) == 0.5


def test_missing_labels_are_left_out_per_dimension():
    scores = np.array([[0.9, 0.2], [0.1, 0.8], [0.7, 0.3]])
    labels = np.array([[1.0, np.nan], [0.0, 1.0], [1.0, 0.0]])
    chosen = thresholds_on(scores, labels)
    result = evaluate(scores, labels, chosen)
    assert result[0]["auroc"] == 1.0 and result[1]["auroc"] == 1.0
    assert result[0]["base_rate"] == pytest.approx(2 / 3)
    assert result[1]["base_rate"] == pytest.approx(1 / 2)


def test_bootstrap_moves_whole_queries_and_brackets_the_estimate():
    rng = np.random.default_rng(0)
    groups = np.repeat(np.arange(40), 5)
    labels = rng.integers(0, 2, len(groups)).astype(float)
    scores = np.clip(labels * 0.3 + rng.random(len(groups)) * 0.7, 0, 1)
    runs = [(scores, labels, 0.5)]
    low, high = bootstrap_interval(runs, groups, macro_f1, resamples=300, seed=1)
    estimate = macro_f1(scores, labels, 0.5)
    assert low < estimate < high
    assert 0 < high - low < 0.5
    # A query whose steps all agree with each other: resampling by query keeps them together,
    # so a perfectly separated dataset stays perfect in every resample.
    perfect = [(labels.copy(), labels, 0.5)]
    assert bootstrap_interval(perfect, groups, macro_f1, resamples=50) == (1.0, 1.0)


def test_bootstrap_averages_runs_and_skips_missing_labels():
    groups = np.array([0, 0, 1, 1])
    labels = np.array([1.0, 0.0, np.nan, 1.0])
    good = (np.array([0.9, 0.1, 0.5, 0.8]), labels, 0.5)
    bad = (np.array([0.1, 0.9, 0.5, 0.2]), labels, 0.5)
    # Query 1 has only a positive, query 0 one of each: macro-F1 depends on the draw, but the
    # two runs' mean is always between the worst and the best.
    low, high = bootstrap_interval([good, bad], groups, macro_f1, resamples=100)
    assert 0.0 <= low <= high <= 1.0
    same_low, same_high = bootstrap_interval([good, good], groups, macro_f1, resamples=100)
    solo_low, solo_high = bootstrap_interval([good], groups, macro_f1, resamples=100)
    assert (same_low, same_high) == (solo_low, solo_high)
