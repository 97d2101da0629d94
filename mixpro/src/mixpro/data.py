"""Image data for training: CIFAR-10 shards, WebDataset shards or ImageFolder trees, decoded
once into uint8 arrays, plus the two batch pipelines the training loop can use.

Why decode once: CIFAR-10 is 60,000 JPEGs of 32×32 (184 MB as uint8), so holding the decoded
pixels in memory costs little and removes JPEG decoding from every epoch. The two pipelines:

* ``pil`` — the recipe's per-image augmentation (crop with padding, flip, timm RandAugment,
  optional random erasing) through a ``DataLoader``; what the CPU runs use.
* ``tensor`` — the whole split lives as one uint8 tensor on the training device and each batch
  gets random crop + flip there, with no per-image Python; what a GPU needs to stay busy on
  32×32 images. It does not apply RandAugment.
"""

from __future__ import annotations

import glob
import hashlib
import io
import os
import re
import tarfile
import zlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError
from torch.utils.data import Dataset

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp", ".bmp", ".ppm")
LABEL_SUFFIXES = (".cls",)
SHARD_SUFFIXES = (".tar", ".tar.gz", ".tgz")
CIFAR10_CLASSES = (
    "airplane",
    "automobile",
    "bird",
    "cat",
    "deer",
    "dog",
    "frog",
    "horse",
    "ship",
    "truck",
)

#: Repository root when running from a checkout (mixpro/src/mixpro/data.py -> root).
REPO_ROOT = Path(__file__).resolve().parents[3]


class DataError(ValueError):
    """Unreadable or inconsistent input data; the message names the file (and member)."""


def cifar10_dir(override: str | None = None) -> Path:
    """Folder with the CIFAR-10 shards: ``override``, else ``$SHARED_DATA_DIR/images/cifar10``,
    else ``../shared/data/images/cifar10`` next to the repository root."""
    if override is not None:
        return Path(override)
    env = os.environ.get("SHARED_DATA_DIR")
    if env:
        return Path(env) / "images" / "cifar10"
    return REPO_ROOT.parent / "shared" / "data" / "images" / "cifar10"


# ----------------------------------------------------------------------------- reading


def _sample_key(member_name: str) -> tuple[str, str]:
    """WebDataset convention: the key is the path up to the first dot of the file name."""
    directory, _, base = member_name.rpartition("/")
    stem, dot, suffix = base.partition(".")
    key = f"{directory}/{stem}" if directory else stem
    return key, (dot + suffix).lower()


def _decode_image(data: bytes, where: str) -> Image.Image:
    try:
        with Image.open(io.BytesIO(data)) as img:
            return img.convert("RGB")
    except (UnidentifiedImageError, OSError) as exc:
        raise DataError(f"{where}: not a readable image ({exc})") from None


def _parse_label(data: bytes, where: str) -> int:
    text = data.decode("utf-8", errors="replace").strip()
    if not re.fullmatch(r"\d+", text):
        raise DataError(f"{where}: class label must be a non-negative integer, got {text!r}")
    return int(text)


def _shard_sample(
    path: Path, key: str, fields: dict[str, tuple[str, bytes]]
) -> tuple[Image.Image, int]:
    images = [s for s in fields if s in IMAGE_SUFFIXES]
    labels = [s for s in fields if s in LABEL_SUFFIXES]
    if not images:
        raise DataError(f"{path}: sample {key!r} has no image member")
    if not labels:
        raise DataError(f"{path}: sample {key!r} has no .cls label member")
    img_name, img_bytes = fields[images[0]]
    label_name, label_bytes = fields[labels[0]]
    return (
        _decode_image(img_bytes, f"{path}:{img_name}"),
        _parse_label(label_bytes, f"{path}:{label_name}"),
    )


def _read_one_shard(path: Path) -> Iterator[tuple[Image.Image, int]]:
    if not path.is_file():
        raise DataError(f"{path}: shard not found")
    try:
        archive = tarfile.open(path, mode="r:*")  # noqa: SIM115 (closed by the with below)
    except (tarfile.TarError, OSError) as exc:
        raise DataError(f"{path}: not a readable tar archive ({exc})") from None
    with archive:
        key: str | None = None
        fields: dict[str, tuple[str, bytes]] = {}
        try:
            for member in archive:
                if not member.isfile():
                    continue
                member_key, suffix = _sample_key(member.name)
                if member_key != key:
                    if key is not None:
                        yield _shard_sample(path, key, fields)
                    key, fields = member_key, {}
                handle = archive.extractfile(member)
                fields[suffix] = (member.name, handle.read() if handle else b"")
        except (tarfile.TarError, EOFError, OSError, zlib.error) as exc:
            raise DataError(f"{path}: corrupt or truncated archive ({exc})") from None
        if key is not None:
            yield _shard_sample(path, key, fields)


def read_shards(paths: Sequence[str | os.PathLike[str]]) -> Iterator[tuple[Image.Image, int]]:
    """Yield (RGB image, class index) from WebDataset-style tar shards (``.tar`` or ``.tar.gz``),
    in file order. A sample is the consecutive members ``<key>.<image ext>`` and ``<key>.cls``."""
    for path in paths:
        yield from _read_one_shard(Path(path))


def read_image_folder(
    root: str | os.PathLike[str],
) -> tuple[list[str], Iterator[tuple[Image.Image, int]]]:
    """ImageFolder layout (``root/<class>/<image>``): the sorted class names and an iterator over
    (RGB image, class index) in sorted order."""
    root = Path(root)
    classes = sorted(d.name for d in root.iterdir() if d.is_dir() and not d.name.startswith("."))
    if not classes:
        raise DataError(f"{root}: no class sub-folders (expected <root>/<class>/<image files>)")
    files = [
        (f, index)
        for index, name in enumerate(classes)
        for f in sorted((root / name).rglob("*"))
        if f.suffix.lower() in IMAGE_SUFFIXES and f.is_file()
    ]
    if not files:
        raise DataError(f"{root}: class folders contain no images ({', '.join(IMAGE_SUFFIXES)})")

    def images() -> Iterator[tuple[Image.Image, int]]:
        for f, index in files:
            yield _decode_image(f.read_bytes(), str(f)), index

    return classes, images()


# ----------------------------------------------------------------------------- decoded splits


@dataclass(frozen=True)
class ImageArrays:
    """One decoded split: ``images`` (N, H, W, 3) uint8, ``labels`` (N,) int64."""

    images: np.ndarray
    labels: np.ndarray
    classes: tuple[str, ...]
    source: str

    def __len__(self) -> int:
        return len(self.labels)

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    def take(self, indices: np.ndarray) -> ImageArrays:
        return ImageArrays(self.images[indices], self.labels[indices], self.classes, self.source)


def _fit_size(img: Image.Image, size: int) -> Image.Image:
    """Resize the shorter side to ``size`` (bicubic) and center-crop to a square."""
    if img.size == (size, size):
        return img
    w, h = img.size
    scale = size / min(w, h)
    img = img.resize(
        (max(size, round(w * scale)), max(size, round(h * scale))), Image.Resampling.BICUBIC
    )
    w, h = img.size
    left, top = (w - size) // 2, (h - size) // 2
    return img.crop((left, top, left + size, top + size))


def expand_shards(spec: str | os.PathLike[str]) -> list[Path]:
    """A shard file, a glob (``train-*.tar.gz``) or a brace range (``train-{0..4}.tar.gz``)."""
    spec = str(spec)
    match = re.search(r"\{(\d+)\.\.(\d+)\}", spec)
    if match:
        lo, hi = match.group(1), match.group(2)
        width = len(lo) if lo.startswith("0") else 0
        return [
            Path(spec[: match.start()] + str(i).zfill(width) + spec[match.end() :])
            for i in range(int(lo), int(hi) + 1)
        ]
    if any(ch in spec for ch in "*?["):
        found = sorted(Path(p) for p in glob.glob(spec))
        if not found:
            raise DataError(f"{spec}: no shard matches this pattern")
        return found
    return [Path(spec)]


def _is_shard(path: Path) -> bool:
    return path.name.endswith(SHARD_SUFFIXES)


_MEMORY_CACHE: dict[str, ImageArrays] = {}


def _cache_key(paths: Sequence[Path], img_size: int) -> str:
    digest = hashlib.sha256(f"size={img_size}".encode())
    for p in paths:
        stat = p.stat()
        digest.update(f"|{p.resolve()}|{stat.st_size}|{stat.st_mtime_ns}".encode())
    return digest.hexdigest()[:24]


def load_split(
    source: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
    img_size: int = 32,
    cache_dir: str | os.PathLike[str] | None = None,
) -> ImageArrays:
    """Decode a split once: a list of shards, one shard/glob/brace pattern, or an ImageFolder
    root. Results are kept in memory (per process) and, with ``cache_dir`` (default
    ``$MIXPRO_CACHE_DIR`` if set), as ``.npz`` files that other processes load without decoding."""
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        if path.is_dir():
            shards = sorted(p for p in path.iterdir() if _is_shard(p))
            paths, folder = (shards, None) if shards else ([], path)
        else:
            paths, folder = expand_shards(source), None
    else:
        paths, folder = [Path(p) for p in source], None
    if folder is None:
        for p in paths:
            if not p.is_file():
                raise DataError(f"{p}: shard not found")
        if not paths:
            raise DataError(f"{source}: no shards given")
    else:
        paths = sorted(f for f in folder.rglob("*") if f.is_file())
        if not paths:
            raise DataError(f"{folder}: empty folder")
    key = _cache_key(paths, img_size)
    if key in _MEMORY_CACHE:
        return _MEMORY_CACHE[key]
    cache_dir = cache_dir if cache_dir is not None else os.environ.get("MIXPRO_CACHE_DIR")
    cache_file = Path(cache_dir) / f"{key}.npz" if cache_dir else None
    label = str(folder) if folder is not None else ", ".join(str(p) for p in paths)
    if cache_file is not None and cache_file.is_file():
        with np.load(cache_file) as stored:
            arrays = ImageArrays(
                stored["images"], stored["labels"], tuple(stored["classes"].tolist()), label
            )
    else:
        if folder is not None:
            classes, samples = read_image_folder(folder)
        else:
            classes, samples = [], read_shards(paths)
        pixels, labels = [], []
        for img, cls in samples:
            pixels.append(np.asarray(_fit_size(img, img_size), dtype=np.uint8))
            labels.append(cls)
        if not labels:
            raise DataError(f"{label}: no samples found")
        label_array = np.asarray(labels, dtype=np.int64)
        if not classes:
            n = int(label_array.max()) + 1
            classes = list(CIFAR10_CLASSES) if n == 10 else [str(i) for i in range(n)]
        arrays = ImageArrays(np.stack(pixels), label_array, tuple(classes), label)
        if cache_file is not None:
            cache_file.parent.mkdir(parents=True, exist_ok=True)
            tmp = cache_file.with_suffix(f".{os.getpid()}.tmp.npz")
            np.savez(tmp, images=arrays.images, labels=arrays.labels, classes=np.array(classes))
            os.replace(tmp, cache_file)
    _MEMORY_CACHE[key] = arrays
    return arrays


@dataclass(frozen=True)
class DataSources:
    """Where the train and evaluation splits come from (anything ``load_split`` accepts)."""

    train: str | list[str]
    test: str | list[str]


def resolve_sources(
    data: str | None, train: str | None = None, test: str | None = None
) -> DataSources:
    """``--train``/``--test`` win; otherwise ``data`` (default: the CIFAR-10 folder) is either a
    folder of shards named ``*train*`` and ``*test*``/``*val*``, or an ImageFolder root with
    ``train/`` and ``test/`` (or ``val/``) sub-folders."""
    if train and test:
        return DataSources(train, test)
    if train or test:
        raise DataError("give both --train and --test, or neither (then --data is used)")
    root = Path(data) if data else cifar10_dir()
    hint = "" if data else " (set --data, or SHARED_DATA_DIR, or put CIFAR-10 in ../shared/data)"
    if not root.is_dir():
        raise DataError(f"{root}: data folder not found{hint}")
    shards = sorted(p for p in root.iterdir() if _is_shard(p))
    if shards:
        train_shards = [str(p) for p in shards if "train" in p.name]
        test_shards = [str(p) for p in shards if "test" in p.name or "val" in p.name]
        if not train_shards or not test_shards:
            raise DataError(
                f"{root}: expected shards with 'train' and 'test' (or 'val') in their names, "
                f"found {[p.name for p in shards]}"
            )
        return DataSources(train_shards, test_shards)
    for test_name in ("test", "val"):
        if (root / "train").is_dir() and (root / test_name).is_dir():
            return DataSources(str(root / "train"), str(root / test_name))
    raise DataError(
        f"{root}: neither train/test shards (*.tar, *.tar.gz) nor train/ and test/ (or val/) "
        "ImageFolder sub-folders"
    )


def balanced_subset(
    labels: np.ndarray, n: int, num_classes: int, flag: str = "--subset"
) -> np.ndarray:
    """Indices of the first ``n // num_classes`` samples of every class, in file order (the
    remainder goes to the lowest class indices), so a subset is the same on every run."""
    if n < num_classes:
        raise DataError(f"{flag} {n} is smaller than the number of classes ({num_classes})")
    if n > len(labels):
        raise DataError(f"{flag} {n} is larger than the split ({len(labels)} images)")
    chosen: list[np.ndarray] = []
    for cls in range(num_classes):
        want = n // num_classes + (1 if cls < n % num_classes else 0)
        where = np.flatnonzero(labels == cls)
        if len(where) < want:
            raise DataError(f"{flag} {n}: class {cls} has only {len(where)} images, {want} needed")
        chosen.append(where[:want])
    return np.sort(np.concatenate(chosen))


# ----------------------------------------------------------------------------- transforms


def train_transform(
    img_size: int,
    mean: Sequence[float],
    std: Sequence[float],
    randaugment: str | None,
    random_erasing: float,
) -> Callable[[Image.Image], torch.Tensor]:
    """Per-image training augmentation for small images: reflect-padded random crop (4 px at
    32 px), horizontal flip, timm RandAugment (e.g. ``rand-m9-mstd0.5-inc1``), tensor,
    normalisation and timm random erasing."""
    from timm.data.auto_augment import rand_augment_transform
    from timm.data.random_erasing import RandomErasing
    from torchvision import transforms

    steps: list[Callable] = [
        transforms.RandomCrop(img_size, padding=img_size // 8, padding_mode="reflect"),
        transforms.RandomHorizontalFlip(),
    ]
    if randaugment:
        hparams = {
            "translate_const": int(img_size * 0.45),
            "img_mean": tuple(round(255 * m) for m in mean),
            # timm's PosterizeIncreasing asks for 0 bits at magnitude 10, which Pillow >= 12
            # rejects; clipping magnitudes just below 10 keeps 1 bit and changes nothing else.
            "magnitude_max": 9.99,
        }
        try:
            steps.append(rand_augment_transform(randaugment, hparams))
        except (AssertionError, ValueError, KeyError) as exc:
            raise DataError(
                f"--randaugment {randaugment!r}: not a timm RandAugment spec ({exc})"
            ) from None
    steps += [transforms.ToTensor(), transforms.Normalize(mean, std)]
    if random_erasing > 0:
        steps.append(RandomErasing(random_erasing, mode="pixel", device="cpu"))
    return transforms.Compose(steps)


class AugmentedImages(Dataset):
    """Map-style dataset over decoded arrays that applies a PIL transform per image."""

    def __init__(self, arrays: ImageArrays, transform: Callable[[Image.Image], torch.Tensor]):
        self.arrays = arrays
        self.transform = transform

    def __len__(self) -> int:
        return len(self.arrays)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        img = Image.fromarray(self.arrays.images[index])
        return self.transform(img), int(self.arrays.labels[index])


class DeviceBatches:
    """A split held as one uint8 tensor on the training device; yields normalised float batches
    in the order of ``indices``, with optional random crop (reflect padding) and flip drawn on
    the device from ``generator``."""

    def __init__(
        self,
        arrays: ImageArrays,
        device: torch.device,
        mean: Sequence[float],
        std: Sequence[float],
    ):
        self.images = torch.from_numpy(arrays.images).to(device).permute(0, 3, 1, 2).contiguous()
        self.labels = torch.from_numpy(arrays.labels).to(device)
        self.device = device
        self.mean = torch.tensor(mean, device=device).view(1, 3, 1, 1) * 255
        self.std = torch.tensor(std, device=device).view(1, 3, 1, 1) * 255

    def __len__(self) -> int:
        return len(self.labels)

    def batches(
        self,
        indices: torch.Tensor,
        batch_size: int,
        drop_last: bool,
        augment: bool,
        generator: torch.Generator | None = None,
    ) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        indices = indices.to(self.device)
        stop = len(indices) - (len(indices) % batch_size if drop_last else 0)
        for start in range(0, stop, batch_size):
            idx = indices[start : start + batch_size]
            x = self.images[idx].float()
            if augment:
                x = self._crop_flip(x, generator)
            yield (x - self.mean) / self.std, self.labels[idx]

    def _crop_flip(self, x: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
        b, _, h, w = x.shape
        pad = h // 8
        padded = torch.nn.functional.pad(x, (pad, pad, pad, pad), mode="reflect")
        dy = torch.randint(0, 2 * pad + 1, (b, 1), device=x.device, generator=generator)
        dx = torch.randint(0, 2 * pad + 1, (b, 1), device=x.device, generator=generator)
        rows = dy + torch.arange(h, device=x.device)  # (B, H)
        cols = dx + torch.arange(w, device=x.device)  # (B, W)
        flip = torch.rand(b, 1, device=x.device, generator=generator) < 0.5
        cols = torch.where(flip, cols.flip(1), cols)
        batch = torch.arange(b, device=x.device)[:, None, None]
        out = padded.permute(0, 2, 3, 1)[batch, rows[:, :, None], cols[:, None, :]]
        return out.permute(0, 3, 1, 2).contiguous()


def digits_splits(img_size: int = 32, test_per_class: int = 30) -> tuple[ImageArrays, ImageArrays]:
    """scikit-learn's 8×8 handwritten digits (1,797 images, bundled with the package) upsampled
    to ``img_size`` RGB: a stand-in when CIFAR-10 is not on this machine. The last
    ``test_per_class`` images of each class are the test split."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    gray = (digits.images / 16.0 * 255).round().astype(np.uint8)  # (N, 8, 8), 0..16 -> 0..255
    pixels = np.stack(
        [
            np.asarray(Image.fromarray(g).resize((img_size, img_size), Image.Resampling.BICUBIC))
            for g in gray
        ]
    )
    images = np.repeat(pixels[..., None], 3, axis=3)
    labels = digits.target.astype(np.int64)
    test = np.zeros(len(labels), dtype=bool)
    for cls in range(10):
        test[np.flatnonzero(labels == cls)[-test_per_class:]] = True
    classes = tuple(str(c) for c in range(10))
    source = "scikit-learn digits (8×8, upsampled)"
    return (
        ImageArrays(images[~test], labels[~test], classes, source),
        ImageArrays(images[test], labels[test], classes, source),
    )
