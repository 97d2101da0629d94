"""The rule that picks the default on the dev split: a better dev mean must beat noise."""

from __future__ import annotations

import numpy as np
import pytest
from benchmark_scripts import load_benchmark_script


@pytest.fixture(scope="module")
def dev_select():
    return load_benchmark_script("dev_select")


def _per_row(gold: np.ndarray, noise: float, seed: int) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Scores that separate the classes less the more ``noise`` there is; -1 = unlabelled."""
    rng = np.random.default_rng(seed)
    scores = np.clip(gold.clip(0, 1) + rng.normal(0, noise, gold.shape), 0, 1)
    return {task: (gold, scores) for task in ("prompt", "response", "refusal")}


def _scored(name: str, per_row: dict, dev_select) -> dict:
    rows = np.arange(len(next(iter(per_row.values()))[0]))
    return {"model": name, "mean_f1": dev_select.mean_best_f1(per_row, rows), "_per_row": per_row}


@pytest.fixture
def gold() -> np.ndarray:
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 2, 600)
    labels[rng.random(600) < 0.2] = -1  # unlabelled rows are ignored, not counted negative
    return labels


def test_a_clearly_better_model_replaces_the_reference(dev_select, gold):
    reference = _scored("default", _per_row(gold, 0.8, 1), dev_select)
    better = _scored("new", _per_row(gold, 0.2, 2), dev_select)
    chosen = dev_select.choose([reference, better], "default", resamples=200)
    assert chosen is better
    low, high = better["gain_vs_reference"]["ci95"]
    assert 0 < low < better["gain_vs_reference"]["mean_f1_gain"] < high


def test_a_gain_within_noise_keeps_the_reference(dev_select, gold):
    reference = _scored("default", _per_row(gold, 0.6, 1), dev_select)
    twin = _scored("new", _per_row(gold, 0.6, 3), dev_select)  # same quality, other noise
    if twin["mean_f1"] <= reference["mean_f1"]:  # make the twin the (noisy) dev winner
        reference, twin = twin, reference
        reference["model"], twin["model"] = "default", "new"
    chosen = dev_select.choose([reference, twin], "default", resamples=200)
    assert twin["mean_f1"] > reference["mean_f1"]
    assert chosen is reference
    assert twin["gain_vs_reference"]["ci95"][0] <= 0


def test_identical_models_gain_exactly_nothing(dev_select, gold):
    per_row = _per_row(gold, 0.5, 4)
    gains = dev_select.paired_bootstrap_gain(per_row, per_row, resamples=50)
    assert np.all(gains == 0)
