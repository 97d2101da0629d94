"""Synthetic CIFAR-like data written by the tests themselves (never ../shared): small JPEG/PNG
images whose class is visible (a class-specific colour and stripe), in the shard layout of the
shared CIFAR-10 folder and as an ImageFolder tree."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import numpy as np
from PIL import Image

NUM_CLASSES = 10


#: One well-separated colour per class (crop- and flip-invariant, so a tiny ViT learns it fast).
PALETTE = (
    (220, 40, 40),
    (40, 220, 40),
    (40, 40, 220),
    (220, 220, 40),
    (220, 40, 220),
    (40, 220, 220),
    (230, 230, 230),
    (30, 30, 30),
    (230, 130, 30),
    (120, 60, 160),
)


def class_image(cls: int, index: int, size: int = 32) -> np.ndarray:
    """(size, size, 3) uint8: the class colour plus noise and a class-placed stripe."""
    rng = np.random.default_rng(1000 * cls + index)
    pixels = np.array(PALETTE[cls], dtype=np.int64) + rng.integers(-25, 26, (size, size, 3))
    stripe = (cls * size) // NUM_CLASSES
    pixels[:, stripe : stripe + max(1, size // 8), :] = 128
    return np.clip(pixels, 0, 255).astype(np.uint8)


def encode(pixels: np.ndarray, fmt: str = "JPEG") -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format=fmt, quality=95)
    return buffer.getvalue()


def _add(archive: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    archive.addfile(info, io.BytesIO(data))


def write_shard(
    path: Path, per_class: int, split: str = "train", start: int = 0, gz: bool = True
) -> list[int]:
    """Samples interleaved by class (sample i*10 + c is image i of class c), as the CIFAR-10
    shards are; returns the labels in file order."""
    labels = []
    with tarfile.open(path, "w:gz" if gz else "w") as archive:
        for i in range(start, start + per_class):
            for cls in range(NUM_CLASSES):
                key = f"{split}_{cls}_{i:04d}"
                _add(archive, f"{key}.jpg", encode(class_image(cls, i)))
                _add(archive, f"{key}.cls", str(cls).encode())
                labels.append(cls)
    return labels


def write_cifar_like(root: Path, train_per_class: int = 20, test_per_class: int = 6) -> Path:
    """A folder like ../shared/data/images/cifar10: two train shards and one test shard."""
    root.mkdir(parents=True, exist_ok=True)
    half = train_per_class // 2
    write_shard(root / "cifar10-train-0.tar.gz", half, "train", 0)
    write_shard(root / "cifar10-train-1.tar.gz", train_per_class - half, "train", half)
    write_shard(root / "cifar10-test-0.tar.gz", test_per_class, "test", 10_000)
    return root


def write_image_folder(root: Path, per_class: int, size: int = 32, classes: int = 3) -> Path:
    """ImageFolder tree ``root/class_<c>/<i>.png``."""
    for cls in range(classes):
        folder = root / f"class_{cls}"
        folder.mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            (folder / f"{i}.png").write_bytes(encode(class_image(cls, i, size), "PNG"))
    return root
