"""Eval metrics against values computed by hand (and, for AP, cross-checked with sklearn)."""

from __future__ import annotations

import numpy as np
import pytest
from oneguard.eval.metrics import (
    average_precision,
    binary_metrics,
    mean_or_none,
    precision_recall_curve,
)
from sklearn.metrics import average_precision_score


def test_f1_precision_recall_by_hand():
    # gold:  1 1 0 0 1 0
    # pred:  1 0 1 0 1 0  -> TP=2 (items 0, 4), FP=1 (item 2), FN=1 (item 1)
    m = binary_metrics([True, True, False, False, True, False], [1, 0, 1, 0, 1, 0])
    assert (m.true_positives, m.false_positives, m.false_negatives) == (2, 1, 1)
    assert m.precision == pytest.approx(2 / 3)
    assert m.recall == pytest.approx(2 / 3)
    assert m.f1 == pytest.approx(2 / 3)  # 2*2 / (2*2 + 1 + 1)
    assert (m.n, m.positives, m.predicted_positives) == (6, 3, 3)
    assert m.auprc is None  # no scores given


def test_unbalanced_precision_and_recall():
    # TP=1, FP=3, FN=0: P=1/4, R=1, F1 = 2/(2+3) = 0.4
    m = binary_metrics([True, False, False, False], [True, True, True, True])
    assert m.precision == pytest.approx(0.25)
    assert m.recall == 1.0
    assert m.f1 == pytest.approx(0.4)


def test_missing_prediction_counts_as_negative():
    m = binary_metrics([True, True, False], [None, True, None])
    assert m.missing_predictions == 2
    assert (m.true_positives, m.false_negatives, m.false_positives) == (1, 1, 0)
    assert m.f1 == pytest.approx(2 / 3)


def test_undefined_ratios_are_none():
    # No positives anywhere: precision, recall and F1 of the positive class are undefined.
    m = binary_metrics([False, False], [False, False], [0.1, 0.2])
    assert m.precision is None and m.recall is None and m.f1 is None
    assert m.auprc is None  # AP needs a gold positive


def test_average_precision_by_hand():
    # Ranked: (0.9, pos) P=1 R=.5 | (0.8, neg) | (0.4, pos) P=2/3 R=1
    # AP = 0.5*1 + 0.5*2/3 = 5/6
    gold, scores = [True, False, True, False], [0.9, 0.8, 0.4, 0.1]
    assert average_precision(gold, scores) == pytest.approx(5 / 6)
    assert binary_metrics(gold, [1, 1, 0, 0], scores).auprc == pytest.approx(5 / 6)


def test_average_precision_ties_enter_together():
    # Threshold 0.5 admits items 0 and 1 together: P=1/2, R=1/2; threshold 0.2: P=2/3, R=1.
    # AP = 0.5*0.5 + 0.5*2/3 = 7/12
    gold, scores = [True, False, True], [0.5, 0.5, 0.2]
    assert average_precision(gold, scores) == pytest.approx(7 / 12)
    precision, recall = precision_recall_curve(gold, scores)
    np.testing.assert_allclose(precision, [0.5, 2 / 3])
    np.testing.assert_allclose(recall, [0.5, 1.0])


def test_average_precision_matches_sklearn_on_random_data():
    rng = np.random.default_rng(0)
    gold = rng.random(300) < 0.3
    scores = np.round(rng.random(300) + 0.3 * gold, 2)  # rounding creates ties
    assert average_precision(gold.tolist(), scores.tolist()) == pytest.approx(
        average_precision_score(gold, scores)
    )


def test_auprc_needs_every_score():
    m = binary_metrics([True, False], [True, False], [0.9, None])
    assert m.auprc is None
    assert m.f1 == 1.0


def test_length_mismatch_is_an_error():
    with pytest.raises(ValueError, match="length mismatch"):
        binary_metrics([True], [True, False])


def test_mean_or_none():
    assert mean_or_none([50.0, 100.0]) == 75.0
    assert mean_or_none([50.0, None]) is None
    assert mean_or_none([]) is None
