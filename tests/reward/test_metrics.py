"""Metric values on hand-computed cases."""

from __future__ import annotations

import math

import pytest
import torch

from vipexec.reward.metrics import StepMetrics

M = -100.0


def test_hand_computed_values():
    # relevance: labels 1 1 0 0, probs .9 .4 .2 .6 -> preds 1 0 0 1
    #   acc 2/4; positive-class F1: tp 1 fp 1 fn 1 -> 0.5; negative-class F1 also 0.5
    #   AUROC: positive scores {.9, .4} vs negative {.2, .6}: pairs won 3 of 4 -> 0.75
    # logic: labels 1 1 1 M -> probs .8 .7 .3 -> acc 2/3, F1 2*2/(2*2+0+1) = 0.8,
    #   negative-class F1 0 (no negatives, one false negative) -> macro 0.4; AUROC undefined
    # attribute: all missing
    probs = torch.tensor([[0.9, 0.8, 0.5], [0.4, 0.7, 0.5], [0.2, 0.3, 0.5], [0.6, 0.5, 0.5]])
    labels = torch.tensor([[1, 1, M], [1, 1, M], [0, 1, M], [0, M, M]])
    m = StepMetrics("test/")
    m.update(probs[:2], labels[:2])  # two updates accumulate like one
    m.update(probs[2:], labels[2:])
    out = m.compute()
    assert out["test/relevance_acc"] == pytest.approx(0.5)
    assert out["test/relevance_f1"] == pytest.approx(0.5)
    assert out["test/relevance_f1_macro"] == pytest.approx(0.5)
    assert out["test/relevance_auroc"] == pytest.approx(0.75)
    assert out["test/relevance_base_rate"] == pytest.approx(0.5)
    assert out["test/logic_acc"] == pytest.approx(2 / 3)
    assert out["test/logic_f1"] == pytest.approx(0.8)
    assert out["test/logic_f1_macro"] == pytest.approx(0.4)
    assert math.isnan(out["test/logic_auroc"])
    assert out["test/logic_base_rate"] == pytest.approx(1.0)
    assert all(math.isnan(out[f"test/attribute_{k}"]) for k in ("acc", "f1", "auroc"))
    # Averages leave undefined values out: Avg is the paper's macro accuracy.
    assert out["test/avg_acc"] == pytest.approx((0.5 + 2 / 3) / 2)
    assert out["test/avg_auroc"] == pytest.approx(0.75)


def test_threshold_is_strictly_above_one_half_and_reset_clears():
    m = StepMetrics()
    m.update(torch.tensor([[0.5, 0.51, 0.49]]), torch.tensor([[0.0, 1.0, 0.0]]))
    out = m.compute()
    assert (out["relevance_acc"], out["logic_acc"], out["attribute_acc"]) == (1.0, 1.0, 1.0)
    m.reset()
    m.update(torch.tensor([[0.9, 0.9, 0.9]]), torch.tensor([[0.0, 0.0, 0.0]]))
    assert m.compute()["avg_acc"] == 0.0
