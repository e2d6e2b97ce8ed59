"""Step-level evaluation for the ablation table (numpy only): a decision threshold chosen on the
validation split, per-dimension metrics at that threshold, and query-level bootstrap intervals.

Labels are ``1``/``0`` with NaN for missing; each dimension is scored on its known labels only.
Rates are unbalanced (most steps are positive), so the headline numbers are macro-F1 (the mean
of the positive- and negative-class F1) and AUROC, with balanced accuracy beside plain accuracy.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np

Metric = Callable[[np.ndarray, np.ndarray, float], float]


def auroc(scores: np.ndarray, labels: np.ndarray) -> float:
    """Area under the ROC curve (Mann-Whitney, ties count half); NaN with one class only."""
    labels = labels.astype(bool)
    positives, negatives = int(labels.sum()), int((~labels).sum())
    if positives == 0 or negatives == 0:
        return math.nan
    order = np.argsort(scores, kind="mergesort")
    # Tied scores share the average of their 1-based ranks.
    _, first, counts = np.unique(scores[order], return_index=True, return_counts=True)
    ranks = np.empty(len(scores), dtype=np.float64)
    ranks[order] = np.repeat(first + (counts + 1) / 2.0, counts)
    rank_sum = ranks[labels].sum()
    return float((rank_sum - positives * (positives + 1) / 2) / (positives * negatives))


def _f1(predicted: np.ndarray, truth: np.ndarray) -> float:
    tp = int((predicted & truth).sum())
    denominator = int(predicted.sum()) + int(truth.sum())
    return 2 * tp / denominator if denominator else 1.0


def macro_f1(scores: np.ndarray, labels: np.ndarray, threshold: float) -> float:
    """Mean of the positive- and negative-class F1 when ``score > threshold`` predicts 1."""
    predicted = scores > threshold
    truth = labels.astype(bool)
    return (_f1(predicted, truth) + _f1(~predicted, ~truth)) / 2


def balanced_accuracy(scores: np.ndarray, labels: np.ndarray, threshold: float) -> float:
    """Mean of the recall of each class present."""
    predicted = scores > threshold
    truth = labels.astype(bool)
    recalls = [
        float((predicted[truth == c] == c).mean()) for c in (True, False) if (truth == c).any()
    ]
    return sum(recalls) / len(recalls) if recalls else math.nan


def accuracy(scores: np.ndarray, labels: np.ndarray, threshold: float) -> float:
    return float(((scores > threshold) == labels.astype(bool)).mean()) if len(labels) else math.nan


def choose_threshold(scores: np.ndarray, labels: np.ndarray) -> float:
    """The threshold that maximises macro-F1 on these (validation) steps.

    Candidates are the midpoints between consecutive distinct scores (and one below and one
    above all of them); among equally good thresholds the one nearest 0.5 wins. With no
    labelled step, 0.5.
    """
    if len(scores) == 0:
        return 0.5
    distinct = np.unique(scores)
    candidates = np.concatenate(
        [[distinct[0] - 1e-6], (distinct[:-1] + distinct[1:]) / 2, [distinct[-1] + 1e-6]]
    )
    if len(candidates) > 512:  # quantiles are plenty for a threshold
        candidates = np.quantile(candidates, np.linspace(0, 1, 512))
    values = np.array([macro_f1(scores, labels, float(t)) for t in candidates])
    best = np.flatnonzero(values >= values.max() - 1e-12)
    return float(candidates[best[np.argmin(np.abs(candidates[best] - 0.5))]])


METRICS: dict[str, Callable[[np.ndarray, np.ndarray, float], float]] = {
    "f1_macro": macro_f1,
    "auroc": lambda s, y, t: auroc(s, y),
    "bal_acc": balanced_accuracy,
    "acc": accuracy,
    "base_rate": lambda s, y, t: float(y.mean()) if len(y) else math.nan,
}


def known(scores: np.ndarray, labels: np.ndarray, dim: int) -> tuple[np.ndarray, np.ndarray]:
    """One dimension's scores and labels where the label is known."""
    mask = ~np.isnan(labels[:, dim])
    return scores[mask, dim], labels[mask, dim]


def thresholds_on(scores: np.ndarray, labels: np.ndarray) -> list[float]:
    """Per dimension, :func:`choose_threshold` on these steps (``[n, D]`` arrays)."""
    return [choose_threshold(*known(scores, labels, d)) for d in range(labels.shape[1])]


def evaluate(
    scores: np.ndarray, labels: np.ndarray, thresholds: Sequence[float]
) -> list[dict[str, float]]:
    """Per dimension, every metric of :data:`METRICS` at its threshold."""
    out = []
    for d, threshold in enumerate(thresholds):
        s, y = known(scores, labels, d)
        out.append({name: fn(s, y, threshold) for name, fn in METRICS.items()})
    return out


def bootstrap_interval(
    runs: Sequence[tuple[np.ndarray, np.ndarray, float]],
    groups: np.ndarray,
    metric: Metric,
    *,
    resamples: int = 1000,
    level: float = 0.95,
    seed: int = 0,
) -> tuple[float, float]:
    """Percentile interval of a metric averaged over runs, resampling whole queries.

    ``runs`` are ``(scores, labels, threshold)`` of one dimension for the same steps (one per
    seed; missing labels already removed, or NaN, which are skipped); ``groups`` gives each
    step's query. Each resample draws queries with replacement and takes all their steps, so
    steps of one query, which are not independent, move together.
    """
    names, index = np.unique(groups, return_inverse=True)
    members = [np.flatnonzero(index == g) for g in range(len(names))]
    rng = np.random.default_rng(seed)
    values = []
    for _ in range(resamples):
        picked = np.concatenate([members[g] for g in rng.integers(0, len(names), len(names))])
        per_run = []
        for scores, labels, threshold in runs:
            s, y = scores[picked], labels[picked]
            keep = ~np.isnan(y)
            per_run.append(metric(s[keep], y[keep], threshold))
        value = float(np.mean(per_run))
        if not math.isnan(value):
            values.append(value)
    if not values:
        return math.nan, math.nan
    tail = (1 - level) / 2
    low, high = np.quantile(values, [tail, 1 - tail])
    return float(low), float(high)
