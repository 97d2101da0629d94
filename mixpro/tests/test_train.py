"""The training loop on synthetic shards: every --aug, resume, config files, learning."""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path

import pytest
import torch
from mixpro.train import AUGS, ConfigError, TrainConfig, load_config_file, train
from synthetic_images import write_cifar_like

from mixpro import data

TINY = {
    "model": "vit_cifar_d32_l2",
    "batch_size": 32,
    "threads": 1,
    "progress": False,
    "device": "cpu",
    "warmup_epochs": 1.0,
}


@pytest.fixture(scope="module")
def cifar_like(tmp_path_factory) -> Path:
    return write_cifar_like(tmp_path_factory.mktemp("data") / "c10", 22, 6)


def _metrics(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]


def _config(cifar_like: Path, out: Path, **overrides) -> TrainConfig:
    return TrainConfig(data=str(cifar_like), out=str(out), **{**TINY, **overrides})


@pytest.mark.parametrize("aug", AUGS)
def test_one_epoch_on_200_images_for_every_aug(cifar_like, tmp_path, aug):
    config = _config(cifar_like, tmp_path / aug, aug=aug, subset=200, epochs=1)
    summary = train(config)
    (row,) = _metrics(tmp_path / aug)
    assert row["epoch"] == 1 and row["aug"] == aug
    assert row["train_images"] == 192  # 200 // 32 full batches of 32 (drop_last)
    assert row["test_images"] == 60
    assert 1.5 < row["train_loss"] < 3.5 and math.isfinite(row["test_loss"])
    assert 0.0 <= row["test_acc"] <= 1.0 and row["img_per_s"] > 0
    assert summary["final_test_acc"] == row["test_acc"] and summary["train_images"] == 200
    assert (tmp_path / aug / "checkpoint.pt").is_file()
    if aug == "mixpro":  # official recipe: MixPro on about half the batches
        assert row["relabeled_batches"] >= 1 and 0.0 < row["pal_factor"] < 1.0
    if aug in ("none", "mixup", "cutmix", "maskmix"):
        assert "relabel_shift" not in row


def test_alone_recipe_relabels_every_batch(cifar_like, tmp_path):
    config = _config(
        cifar_like, tmp_path / "mp", aug="mixpro", mix_recipe="alone", subset=200, epochs=1
    )
    train(config)
    (row,) = _metrics(tmp_path / "mp")
    assert row["relabeled_batches"] == 6 and row["relabel_shift"] >= 0.0


@pytest.mark.parametrize("aug", ["mixpro", "none"])
def test_resume_repeats_the_uninterrupted_run(cifar_like, tmp_path, aug):
    base = {"aug": aug, "subset": 100, "test_subset": 60, "epochs": 3, "batch_size": 20}
    train(_config(cifar_like, tmp_path / "straight", **base))
    train(_config(cifar_like, tmp_path / "split", stop_after=1, **base))
    assert len(_metrics(tmp_path / "split")) == 1
    train(_config(cifar_like, tmp_path / "split", resume=True, **base))
    straight, split = _metrics(tmp_path / "straight"), _metrics(tmp_path / "split")
    keys = ("train_loss", "train_acc", "test_loss", "test_acc", "lr")
    assert [[r[k] for k in keys] for r in split] == [[r[k] for k in keys] for r in straight]
    a = torch.load(tmp_path / "straight" / "checkpoint.pt", weights_only=False)["model"]
    b = torch.load(tmp_path / "split" / "checkpoint.pt", weights_only=False)["model"]
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_resume_refuses_other_settings_and_overwrite(cifar_like, tmp_path):
    config = _config(cifar_like, tmp_path / "r", subset=100, epochs=2, stop_after=1)
    train(config)
    with pytest.raises(ConfigError, match="already holds a run"):
        train(config)
    changed = dataclasses.replace(config, resume=True, lr=5e-4)
    with pytest.raises(ConfigError, match=r"other settings: lr: checkpoint 0.001 vs now 0.0005"):
        train(changed)
    with pytest.raises(ConfigError, match="no checkpoint"):
        train(dataclasses.replace(config, out=str(tmp_path / "none"), resume=True))


def test_learns_an_easy_task_and_tensor_pipeline(cifar_like, tmp_path):
    """Synthetic classes differ by colour and stripe; a few epochs must beat chance clearly."""
    for pipeline in ("pil", "tensor"):
        config = _config(
            cifar_like, tmp_path / pipeline, epochs=6, lr=3e-3, pipeline=pipeline, randaugment=None
        )
        summary = train(config)
        assert summary["final_test_acc"] > 0.5, (pipeline, summary)


def test_same_seed_same_run_other_seed_differs(cifar_like, tmp_path):
    runs = {}
    for name, seed in (("a", 1), ("b", 1), ("c", 2)):
        train(_config(cifar_like, tmp_path / name, aug="cutmix", subset=100, epochs=1, seed=seed))
        runs[name] = _metrics(tmp_path / name)[0]["train_loss"]
    assert runs["a"] == runs["b"] and runs["a"] != runs["c"]


def test_config_file_keys_and_errors(tmp_path):
    good = tmp_path / "good.yaml"
    good.write_text("batch-size: 64\nlr: 1\naug: mixpro\nsubset: null\nclip_grad: 0\n")
    assert load_config_file(good) == {
        "batch_size": 64,
        "lr": 1.0,
        "aug": "mixpro",
        "subset": None,
        "clip_grad": 0.0,
    }
    bad_key = tmp_path / "bad.yaml"
    bad_key.write_text("batchsize: 64\n")
    with pytest.raises(ConfigError, match=r"bad\.yaml: unknown key 'batchsize'"):
        load_config_file(bad_key)
    bad_type = tmp_path / "type.yaml"
    bad_type.write_text("epochs: ten\n")
    with pytest.raises(ConfigError, match=r"type\.yaml: key 'epochs' must be int"):
        load_config_file(bad_type)
    bad_choice = tmp_path / "choice.yaml"
    bad_choice.write_text("aug: mixmax\n")
    with pytest.raises(ConfigError, match="must be one of"):
        load_config_file(bad_choice)


def test_bad_settings_are_named(cifar_like, tmp_path):
    with pytest.raises(ConfigError, match="--model 'vit_nope'"):
        train(_config(cifar_like, tmp_path / "m", model="vit_nope", epochs=1))
    with pytest.raises(ConfigError, match="even size"):
        train(_config(cifar_like, tmp_path / "b", aug="mixup", batch_size=31))
    with pytest.raises(ConfigError, match="--aug 'maskmixx': must be one of none, mixup"):
        train(_config(cifar_like, tmp_path / "a", aug="maskmixx"))
    with pytest.raises(ConfigError, match="--mix-recipe 'offical'"):
        train(_config(cifar_like, tmp_path / "r", mix_recipe="offical"))
    with pytest.raises(ConfigError, match="mask_size 12"):
        train(_config(cifar_like, tmp_path / "k", aug="maskmix", mask_size=12, epochs=1))
    with pytest.raises(data.DataError, match="larger than the split"):
        train(_config(cifar_like, tmp_path / "s", subset=10_000, epochs=1))
