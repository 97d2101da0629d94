"""Custom categories: a team's own kind of unwanted content, defined by a few labelled examples.

A custom category is a logistic-regression head over sentence embeddings of the shared encoder
(all-MiniLM-L6-v2, mean-pooled over tokens and L2-normalised, as sentence-transformers uses
it). Fitting one on ~20 examples takes seconds on a CPU (``oneguard policy fit``); the head is
a few kilobytes of safetensors stored next to the policy YAML that names it.

The heads read the *packaged* encoder, not the moderation model's fine-tuned copy, so a head
stays valid when the moderation model is retrained or swapped for another backend (TF-IDF,
WildGuard 7B), and MiniLM's sentence embeddings are trained for semantic similarity, which is
what a few-shot head needs. When the embedded backend runs with the packaged encoder unchanged,
its encoder is shared rather than loaded twice.

Every text is scored in windows of :data:`WINDOW_TOKENS` tokens (up to
:data:`MAX_WINDOWS` of them) and gets its highest window score, so a mention deep inside a long
response is not averaged away.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors import SafetensorError, safe_open
from safetensors.numpy import load_file, save_file
from threadpoolctl import threadpool_limits
from tokenizers import Tokenizer
from transformers import PreTrainedModel, PreTrainedTokenizerBase

from oneguard.backends.base import Backend
from oneguard.model.encoder import (
    ENCODER_NAME,
    encoder_signature,
    load_encoder,
    load_tokenizer,
    masked_mean,
)
from oneguard.schema import Item, Result

HEAD_FORMAT = "oneguard-custom-head-1"
#: Word pieces per window (plus [CLS] and [SEP]: MiniLM's 256-token training length).
WINDOW_TOKENS = 254
#: Windows scored per text; text beyond ``WINDOW_TOKENS * MAX_WINDOWS`` tokens is not read.
MAX_WINDOWS = 8
#: Where a category applies: the user's prompt, the model's response.
TARGETS = ("prompt", "response")
#: A custom category name: lower-case words joined by underscores.
NAME_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
#: Inverse regularisation strengths tried by leave-one-out when fitting a head.
C_GRID = (0.3, 1.0, 3.0, 10.0, 30.0)
#: Generic benign texts added as negatives to every fit (see the file's description).
BACKGROUND_FILE = Path(__file__).resolve().parent / "policies" / "background_negatives.json"
#: Example sets up to this size are cross-validated leave-one-out.
LOO_MAX_EXAMPLES = 60


class CustomCategoryError(ValueError):
    """A custom category file or example set that cannot be used; the message names it."""


# ---------------------------------------------------------------------------------------------
# Sentence embeddings


class SentenceEmbedder:
    """Mean-pooled, L2-normalised MiniLM embeddings of text windows."""

    pooling = "mean-last-layer-l2"

    def __init__(
        self,
        encoder_path: str | os.PathLike[str] | None = None,
        *,
        encoder: PreTrainedModel | None = None,
        tokenizer: PreTrainedTokenizerBase | None = None,
        batch_size: int = 32,
    ) -> None:
        """Load the packaged encoder (or ``encoder_path``), or reuse an already loaded
        ``encoder`` + ``tokenizer`` pair."""
        if (encoder is None) != (tokenizer is None):
            raise ValueError("pass both encoder and tokenizer, or neither")
        self.encoder = encoder if encoder is not None else load_encoder(encoder_path)
        tokenizer = tokenizer if tokenizer is not None else load_tokenizer(encoder_path)
        self._tokenizer = Tokenizer.from_str(tokenizer.backend_tokenizer.to_str())
        self._tokenizer.no_truncation()
        self._tokenizer.no_padding()
        self.cls_id = int(tokenizer.cls_token_id)
        self.sep_id = int(tokenizer.sep_token_id)
        self.pad_id = int(tokenizer.pad_token_id)
        self.batch_size = batch_size
        self.signature = {
            "encoder": ENCODER_NAME,
            **encoder_signature(self.encoder),
            "pooling": self.pooling,
            "window_tokens": WINDOW_TOKENS,
        }

    @property
    def width(self) -> int:
        return int(self.encoder.config.hidden_size)

    def _windows(self, texts: Sequence[str]) -> tuple[list[list[int]], np.ndarray]:
        """Token windows of every text and, per window, the index of its text."""
        encodings = self._tokenizer.encode_batch(list(texts), add_special_tokens=False)
        windows: list[list[int]] = []
        owners: list[int] = []
        for index, encoding in enumerate(encodings):
            ids = encoding.ids
            starts = range(0, max(len(ids), 1), WINDOW_TOKENS)
            for start in list(starts)[:MAX_WINDOWS]:
                windows.append([self.cls_id, *ids[start : start + WINDOW_TOKENS], self.sep_id])
                owners.append(index)
        return windows, np.asarray(owners, dtype=np.int64)

    @torch.inference_mode()
    def embed_windows(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """``(embeddings (windows, width), owner text index per window)``."""
        windows, owners = self._windows(texts)
        out = np.zeros((len(windows), self.width), dtype=np.float32)
        device = next(self.encoder.parameters()).device
        order = sorted(range(len(windows)), key=lambda i: len(windows[i]))
        for start in range(0, len(order), self.batch_size):
            chunk = order[start : start + self.batch_size]
            width = max(len(windows[i]) for i in chunk)
            ids = torch.full((len(chunk), width), self.pad_id, dtype=torch.long)
            mask = torch.zeros((len(chunk), width), dtype=torch.long)
            for row, i in enumerate(chunk):
                ids[row, : len(windows[i])] = torch.tensor(windows[i])
                mask[row, : len(windows[i])] = 1
            hidden = self.encoder(
                input_ids=ids.to(device),
                attention_mask=mask.to(device),
                token_type_ids=torch.zeros_like(ids).to(device),
            ).last_hidden_state
            pooled = torch.nn.functional.normalize(masked_mean(hidden, mask.to(device)), dim=-1)
            out[chunk] = pooled.float().cpu().numpy()
        return out, owners

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """One embedding per text: the normalised mean of its window embeddings."""
        windows, owners = self.embed_windows(texts)
        sums = np.zeros((len(texts), self.width), dtype=np.float32)
        np.add.at(sums, owners, windows)
        norms = np.linalg.norm(sums, axis=1, keepdims=True)
        return sums / np.maximum(norms, 1e-12)


# ---------------------------------------------------------------------------------------------
# Few-shot heads


def background_negatives() -> list[str]:
    """The shipped background negatives (:data:`BACKGROUND_FILE`)."""
    return list(json.loads(BACKGROUND_FILE.read_text(encoding="utf-8"))["texts"])


def check_name(name: str, where: str = "custom category") -> str:
    if not isinstance(name, str) or not NAME_PATTERN.match(name):
        raise CustomCategoryError(
            f"{where}: name {name!r} must be lower-case letters, digits and underscores, "
            "starting with a letter (at most 64 characters)"
        )
    return name


def read_examples(path: str | os.PathLike[str]) -> tuple[list[str], list[bool]]:
    """Labelled examples from JSONL: one ``{"text": str, "label": true|false}`` per line
    (``label`` may also be 1/0). Raises :class:`CustomCategoryError` naming file and line."""
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise CustomCategoryError(f"cannot read examples {path}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise CustomCategoryError(f"{path}: not valid UTF-8") from None
    texts: list[str] = []
    labels: list[bool] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        where = f"{path}:{number}"
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise CustomCategoryError(f"{where}: malformed JSON: {exc.msg}") from None
        if not isinstance(row, dict):
            raise CustomCategoryError(f"{where}: expected an object with 'text' and 'label'")
        text, label = row.get("text"), row.get("label")
        if not isinstance(text, str) or not text.strip():
            raise CustomCategoryError(f"{where}: field 'text' must be a non-empty string")
        if label not in (True, False, 0, 1) or isinstance(label, float):
            raise CustomCategoryError(
                f"{where}: field 'label' must be true/false (or 1/0), got {label!r}"
            )
        texts.append(text)
        labels.append(bool(label))
    positives = sum(labels)
    if positives < 2 or len(labels) - positives < 2:
        raise CustomCategoryError(
            f"{path}: need at least 2 positive and 2 negative examples, found {positives} "
            f"positive and {len(labels) - positives} negative"
        )
    return texts, labels


def span_basis(x: np.ndarray) -> np.ndarray:
    """Orthonormal rows spanning the rows of ``x``: every fit on a subset of them is solved
    in this space (one SVD for a whole cross-validation)."""
    _, singular, basis = np.linalg.svd(x.astype(np.float64), full_matrices=False)
    return basis[singular > singular.max() * 1e-10]


def _fit_logistic(
    x: np.ndarray, y: np.ndarray, c: float, basis: np.ndarray | None = None
) -> tuple[np.ndarray, float]:
    """L2-regularised logistic regression with balanced class weights (sklearn's objective:
    ``C * sum(weight * log-loss) + |coef|^2 / 2``, intercept unpenalised), by damped Newton.
    The optimum lies in the span of the examples, so it is solved there (at most ``n``
    dimensions, in ``basis`` if given: see :func:`span_basis`): milliseconds for a few dozen
    examples, so cross-validation stays fast."""
    if basis is None:
        basis = span_basis(x)
    z = x.astype(np.float64) @ basis.T
    n, d = z.shape
    x1 = np.hstack([z, np.ones((n, 1))])
    target = y.astype(np.float64)
    positives = max(float(target.sum()), 1.0)
    weights = np.where(y, n / (2 * positives), n / (2 * max(n - positives, 1.0)))
    penalty = np.r_[np.ones(d), 1e-8]

    def objective(theta: np.ndarray) -> float:
        logits = x1 @ theta
        loss = np.logaddexp(0.0, logits) - target * logits
        return float(c * weights @ loss + 0.5 * theta[:d] @ theta[:d])

    theta = np.zeros(d + 1)
    value = objective(theta)
    for _ in range(100):
        p = _sigmoid(x1 @ theta)
        gradient = c * x1.T @ (weights * (p - target)) + penalty * theta
        hessian = c * (x1.T * (weights * p * (1 - p))) @ x1 + np.diag(penalty)
        step = np.linalg.solve(hessian, gradient)
        scale = 1.0
        while scale > 1e-6:
            candidate = theta - scale * step
            new_value = objective(candidate)
            if new_value <= value:
                break
            scale /= 2
        theta, converged = candidate, value - new_value < 1e-10 * max(1.0, abs(value))
        value = new_value
        if converged:
            break
    return (basis.T @ theta[:d]).astype(np.float32), float(theta[d])


def _cross_validate(
    x: np.ndarray, y: np.ndarray, extra_x: np.ndarray, folds: list[np.ndarray]
) -> tuple[float, dict[float, float], dict[float, float], np.ndarray, float]:
    """Pick C by held-out log-loss (background in every fold), then fit on everything:
    (C, log-loss per C, accuracy per C, coef, intercept)."""
    extra_y = np.zeros(len(extra_x), dtype=bool)
    basis = span_basis(np.vstack([x, extra_x]))
    losses: dict[float, float] = {}
    accuracy: dict[float, float] = {}
    for c in C_GRID:
        probabilities = np.empty(len(y))
        for held in folds:
            keep = np.ones(len(y), dtype=bool)
            keep[held] = False
            coef, intercept = _fit_logistic(
                np.vstack([x[keep], extra_x]), np.r_[y[keep], extra_y], c, basis
            )
            probabilities[held] = _sigmoid(x[held] @ coef + intercept)
        clipped = np.clip(probabilities, 1e-6, 1 - 1e-6)
        losses[c] = float(-np.mean(np.where(y, np.log(clipped), np.log(1 - clipped))))
        accuracy[c] = float(np.mean((probabilities >= 0.5) == y))
    best = min(C_GRID, key=lambda c: (losses[c], -c))
    coef, intercept = _fit_logistic(np.vstack([x, extra_x]), np.r_[y, extra_y], best, basis)
    return best, losses, accuracy, coef, intercept


def _folds(y: np.ndarray) -> list[np.ndarray]:
    """Held-out index sets: one per example for small sets, else 10 stratified folds."""
    if len(y) <= LOO_MAX_EXAMPLES:
        return [np.asarray([i]) for i in range(len(y))]
    from sklearn.model_selection import StratifiedKFold

    splitter = StratifiedKFold(
        n_splits=min(10, int(min(y.sum(), (~y).sum()))), shuffle=True, random_state=0
    )
    return [held for _, held in splitter.split(np.zeros(len(y)), y)]


def _sigmoid(logits: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(logits, -60.0, 60.0)))


@dataclass(frozen=True, eq=False)
class FewShotHead:
    """A linear head: ``sigmoid(embedding @ coef + intercept)`` is the category's score.
    Heads compare by identity (they hold arrays)."""

    name: str
    coef: np.ndarray
    intercept: float
    #: The embedder the head was fitted on (encoder, its shape, pooling, window).
    embedder: dict[str, Any]
    #: Examples, chosen C, leave-one-out accuracy.
    training: dict[str, Any] = field(default_factory=dict)

    @property
    def fingerprint(self) -> str:
        digest = hashlib.sha256(np.ascontiguousarray(self.coef).tobytes())
        digest.update(repr(self.intercept).encode())
        return digest.hexdigest()[:16]

    def scores(self, embeddings: np.ndarray) -> np.ndarray:
        return _sigmoid(embeddings.astype(np.float64) @ self.coef + self.intercept)

    @classmethod
    def fit(
        cls,
        name: str,
        texts: Sequence[str],
        labels: Sequence[bool],
        embedder: SentenceEmbedder,
        background: Sequence[str] | None = None,
    ) -> FewShotHead:
        """Fit on labelled examples plus ``background`` negatives (default: the shipped
        :data:`BACKGROUND_FILE` texts; pass ``()`` for none). C is picked by cross-validated
        log-loss on the labelled examples over :data:`C_GRID` (leave-one-out up to
        :data:`LOO_MAX_EXAMPLES` examples, else 10 folds); background stays in every fold."""
        check_name(name)
        if background is None:
            background = background_negatives()
        x = embedder.embed(list(texts))
        y = np.asarray(labels, dtype=bool)
        extra_x = embedder.embed(list(background)) if background else np.zeros((0, x.shape[1]))
        folds = _folds(y)
        with threadpool_limits(1):  # tiny matrices: BLAS threads only add synchronisation
            best, losses, accuracy, coef, intercept = _cross_validate(x, y, extra_x, folds)
        training = {
            "examples": len(y),
            "positives": int(y.sum()),
            "background_negatives": len(extra_x),
            "C": best,
            "cv_folds": len(folds),
            "cv_accuracy": round(accuracy[best], 4),
            "cv_log_loss": round(losses[best], 4),
        }
        return cls(name, coef, intercept, dict(embedder.signature), training)

    def save(self, path: str | os.PathLike[str]) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tensors = {
            "coef": np.ascontiguousarray(self.coef, dtype=np.float32),
            "intercept": np.asarray([self.intercept], dtype=np.float32),
        }
        metadata = {
            "format": HEAD_FORMAT,
            "name": self.name,
            "embedder": json.dumps(self.embedder, sort_keys=True),
            "training": json.dumps(self.training, sort_keys=True),
        }
        save_file(tensors, str(path), metadata=metadata)
        return path

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> FewShotHead:
        path = Path(path)
        if not path.is_file():
            raise CustomCategoryError(
                f"custom category head {path} not found (fit one with `oneguard policy fit`)"
            )
        try:
            with safe_open(str(path), framework="numpy") as handle:
                metadata = handle.metadata() or {}
            tensors = load_file(str(path))
        except (SafetensorError, OSError) as exc:
            raise CustomCategoryError(f"{path}: cannot read head: {exc}") from None
        if metadata.get("format") != HEAD_FORMAT:
            raise CustomCategoryError(
                f"{path}: not a custom category head (format {metadata.get('format')!r})"
            )
        try:
            coef = tensors["coef"].astype(np.float32)
            intercept = float(tensors["intercept"][0])
            embedder = json.loads(metadata["embedder"])
            training = json.loads(metadata.get("training", "{}"))
            name = metadata["name"]
        except (KeyError, IndexError, json.JSONDecodeError) as exc:
            raise CustomCategoryError(f"{path}: incomplete head file ({exc})") from None
        return cls(name, coef, intercept, embedder, training)


# ---------------------------------------------------------------------------------------------
# Scoring items


@dataclass(frozen=True)
class CustomCategory:
    """A fitted head plus the policy's use of it: where it applies, when it fires."""

    name: str
    head: FewShotHead
    threshold: float = 0.5
    applies_to: frozenset[str] = frozenset(TARGETS)
    #: Where the head was loaded from (for writing the policy back).
    head_path: Path | None = None

    def __post_init__(self) -> None:
        check_name(self.name)
        if not 0.0 <= self.threshold <= 1.0:
            raise CustomCategoryError(
                f"custom category {self.name}: threshold must be in [0, 1], got {self.threshold}"
            )
        unknown = sorted(set(self.applies_to) - set(TARGETS))
        if unknown or not self.applies_to:
            raise CustomCategoryError(
                f"custom category {self.name}: applies_to must be a non-empty subset of "
                f"{list(TARGETS)}, got {sorted(self.applies_to)}"
            )

    def fires(self, score: float) -> bool:
        return score >= self.threshold


class CustomCategoryScorer:
    """Scores the prompt and response of items against several custom categories."""

    def __init__(self, categories: Sequence[CustomCategory], embedder: SentenceEmbedder) -> None:
        for category in categories:
            if category.head.embedder != embedder.signature:
                raise CustomCategoryError(
                    f"custom category {category.name}: its head was fitted on embeddings "
                    f"{category.head.embedder}, but this encoder gives {embedder.signature}; "
                    "refit it with `oneguard policy fit`"
                )
        self.categories = tuple(categories)
        self.embedder = embedder
        self.names = [c.name for c in self.categories]
        self._coef = np.stack([c.head.coef for c in self.categories], axis=1)
        self._intercept = np.asarray([c.head.intercept for c in self.categories])

    @property
    def identity(self) -> str:
        return "+".join(f"{c.name}@{c.head.fingerprint}" for c in self.categories)

    def text_scores(self, texts: Sequence[str]) -> np.ndarray:
        """(texts, categories): each text's highest window score per category."""
        unique = list(dict.fromkeys(texts))
        scores = np.zeros((len(unique), len(self.categories)))
        if unique:
            windows, owners = self.embedder.embed_windows(unique)
            window_scores = _sigmoid(windows.astype(np.float64) @ self._coef + self._intercept)
            np.maximum.at(scores, owners, window_scores)
        row = {text: i for i, text in enumerate(unique)}
        return scores[[row[t] for t in texts]] if texts else scores

    def score_items(
        self, items: Sequence[Item]
    ) -> list[tuple[dict[str, float], dict[str, float] | None]]:
        """Per item: (prompt scores, response scores or None without a response)."""
        texts = [item.prompt for item in items]
        texts += [item.response for item in items if item.response is not None]
        scores = self.text_scores(texts)
        out = []
        next_response = len(items)
        for i, item in enumerate(items):
            prompt = dict(zip(self.names, map(float, scores[i]), strict=True))
            response = None
            if item.response is not None:
                response = dict(zip(self.names, map(float, scores[next_response]), strict=True))
                next_response += 1
            out.append((prompt, response))
        return out


class CustomCategoryBackend:
    """Wraps any backend: its results plus the custom category scores of each item."""

    def __init__(self, inner: Backend, scorer: CustomCategoryScorer) -> None:
        self.inner = inner
        self.scorer = scorer
        self.name = inner.name
        self.default_batch_size = inner.default_batch_size
        if hasattr(inner, "tasks"):
            self.tasks = inner.tasks

    @property
    def identity(self) -> str:
        inner = getattr(self.inner, "identity", None) or getattr(self.inner, "model_dir", None)
        return f"{inner}|custom:{self.scorer.identity}"

    def classify_batch(self, items: Sequence[Item]) -> list[Result]:
        results = self.inner.classify_batch(items)
        scored = self.scorer.score_items(items)
        return [
            replace(result, prompt_custom_scores=prompt, response_custom_scores=response)
            for result, (prompt, response) in zip(results, scored, strict=True)
        ]


def embedder_for(backend: Backend) -> SentenceEmbedder:
    """An embedder for custom categories next to ``backend``: the embedded backend's encoder
    when it is the packaged one unchanged (no fine-tuned delta), else a fresh packaged one."""
    model = getattr(backend, "model", None)
    config = getattr(backend, "config", None)
    if (
        getattr(backend, "name", None) == "embedded"
        and getattr(backend, "dtype", None) == "float32"
        and model is not None
        and config is not None
        and not getattr(config, "delta_tensors", None)
    ):
        return SentenceEmbedder(encoder=model.encoder, tokenizer=model.tokenizer)
    return SentenceEmbedder()


def describe_head(head: FewShotHead) -> Mapping[str, Any]:
    """What ``oneguard policy show`` prints about a head."""
    return {"fingerprint": head.fingerprint, **head.training}
