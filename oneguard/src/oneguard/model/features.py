"""Encoder features for training: cached once for a frozen encoder (content-keyed, resumable)
or computed live for fine-tuning; both behind one small interface."""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import torch
from tqdm.auto import tqdm

from oneguard.model.classifier import ModerationModel
from oneguard.model.heads import HeadConfig
from oneguard.model.inputs import TextInput, TokenizedInput
from oneguard.model.training_data import LabelledExamples
from oneguard.paths import cache_dir


class FeatureSource(Protocol):
    def prompt(self, rows: Sequence[int]) -> torch.Tensor: ...
    def pair(self, rows: Sequence[int]) -> torch.Tensor: ...


def layer_columns(layers: Sequence[int], width: int, parts: int, all_layers: int) -> np.ndarray:
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


def encoder_fingerprint(path: Path) -> str:
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
    result: list[np.ndarray] = []
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


def tokenize_all(
    model: ModerationModel, examples: LabelledExamples, progress: bool, chunk: int = 8192
) -> list[TokenizedInput]:
    """Tokenise every example once, up front (parallel in the Rust tokenizer)."""
    out: list[TokenizedInput] = []
    for start in tqdm(range(0, len(examples), chunk), desc="tokenize", disable=not progress):
        out += model.inputs.tokenize_examples(examples.texts[start : start + chunk])
    return out


class CachedLowerStates:
    """Token states under the fine-tuned layers, computed once; each step then runs only the
    top layers.

    A top-K fine-tune spends most of a full forward pass on layers it never changes: on a
    CPU, caching their output (bf16 when ``autocast`` is bf16) makes every step after the
    first epoch's caching pass several times cheaper. Kept in memory, one tensor per row
    (about 200 bytes per token at bf16)."""

    def __init__(
        self,
        model: ModerationModel,
        examples: LabelledExamples,
        rows: np.ndarray,
        layer: int,
        *,
        batch_size: int,
        autocast: Any,
        progress: bool,
    ) -> None:
        self.model = model
        self.layer = layer
        self._states: dict[str, dict[int, tuple[torch.Tensor, torch.Tensor]]] = {}
        used = np.zeros(len(examples), dtype=bool)
        used[rows] = True
        tokenized = tokenize_all(model, examples, progress=False)
        inputs = model.inputs
        for kind, needed in (("prompt", examples.needs_prompt), ("pair", examples.needs_pair)):
            wanted = np.flatnonzero(needed & used)
            build = inputs.prompt_input if kind == "prompt" else inputs.pair_input
            encoded = {int(r): build(tokenized[r]) for r in wanted}
            order = sorted(encoded, key=lambda r: len(encoded[r]))
            store: dict[int, tuple[torch.Tensor, torch.Tensor]] = {}
            bar = tqdm(
                total=len(order),
                desc=f"encode {kind} (lower layers)",
                unit="ex",
                disable=not progress,
            )
            for start in range(0, len(order), batch_size):
                chunk = order[start : start + batch_size]
                batch = inputs.collate([encoded[r] for r in chunk]).to(model.device)
                with torch.inference_mode(), autocast:
                    hidden = model.states_below(batch, layer)
                for j, r in enumerate(chunk):
                    n = len(encoded[r])
                    store[r] = (
                        hidden[j, :n].to(torch.bfloat16).clone(),
                        batch.segments[j, :n].to(torch.int8).clone(),
                    )
                bar.update(len(chunk))
            bar.close()
            self._states[kind] = store

    def _collate(
        self, kind: str, rows: Sequence[int]
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        items = [self._states[kind][int(r)] for r in rows]
        width = max(len(s) for s, _ in items)
        dim = items[0][0].shape[-1]
        hidden = torch.zeros(len(items), width, dim)
        segments = torch.zeros(len(items), width, dtype=torch.long)
        mask = torch.zeros(len(items), width, dtype=torch.long)
        for j, (state, seg) in enumerate(items):
            n = len(state)
            hidden[j, :n] = state.float()
            segments[j, :n] = seg.long()
            mask[j, :n] = 1
        device = self.model.device
        return hidden.to(device), mask.to(device), segments.to(device)

    def prompt(self, rows: Sequence[int]) -> torch.Tensor:
        hidden, mask, segments = self._collate("prompt", rows)
        states = self.model.feature_states_from(hidden, mask, self.layer)
        return self.model.pool_prompt(states, segments)

    def pair(self, rows: Sequence[int]) -> torch.Tensor:
        hidden, mask, segments = self._collate("pair", rows)
        states = self.model.feature_states_from(hidden, mask, self.layer)
        return self.model.pool_pair(states, segments)
