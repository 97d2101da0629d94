"""The pooling probe: fresh response heads per pooling, scored on the mix's dev split."""

from __future__ import annotations

import json

import pytest
import torch
from benchmark_scripts import load_benchmark_script
from oneguard.train import train
from tiny_model import make_tiny_encoder, tiny_records, tiny_train_config, write_mix


@pytest.fixture(scope="module")
def probe():
    return load_benchmark_script("pooling_probe")


@pytest.fixture(autouse=True)
def _threads_restored():
    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)


def test_probe_scores_every_pooling_on_dev_rows(probe, tmp_path, monkeypatch):
    encoder = make_tiny_encoder(tmp_path / "encoder")
    mix = write_mix(tiny_records(), tmp_path / "mix.parquet")
    train(tiny_train_config(encoder, mix, tmp_path / "model", epochs=1))
    monkeypatch.setattr(probe, "RESULTS", tmp_path / "results")
    args = ["--mix", str(mix), "--model", str(tmp_path / "model"), "--encoder", str(encoder)]
    assert probe.main([*args, "--seeds", "2", "--epochs", "2", "--threads", "1"]) == 0
    report = json.loads((tmp_path / "results" / "pooling_probe.json").read_text())
    assert list(report["variants"]) == list(probe.VARIANTS)
    # The tiny mix: 3 response-labelled rows per round, round 0 on dev.
    assert (report["train_rows"], report["dev_rows"]) == (9, 3)
    for variant in report["variants"].values():
        assert 0 <= variant["f1"] <= 100 and variant["f1_sd"] >= 0
    assert "judged mean + response max" in (tmp_path / "results" / "pooling_probe.md").read_text()


def test_probe_names_a_missing_mix(probe, tmp_path, capsys):
    assert probe.main(["--mix", str(tmp_path / "none.parquet"), "--model", str(tmp_path)]) == 2
    assert "none.parquet" in capsys.readouterr().err
