"""Training rows as arrays: per-task labels (unknown = -1, no loss), loss weights, the dev
split, the prompt-swap augmentation for the refusal task, and the per-source data table."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as pq

from oneguard.data.augment import source_family
from oneguard.model.inputs import TextInput
from oneguard.schema import Record
from oneguard.taxonomy import CATEGORY_CLASSES

BINARY_TASKS = ("prompt", "response", "refusal")
LOSS_TASKS = BINARY_TASKS + ("category",)
POSITIVE = {"prompt": "harmful", "response": "harmful", "refusal": "refusal"}
NEGATIVE = {"prompt": "unharmful", "response": "unharmful", "refusal": "compliance"}
LABEL_FIELD = {
    "prompt": "prompt_harm_label",
    "response": "response_harm_label",
    "refusal": "response_refusal_label",
}
_CATEGORY_INDEX = {key: i for i, key in enumerate(CATEGORY_CLASSES)}


class TrainError(RuntimeError):
    """Training cannot run as configured (bad data, bad flags)."""


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
    records: Sequence[Record],
    annotation_weights: dict[str, float],
    source_weights: dict[str, float] | None = None,
) -> LabelledExamples:
    """Labels and loss weights: a row's weight is its annotation's weight times its source
    family's (:func:`source_family`; 1.0 where none is given)."""
    source_weights = source_weights or {}
    n = len(records)
    labels = {task: np.full(n, -1, dtype=np.int8) for task in BINARY_TASKS}
    labels["category"] = np.full(n, -1, dtype=np.int16)
    weight = np.ones(n, dtype=np.float32)
    for i, r in enumerate(records):
        for task in BINARY_TASKS:
            value = getattr(r, LABEL_FIELD[task])
            if value == POSITIVE[task]:
                labels[task][i] = 1
            elif value == NEGATIVE[task]:
                labels[task][i] = 0
        labels["category"][i] = _CATEGORY_INDEX.get(r.subcategory, -1)
        weight[i] = annotation_weights.get(r.annotation, 1.0) * source_weights.get(
            source_family(r.source), 1.0
        )
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


def subsample_rows(
    examples: LabelledExamples,
    rows: np.ndarray,
    max_rows: int,
    seed: int,
    pair_share: float | None = None,
) -> np.ndarray:
    """A seeded sample of at most ``max_rows`` of ``rows``, sorted.

    With ``pair_share``, that share of the sample comes from rows with a response (the input
    of the response and refusal heads) and the rest from prompt-only rows; a side too small
    for its share is taken whole and the other side fills the sample. Why: a CPU epoch sees a
    subsample, and drawn uniformly it holds response rows only in their share of the mix
    (about 40%), while the response head is the one short of its target.
    """
    if len(rows) <= max_rows:
        return rows
    rng = np.random.default_rng(seed)
    if pair_share is None:
        return np.sort(rng.choice(rows, max_rows, replace=False))
    with_response = examples.has_response[rows]
    pairs, prompts = rows[with_response], rows[~with_response]
    n_prompts = min(len(prompts), max_rows - min(len(pairs), round(pair_share * max_rows)))
    n_pairs = max_rows - n_prompts
    chosen = [
        rng.choice(pairs, n_pairs, replace=False),
        rng.choice(prompts, n_prompts, replace=False),
    ]
    return np.sort(np.concatenate(chosen))


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
