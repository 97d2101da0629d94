"""Score calibration: Platt scaling moves scores to probabilities and keeps every decision."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from oneguard.backends.embedded import EmbeddedBackend, text_input
from oneguard.model.artifact import ArtifactConfig, ArtifactError
from oneguard.model.calibration import PlattScaling, expected_calibration_error, fit_calibration
from oneguard.schema import Item
from oneguard.train import calibrate_artifact, train
from tiny_model import (
    BENIGN_PROMPTS,
    HARMFUL_PROMPTS,
    REFUSALS,
    make_tiny_encoder,
    tiny_records,
    tiny_train_config,
    write_mix,
)


def _miscalibrated(n: int = 4000, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Labels and scores that rank well but sit far too low (like a class-weighted head)."""
    rng = np.random.default_rng(seed)
    y = rng.random(n) < 0.3
    z = np.where(y, rng.normal(1.0, 1.0, n), rng.normal(-2.0, 1.0, n))
    return y.astype(int), 1 / (1 + np.exp(-(z - 3.0)))


def test_platt_scaling_fixes_the_scale_and_keeps_the_order():
    y, p = _miscalibrated()
    scaling = PlattScaling.fit(y, p)
    calibrated = scaling(p)
    assert scaling.a > 0
    assert expected_calibration_error(y, calibrated) < 0.03 < expected_calibration_error(y, p)
    assert np.all(np.diff(calibrated[np.argsort(p)]) >= 0)  # never reorders (ties at float32)


def test_thresholds_map_so_decisions_stay_the_same():
    y, p = _miscalibrated(seed=1)
    scalings, thresholds, report = fit_calibration(
        {"response": y}, {"response": p.astype(np.float32)}, {"response": 0.05}
    )
    scaling = scalings["response"]
    assert np.array_equal(p.astype(np.float32) >= 0.05, scaling(p) >= thresholds["response"])
    assert scaling.raw_threshold(thresholds["response"]) == pytest.approx(0.05, rel=1e-5)
    assert report["response"]["ece_after"] < report["response"]["ece_before"]


def test_unlabelled_rows_are_ignored_and_one_class_gives_the_identity():
    y, p = _miscalibrated(n=500, seed=2)
    gold = y.copy()
    gold[:100] = -1
    with_unknown, _, report = fit_calibration({"prompt": gold}, {"prompt": p}, {"prompt": 0.5})
    assert report["prompt"]["n"] == 400
    assert with_unknown["prompt"] == PlattScaling.fit(y[100:], p[100:])
    assert PlattScaling.fit(np.ones(10), np.linspace(0.1, 0.9, 10)) == PlattScaling()
    assert np.isnan(PlattScaling(2.0, 1.0)(np.array([np.nan])))[0]


def _config_dict(tmp_path, calibration) -> dict:
    data = ArtifactConfig.read(tmp_path).to_dict()
    data["calibration"] = calibration
    return data


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    root = tmp_path_factory.mktemp("calibrated")
    encoder = make_tiny_encoder(root / "encoder")
    mix = write_mix(tiny_records(), root / "mix.parquet")
    config = tiny_train_config(encoder, mix, root / "model", epochs=10, head_lr=1e-2)
    train(config)
    yield root / "model", encoder, mix
    torch.set_num_threads(before)


def test_training_stores_a_calibration_and_labels_follow_the_raw_thresholds(tiny_model):
    model, encoder, _ = tiny_model
    stored = ArtifactConfig.read(model)
    assert set(stored.calibration) == {"prompt", "response", "refusal"}
    assert "ece_after" in stored.dev_metrics["calibration"]["prompt"]
    backend = EmbeddedBackend(model, encoder=encoder)
    items = [
        Item(prompt=text, response=answer)
        for text in HARMFUL_PROMPTS + BENIGN_PROMPTS
        for answer in REFUSALS[:2]
    ]
    raw = backend.model.score([text_input(item) for item in items])
    calibrated = backend.scores(items)
    for task in ("prompt", "response", "refusal"):
        raw_threshold = stored.dev_metrics[task]["threshold"]
        assert np.array_equal(
            getattr(raw, task) >= raw_threshold,
            getattr(calibrated, task) >= stored.thresholds[task],
        ), task
    assert "Platt-scaled" in (model / "MODEL_CARD.md").read_text()


def test_recalibrating_keeps_every_decision(tiny_model, tmp_path):
    model, encoder, mix = tiny_model
    before = ArtifactConfig.read(model)
    calibrate_artifact(model, mix, encoder=encoder)
    after = ArtifactConfig.read(model)
    # The inference path gives the same scores as training's, so the refit is the same.
    for task in ("prompt", "response", "refusal"):
        raw_before = before.calibration[task].raw_threshold(before.thresholds[task])
        raw_after = after.calibration[task].raw_threshold(after.thresholds[task])
        assert raw_after == pytest.approx(raw_before, rel=1e-4), task


def test_a_bad_calibration_in_config_is_named(tiny_model, tmp_path):
    model, _, _ = tiny_model
    for calibration, message in (
        ({"prompt": {"a": -1.0, "b": 0.0}}, "a > 0"),
        ({"toxicity": {"a": 1.0, "b": 0.0}}, "unknown task 'toxicity'"),
        ({"prompt": {"a": 1.0}}, "missing field 'b'"),
    ):
        path = tmp_path / "config.json"
        path.write_text(json.dumps(_config_dict(model, calibration)))
        with pytest.raises(ArtifactError, match=message):
            ArtifactConfig.read(tmp_path)


def test_a_model_without_calibration_reports_raw_scores(tiny_model, tmp_path):
    model, _, _ = tiny_model
    data = ArtifactConfig.read(model).to_dict()
    del data["calibration"]
    assert ArtifactConfig.from_dict(data).calibration == {}
    assert "calibration" not in ArtifactConfig.from_dict(data).to_dict()
