"""How much of a gap is the operating point, and how much is ranking? A diagnostic, not a score.

    python oneguard/benchmarks/threshold_ceiling.py \\
        --report oneguard/benchmarks/results/eval_default/report.json \\
        --report oneguard/benchmarks/results/eval_stage4/report.json

For every model's ``oneguard eval`` report it reads the cached predictions (rerun ``oneguard
eval`` for that model if they are gone) and, per paper average (prompt, response), sets
beside the F1 the model actually scores: the F1 with the threshold picked **on each benchmark
itself** (an upper bound no threshold rule can pass), the best average over one threshold
shared by the group's benchmarks (what a better dev-picked threshold could reach at most)
and AUPRC (ranking, threshold-free). On a set with only harmful items (SimpleSafetyTests,
HarmBench prompts) the own-threshold ceiling is a trivial 100: flag everything. When even the per-benchmark ceiling is short of a target,
moving thresholds cannot close the gap; only a model that ranks better can.

These thresholds are chosen on the benchmarks, so the figures must never be reported as the
model's scores, and nothing here may pick a model or a threshold to ship. Writes
``benchmarks/results/<name>.{md,json}``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

RESULTS = Path(__file__).resolve().parent / "results"


def f1_at_thresholds(gold: np.ndarray, scores: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
    """F1 of ``score >= t`` for every ``t`` in ``thresholds`` (vectorised)."""
    gold = np.asarray(gold, dtype=bool)
    scores = np.asarray(scores, dtype=np.float64)
    all_sorted = np.sort(scores)
    positive_sorted = np.sort(scores[gold])
    predicted = len(all_sorted) - np.searchsorted(all_sorted, thresholds, side="left")
    tp = len(positive_sorted) - np.searchsorted(positive_sorted, thresholds, side="left")
    denominator = predicted + len(positive_sorted)
    return np.divide(2.0 * tp, denominator, out=np.zeros(len(thresholds)), where=denominator > 0)


def group_ceiling(
    benchmarks: dict[str, tuple[np.ndarray, np.ndarray, float | None]],
) -> dict[str, Any]:
    """``benchmarks``: name -> (gold, scores, F1 as the model decided). Per benchmark: that F1,
    the best-threshold F1 and AUPRC; for the group: their means and the best mean over one
    shared threshold."""
    from oneguard.eval.metrics import average_precision
    from oneguard.model.thresholds import best_f1_threshold

    rows: dict[str, Any] = {}
    for name, (gold, scores, shipped) in benchmarks.items():
        oracle = best_f1_threshold(gold, scores)
        rows[name] = {
            "n": int(len(gold)),
            "all_positive": bool(gold.all()),
            "f1": shipped,
            "oracle_f1": oracle.f1,
            "oracle_threshold": oracle.threshold,
            "auprc": average_precision(gold.tolist(), scores.tolist()),
        }
    candidates = np.unique(np.concatenate([scores for _, scores, _ in benchmarks.values()]))
    curves = np.stack(
        [f1_at_thresholds(gold, scores, candidates) for gold, scores, _ in benchmarks.values()]
    )
    mean_curve = curves.mean(axis=0)
    best = int(np.argmax(mean_curve))

    def mean(field: str) -> float | None:
        values = [row[field] for row in rows.values()]
        return None if any(v is None for v in values) else float(np.mean(values))

    return {
        "benchmarks": rows,
        "f1": mean("f1"),
        "oracle_f1": mean("oracle_f1"),
        "shared_threshold": float(candidates[best]),
        "shared_threshold_f1": float(mean_curve[best]),
        "auprc": mean("auprc"),
    }


def load_averaged_benchmarks(data_dir: str | None) -> dict[str, Any]:
    """The benchmarks behind the paper's averages, by name (loaded once for every report)."""
    from oneguard.eval.suites import AVERAGES, load_public_suite

    wanted = [name for names in AVERAGES.values() for name in names]
    return {b.name: b for b in load_public_suite(data_dir, wanted)}


def model_ceiling(report_path: Path, suite: dict[str, Any]) -> dict[str, Any]:
    from oneguard.eval.runner import PredictionCache, task_prediction
    from oneguard.eval.suites import AVERAGES

    try:
        report = json.loads(report_path.read_text("utf-8"))
        identity = report["model"]["identity"]
    except (OSError, json.JSONDecodeError, KeyError, TypeError) as exc:
        message = f"error: {report_path}: not a readable `oneguard eval` report ({exc})"
        raise SystemExit(message) from None
    cache = PredictionCache()
    groups: dict[str, Any] = {}
    for group, names in AVERAGES.items():
        members: dict[str, tuple[np.ndarray, np.ndarray, float | None]] = {}
        for name in names:
            benchmark = suite[name]
            results = cache.load(identity, benchmark.items())
            if results is None:
                raise SystemExit(
                    f"error: no cached predictions of {identity!r} on {name}; rerun the "
                    f"command in {report_path} ('command' field) first"
                )
            pairs = [task_prediction(r, benchmark.task) for r in results]
            if any(score is None for _, score in pairs):
                raise SystemExit(f"error: {identity!r} gave no score for some {name} items")
            scores = np.array([score for _, score in pairs], dtype=np.float64)
            shipped = report["benchmarks"].get(name, {}).get("f1")
            members[name] = (np.array(benchmark.gold(), dtype=bool), scores, shipped)
        groups[group] = group_ceiling(members)
    return {"report": str(report_path), "label": report["model"]["label"], "groups": groups}


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.1f}"


def markdown(models: list[dict[str, Any]], command: str) -> str:
    lines = [
        "# Operating point or ranking? Threshold ceilings on the public suite",
        "",
        f"- Command: `{command}`",
        "- **Diagnostic only**: the ceilings pick thresholds on the benchmarks themselves, so "
        "they are upper bounds, never scores. F1 and AUPRC in %.",
        "",
    ]
    for model in models:
        lines += [f"## {model['label']} (`{model['report']}`)", ""]
        lines += [
            "| Average | F1 as shipped | one shared threshold (t) | each benchmark's own "
            "threshold | mean AUPRC |",
            "|---|---:|---:|---:|---:|",
        ]
        for group, g in model["groups"].items():
            lines.append(
                f"| {group} | {_pct(g['f1'])} | {_pct(g['shared_threshold_f1'])} "
                f"({g['shared_threshold']:.2f}) | {_pct(g['oracle_f1'])} | {_pct(g['auprc'])} |"
            )
        lines += ["", "| Benchmark | F1 as shipped | own-threshold F1 (t) | AUPRC |"]
        lines.append("|---|---:|---:|---:|")
        for g in model["groups"].values():
            for name, row in g["benchmarks"].items():
                note = " (all positive: trivial)" if row["all_positive"] else ""
                lines.append(
                    f"| {name} | {_pct(row['f1'])} | {_pct(row['oracle_f1'])} "
                    f"({row['oracle_threshold']:.2f}){note} | {_pct(row['auprc'])} |"
                )
        lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--report",
        type=Path,
        action="append",
        required=True,
        help="an `oneguard eval` report.json (repeat for several models)",
    )
    parser.add_argument("--data-dir", default=None, help="shared data folder (SHARED_DATA_DIR)")
    parser.add_argument("--name", default="threshold_ceiling", help="results file stem")
    args = parser.parse_args(argv)
    try:
        suite = load_averaged_benchmarks(args.data_dir)
    except FileNotFoundError as exc:
        raise SystemExit(f"error: {exc}") from None
    models = [model_ceiling(path, suite) for path in args.report]
    command = "python oneguard/benchmarks/threshold_ceiling.py " + " ".join(
        sys.argv[1:] if argv is None else argv
    )
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{args.name}.json").write_text(
        json.dumps({"command": command, "models": models}, indent=2) + "\n", "utf-8"
    )
    text = markdown(models, command)
    (RESULTS / f"{args.name}.md").write_text(text + "\n", "utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
