"""The embedded model on disk: a folder any machine can load offline.

Layout::

    config.json               truncation policy, head config, thresholds (picked on a dev
                              split), score calibration, encoder name + signature, training
                              record, dev metrics
    heads.safetensors         the four heads (fp32, well under 1 MB)
    encoder_delta.safetensors the fine-tuned encoder tensors only, fp16 (absent when the
                              encoder was frozen); applied over the packaged MiniLM
    MODEL_CARD.md             data table, training command, dev metrics, benchmark numbers

Weights are a **delta over the packaged encoder**, so the repo never holds a copy of MiniLM
and every file stays under :data:`MAX_FILE_BYTES`.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from oneguard.model.calibration import PlattScaling
from oneguard.model.classifier import ModerationModel
from oneguard.model.encoder import (
    ENCODER_NAME,
    encoder_signature,
    load_encoder,
    load_tokenizer,
)
from oneguard.model.heads import HeadConfig
from oneguard.model.truncation import TruncationPolicy
from oneguard.schema import TASKS

FORMAT = "oneguard-embedded"
FORMAT_VERSION = 1
CONFIG_FILE = "config.json"
HEADS_FILE = "heads.safetensors"
DELTA_FILE = "encoder_delta.safetensors"
CARD_FILE = "MODEL_CARD.md"
#: Every weight file must stay below this (the repository's limit for a committed file).
MAX_FILE_BYTES = 50 * 1024 * 1024


class ArtifactError(ValueError):
    """An artifact folder that cannot be loaded; the message names the file at fault."""


def _known_task(task: str) -> bool:
    if task not in TASKS:
        raise ValueError(f"calibration for unknown task {task!r}")
    return True


@dataclass
class ArtifactConfig:
    truncation: TruncationPolicy
    heads: HeadConfig
    #: Decision thresholds per binary task (keys of :data:`oneguard.schema.TASKS`).
    thresholds: dict[str, float]
    encoder_signature: dict[str, Any]
    encoder_name: str = ENCODER_NAME
    #: Encoder tensors stored in the delta file (empty: the encoder is the packaged one).
    delta_tensors: list[str] = field(default_factory=list)
    #: How the model was trained: command, seed, data table, steps, timings.
    training: dict[str, Any] = field(default_factory=dict)
    #: Metrics on the dev split, per task, at the stored thresholds.
    dev_metrics: dict[str, Any] = field(default_factory=dict)
    #: Platt scaling per binary task, applied to the heads' probabilities before thresholds
    #: (which are stored calibrated); a task without one reports raw probabilities.
    calibration: dict[str, PlattScaling] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "encoder": {"name": self.encoder_name, "signature": self.encoder_signature},
            "truncation": self.truncation.to_dict(),
            "heads": self.heads.to_dict(),
            "thresholds": self.thresholds,
            "delta_tensors": self.delta_tensors,
            "training": self.training,
            "dev_metrics": self.dev_metrics,
            **(
                {"calibration": {t: c.to_dict() for t, c in self.calibration.items()}}
                if self.calibration
                else {}
            ),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any], where: str = CONFIG_FILE) -> ArtifactConfig:
        if data.get("format") != FORMAT:
            raise ArtifactError(f"{where}: not a {FORMAT} artifact (format={data.get('format')!r})")
        if data.get("format_version") != FORMAT_VERSION:
            raise ArtifactError(
                f"{where}: format_version {data.get('format_version')!r} is not supported "
                f"(this oneguard reads {FORMAT_VERSION})"
            )
        try:
            thresholds = {task: float(data["thresholds"][task]) for task in TASKS}
            return cls(
                truncation=TruncationPolicy.from_dict(data["truncation"]),
                heads=HeadConfig.from_dict(data["heads"]),
                thresholds=thresholds,
                encoder_signature=dict(data["encoder"]["signature"]),
                encoder_name=str(data["encoder"]["name"]),
                delta_tensors=list(data.get("delta_tensors", [])),
                training=dict(data.get("training", {})),
                dev_metrics=dict(data.get("dev_metrics", {})),
                calibration={
                    task: PlattScaling.from_dict(value)
                    for task, value in dict(data.get("calibration", {})).items()
                    if _known_task(task)
                },
            )
        except KeyError as exc:
            raise ArtifactError(f"{where}: missing field {exc}") from None
        except (TypeError, ValueError) as exc:
            raise ArtifactError(f"{where}: {exc}") from None

    @classmethod
    def read(cls, folder: str | os.PathLike[str]) -> ArtifactConfig:
        path = Path(folder) / CONFIG_FILE
        if not path.is_file():
            raise ArtifactError(f"{folder}: no {CONFIG_FILE}; not a oneguard model folder")
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise ArtifactError(f"{path}: invalid JSON: {exc}") from None
        return cls.from_dict(data, where=str(path))

    def write(self, folder: str | os.PathLike[str]) -> Path:
        path = Path(folder) / CONFIG_FILE
        path.write_text(json.dumps(self.to_dict(), indent=2, sort_keys=False) + "\n", "utf-8")
        return path


def is_artifact(folder: str | os.PathLike[str]) -> bool:
    return (Path(folder) / CONFIG_FILE).is_file() and (Path(folder) / HEADS_FILE).is_file()


def _check_size(path: Path) -> None:
    size = path.stat().st_size
    if size >= MAX_FILE_BYTES:
        raise ArtifactError(
            f"{path}: {size / 2**20:.1f} MiB is over the {MAX_FILE_BYTES // 2**20} MiB limit "
            "for a weight file; fine-tune fewer layers or keep embeddings frozen"
        )


def trainable_encoder_tensors(model: ModerationModel) -> list[str]:
    """Names of the encoder parameters that training may change (those with grad)."""
    return [name for name, p in model.encoder.named_parameters() if p.requires_grad]


def save_artifact(
    model: ModerationModel,
    folder: str | os.PathLike[str],
    config: ArtifactConfig,
) -> Path:
    """Write heads, the encoder delta (``config.delta_tensors``, fp16) and config.json."""
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    heads = {k: v.detach().float().cpu().contiguous() for k, v in model.heads.state_dict().items()}
    save_file(heads, str(out / HEADS_FILE), metadata={"format": FORMAT})
    _check_size(out / HEADS_FILE)
    delta_path = out / DELTA_FILE
    if config.delta_tensors:
        params = dict(model.encoder.named_parameters())
        missing = [n for n in config.delta_tensors if n not in params]
        if missing:
            raise ArtifactError(f"delta tensors not in the encoder: {missing[:5]}")
        delta = {
            n: params[n].detach().to(torch.float16).cpu().contiguous() for n in config.delta_tensors
        }
        save_file(delta, str(delta_path), metadata={"format": FORMAT, "dtype": "float16"})
        _check_size(delta_path)
    elif delta_path.exists():
        delta_path.unlink()
    config.encoder_signature = encoder_signature(model.encoder)
    config.write(out)
    return out


def _load_tensors(path: Path) -> dict[str, torch.Tensor]:
    try:
        return load_file(str(path))
    except (SafetensorError, OSError) as exc:
        raise ArtifactError(f"{path}: cannot read weights: {exc}") from None


def load_artifact(
    folder: str | os.PathLike[str],
    *,
    encoder_path: str | os.PathLike[str] | None = None,
    device: str | torch.device = "cpu",
) -> tuple[ModerationModel, ArtifactConfig]:
    """Rebuild the model from ``folder`` over the packaged (or ``encoder_path``) encoder.

    Returns the model in eval mode on ``device`` and its config (thresholds, metadata).
    """
    folder = Path(folder)
    config = ArtifactConfig.read(folder)
    encoder = load_encoder(encoder_path)
    signature = encoder_signature(encoder)
    if signature != config.encoder_signature:
        raise ArtifactError(
            f"{folder / CONFIG_FILE}: trained on an encoder with {config.encoder_signature}, "
            f"but the encoder found has {signature}"
        )
    model = ModerationModel(encoder, load_tokenizer(encoder_path), config.truncation, config.heads)
    if config.delta_tensors:
        delta_path = folder / DELTA_FILE
        if not delta_path.is_file():
            raise ArtifactError(f"{folder}: config lists a delta but {DELTA_FILE} is missing")
        delta = _load_tensors(delta_path)
        params = dict(model.encoder.named_parameters())
        for name in config.delta_tensors:
            if name not in delta:
                raise ArtifactError(f"{delta_path}: tensor {name!r} missing")
            if name not in params or params[name].shape != delta[name].shape:
                raise ArtifactError(f"{delta_path}: tensor {name!r} does not fit the encoder")
            with torch.no_grad():
                params[name].copy_(delta[name].float())
    heads_path = folder / HEADS_FILE
    try:
        model.heads.load_state_dict(_load_tensors(heads_path))
    except RuntimeError as exc:
        raise ArtifactError(f"{heads_path}: heads do not match config.json: {exc}") from None
    return model.to(device).eval(), config
