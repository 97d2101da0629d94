"""The threshold-ceiling diagnostic: its vectorised F1 curve and the order of its bounds."""

from __future__ import annotations

import numpy as np
from benchmark_scripts import load_benchmark_script
from oneguard.model.thresholds import f1_at

ceiling = load_benchmark_script("threshold_ceiling")


def test_f1_curve_matches_the_one_threshold_metric() -> None:
    rng = np.random.default_rng(0)
    gold = rng.random(300) < 0.3
    scores = np.round(np.clip(gold * 0.25 + rng.random(300) * 0.75, 0, 1), 2)  # with ties
    thresholds = np.array([0.0, 0.1, 0.33, 0.5, 0.77, 1.0, 1.5])
    curve = ceiling.f1_at_thresholds(gold, scores, thresholds)
    expected = [f1_at(gold, scores, t).f1 or 0.0 for t in thresholds]
    np.testing.assert_allclose(curve, expected)


def test_bounds_are_ordered_and_all_positive_sets_flagged() -> None:
    rng = np.random.default_rng(1)
    members = {}
    for name, rate in (("a", 0.2), ("b", 0.6), ("all_pos", 1.0)):
        gold = rng.random(200) < rate
        scores = np.clip(gold * 0.3 + rng.random(200) * 0.7, 0, 1)
        shipped = f1_at(gold, scores, 0.5).f1
        members[name] = (gold, scores, shipped)
    result = ceiling.group_ceiling(members)
    assert result["benchmarks"]["all_pos"]["all_positive"]
    assert not result["benchmarks"]["a"]["all_positive"]
    assert result["benchmarks"]["all_pos"]["oracle_f1"] == 1.0
    # Shipped (one threshold, 0.5) <= best shared threshold <= each set's own threshold.
    assert result["f1"] <= result["shared_threshold_f1"] + 1e-12
    assert result["shared_threshold_f1"] <= result["oracle_f1"] + 1e-12
    assert result["f1"] < result["oracle_f1"]
