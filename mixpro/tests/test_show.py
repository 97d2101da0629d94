"""``mixpro show``: the rows it draws, and the CLI on a small shard and without CIFAR-10."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import numpy as np
import pytest
import torch
from mixpro.cli import main
from mixpro.show import PreviewImages, mix_rows, render_mixers
from PIL import Image

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def write_shard(path: Path, count: int) -> None:
    """A CIFAR-style WebDataset shard: <key>.jpg / <key>.cls pairs of 32x32 images."""
    rng = np.random.default_rng(0)
    with tarfile.open(path, "w:gz") as archive:
        for index in range(count):
            pixels = rng.integers(0, 256, size=(32, 32, 3), dtype=np.uint8)
            jpeg = io.BytesIO()
            Image.fromarray(pixels).save(jpeg, format="JPEG")
            for suffix, data in ((".jpg", jpeg.getvalue()), (".cls", str(index % 10).encode())):
                member = tarfile.TarInfo(f"test_{index:04d}{suffix}")
                member.size = len(data)
                archive.addfile(member, io.BytesIO(data))


def preview(count: int = 4) -> PreviewImages:
    torch.manual_seed(0)
    names = tuple(f"class{i}" for i in range(10))
    return PreviewImages(torch.rand(count, 3, 32, 32), torch.arange(count), names, "test tensors")


def test_rows_carry_each_mixers_mask_and_lambda():
    batch = preview()
    rows = mix_rows(batch.images, batch.labels, num_classes=10, patch_size=4, mask_size=8)
    titles = [row.title.split(" ")[0] for row in rows]
    assert titles == ["Mixup", "CutMix", "TransMix", "MaskMix", "MaskMix"]
    mixup, cutmix, transmix, maskmix, per_sample = rows
    assert mixup.mask is None
    assert 0.3 < cutmix.lam[0] < 0.7 and cutmix.mask.shape == (4, 32, 32)
    assert torch.allclose(cutmix.mask.mean(dim=(1, 2)), cutmix.lam)
    assert torch.equal(transmix.mixed, cutmix.mixed)  # the same box, shown per token
    assert transmix.mask.shape == (4, 8, 8)
    for row in (maskmix, per_sample):
        assert row.mask.shape == (4, 8, 8)
        assert torch.equal(row.mask.flatten(1).mean(dim=1), row.lam)
    assert maskmix.lam.unique().numel() == 1


def test_render_writes_png(tmp_path):
    path, used = render_mixers(tmp_path / "grid.png", count=2, preview=preview(2))
    assert path.read_bytes()[:8] == PNG_MAGIC
    assert used.source == "test tensors"
    with pytest.raises(ValueError, match="even number"):
        render_mixers(tmp_path / "odd.png", count=3, preview=preview(3))


def test_cli_reads_cifar_shard(tmp_path, capsys):
    write_shard(tmp_path / "cifar10-test-0.tar.gz", 8)
    out = tmp_path / "mixers.png"
    assert main(["show", "--out", str(out), "--data-dir", str(tmp_path), "--num-images", "2"]) == 0
    assert out.read_bytes()[:8] == PNG_MAGIC
    assert "2 images from CIFAR-10 test" in capsys.readouterr().out


def test_cli_falls_back_to_digits_and_says_so(tmp_path, capsys):
    pytest.importorskip("sklearn")
    out = tmp_path / "mixers.png"
    args = ["show", "--out", str(out), "--data-dir", str(tmp_path / "missing"), "--num-images", "2"]
    assert main(args) == 0
    captured = capsys.readouterr()
    assert "CIFAR-10 not found; using scikit-learn digits" in captured.err
    assert out.read_bytes()[:8] == PNG_MAGIC


def test_cli_rejects_bad_geometry(tmp_path, capsys):
    write_shard(tmp_path / "cifar10-test-0.tar.gz", 4)
    args = ["show", "--out", str(tmp_path / "x.png"), "--data-dir", str(tmp_path)]
    assert main([*args, "--num-images", "4", "--mask-size", "6"]) == 2
    assert "mask_size 6 must be a positive multiple of patch_size 4" in capsys.readouterr().err
