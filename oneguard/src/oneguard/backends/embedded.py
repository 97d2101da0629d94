"""The embedded backend: OneGuard's own MiniLM model, offline, fast on a CPU.

Labels come from the thresholds stored with the model (picked on a dev split at training
time); scores are the heads' probabilities. ``category`` is the most likely risk subcategory
when the prompt or the response is judged harmful, else None; ``category_scores`` (always
present) is the category head's distribution over the 13 subcategories + ``others``.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from pathlib import Path

import torch

from oneguard.model.artifact import ArtifactError, is_artifact, load_artifact
from oneguard.model.classifier import Scores
from oneguard.model.inputs import TextInput
from oneguard.paths import DEFAULT_MODEL_DIR
from oneguard.schema import COMPLIANCE, HARMFUL, REFUSAL, UNHARMFUL, Item, Result, context_text
from oneguard.taxonomy import CATEGORY_CLASSES

#: ``dtype`` values: fp32 (default), bf16 autocast, or int8 dynamic quantisation (CPU).
DTYPES = ("float32", "bfloat16", "int8")


def resolve_model_dir(model: str | os.PathLike[str] | None) -> Path:
    """``None``/``"default"``/``"embedded"`` -> the shipped model; else an artifact folder."""
    if model is None or str(model) in ("default", "embedded", "oneguard"):
        folder = DEFAULT_MODEL_DIR
    else:
        folder = Path(model)
    if not is_artifact(folder):
        raise ArtifactError(
            f"{folder}: not a oneguard embedded model (needs config.json and heads.safetensors); "
            "train one with `oneguard train`"
        )
    return folder


def text_input(item: Item) -> TextInput:
    return TextInput(item.prompt, item.response, context_text(item.context))


class EmbeddedBackend:
    """Backend ``"embedded"``: see the module docstring."""

    name = "embedded"

    def __init__(
        self,
        model: str | os.PathLike[str] | None = None,
        device: str = "cpu",
        batch_size: int = 32,
        threads: int | None = None,
        dtype: str | None = None,
        encoder: str | os.PathLike[str] | None = None,
    ) -> None:
        """Load the model once. ``threads`` sets torch's (process-wide) CPU thread count;
        ``encoder`` is a local MiniLM folder to use instead of the packaged one."""
        dtype = dtype or "float32"
        if dtype not in DTYPES:
            raise ValueError(f"dtype must be one of {', '.join(DTYPES)}, got {dtype!r}")
        if dtype == "int8" and device != "cpu":
            raise ValueError("dtype='int8' (dynamic quantisation) runs on CPU only")
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        if threads is not None:
            torch.set_num_threads(threads)
        self.model_dir = resolve_model_dir(model)
        self.model, self.config = load_artifact(self.model_dir, encoder_path=encoder, device=device)
        if dtype == "int8":
            self.model.quantize_int8()
        self.device = torch.device(device)
        self.dtype = dtype
        self.default_batch_size = batch_size
        self.thresholds = dict(self.config.thresholds)

    def scores(self, items: Sequence[Item]) -> Scores:
        """Probabilities for validated items, calibrated where the model has a calibration
        (no thresholds applied)."""
        examples = [text_input(item) for item in items]
        autocast = torch.autocast(
            self.device.type, dtype=torch.bfloat16, enabled=self.dtype == "bfloat16"
        )
        with autocast:
            scores = self.model.score(examples, batch_size=self.default_batch_size)
        for task, scaling in self.config.calibration.items():
            setattr(scores, task, scaling(getattr(scores, task)))
        return scores

    def classify_batch(self, items: Sequence[Item]) -> list[Result]:
        scores = self.scores(items)
        return [self._result(scores, i) for i in range(len(items))]

    def _result(self, scores: Scores, i: int) -> Result:
        t = self.thresholds
        prompt = float(scores.prompt[i])
        prompt_harmful = prompt >= t["prompt"]
        response_score = refusal_score = None
        response_label = refusal_label = None
        response_harmful = False
        if not math.isnan(float(scores.response[i])):
            response_score = float(scores.response[i])
            refusal_score = float(scores.refusal[i])
            response_harmful = response_score >= t["response"]
            response_label = HARMFUL if response_harmful else UNHARMFUL
            refusal_label = REFUSAL if refusal_score >= t["refusal"] else COMPLIANCE
        distribution = scores.category[i]
        category_scores = {c: float(p) for c, p in zip(CATEGORY_CLASSES, distribution, strict=True)}
        category = None
        if prompt_harmful or response_harmful:
            category = CATEGORY_CLASSES[int(distribution.argmax())]
        return Result(
            prompt_harmfulness=HARMFUL if prompt_harmful else UNHARMFUL,
            response_harmfulness=response_label,
            response_refusal=refusal_label,
            is_parsing_error=False,
            prompt_harmfulness_score=prompt,
            response_harmfulness_score=response_score,
            response_refusal_score=refusal_score,
            category=category,
            category_scores=category_scores,
        )
