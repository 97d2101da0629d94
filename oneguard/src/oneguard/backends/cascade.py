"""A two-stage cascade: a cheap TF-IDF/linear first stage settles the confident cases, the
encoder judges only the rest.

Per task, stage 1's score settles an item as negative at or below a ``low`` cut-off and as
positive at or above a ``high`` one; between them the task is uncertain. An item goes to stage 2
(the embedded model, or any backend) when any task it is judged on is uncertain, and each
uncertain task takes stage 2's verdict while settled tasks keep stage 1's. The cut-offs are
chosen on the training mix's dev split to settle as many items as possible while the task's
dev F1 stays within ``max_f1_drop`` of stage 2 alone (:func:`calibrate_cascade`), and are
stored with the cascade in one folder::

    cascade.json     cut-offs per task, dev figures, the stage-2 model and its fingerprint
    stage1/          the TF-IDF model (a copy, so the folder is self-contained)

Scores of settled tasks are stage 1's probabilities, and an item settled entirely by stage 1
has no risk category (``category`` and ``category_scores`` are None): a policy that allows or
blocks by category should load the cascade with ``settle_positives=False``, which sends every
possible positive to stage 2.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from oneguard.backends.base import Backend
from oneguard.paths import fingerprint_model, fingerprint_path
from oneguard.schema import COMPLIANCE, HARMFUL, REFUSAL, TASKS, UNHARMFUL, Item, Result

FORMAT = "oneguard-cascade-1"
CONFIG_FILE = "cascade.json"
STAGE1_DIR = "stage1"
#: Largest F1 loss (as a fraction, 0.005 = 0.5 point) the cut-offs may cost on the dev split.
DEFAULT_MAX_F1_DROP = 0.005
#: Candidate cut-offs per side: the distinct stage-1 scores at this many quantiles.
CANDIDATE_CUTS = 400

_LABEL_FIELD = {
    "prompt": "prompt_harm_label",
    "response": "response_harm_label",
    "refusal": "response_refusal_label",
}
_POSITIVE = {"prompt": HARMFUL, "response": HARMFUL, "refusal": REFUSAL}
_NEGATIVE = {"prompt": UNHARMFUL, "response": UNHARMFUL, "refusal": COMPLIANCE}
_RESULT_FIELDS = {
    "prompt": ("prompt_harmfulness", "prompt_harmfulness_score"),
    "response": ("response_harmfulness", "response_harmfulness_score"),
    "refusal": ("response_refusal", "response_refusal_score"),
}


# ---------------------------------------------------------------------------------------------
# Cut-offs


@dataclass(frozen=True)
class TaskCutoffs:
    """Stage-1 score at or below ``low`` settles negative, at or above ``high`` positive;
    None disables that side."""

    low: float | None = None
    high: float | None = None

    def settle(self, score: float | None, positives: bool = True) -> bool | None:
        """True/False when the score settles the task, None when stage 2 must decide."""
        if score is None:
            return None
        if self.low is not None and score <= self.low:
            return False
        if positives and self.high is not None and score >= self.high:
            return True
        return None


def _f1(tp: np.ndarray, fp: np.ndarray, fn: np.ndarray) -> np.ndarray:
    denominator = 2 * tp + fp + fn
    return np.divide(2 * tp, denominator, out=np.zeros_like(tp, dtype=float), where=denominator > 0)


def choose_cutoffs(
    scores: Sequence[float],
    stage2: Sequence[bool],
    gold: Sequence[bool],
    *,
    max_f1_drop: float = DEFAULT_MAX_F1_DROP,
    settle_positives: bool = True,
) -> tuple[TaskCutoffs, dict[str, Any]]:
    """Cut-offs that settle the largest share of items while the cascade (stage 1 where
    settled, stage 2 elsewhere) cannot lose more than ``max_f1_drop`` F1 against stage 2 alone.

    "Cannot": stage 1 may change at most ``k = max_f1_drop * (P + P2) / (2 + max_f1_drop)`` of
    stage 2's verdicts (``P`` gold positives, ``P2`` stage-2 positives). Each change moves F1 by
    at most ``2 / (P + P2 - k)``, so F1 stays within the budget even if every change is wrong.
    Judging by dev F1 alone would let stage 1 overrule the encoder wherever it scores better
    in-distribution (TF-IDF does, on the split of its own training data) and lose F1 on other
    data; bounding the changes keeps the cascade a faithful, faster copy of stage 2. The dev F1
    is also required to stay within the budget (implied by the bound; kept as a check).

    Cuts fall only between distinct scores (ties are settled together). Among equal shares the
    pair with the higher F1 wins. Returns the cut-offs and the dev figures behind them.
    """
    s = np.asarray(scores, dtype=np.float64)
    e = np.asarray(stage2, dtype=bool)
    g = np.asarray(gold, dtype=bool)
    if not (len(s) == len(e) == len(g)) or len(s) == 0:
        raise ValueError("scores, stage-2 predictions and gold labels must be equal, non-empty")
    order = np.argsort(s, kind="mergesort")
    s, e, g = s[order], e[order], g[order]
    n = len(s)
    positives = int(g.sum())
    # Cut positions: k items (the k lowest) settle negative. Only where the score changes.
    boundaries = np.r_[0, np.flatnonzero(np.diff(s) > 0) + 1, n]
    if len(boundaries) > CANDIDATE_CUTS:
        picks = np.unique(np.linspace(0, len(boundaries) - 1, CANDIDATE_CUTS).round().astype(int))
        boundaries = np.unique(np.r_[0, boundaries[picks], n])
    # Prefix counts: gold positives, and stage-2 true/false positives, among the k lowest.
    gold_prefix = np.r_[0, np.cumsum(g)]
    stage2_prefix = np.r_[0, np.cumsum(e)]
    tp2_prefix = np.r_[0, np.cumsum(e & g)]
    fp2_prefix = np.r_[0, np.cumsum(e & ~g)]
    baseline = float(
        _f1(
            np.array([tp2_prefix[n]]),
            np.array([fp2_prefix[n]]),
            np.array([positives - tp2_prefix[n]]),
        )[0]
    )
    lows = boundaries[:, None]  # items [0, low) settle negative
    highs = boundaries[None, :] if settle_positives else np.array([[n]])  # [high, n) positive
    valid = highs >= lows
    # Settled positive: every item in [high, n) is predicted positive.
    tp = (gold_prefix[n] - gold_prefix[highs]) + (tp2_prefix[highs] - tp2_prefix[lows])
    fp = ((n - highs) - (gold_prefix[n] - gold_prefix[highs])) + (
        fp2_prefix[highs] - fp2_prefix[lows]
    )
    fn = positives - tp
    f1 = _f1(tp.astype(float), fp.astype(float), fn.astype(float))
    settled = (lows + (n - highs)) / n
    # Verdicts of stage 2 that stage 1 overrules: its positives below low, negatives above high.
    changed = stage2_prefix[lows] + ((n - highs) - (stage2_prefix[n] - stage2_prefix[highs]))
    max_changed = int(max_f1_drop * (positives + stage2_prefix[n]) / (2 + max_f1_drop))
    allowed = valid & (changed <= max_changed) & (f1 >= baseline - max_f1_drop - 1e-12)
    rank = np.where(allowed, settled + 1e-9 * f1, -1.0)
    i, j = np.unravel_index(int(np.argmax(rank)), rank.shape)
    low_k = int(lows[i, 0])
    high_k = int(highs[0, j]) if settle_positives else n
    cutoffs = TaskCutoffs(
        low=float(s[low_k - 1]) if low_k > 0 else None,
        high=float(s[high_k]) if high_k < n else None,
    )
    figures = {
        "n": n,
        "positives": positives,
        "f1_stage2": baseline,
        "f1_cascade": float(f1[i, j]),
        "settled_share": float(settled[i, j]),
        "settled_negative": low_k,
        "settled_positive": n - high_k,
        "changed_verdicts": int(changed[i, j]),
        "max_changed_verdicts": max_changed,
    }
    return cutoffs, figures


# ---------------------------------------------------------------------------------------------
# The artifact


@dataclass
class CascadeConfig:
    cutoffs: dict[str, TaskCutoffs]
    #: How stage 2 is built: backend name, model ("default" or a folder), model fingerprint.
    stage2: dict[str, Any]
    max_f1_drop: float = DEFAULT_MAX_F1_DROP
    #: Dev figures per task (n, F1 of stage 2 and of the cascade, share settled).
    dev: dict[str, Any] | None = None

    def write(self, folder: Path) -> Path:
        data = {
            "format": FORMAT,
            "cutoffs": {task: asdict(c) for task, c in self.cutoffs.items()},
            "stage2": self.stage2,
            "max_f1_drop": self.max_f1_drop,
            "dev": self.dev or {},
        }
        path = folder / CONFIG_FILE
        path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
        return path

    @classmethod
    def read(cls, folder: Path) -> CascadeConfig:
        path = folder / CONFIG_FILE
        if not path.is_file():
            raise FileNotFoundError(
                f"{folder}: no {CONFIG_FILE}; not a cascade (build one with `oneguard cascade fit`)"
            )
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise ValueError(f"{path}: invalid JSON: {exc}") from None
        if data.get("format") != FORMAT:
            raise ValueError(f"{path}: format {data.get('format')!r}, expected {FORMAT!r}")
        try:
            cutoffs = {task: TaskCutoffs(**data["cutoffs"][task]) for task in data["cutoffs"]}
            unknown = set(cutoffs) - set(TASKS)
            if unknown:
                raise ValueError(f"unknown tasks {sorted(unknown)}")
            return cls(
                cutoffs=cutoffs,
                stage2=dict(data["stage2"]),
                max_f1_drop=float(data.get("max_f1_drop", DEFAULT_MAX_F1_DROP)),
                dev=dict(data.get("dev") or {}),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"{path}: {exc}") from None


def _stage2_fingerprint(model: str | None) -> str | None:
    """Fingerprint of what decides an embedded model's scores - its config and weights, not
    its model card or benchmark notes - (None for a model that is not a folder)."""
    from oneguard.backends.embedded import resolve_model_dir

    try:
        return fingerprint_model(resolve_model_dir(model))
    except (OSError, ValueError):
        return None


# ---------------------------------------------------------------------------------------------
# The backend


class CascadeBackend:
    """Backend ``"cascade"``: see the module docstring. ``model`` is a cascade folder."""

    name = "cascade"

    def __init__(
        self,
        model: str | os.PathLike[str] | None = None,
        *,
        stage2: Backend | None = None,
        settle_positives: bool = True,
        batch_size: int = 32,
        **stage2_kwargs: Any,
    ) -> None:
        """Load stage 1 from the folder and build stage 2 as recorded there (``stage2_kwargs``
        go to its constructor: device, threads, dtype...), or use the given ``stage2``."""
        from oneguard.backends.baselines import TfidfBackend

        if model is None:
            raise ValueError(
                "the cascade backend needs --model DIR (built by `oneguard cascade fit`)"
            )
        self.model_dir = Path(model)
        self.config = CascadeConfig.read(self.model_dir)
        self.stage1 = TfidfBackend(model=self.model_dir / STAGE1_DIR)
        if stage2 is None:
            if self.config.stage2.get("backend", "embedded") == "embedded":
                # Same encoder batches as the encoder alone: batch size sets its padding cost.
                stage2_kwargs.setdefault("batch_size", batch_size)
            stage2 = self._load_stage2(stage2_kwargs)
        self.stage2 = stage2
        self.settle_positives = settle_positives
        self.default_batch_size = batch_size
        #: Items classified, and how many of them stage 1 settled alone (for reports).
        self.items_seen = 0
        self.items_settled = 0

    def _load_stage2(self, kwargs: dict[str, Any]) -> Backend:
        from oneguard.backends import create_backend

        spec = self.config.stage2
        model = spec.get("model")
        model = None if model in (None, "default") else model
        recorded = spec.get("fingerprint")
        if spec.get("backend", "embedded") == "embedded" and recorded is not None:
            found = _stage2_fingerprint(model)
            if found is None:
                raise ValueError(
                    f"{self.model_dir / CONFIG_FILE}: stage-2 model {spec.get('model')!r} is not "
                    "an embedded model folder (moved or deleted?)"
                )
            if found != recorded:
                raise ValueError(
                    f"{self.model_dir / CONFIG_FILE}: the cut-offs were chosen for stage-2 model "
                    f"{spec.get('model')!r} with fingerprint {recorded}, but that model now has "
                    f"{found}; recalibrate with `oneguard cascade fit`"
                )
        if model is not None:
            kwargs["model"] = model
        return create_backend(spec.get("backend", "embedded"), **kwargs)

    @property
    def settled_share(self) -> float | None:
        return self.items_settled / self.items_seen if self.items_seen else None

    @property
    def identity(self) -> str:
        inner = getattr(self.stage2, "identity", None) or getattr(self.stage2, "model_dir", "")
        positives = "" if self.settle_positives else "|negatives-only"
        return f"cascade-{fingerprint_path(self.model_dir)}|{inner}{positives}"

    def _settled(self, stage1: Result, item: Item) -> dict[str, bool | None]:
        """Per judged task: the settled verdict, or None when stage 2 must decide."""
        tasks = TASKS if item.response is not None else ("prompt",)
        verdicts = {}
        for task in tasks:
            cutoffs = self.config.cutoffs.get(task, TaskCutoffs())
            score = getattr(stage1, _RESULT_FIELDS[task][1])
            verdicts[task] = cutoffs.settle(score, self.settle_positives)
        return verdicts

    def classify_batch(self, items: Sequence[Item]) -> list[Result]:
        first = self.stage1.classify_batch(items)
        settled = [self._settled(r, item) for r, item in zip(first, items, strict=True)]
        uncertain = [i for i, verdicts in enumerate(settled) if None in verdicts.values()]
        second = (
            dict(
                zip(
                    uncertain,
                    self.stage2.classify_batch([items[i] for i in uncertain]),
                    strict=True,
                )
            )
            if uncertain
            else {}
        )
        self.items_seen += len(items)
        self.items_settled += len(items) - len(uncertain)
        return [self._merge(first[i], settled[i], second.get(i)) for i in range(len(items))]

    @staticmethod
    def _merge(stage1: Result, settled: dict[str, bool | None], stage2: Result | None) -> Result:
        values: dict[str, Any] = {
            "prompt_harmfulness": None,
            "response_harmfulness": None,
            "response_refusal": None,
            "prompt_harmfulness_score": None,
            "response_harmfulness_score": None,
            "response_refusal_score": None,
        }
        for task, verdict in settled.items():
            label_field, score_field = _RESULT_FIELDS[task]
            if verdict is None:
                assert stage2 is not None
                values[label_field] = getattr(stage2, label_field)
                values[score_field] = getattr(stage2, score_field)
            else:
                values[label_field] = _POSITIVE[task] if verdict else _NEGATIVE[task]
                values[score_field] = getattr(stage1, score_field)
        harmful = HARMFUL in (values["prompt_harmfulness"], values["response_harmfulness"])
        if stage2 is None:
            return Result(**values)
        return replace(
            stage2,
            **values,
            category=stage2.category if harmful else None,
        )


# ---------------------------------------------------------------------------------------------
# Calibration


def dev_items(frame: Any, task: str) -> tuple[list[Item], list[bool]]:
    """The dev-split items labelled for ``task`` (prompt task: the prompt alone), each text
    once per label, as the TF-IDF baseline counts them."""
    field = _LABEL_FIELD[task]
    rows = frame[(frame["split"] == "dev") & frame[field].isin([_POSITIVE[task], _NEGATIVE[task]])]
    if task == "prompt":
        rows = rows.drop_duplicates(subset=["prompt", field])
        items = [Item(prompt=p) for p in rows["prompt"]]
    else:
        rows = rows[rows["response"].notna()].drop_duplicates(subset=["prompt", "response", field])
        items = [
            Item(prompt=p, response=r)
            for p, r in zip(rows["prompt"], rows["response"], strict=True)
        ]
    return items, (rows[field] == _POSITIVE[task]).tolist()


def calibrate_cascade(
    tfidf_dir: str | os.PathLike[str],
    mix_path: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    *,
    stage2_model: str | None = None,
    stage2: Backend | None = None,
    max_f1_drop: float = DEFAULT_MAX_F1_DROP,
    settle_positives: bool = True,
    progress: bool = True,
    **stage2_kwargs: Any,
) -> CascadeConfig:
    """Choose the cut-offs on the dev split of ``mix_path`` and write the cascade folder.

    Stage 2 is the embedded model ``stage2_model`` (None: the shipped default), or the given
    ``stage2`` backend (recorded by name only: a cascade built that way must be loaded with
    the same backend passed as ``stage2``).
    """
    import pandas as pd
    from tqdm.auto import tqdm

    from oneguard.api import Guard
    from oneguard.backends import create_backend
    from oneguard.backends.baselines import TfidfBackend
    from oneguard.eval.runner import PredictionCache, model_identity, predict

    if not 0 <= max_f1_drop < 1:
        raise ValueError(f"max_f1_drop is a fraction of F1 (0.005 = 0.5 point), got {max_f1_drop}")
    mix_path = Path(mix_path)
    if not mix_path.is_file():
        raise FileNotFoundError(f"training mix not found: {mix_path}")
    frame = pd.read_parquet(mix_path)
    if "split" not in frame.columns or not (frame["split"] == "dev").any():
        raise ValueError(f"{mix_path}: no rows with split == 'dev' to choose cut-offs on")
    first = TfidfBackend(model=tfidf_dir)
    if stage2 is None:
        spec = {
            "backend": "embedded",
            "model": stage2_model or "default",
            "fingerprint": _stage2_fingerprint(stage2_model),
        }
        if stage2_model is not None:
            stage2_kwargs["model"] = stage2_model
        stage2 = create_backend("embedded", **stage2_kwargs)
    else:
        spec = {"backend": stage2.name, "model": None, "fingerprint": None}
    second = Guard(stage2)
    # Stage-2 dev predictions are cached like eval predictions (keyed by the model's files), so
    # recalibrating with another budget is instant; a backend passed in is never cached.
    cache = PredictionCache() if spec["fingerprint"] is not None else None
    cutoffs: dict[str, TaskCutoffs] = {}
    dev: dict[str, Any] = {}
    for task in tqdm(TASKS, desc="cascade: calibrate", disable=not progress):
        items, gold = dev_items(frame, task)
        if task not in first.tasks or not items or len(set(gold)) < 2:
            dev[task] = {"skipped": "no stage-1 model or no dev rows of both labels"}
            continue
        label_field, score_field = _RESULT_FIELDS[task]
        scores = [getattr(r, score_field) for r in first.classify_batch(items)]
        judged = predict(
            second,
            items,
            identity=model_identity(stage2),
            cache=cache,
            desc=f"cascade: stage 2 on dev {task}",
            progress=progress,
        )
        verdicts = [getattr(r, label_field) == _POSITIVE[task] for r in judged]
        cutoffs[task], dev[task] = choose_cutoffs(
            scores, verdicts, gold, max_f1_drop=max_f1_drop, settle_positives=settle_positives
        )
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    stage1_out = out / STAGE1_DIR
    if stage1_out.resolve() != Path(tfidf_dir).resolve():
        shutil.rmtree(stage1_out, ignore_errors=True)
        shutil.copytree(tfidf_dir, stage1_out)
    config = CascadeConfig(cutoffs=cutoffs, stage2=spec, max_f1_drop=max_f1_drop, dev=dev)
    config.write(out)
    return config


__all__ = ["CascadeBackend", "CascadeConfig", "TaskCutoffs", "calibrate_cascade", "choose_cutoffs"]
