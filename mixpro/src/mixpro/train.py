"""One training loop for every ``--aug``: a timm ViT trained from scratch with a DeiT-style
recipe scaled to small images, on one CPU/GPU or many through ``torchrun``.

Per step::

    x, target = mixer(x, y)                       # area target (or smoothed one-hot for none)
    with capture_cls_attention(model, enabled=mixer.needs_attention) as cap:
        logits = model(x)                         # the same forward pass feeds the labels
    target = mixer.relabel(logits, cap.attention) # TransMix / PAL labels
    loss = SoftTargetCrossEntropy(logits, target)

Everything a run needs is a :class:`TrainConfig`; its fields are the command-line flags and the
keys of the YAML config file. A run directory holds ``config.yaml``, ``metrics.jsonl`` (one line
per epoch), ``checkpoint.pt`` (every epoch; ``--resume`` continues from it) and
``summary.json``. With the same seed a resumed run repeats the uninterrupted one bit for bit on
CPU (the checkpoint carries every random state).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
import random
import statistics
import time
from collections.abc import Callable, Iterable, Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, cast

import numpy as np
import torch
import torch.distributed as dist
import yaml
from torch import nn
from torch.utils.data import DataLoader, Dataset, DistributedSampler

from mixpro.data import (
    AugmentedImages,
    DataError,
    DeviceBatches,
    ImageArrays,
    balanced_subset,
    load_split,
    resolve_sources,
    train_transform,
)
from mixpro.labels import smooth_one_hot

AUGS = ("none", "mixup", "cutmix", "transmix", "maskmix", "mixpro")
RECIPES = ("alone", "official")
PIPELINES = ("pil", "tensor")
AMP_MODES = ("auto", "bf16", "fp16", "off")


class ConfigError(ValueError):
    """A bad flag or config-file value; the message names the flag/key (and file)."""


def _option(default: Any, help: str, **argparse_kwargs: Any) -> Any:
    return field(default=default, metadata={"help": help, **argparse_kwargs})


@dataclass
class TrainConfig:
    """Every setting of a training run (flags ``--name-with-dashes``, YAML keys either way)."""

    # data
    data: str | None = _option(
        None,
        "folder with train/test shards (*.tar, *.tar.gz) or ImageFolder train/ and test/ (or "
        "val/) sub-folders; default: the shared CIFAR-10 folder ($SHARED_DATA_DIR/images/cifar10)",
    )
    train: str | None = _option(
        None, "train split (shard, glob, {a..b} range or ImageFolder root); use with --test"
    )
    test: str | None = _option(None, "test split, as --train")
    subset: int | None = _option(None, "class-balanced subset of the train split (N images)")
    test_subset: int | None = _option(None, "class-balanced subset of the test split")
    img_size: int = _option(32, "image side in pixels (images of another size are resized)")
    cache_dir: str | None = _option(
        None, "keep decoded splits as .npz here for other processes (default $MIXPRO_CACHE_DIR)"
    )
    # model
    model: str = _option("vit_cifar_d128_l6", "timm model name (vit_cifar_* are 32×32, patch 4)")
    drop_path: float = _option(0.1, "stochastic depth rate")
    # mixing
    aug: str = _option("none", "mixing method", choices=AUGS)
    mix_recipe: str = _option(
        "official",
        "alone: each method on every batch; official: TransMix on timm's Mixup/CutMix switch, "
        "MaskMix/MixPro on half the batches and Mixup/CutMix on the rest (as the papers' code)",
        choices=RECIPES,
    )
    mixup_alpha: float = _option(0.8, "Beta α of Mixup")
    cutmix_alpha: float = _option(1.0, "Beta α of CutMix and TransMix boxes")
    switch_prob: float = _option(0.5, "P(CutMix) when Mixup and CutMix alternate (official)")
    maskmix_alpha: float = _option(1.0, "Beta α of the MaskMix ratio")
    maskmix_prob: float = _option(0.5, "share of MaskMix batches in the official MixPro recipe")
    mask_size: int = _option(8, "MaskMix cell side in pixels (a multiple of the patch size)")
    # recipe
    epochs: int = _option(30, "epochs (the cosine schedule spans all of them)")
    batch_size: int = _option(128, "batch size per process")
    lr: float = _option(1e-3, "peak learning rate (AdamW), used as given")
    min_lr: float = _option(1e-5, "final learning rate of the cosine schedule")
    warmup_lr: float = _option(1e-6, "learning rate at the start of the warmup")
    warmup_epochs: float = _option(3.0, "linear warmup in epochs (at most half the run)")
    weight_decay: float = _option(0.05, "AdamW weight decay (not on biases, norms, embeddings)")
    label_smoothing: float = _option(0.1, "label smoothing of the targets")
    clip_grad: float | None = _option(5.0, "gradient-norm clipping (0 or none: off)")
    randaugment: str | None = _option(
        "rand-m9-mstd0.5-inc1", "timm RandAugment spec for the pil pipeline ('' or none: off)"
    )
    random_erasing: float = _option(0.0, "timm random-erasing probability (pil pipeline)")
    # execution
    seed: int = _option(0, "seed of initialisation, data order and augmentation")
    device: str = _option("auto", "auto, cpu, cuda or cuda:N (torchrun: the local rank's GPU)")
    amp: str = _option("auto", "autocast: auto (bf16 on CUDA, off on CPU)", choices=AMP_MODES)
    pipeline: str = _option(
        "pil",
        "pil: per-image timm augmentation in a DataLoader; tensor: data on the device, batched "
        "crop/flip there (no RandAugment; for GPUs)",
        choices=PIPELINES,
    )
    workers: int = _option(0, "DataLoader worker processes (pil pipeline)")
    threads: int | None = _option(None, "torch CPU threads (default: torch's choice)")
    out: str = _option("runs/train", "run directory (metrics.jsonl, checkpoint.pt, summary.json)")
    resume: bool = _option(False, "continue the run in --out from its checkpoint")
    stop_after: int | None = _option(
        None, "stop after this many epochs in this call (the schedule still spans --epochs)"
    )
    progress: bool = _option(True, "show a progress bar")


#: Fields that may differ between a checkpoint and the run that resumes it.
RESUME_FREE_FIELDS = frozenset(
    {"resume", "stop_after", "progress", "workers", "threads", "out", "cache_dir", "device"}
    | {"data", "train", "test"}
)

_FIELD_TYPES = {
    "str": str,
    "int": int,
    "float": float,
    "bool": bool,
    "str | None": str,
    "int | None": int,
    "float | None": float,
}


def _field_type(f: dataclasses.Field) -> type:
    return _FIELD_TYPES[str(f.type)]


def _optional(f: dataclasses.Field) -> bool:
    return str(f.type).endswith("| None")


def add_arguments(parser: argparse.ArgumentParser, exclude: Sequence[str] = ()) -> None:
    """Add ``--config`` and one flag per :class:`TrainConfig` field (minus ``exclude``). Flags
    default to ``argparse.SUPPRESS`` so that :func:`config_from_args` can tell given flags from
    defaults (a flag beats the config file, which beats the built-in default)."""
    if "config" not in exclude:
        parser.add_argument(
            "--config", metavar="YAML", help="YAML file whose keys are these flags' names"
        )
    for f in fields(TrainConfig):
        if f.name in exclude:
            continue
        flag = "--" + f.name.replace("_", "-")
        help_text = f"{f.metadata['help']} (default: {f.default})"
        kind = _field_type(f)
        if kind is bool:
            parser.add_argument(
                flag,
                action=argparse.BooleanOptionalAction,
                default=argparse.SUPPRESS,
                help=help_text,
            )
        else:
            parser.add_argument(
                flag,
                type=_none_or(kind) if _optional(f) else kind,
                default=argparse.SUPPRESS,
                choices=f.metadata.get("choices"),
                metavar=None if f.metadata.get("choices") else f.name.upper(),
                help=help_text,
            )


def _none_or(kind: type):
    def parse(text: str):
        if text.strip().lower() in ("", "none", "null"):
            return None
        return kind(text)

    parse.__name__ = kind.__name__
    return parse


def load_config_file(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read a YAML mapping of TrainConfig keys (``batch_size`` or ``batch-size``), type-checked."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: config file not found")
    try:
        raw = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML ({exc})") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: expected a mapping of option: value, got {type(raw).__name__}")
    by_name = {f.name: f for f in fields(TrainConfig)}
    values: dict[str, Any] = {}
    for key, value in raw.items():
        name = str(key).replace("-", "_")
        if name not in by_name:
            raise ConfigError(
                f"{path}: unknown key {key!r}; valid keys: {', '.join(sorted(by_name))}"
            )
        f = by_name[name]
        kind = _field_type(f)
        if value is None and _optional(f):
            values[name] = None
            continue
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise ConfigError(
                f"{path}: key {key!r} must be {f.type}, got {value!r} ({type(value).__name__})"
            )
        choices = f.metadata.get("choices")
        if choices and value not in choices:
            raise ConfigError(f"{path}: key {key!r} must be one of {choices}, got {value!r}")
        values[name] = value
    return values


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    """Merge built-in defaults < ``--config`` file < explicitly given flags."""
    values = load_config_file(args.config) if getattr(args, "config", None) else {}
    for f in fields(TrainConfig):
        if hasattr(args, f.name):
            values[f.name] = getattr(args, f.name)
    config = TrainConfig(**values)
    validate(config)
    return config


def validate(config: TrainConfig) -> None:
    """Reject values that cannot work, naming the flag."""
    checks = [
        (config.epochs >= 1, "--epochs must be >= 1"),
        (config.batch_size >= 2, "--batch-size must be >= 2"),
        (config.lr > 0, "--lr must be > 0"),
        (config.min_lr >= 0 and config.warmup_lr >= 0, "--min-lr/--warmup-lr must be >= 0"),
        (config.warmup_epochs >= 0, "--warmup-epochs must be >= 0"),
        (config.weight_decay >= 0, "--weight-decay must be >= 0"),
        (0 <= config.label_smoothing < 1, "--label-smoothing must lie in [0, 1)"),
        (0 <= config.drop_path < 1, "--drop-path must lie in [0, 1)"),
        (0 <= config.random_erasing <= 1, "--random-erasing must lie in [0, 1]"),
        (0 <= config.switch_prob <= 1, "--switch-prob must lie in [0, 1]"),
        (0 <= config.maskmix_prob <= 1, "--maskmix-prob must lie in [0, 1]"),
        (config.mixup_alpha > 0 and config.cutmix_alpha > 0, "mixing alphas must be > 0"),
        (config.maskmix_alpha > 0, "--maskmix-alpha must be > 0"),
        (config.mask_size > 0, "--mask-size must be > 0"),
        (config.img_size >= 8, "--img-size must be >= 8"),
        (config.workers >= 0, "--workers must be >= 0"),
        (config.subset is None or config.subset > 0, "--subset must be > 0"),
        (config.test_subset is None or config.test_subset > 0, "--test-subset must be > 0"),
        (config.stop_after is None or config.stop_after > 0, "--stop-after must be > 0"),
        (config.threads is None or config.threads > 0, "--threads must be > 0"),
        (config.clip_grad is None or config.clip_grad >= 0, "--clip-grad must be >= 0"),
    ]
    for ok, message in checks:
        if not ok:
            raise ConfigError(message)
    # The CLI and config files check choices already; a TrainConfig built in Python does not
    # pass through them (a misspelled --aug would otherwise build some other mixer).
    for f in fields(TrainConfig):
        choices = f.metadata.get("choices")
        value = getattr(config, f.name)
        if choices is not None and value not in choices:
            flag = "--" + f.name.replace("_", "-")
            raise ConfigError(f"{flag} {value!r}: must be one of {', '.join(choices)}")
    if config.aug != "none" and config.batch_size % 2:
        raise ConfigError(
            f"--batch-size {config.batch_size}: mixing pairs sample i with B-1-i, use an even size"
        )
    if config.device not in ("auto", "cpu") and not config.device.startswith("cuda"):
        raise ConfigError(f"--device {config.device!r}: use auto, cpu, cuda or cuda:N")
    if config.device.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError(f"--device {config.device}: CUDA is not available on this machine")


# ----------------------------------------------------------------------------- building blocks


def check_model_name(name: str) -> None:
    import timm

    import mixpro.models  # noqa: F401  (registers the vit_cifar_* names)

    if name not in timm.list_models():
        small = ", ".join(sorted(mixpro.models.ARCHITECTURES))
        raise ConfigError(f"--model {name!r}: not a timm model name; the 32×32 ViTs are: {small}")


def build_model(config: TrainConfig, num_classes: int) -> nn.Module:
    import timm

    check_model_name(config.model)
    kwargs: dict[str, Any] = {"num_classes": num_classes, "drop_path_rate": config.drop_path}
    if config.model.startswith(("vit", "deit")):
        kwargs["img_size"] = config.img_size
    try:
        return timm.create_model(config.model, **kwargs)
    except (TypeError, ValueError, AssertionError) as exc:
        raise ConfigError(f"--model {config.model}: cannot be built here ({exc})") from None


def weight_decay_groups(model: nn.Module, weight_decay: float) -> list[dict[str, Any]]:
    """AdamW parameter groups as DeiT/timm use them: no decay on biases, norms (1-D tensors)
    and the names in ``model.no_weight_decay()`` (position embedding, class token)."""
    skip: set[str] = set()
    if hasattr(model, "no_weight_decay"):  # timm's method, which nn.Module's typing cannot see
        skip = set(cast("Callable[[], Iterable[str]]", model.no_weight_decay)())
    decay: list[nn.Parameter] = []
    no_decay: list[nn.Parameter] = []
    for name, param in model.named_parameters():
        if not param.requires_grad:
            continue
        (no_decay if param.ndim <= 1 or name in skip else decay).append(param)
    return [
        {"params": no_decay, "weight_decay": 0.0},
        {"params": decay, "weight_decay": weight_decay},
    ]


def model_patch_size(model: nn.Module) -> int | None:
    embed = getattr(model, "patch_embed", None)
    size = getattr(embed, "patch_size", None)
    if size is None:
        return None
    return int(size[0] if isinstance(size, Sequence) else size)


def build_mixer(config: TrainConfig, num_classes: int, patch_size: int | None):
    """The mixer for ``config.aug`` (None for ``none``). See ``--mix-recipe``."""
    from mixpro import ClassicMix, MaskMix, MixPro, MixSchedule, TransMix

    if config.aug == "none":
        return None
    if config.aug in ("transmix", "maskmix", "mixpro") and patch_size is None:
        raise ConfigError(f"--aug {config.aug} needs a ViT with a patch embedding")
    smoothing = config.label_smoothing
    official = config.mix_recipe == "official"
    try:
        if config.aug == "mixup":
            return ClassicMix(
                num_classes, config.mixup_alpha, 0.0, label_smoothing=smoothing,
                patch_size=patch_size,
            )  # fmt: skip
        if config.aug == "cutmix":
            return ClassicMix(
                num_classes, 0.0, config.cutmix_alpha, label_smoothing=smoothing,
                patch_size=patch_size,
            )  # fmt: skip
        assert patch_size is not None  # refused above for transmix, maskmix and mixpro
        if config.aug == "transmix":
            return TransMix(
                num_classes,
                patch_size,
                mixup_alpha=config.mixup_alpha if official else 0.0,
                cutmix_alpha=config.cutmix_alpha,
                switch_prob=config.switch_prob,
                label_smoothing=smoothing,
            )
        mask_type = MixPro if config.aug == "mixpro" else MaskMix
        masker = mask_type(
            num_classes,
            patch_size,
            config.mask_size,
            alpha=config.maskmix_alpha,
            label_smoothing=smoothing,
            img_size=config.img_size,
        )
        if not official:
            return masker
        classic = ClassicMix(
            num_classes,
            config.mixup_alpha,
            config.cutmix_alpha,
            switch_prob=config.switch_prob,
            label_smoothing=smoothing,
            patch_size=patch_size,
        )
        return MixSchedule(masker, classic, maskmix_prob=config.maskmix_prob)
    except ValueError as exc:
        raise ConfigError(f"--aug {config.aug}: {exc}") from None


@dataclass
class Distributed:
    """Where this process sits: rank / world size under torchrun, else 0 / 1."""

    rank: int
    world_size: int
    device: torch.device

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1


def setup_distributed(device_flag: str) -> Distributed:
    """Join the torchrun process group (nccl on GPUs, gloo on CPU) when WORLD_SIZE > 1."""
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    use_cuda = device_flag.startswith("cuda") or (
        device_flag == "auto" and torch.cuda.is_available()
    )
    if use_cuda:
        if world_size > 1 or device_flag in ("auto", "cuda"):
            device = torch.device("cuda", local_rank % torch.cuda.device_count())
        else:
            device = torch.device(device_flag)
        torch.cuda.set_device(device)
    else:
        device = torch.device("cpu")
    if world_size > 1 and not dist.is_initialized():
        dist.init_process_group(backend="nccl" if use_cuda else "gloo")
    return Distributed(rank, world_size, device)


def _all_reduce_sum(values: list[float], ctx: Distributed) -> list[float]:
    if not ctx.enabled:
        return values
    tensor = torch.tensor(values, dtype=torch.float64, device=ctx.device)
    dist.all_reduce(tensor)
    return tensor.tolist()


def _rng_state(device: torch.device) -> dict[str, Any]:
    state = {
        "python": random.getstate(),
        "numpy": np.random.get_state(),
        "torch": torch.get_rng_state(),
    }
    if device.type == "cuda":
        state["cuda"] = torch.cuda.get_rng_state(device)
    return state


def _set_rng_state(state: dict[str, Any], device: torch.device) -> None:
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])
    if device.type == "cuda" and "cuda" in state:
        torch.cuda.set_rng_state(state["cuda"], device)


def _seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def _autocast_dtype(config: TrainConfig, device: torch.device) -> torch.dtype | None:
    if config.amp == "off" or (config.amp == "auto" and device.type != "cuda"):
        return None
    if config.amp == "fp16":
        return torch.float16
    return torch.bfloat16


# ----------------------------------------------------------------------------- data


@dataclass
class Splits:
    train: ImageArrays
    test: ImageArrays


def load_splits(config: TrainConfig) -> Splits:
    """Decode (or take from cache) the train/test splits and apply the balanced subsets."""
    sources = resolve_sources(config.data, config.train, config.test)
    train = load_split(sources.train, config.img_size, config.cache_dir)
    test = load_split(sources.test, config.img_size, config.cache_dir)
    return _subsets(config, Splits(train, test))


def _subsets(config: TrainConfig, splits: Splits) -> Splits:
    train, test = splits.train, splits.test
    if int(test.labels.max()) >= train.num_classes:
        raise DataError(
            f"{test.source}: test labels go up to {int(test.labels.max())} but the train split "
            f"has {train.num_classes} classes"
        )
    if config.subset:
        train = train.take(balanced_subset(train.labels, config.subset, train.num_classes))
    if config.test_subset:
        test = test.take(
            balanced_subset(test.labels, config.test_subset, train.num_classes, "--test-subset")
        )
    if len(train) < config.batch_size:
        raise ConfigError(
            f"--batch-size {config.batch_size} is larger than the train split ({len(train)} images)"
        )
    return Splits(train, test)


# ----------------------------------------------------------------------------- the loop


class RelabelStats:
    """Per-epoch means of how far attention labels moved λ from the area ratio (TransMix, PAL)
    and of PAL's progressive factor α; kept as device tensors so a GPU step never syncs."""

    def __init__(self, device: torch.device) -> None:
        self.shift = torch.zeros((), dtype=torch.float64, device=device)
        self.factor = torch.zeros((), dtype=torch.float64, device=device)
        self.batches = 0
        self.factor_batches = 0

    def add(self, mixer) -> None:
        active = getattr(mixer, "active", mixer)
        final = getattr(active, "lam_pal", None)
        if final is None:
            final = getattr(active, "lam_transmix", None)
        if final is None or getattr(active, "lam", None) is None:
            return
        self.shift += (final.detach().double() - active.lam.double()).abs().mean()
        self.batches += 1
        factor = getattr(active, "factor", None)
        if factor is not None:
            self.factor += factor.detach().double().mean()
            self.factor_batches += 1

    def summary(self) -> dict[str, float]:
        out: dict[str, float] = {}
        if self.batches:
            out["relabel_shift"] = float(self.shift) / self.batches
            out["relabeled_batches"] = self.batches
        if self.factor_batches:
            out["pal_factor"] = float(self.factor) / self.factor_batches
        return out


def evaluate(
    model: nn.Module,
    batches: DeviceBatches,
    batch_size: int,
    ctx: Distributed,
    autocast_dtype: torch.dtype | None,
    channels_last: bool,
) -> tuple[float, float, int]:
    """(mean cross-entropy, top-1 accuracy, images) on the whole split, sharded over ranks."""
    model.eval()
    indices = torch.arange(ctx.rank, len(batches), ctx.world_size)
    loss_sum = torch.zeros((), dtype=torch.float64, device=ctx.device)
    correct = torch.zeros((), dtype=torch.float64, device=ctx.device)
    amp = _autocast(ctx.device, autocast_dtype)
    with torch.inference_mode():
        for x, y in batches.batches(indices, batch_size, drop_last=False, augment=False):
            if channels_last:
                x = x.contiguous(memory_format=torch.channels_last)
            with amp:
                logits = model(x)
            loss_sum += nn.functional.cross_entropy(logits.float(), y, reduction="sum")
            correct += (logits.argmax(dim=1) == y).sum()
    loss, right, count = _all_reduce_sum([float(loss_sum), float(correct), len(indices)], ctx)
    model.train()
    return loss / count, right / count, int(count)


def _autocast(device: torch.device, dtype: torch.dtype | None):
    if dtype is None:
        return nullcontext()
    return torch.autocast(device_type=device.type, dtype=dtype)


def _read_metrics(path: Path) -> list[dict[str, Any]]:
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _config_differences(saved: dict[str, Any], config: TrainConfig) -> list[str]:
    current = dataclasses.asdict(config)
    return [
        f"{key}: checkpoint {saved.get(key)!r} vs now {current[key]!r}"
        for key in current
        if key not in RESUME_FREE_FIELDS and saved.get(key) != current[key]
    ]


class Trainer:
    """One run's model, mixer, optimizer, schedule and batch sources on this process."""

    def __init__(self, config: TrainConfig, splits: Splits, ctx: Distributed) -> None:
        from timm.loss import SoftTargetCrossEntropy
        from timm.scheduler import CosineLRScheduler

        self.config, self.splits, self.ctx = config, splits, ctx
        self.num_classes = splits.train.num_classes
        _seed_everything(config.seed)  # same initial weights on every rank and for every --aug
        model = build_model(config, self.num_classes)
        self.mixer = build_mixer(config, self.num_classes, model_patch_size(model))
        pretrained_cfg = cast("dict[str, Any]", model.pretrained_cfg)  # timm sets this dict
        mean = pretrained_cfg.get("mean", (0.485, 0.456, 0.406))
        std = pretrained_cfg.get("std", (0.229, 0.224, 0.225))
        self.channels_last = ctx.device.type == "cuda"
        model.to(ctx.device)
        if self.channels_last:
            model.to(memory_format=torch.channels_last)
        self.bare_model = model
        self.model: nn.Module = model
        if ctx.enabled:
            device_ids = [ctx.device.index] if ctx.device.type == "cuda" else None
            self.model = nn.parallel.DistributedDataParallel(model, device_ids=device_ids)
        self.optimizer = torch.optim.AdamW(
            weight_decay_groups(model, config.weight_decay),
            lr=config.lr,
            betas=(0.9, 0.999),
            eps=1e-8,
            fused=ctx.device.type == "cuda",
        )
        self.autocast_dtype = _autocast_dtype(config, ctx.device)
        self.scaler = torch.amp.GradScaler("cuda", enabled=self.autocast_dtype is torch.float16)
        self.criterion = SoftTargetCrossEntropy()
        # Samples indices only: a range stands in for the dataset, whose len() is all it reads.
        self.sampler: DistributedSampler[int] = DistributedSampler(
            cast("Dataset[int]", range(len(splits.train))),
            num_replicas=ctx.world_size,
            rank=ctx.rank,
            shuffle=True,
            seed=config.seed,
        )
        self.steps_per_epoch = len(self.sampler) // config.batch_size
        total_steps = self.steps_per_epoch * config.epochs
        # A warmup longer than half the run (tiny test runs) would leave no schedule to anneal.
        warmup_steps = min(round(config.warmup_epochs * self.steps_per_epoch), total_steps // 2)
        self.scheduler = CosineLRScheduler(
            self.optimizer,
            t_initial=max(1, total_steps - warmup_steps),
            lr_min=config.min_lr,
            warmup_t=warmup_steps,
            warmup_lr_init=config.warmup_lr,
            warmup_prefix=True,
            t_in_epochs=False,
        )
        self.loader: DataLoader | None = None
        self.device_train: DeviceBatches | None = None
        if config.pipeline == "pil":
            transform = train_transform(
                config.img_size, mean, std, config.randaugment or None, config.random_erasing
            )
            self.loader = DataLoader(
                AugmentedImages(splits.train, transform),
                batch_size=config.batch_size,
                sampler=self.sampler,
                drop_last=True,
                num_workers=config.workers,
                pin_memory=ctx.device.type == "cuda",
                persistent_workers=config.workers > 0,
            )
        else:
            self.device_train = DeviceBatches(splits.train, ctx.device, mean, std)
        self.device_test = DeviceBatches(splits.test, ctx.device, mean, std)
        self.best_acc = 0.0

    # -- checkpoints

    def state(self, epoch: int) -> dict[str, Any]:
        """Everything needed to continue bit for bit; gathers every rank's random state."""
        rng_states: list[Any] = [_rng_state(self.ctx.device)]
        if self.ctx.enabled:
            rng_states = [None] * self.ctx.world_size
            dist.all_gather_object(rng_states, _rng_state(self.ctx.device))
        return {
            "model": self.bare_model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scaler": self.scaler.state_dict(),
            "epoch": epoch,
            "best_acc": self.best_acc,
            "rng": rng_states,
            "config": dataclasses.asdict(self.config),
        }

    def restore(self, path: Path) -> int:
        """Load a checkpoint written with the same settings; return the epochs it holds."""
        state = torch.load(path, map_location="cpu", weights_only=False)
        differences = _config_differences(state["config"], self.config)
        if differences:
            raise ConfigError(
                f"--resume: {path} was written with other settings: " + "; ".join(differences)
            )
        self.bare_model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.scaler.load_state_dict(state["scaler"])
        self.best_acc = state["best_acc"]
        rng_states = state["rng"]
        if len(rng_states) == self.ctx.world_size:
            _set_rng_state(rng_states[self.ctx.rank], self.ctx.device)
        else:  # another world size: continue with fresh, still seeded, random streams
            _seed_everything(self.config.seed + 7919 * (state["epoch"] + 1) + self.ctx.rank)
        return state["epoch"]

    # -- training

    def _batches(self, epoch: int):
        self.sampler.set_epoch(epoch)
        if self.loader is not None:
            return iter(self.loader)
        assert self.device_train is not None  # __init__ builds the loader or the device batches
        generator = torch.Generator(device=self.ctx.device)
        generator.manual_seed(self.config.seed * 1_000_003 + epoch * 1009 + self.ctx.rank)
        indices = torch.tensor(list(iter(self.sampler)), dtype=torch.long)
        return self.device_train.batches(
            indices, self.config.batch_size, drop_last=True, augment=True, generator=generator
        )

    def step(
        self, x: torch.Tensor, y: torch.Tensor, pal_stats: RelabelStats
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Mix, forward (capturing attention when the mixer relabels), relabel, update."""
        config, mixer = self.config, self.mixer
        x = x.to(self.ctx.device, non_blocking=True)
        y = y.to(self.ctx.device, non_blocking=True)
        if mixer is None:
            target = smooth_one_hot(y, self.num_classes, config.label_smoothing)
        else:
            x, target = mixer(x, y)
        if self.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        with _autocast(self.ctx.device, self.autocast_dtype):
            if mixer is not None and mixer.needs_attention:
                from mixpro import capture_cls_attention

                with capture_cls_attention(self.bare_model) as capture:
                    logits = self.model(x)
                target = mixer.relabel(logits, capture.attention)
                pal_stats.add(mixer)
            else:
                logits = self.model(x)
            loss = self.criterion(logits.float(), target)
        self.optimizer.zero_grad(set_to_none=True)
        self.scaler.scale(loss).backward()
        if config.clip_grad:
            self.scaler.unscale_(self.optimizer)
            nn.utils.clip_grad_norm_(self.bare_model.parameters(), config.clip_grad)
        self.scaler.step(self.optimizer)
        self.scaler.update()
        return loss.detach(), logits.detach(), target

    def train_epoch(self, epoch: int) -> dict[str, Any]:
        """One pass over the train split; metrics summed over ranks."""
        from tqdm import tqdm

        config, ctx = self.config, self.ctx
        self.model.train()
        bar = tqdm(
            total=self.steps_per_epoch,
            desc=f"epoch {epoch + 1}/{config.epochs} [{config.aug}]",
            disable=not (config.progress and ctx.is_main),
            leave=False,
            dynamic_ncols=True,
        )
        loss_sum = torch.zeros((), dtype=torch.float64, device=ctx.device)
        agree = torch.zeros((), dtype=torch.float64, device=ctx.device)
        seen = 0
        pal_stats = RelabelStats(ctx.device)
        started, started_at = time.perf_counter(), time.time()
        for step_in_epoch, (x, y) in enumerate(self._batches(epoch)):
            self.scheduler.step_update(epoch * self.steps_per_epoch + step_in_epoch)
            loss, logits, target = self.step(x, y, pal_stats)
            seen += logits.shape[0]
            loss_sum += loss.double() * logits.shape[0]
            agree += (logits.argmax(1) == target.argmax(1)).sum()
            if not bar.disable and (step_in_epoch % 10 == 0 or step_in_epoch == len(bar) - 1):
                elapsed = max(time.perf_counter() - started, 1e-9)
                bar.set_postfix(
                    loss=f"{float(loss_sum) / seen:.3f}",
                    acc=f"{float(agree) / seen:.3f}",
                    img_s=f"{seen * ctx.world_size / elapsed:.0f}",
                    refresh=False,
                )
            bar.update(1)
        if ctx.device.type == "cuda":
            torch.cuda.synchronize(ctx.device)
        train_time = time.perf_counter() - started
        bar.close()
        total_loss, total_agree, total_seen = _all_reduce_sum(
            [float(loss_sum), float(agree), seen], ctx
        )
        return {
            "lr": self.optimizer.param_groups[0]["lr"],
            "train_loss": total_loss / total_seen,
            "train_acc": total_agree / total_seen,
            "train_time_s": train_time,
            "img_per_s": total_seen / train_time,
            "train_images": int(total_seen),
            "started_at": started_at,
            **pal_stats.summary(),
        }

    def evaluate(self) -> tuple[float, float, int, float]:
        """(test loss, test top-1, test images, seconds)."""
        started = time.perf_counter()
        loss, acc, count = evaluate(
            self.model,
            self.device_test,
            self.config.batch_size * 2,
            self.ctx,
            self.autocast_dtype,
            self.channels_last,
        )
        self.best_acc = max(self.best_acc, acc)
        return loss, acc, count, time.perf_counter() - started


def _check_run_folder(config: TrainConfig) -> Path:
    out = Path(config.out)
    checkpoint = out / "checkpoint.pt"
    if config.resume and not checkpoint.is_file():
        raise ConfigError(f"--resume: no checkpoint at {checkpoint}")
    if not config.resume and checkpoint.exists():
        raise ConfigError(
            f"{out} already holds a run (checkpoint.pt); pass --resume to continue it or choose "
            "another --out"
        )
    return out


def train(config: TrainConfig, splits: Splits | None = None) -> dict[str, Any]:
    """Run (or resume) training; return the summary written to ``summary.json`` (rank 0)."""
    from tqdm import tqdm

    validate(config)
    out = _check_run_folder(config)
    check_model_name(config.model)
    if config.threads:
        torch.set_num_threads(config.threads)
    ctx = setup_distributed(config.device)
    splits = _subsets(config, splits) if splits is not None else load_splits(config)
    trainer = Trainer(config, splits, ctx)
    checkpoint_path, metrics_path = out / "checkpoint.pt", out / "metrics.jsonl"
    start_epoch = 0
    if config.resume:
        start_epoch = trainer.restore(checkpoint_path)
    else:
        _seed_everything(config.seed + ctx.rank)
    if ctx.is_main:
        out.mkdir(parents=True, exist_ok=True)
        # keep only the epochs the checkpoint holds (a crash may leave one more line)
        kept = [m for m in _read_metrics(metrics_path) if m["epoch"] <= start_epoch]
        metrics_path.write_text("".join(json.dumps(m) + "\n" for m in kept))
        (out / "config.yaml").write_text(
            yaml.safe_dump(dataclasses.asdict(config), sort_keys=False)
        )
    end_epoch = config.epochs
    if config.stop_after:
        end_epoch = min(config.epochs, start_epoch + config.stop_after)
    for epoch in range(start_epoch, end_epoch):
        record: dict[str, Any] = {"epoch": epoch + 1, "aug": config.aug, "seed": config.seed}
        record.update(trainer.train_epoch(epoch))
        test_loss, test_acc, test_images, eval_time = trainer.evaluate()
        record.update(
            test_loss=test_loss,
            test_acc=test_acc,
            test_images=test_images,
            eval_time_s=eval_time,
            world_size=ctx.world_size,
            ended_at=time.time(),
        )
        state = trainer.state(epoch + 1)  # collective under DDP: every rank takes part
        if ctx.is_main:
            with metrics_path.open("a") as handle:
                handle.write(json.dumps(record) + "\n")
            tmp = checkpoint_path.with_suffix(".pt.tmp")
            torch.save(state, tmp)
            os.replace(tmp, checkpoint_path)
            if config.progress:
                tqdm.write(
                    f"epoch {epoch + 1:>3}/{config.epochs} [{config.aug}] "
                    f"loss {record['train_loss']:.3f} train-acc {record['train_acc']:.3f} "
                    f"test-acc {test_acc:.4f} ({record['img_per_s']:.0f} img/s)"
                )
    summary = _write_summary(config, out, splits, ctx) if ctx.is_main else {}
    if ctx.enabled:
        dist.barrier()
        dist.destroy_process_group()
    return summary


def _write_summary(
    config: TrainConfig, out: Path, splits: Splits, ctx: Distributed
) -> dict[str, Any]:
    history = _read_metrics(out / "metrics.jsonl")
    summary = {
        "aug": config.aug,
        "seed": config.seed,
        "model": config.model,
        "epochs_done": history[-1]["epoch"] if history else 0,
        "epochs": config.epochs,
        "final_test_acc": history[-1]["test_acc"] if history else math.nan,
        "best_test_acc": max((m["test_acc"] for m in history), default=math.nan),
        "mean_train_time_s": statistics.fmean(m["train_time_s"] for m in history)
        if history
        else math.nan,
        "train_images": len(splits.train),
        "test_images": len(splits.test),
        "world_size": ctx.world_size,
    }
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    return summary
