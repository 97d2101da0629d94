"""Run a :class:`~oneguard.api.Guard` over benchmarks and score it.

Predictions are cached on disk, keyed by the model's identity and a hash of the exact inputs,
so rerunning ``oneguard eval`` (for a new report layout, another ``--data`` file, or the
efficacy check on items the suite already covered) costs nothing. The identity includes a
fingerprint of the model's files, so a retrained model never reads stale predictions.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tqdm.auto import tqdm

from oneguard import __version__
from oneguard.api import Guard
from oneguard.backends import Backend
from oneguard.eval.metrics import BinaryMetrics, binary_metrics
from oneguard.eval.suites import POSITIVE_LABEL, Benchmark
from oneguard.paths import DEFAULT_MODEL_DIR, cache_dir, fingerprint_model
from oneguard.schema import TASKS, Item, Result

#: Attributes a backend may carry that name its model (checked in this order).
_MODEL_ATTRIBUTES = ("model_dir", "model_path", "model_name", "model")


# ---------------------------------------------------------------------------------------------
# Model identity


def _describe_model(backend: Backend, model: str | os.PathLike[str] | None) -> str:
    explicit = getattr(backend, "identity", None)
    if isinstance(explicit, str) and explicit:
        return explicit
    candidates = [getattr(backend, attr, None) for attr in _MODEL_ATTRIBUTES] + [model]
    named = [c for c in candidates if isinstance(c, (str, os.PathLike)) and str(c)]
    for candidate in named:  # a model on disk: its files decide
        path = Path(candidate)
        if path.exists():
            return f"{path.resolve()}@{fingerprint_model(path)}"
    if named:  # a hub name or the like
        return str(named[0])
    if backend.name == "embedded" and DEFAULT_MODEL_DIR.exists():
        return f"{DEFAULT_MODEL_DIR}@{fingerprint_model(DEFAULT_MODEL_DIR)}"
    return "no model path"


def model_identity(backend: Backend, model: str | os.PathLike[str] | None = None) -> str:
    """What makes two runs' predictions interchangeable: backend name, oneguard version, the
    model (the backend's ``identity`` if it has one, else a fingerprint of the model files it
    names - ``model_dir``, ... - or of ``model``, else the model's name) and its ``dtype``."""
    identity = f"{backend.name}|oneguard {__version__}|{_describe_model(backend, model)}"
    dtype = getattr(backend, "dtype", None)  # e.g. int8 quantisation changes the verdicts
    return f"{identity}|{dtype}" if isinstance(dtype, str) else identity


def supported_tasks(backend: Backend) -> tuple[str, ...]:
    """Tasks a backend answers: its ``tasks`` attribute, or all three."""
    tasks = tuple(getattr(backend, "tasks", TASKS))
    unknown = set(tasks) - set(TASKS)
    if unknown:
        raise ValueError(f"backend {backend.name!r} declares unknown tasks {sorted(unknown)}")
    return tasks


# ---------------------------------------------------------------------------------------------
# Prediction cache


def items_hash(items: Sequence[Item]) -> str:
    """Hash of the exact classifier inputs, in order."""
    digest = hashlib.sha256()
    for item in items:
        payload = [item.prompt, item.response, [list(turn) for turn in item.context]]
        digest.update(json.dumps(payload, ensure_ascii=False).encode())
        digest.update(b"\n")
    return digest.hexdigest()


class PredictionCache:
    """One JSON file of results per (model identity, inputs) under ``root``."""

    def __init__(self, root: Path | None = None) -> None:
        self.root = root if root is not None else cache_dir() / "eval-predictions"

    def path(self, identity: str, items: Sequence[Item]) -> Path:
        key = hashlib.sha256(f"{identity}\n{items_hash(items)}".encode()).hexdigest()
        return self.root / key[:2] / f"{key}.json"

    def load(self, identity: str, items: Sequence[Item]) -> list[Result] | None:
        path = self.path(identity, items)
        try:
            payload = json.loads(path.read_text(encoding="utf-8"))
            results = [Result(**raw) for raw in payload["results"]]
        except (OSError, ValueError, KeyError, TypeError):
            return None  # absent or unreadable: recompute
        if payload.get("identity") != identity or len(results) != len(items):
            return None
        return results

    def save(self, identity: str, items: Sequence[Item], results: Sequence[Result]) -> None:
        path = self.path(identity, items)
        path.parent.mkdir(parents=True, exist_ok=True)
        payload = {
            "identity": identity,
            "n": len(results),
            "results": [r.to_dict() for r in results],
        }
        fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(payload, handle, ensure_ascii=False)
        os.replace(tmp, path)


def predict(
    guard: Guard,
    items: Sequence[Item],
    *,
    identity: str,
    cache: PredictionCache | None,
    desc: str = "classify",
    progress: bool = True,
) -> list[Result]:
    """Results for ``items``, from the cache if this model has seen exactly these inputs."""
    if cache is not None:
        cached = cache.load(identity, items)
        if cached is not None:
            return cached
    results: list[Result] = []
    with tqdm(total=len(items), desc=desc, unit="item", disable=not progress) as bar:
        for batch in guard.iter_results(list(items)):
            results.extend(batch)
            bar.update(len(batch))
    if cache is not None:
        cache.save(identity, items, results)
    return results


# ---------------------------------------------------------------------------------------------
# Scoring

_RESULT_FIELDS = {
    "prompt": ("prompt_harmfulness", "prompt_harmfulness_score"),
    "response": ("response_harmfulness", "response_harmfulness_score"),
    "refusal": ("response_refusal", "response_refusal_score"),
}


def task_prediction(result: Result, task: str) -> tuple[bool | None, float | None]:
    """(positive?, score of the positive class) for ``task``; None where the model gave none."""
    label_field, score_field = _RESULT_FIELDS[task]
    label = getattr(result, label_field)
    score = getattr(result, score_field)
    positive = None if label is None or result.is_parsing_error else label == POSITIVE_LABEL[task]
    return positive, None if score is None else float(score)


@dataclass
class BenchmarkResult:
    """Scores of one model on one benchmark, with the per-item data the plots need."""

    name: str
    task: str
    title: str
    short: str
    metrics: BinaryMetrics
    #: WildGuardTest-style slices ("adversarial", "vanilla") where the data marks them.
    slices: dict[str, BinaryMetrics] = field(default_factory=dict)
    gold: list[bool] = field(default_factory=list)
    predicted: list[bool | None] = field(default_factory=list)
    scores: list[float | None] = field(default_factory=list)
    origin: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "task": self.task,
            "origin": self.origin,
            **self.metrics.to_dict(),
            "slices": {name: m.to_dict() for name, m in self.slices.items()},
        }


def score_benchmark(benchmark: Benchmark, results: Sequence[Result]) -> BenchmarkResult:
    """Metrics of ``results`` against the benchmark's gold labels, plus adversarial slices."""
    if len(results) != len(benchmark.records):
        raise ValueError(
            f"{benchmark.name}: {len(results)} results for {len(benchmark.records)} records"
        )
    gold = benchmark.gold()
    pairs = [task_prediction(r, benchmark.task) for r in results]
    predicted = [p for p, _ in pairs]
    scores = [s for _, s in pairs]
    slices = {}
    flags = benchmark.adversarial()
    for name, flag in (("adversarial", True), ("vanilla", False)):
        idx = [i for i, f in enumerate(flags) if f is flag]
        if idx:
            slices[name] = binary_metrics(
                [gold[i] for i in idx], [predicted[i] for i in idx], [scores[i] for i in idx]
            )
    return BenchmarkResult(
        name=benchmark.name,
        task=benchmark.task,
        title=benchmark.title,
        short=benchmark.short,
        metrics=binary_metrics(gold, predicted, scores),
        slices=slices,
        gold=gold,
        predicted=predicted,
        scores=scores,
        origin=benchmark.origin,
    )


@dataclass
class EvalRun:
    """One model's results on a set of benchmarks."""

    label: str
    backend: str
    identity: str
    results: dict[str, BenchmarkResult] = field(default_factory=dict)
    #: Benchmark -> why it was not run (e.g. the backend does not do that task).
    skipped: dict[str, str] = field(default_factory=dict)

    def f1(self, name: str) -> float | None:
        result = self.results.get(name)
        return result.metrics.f1 if result else None


def run_benchmarks(
    guard: Guard,
    benchmarks: Sequence[Benchmark],
    *,
    label: str | None = None,
    identity: str | None = None,
    cache: PredictionCache | None = None,
    progress: bool = True,
) -> EvalRun:
    """Classify every benchmark the backend supports and score it."""
    backend = guard.backend
    identity = identity or model_identity(backend)
    tasks = supported_tasks(backend)
    run = EvalRun(label=label or backend.name, backend=backend.name, identity=identity)
    for benchmark in benchmarks:
        if benchmark.task not in tasks:
            run.skipped[benchmark.name] = (
                f"backend {backend.name!r} does not do the {benchmark.task} task"
            )
            continue
        if not benchmark.records:
            run.skipped[benchmark.name] = "no labelled records"
            continue
        results = predict(
            guard,
            benchmark.items(),
            identity=identity,
            cache=cache,
            desc=f"{run.label}: {benchmark.name}",
            progress=progress,
        )
        run.results[benchmark.name] = score_benchmark(benchmark, results)
    return run
