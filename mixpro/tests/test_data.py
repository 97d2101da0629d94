"""Data reading, subsets, transforms and batch pipelines, on shards written here."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import numpy as np
import pytest
import torch
from mixpro.data import (
    DataError,
    DeviceBatches,
    balanced_subset,
    cifar10_dir,
    expand_shards,
    load_split,
    read_shards,
    resolve_sources,
    train_transform,
)
from synthetic_images import (
    NUM_CLASSES,
    class_image,
    write_cifar_like,
    write_image_folder,
    write_shard,
)

from mixpro import data


@pytest.fixture(autouse=True)
def _fresh_cache(monkeypatch):
    monkeypatch.setattr(data, "_MEMORY_CACHE", {})
    monkeypatch.delenv("MIXPRO_CACHE_DIR", raising=False)


def test_cifar10_dir_resolution(monkeypatch, tmp_path):
    assert cifar10_dir("/some/where") == Path("/some/where")
    monkeypatch.setenv("SHARED_DATA_DIR", str(tmp_path))
    assert cifar10_dir() == tmp_path / "images" / "cifar10"
    monkeypatch.delenv("SHARED_DATA_DIR")
    assert cifar10_dir() == data.REPO_ROOT.parent / "shared" / "data" / "images" / "cifar10"
    assert Path(data.__file__).resolve().parents[3] == data.REPO_ROOT


@pytest.mark.parametrize("gz", [True, False])
def test_read_shards_yields_images_and_labels_in_order(tmp_path, gz):
    first = write_shard(tmp_path / "a.tar", 2, gz=gz)
    second = write_shard(tmp_path / "b.tar", 1, start=5, gz=gz)
    samples = list(read_shards([tmp_path / "a.tar", tmp_path / "b.tar"]))
    assert [label for _, label in samples] == first + second
    img, label = samples[13]  # image 1 of class 3 in shard a
    assert img.mode == "RGB" and img.size == (32, 32) and label == 3
    # JPEG is lossy; the mean colour of each channel survives
    decoded = np.asarray(img, dtype=float).mean(axis=(0, 1))
    assert np.abs(decoded - class_image(3, 1).mean(axis=(0, 1))).max() < 4


def _tar_with(path: Path, members: dict[str, bytes]) -> Path:
    with tarfile.open(path, "w") as archive:
        for name, payload in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(payload)
            archive.addfile(info, io.BytesIO(payload))
    return path


def test_shard_errors_name_file_and_member(tmp_path):
    jpeg = tmp_path / "ok.tar.gz"
    write_shard(jpeg, 1)
    good = next(read_shards([jpeg]))[0]
    buffer = io.BytesIO()
    good.save(buffer, format="JPEG")
    no_label = _tar_with(tmp_path / "nolabel.tar", {"s_1.jpg": buffer.getvalue()})
    with pytest.raises(DataError, match=r"nolabel\.tar: sample 's_1' has no \.cls"):
        list(read_shards([no_label]))
    bad_label = _tar_with(
        tmp_path / "badlabel.tar", {"s_1.jpg": buffer.getvalue(), "s_1.cls": b"cat"}
    )
    with pytest.raises(DataError, match=r"badlabel\.tar:s_1\.cls: class label must be"):
        list(read_shards([bad_label]))
    bad_image = _tar_with(tmp_path / "badimg.tar", {"s_1.jpg": b"not a jpeg", "s_1.cls": b"1"})
    with pytest.raises(DataError, match=r"badimg\.tar:s_1\.jpg: not a readable image"):
        list(read_shards([bad_image]))
    truncated = tmp_path / "cut.tar.gz"
    truncated.write_bytes(jpeg.read_bytes()[:500])
    with pytest.raises(DataError, match=r"cut\.tar\.gz: corrupt or truncated"):
        list(read_shards([truncated]))
    with pytest.raises(DataError, match=r"missing\.tar: shard not found"):
        list(read_shards([tmp_path / "missing.tar"]))


def test_load_split_from_folder_glob_and_brace(tmp_path):
    root = write_cifar_like(tmp_path / "c10", train_per_class=4, test_per_class=2)
    sources = resolve_sources(str(root))
    train = load_split(sources.train)
    assert train.images.shape == (40, 32, 32, 3) and train.images.dtype == np.uint8
    assert train.num_classes == NUM_CLASSES and train.classes[0] == "airplane"
    assert np.array_equal(train.labels[:10], np.arange(10))
    test = load_split(sources.test)
    assert len(test) == 20
    globbed = load_split(str(root / "cifar10-train-*.tar.gz"))
    assert np.array_equal(globbed.images, train.images)
    assert [p.name for p in expand_shards(str(root / "cifar10-train-{0..1}.tar.gz"))] == [
        "cifar10-train-0.tar.gz",
        "cifar10-train-1.tar.gz",
    ]


def test_image_folder_is_resized_and_labelled_by_sorted_class(tmp_path):
    root = write_image_folder(tmp_path / "folder", per_class=3, size=48, classes=3)
    arrays = load_split(root, img_size=32)
    assert arrays.images.shape == (9, 32, 32, 3)
    assert arrays.classes == ("class_0", "class_1", "class_2")
    assert arrays.labels.tolist() == [0, 0, 0, 1, 1, 1, 2, 2, 2]
    both = tmp_path / "tree"
    write_image_folder(both / "train", 2)
    write_image_folder(both / "val", 1)
    sources = resolve_sources(str(both))
    assert sources.train.endswith("train") and sources.test.endswith("val")


def test_disk_cache_round_trip(tmp_path, monkeypatch):
    root = write_cifar_like(tmp_path / "c10", train_per_class=2, test_per_class=1)
    first = load_split(resolve_sources(str(root)).test, cache_dir=tmp_path / "cache")
    assert len(list((tmp_path / "cache").glob("*.npz"))) == 1
    monkeypatch.setattr(data, "_MEMORY_CACHE", {})
    monkeypatch.setattr(data, "read_shards", lambda paths: pytest.fail("decoded again"))
    again = load_split(resolve_sources(str(root)).test, cache_dir=tmp_path / "cache")
    assert np.array_equal(first.images, again.images) and again.classes == first.classes


def test_resolve_sources_errors(tmp_path):
    with pytest.raises(DataError, match="data folder not found"):
        resolve_sources(str(tmp_path / "nope"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="neither train/test shards"):
        resolve_sources(str(tmp_path / "empty"))
    write_shard(tmp_path / "only" / "x-train.tar", 1, gz=False) if (
        tmp_path / "only"
    ).mkdir() is None else None
    with pytest.raises(DataError, match="'train' and 'test'"):
        resolve_sources(str(tmp_path / "only"))
    with pytest.raises(DataError, match="both --train and --test"):
        resolve_sources(None, train="a.tar")


def test_balanced_subset_takes_first_per_class():
    labels = np.array([c for _ in range(5) for c in range(4)])  # interleaved, 5 per class
    idx = balanced_subset(labels, 10, 4)
    assert np.bincount(labels[idx]).tolist() == [3, 3, 2, 2]
    assert idx.tolist() == sorted(idx.tolist()) and idx[:4].tolist() == [0, 1, 2, 3]
    assert np.array_equal(idx, balanced_subset(labels, 10, 4))
    with pytest.raises(DataError, match="smaller than the number of classes"):
        balanced_subset(labels, 3, 4)
    with pytest.raises(DataError, match="larger than the split"):
        balanced_subset(labels, 21, 4)


def test_train_transform_and_bad_randaugment():
    from PIL import Image

    transform = train_transform(32, (0.5,) * 3, (0.25,) * 3, "rand-m9-mstd0.5-inc1", 0.25)
    out = transform(Image.fromarray(class_image(2, 0)))
    assert out.shape == (3, 32, 32) and out.dtype == torch.float32
    with pytest.raises(DataError, match="not a timm RandAugment spec"):
        train_transform(32, (0.5,) * 3, (0.25,) * 3, "rand-zz9", 0.0)


def test_device_batches_normalise_crop_and_flip():
    images = np.stack([class_image(c, 0) for c in range(4)])
    arrays = data.ImageArrays(images, np.arange(4), ("a", "b", "c", "d"), "test")
    batches = DeviceBatches(arrays, torch.device("cpu"), (0.5, 0.5, 0.5), (0.25, 0.25, 0.25))
    x, y = next(batches.batches(torch.arange(4), 4, drop_last=False, augment=False))
    expected = (torch.from_numpy(images).permute(0, 3, 1, 2).float() / 255 - 0.5) / 0.25
    assert torch.allclose(x, expected, atol=1e-5) and y.tolist() == [0, 1, 2, 3]
    g = torch.Generator().manual_seed(0)
    xa, _ = next(batches.batches(torch.arange(4), 4, drop_last=False, augment=True, generator=g))
    assert xa.shape == x.shape and not torch.equal(xa, x)
    # every augmented row is a shifted (and maybe mirrored) window of the reflect-padded image
    padded = torch.nn.functional.pad(expected, (4, 4, 4, 4), mode="reflect")
    for b in range(4):
        windows = [
            padded[b, :, dy : dy + 32, dx : dx + 32].flip(-1)
            if flip
            else padded[b, :, dy : dy + 32, dx : dx + 32]
            for dy in range(9)
            for dx in range(9)
            for flip in (False, True)
        ]
        assert any(torch.allclose(xa[b], w, atol=1e-5) for w in windows)
    dropped = list(batches.batches(torch.arange(4), 3, drop_last=True, augment=False))
    assert len(dropped) == 1 and dropped[0][0].shape[0] == 3


def test_digits_fallback_is_balanced_rgb():
    train, test = data.digits_splits()
    assert train.images.shape[1:] == (32, 32, 3) and test.images.dtype == np.uint8
    assert np.bincount(test.labels).tolist() == [30] * 10
    assert len(train) + len(test) == 1797
