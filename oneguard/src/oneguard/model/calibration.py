"""Score calibration: Platt scaling fitted on the dev split, so a score reads as a probability.

A head trained with class weights and several tasks can rank well and still put its scores in
the wrong place (one stage's response head was best on dev at a threshold of 0.026). Platt
scaling, ``p' = sigmoid(a * logit(p) + b)`` with ``a > 0``, fixes the place and keeps the
order: F1, AUPRC and every decision stay as they were, because the stored threshold is mapped
through the same function. Fitted per task on the dev rows that pick the thresholds.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

#: Probabilities are clipped to this distance from 0 and 1 before taking logits.
_EPS = 1e-7


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(np.asarray(p, dtype=np.float64), _EPS, 1 - _EPS)
    return np.log(p) - np.log1p(-p)


@dataclass(frozen=True)
class PlattScaling:
    """``p' = sigmoid(a * logit(p) + b)``; the identity is ``a=1, b=0``."""

    a: float = 1.0
    b: float = 0.0

    def __post_init__(self) -> None:
        if not self.a > 0:
            raise ValueError(f"Platt scaling needs a > 0 to keep the order, got a={self.a}")

    def __call__(self, probs: np.ndarray) -> np.ndarray:
        """Calibrated probabilities (NaN stays NaN, float32 like the model's scores)."""
        probs = np.asarray(probs, dtype=np.float64)
        z = np.clip(self.a * _logit(probs) + self.b, -700, 700)
        return np.where(np.isnan(probs), np.nan, 1.0 / (1.0 + np.exp(-z))).astype(np.float32)

    def threshold(self, raw_threshold: float) -> float:
        """The calibrated threshold that makes the same decisions as ``raw_threshold``."""
        return float(self(np.array([raw_threshold], dtype=np.float64))[0])

    def raw_threshold(self, threshold: float) -> float:
        """The raw threshold behind a calibrated one (the inverse of :meth:`threshold`)."""
        z = (float(_logit(np.array([threshold]))[0]) - self.b) / self.a
        return float(1.0 / (1.0 + np.exp(-z)))

    @classmethod
    def fit(cls, gold: np.ndarray, probs: np.ndarray) -> PlattScaling:
        """Maximum-likelihood ``a, b`` on labelled scores (an unregularised logistic
        regression on the logit); the identity when the data cannot support a fit (one class
        only, or a slope that would reverse the order)."""
        from sklearn.linear_model import LogisticRegression

        y = np.asarray(gold, dtype=np.int64)
        if len(y) == 0 or y.min() == y.max():
            return cls()
        x = _logit(probs).reshape(-1, 1)
        fitted = LogisticRegression(C=1e6, max_iter=1000).fit(x, y)
        a, b = float(fitted.coef_[0, 0]), float(fitted.intercept_[0])
        if not (np.isfinite(a) and np.isfinite(b)) or a <= 0:
            return cls()
        return cls(a, b)

    def to_dict(self) -> dict[str, float]:
        return {"a": self.a, "b": self.b}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PlattScaling:
        return cls(float(data["a"]), float(data["b"]))


def expected_calibration_error(gold: np.ndarray, probs: np.ndarray, bins: int = 10) -> float:
    """Mean |observed positive rate - mean score| over equal-width score bins, weighted by
    the share of items in each bin."""
    y = np.asarray(gold, dtype=np.float64)
    p = np.asarray(probs, dtype=np.float64)
    if len(y) == 0:
        return float("nan")
    which = np.minimum((p * bins).astype(int), bins - 1)
    error = 0.0
    for k in range(bins):
        sel = which == k
        if sel.any():
            error += sel.mean() * abs(y[sel].mean() - p[sel].mean())
    return float(error)


def fit_calibration(
    gold: dict[str, np.ndarray], probs: dict[str, np.ndarray], raw_thresholds: dict[str, float]
) -> tuple[dict[str, PlattScaling], dict[str, float], dict[str, dict[str, float]]]:
    """Per task: the fitted scaling, the calibrated threshold (same decisions as the raw one)
    and the dev ECE before and after. ``gold`` holds 1/0 with -1 for unlabelled rows."""
    scalings: dict[str, PlattScaling] = {}
    thresholds: dict[str, float] = {}
    report: dict[str, dict[str, float]] = {}
    for task, raw in raw_thresholds.items():
        y, p = gold[task], probs[task]
        known = (y >= 0) & ~np.isnan(p)
        scaling = PlattScaling.fit(y[known], p[known])
        scalings[task] = scaling
        thresholds[task] = scaling.threshold(raw)
        report[task] = {
            "a": scaling.a,
            "b": scaling.b,
            "ece_before": expected_calibration_error(y[known], p[known]),
            "ece_after": expected_calibration_error(y[known], scaling(p[known])),
            "n": int(known.sum()),
        }
    return scalings, thresholds, report


__all__ = ["PlattScaling", "expected_calibration_error", "fit_calibration"]
