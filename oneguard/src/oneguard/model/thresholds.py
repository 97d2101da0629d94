"""Decision thresholds: picked on a dev split to maximise F1 of the positive class."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

#: Used when a task has no labelled dev rows (nothing to tune on).
DEFAULT_THRESHOLD = 0.5


@dataclass(frozen=True)
class ThresholdChoice:
    threshold: float
    f1: float | None
    precision: float | None
    recall: float | None
    n: int
    positives: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def best_f1_threshold(gold: np.ndarray, scores: np.ndarray) -> ThresholdChoice:
    """The threshold ``t`` (predict positive iff ``score >= t``) with the highest F1.

    Candidates are the distinct scores; equal scores cannot be split. Among equal-F1
    thresholds the highest wins (fewer false alarms at the same F1). Without positives (or
    without rows) the default 0.5 is returned with ``f1=None``.
    """
    y = np.asarray(gold, dtype=bool)
    s = np.asarray(scores, dtype=np.float64)
    if y.shape != s.shape:
        raise ValueError(f"gold {y.shape} and scores {s.shape} differ in shape")
    positives = int(y.sum())
    if positives == 0:
        return ThresholdChoice(DEFAULT_THRESHOLD, None, None, None, len(y), 0)
    order = np.argsort(-s, kind="mergesort")
    y, s = y[order], s[order]
    cut = np.r_[np.flatnonzero(np.diff(s) != 0), len(s) - 1]
    tp = np.cumsum(y)[cut].astype(np.float64)
    predicted = (cut + 1).astype(np.float64)
    f1 = 2 * tp / (predicted + positives)
    best = int(np.argmax(f1))  # first max = highest threshold
    precision = float(tp[best] / predicted[best])
    recall = float(tp[best] / positives)
    return ThresholdChoice(
        threshold=float(s[cut[best]]),
        f1=float(f1[best]),
        precision=precision,
        recall=recall,
        n=len(y),
        positives=positives,
    )


def f1_at(gold: np.ndarray, scores: np.ndarray, threshold: float) -> ThresholdChoice:
    """Precision, recall and F1 of ``score >= threshold`` (for reporting a fixed threshold)."""
    y = np.asarray(gold, dtype=bool)
    yhat = np.asarray(scores, dtype=np.float64) >= threshold
    tp = int(np.sum(y & yhat))
    fp = int(np.sum(~y & yhat))
    fn = int(np.sum(y & ~yhat))
    return ThresholdChoice(
        threshold=float(threshold),
        f1=2 * tp / (2 * tp + fp + fn) if tp + fp + fn else None,
        precision=tp / (tp + fp) if tp + fp else None,
        recall=tp / (tp + fn) if tp + fn else None,
        n=len(y),
        positives=int(y.sum()),
    )
