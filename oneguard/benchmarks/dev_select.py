"""Score candidate models on a training mix's dev split: the rule that picks the default.

    python oneguard/benchmarks/dev_select.py --mix build/mix_v2/train_mix.parquet \\
        oneguard/src/oneguard/weights/default /tmp/og/runs/default_e3_backup --name dev_selection

Each model classifies every dev row (with its earlier turns) through :class:`oneguard.Guard`
(fp32, as shipped); per
task the threshold is re-picked for the best F1 on those rows, as training does, so models are
compared at their own best operating point. The model with the best mean of the three dev F1s
is the one to ship, provided it beats the reference (the current default: the first model
listed, or ``--reference``) by more than the dev split's noise: a paired bootstrap over dev
rows (thresholds re-picked in every resample) must put the 95% interval of its gain above
zero; otherwise the reference stays. No benchmark is read. Writes
``benchmarks/results/<name>.{md,json}``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

RESULTS = Path(__file__).resolve().parent / "results"
#: (task, result score field, record label field, positive label)
TASKS = (
    ("prompt", "prompt_harmfulness_score", "prompt_harm_label", "harmful"),
    ("response", "response_harmfulness_score", "response_harm_label", "harmful"),
    ("refusal", "response_refusal_score", "response_refusal_label", "refusal"),
)


def _false_alarms(guard: Any, rows: list[Any], results: list[Any]) -> dict[str, Any]:
    """Per source, the share of responses labelled unharmful that the model flags at its own
    stored threshold: where the response head over-reacts."""
    from oneguard.data.augment import source_family

    stored = getattr(guard.backend, "thresholds", {}).get("response")
    by_source: dict[str, list[bool]] = {}
    for record, result in zip(rows, results, strict=True):
        score = result.response_harmfulness_score
        if record.response_harm_label == "unharmful" and score is not None and stored is not None:
            source = source_family(record.source)
            by_source.setdefault(source, []).append(score >= stored)
    return {
        "threshold": stored,
        "sources": {
            k: {"n": len(v), "rate": float(np.mean(v))} for k, v in sorted(by_source.items())
        },
    }


def score_model(model: str, rows: list[Any], batch_size: int) -> dict[str, Any]:
    from oneguard.model.thresholds import best_f1_threshold
    from oneguard.model.training_data import examples_from_records
    from tqdm import tqdm

    from oneguard import Guard

    guard = Guard.load(model, batch_size=batch_size)
    items = [r.to_item() for r in rows]
    started = time.perf_counter()
    results = []
    with tqdm(total=len(items), desc=Path(model).name, unit="item") as bar:
        for batch in guard.iter_results(items):
            results.extend(batch)
            bar.update(len(batch))
    tasks: dict[str, Any] = {}
    per_row: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    labels = examples_from_records(rows, annotation_weights={}).labels
    for task, score_field, _, _ in TASKS:
        gold = labels[task].astype(np.int64)
        scores = np.array(
            [
                np.nan if getattr(res, score_field) is None else getattr(res, score_field)
                for res in results
            ],
            dtype=float,
        )
        per_row[task] = (gold, scores)
        known = (gold >= 0) & ~np.isnan(scores)
        choice = best_f1_threshold(gold[known] == 1, scores[known])
        tasks[task] = {"f1": choice.f1, "threshold": choice.threshold, "n": int(known.sum())}
    return {
        "model": model,
        "tasks": tasks,
        "response_false_alarms": _false_alarms(guard, rows, results),
        "mean_f1": float(np.mean([t["f1"] for t in tasks.values()])),
        "seconds": round(time.perf_counter() - started, 1),
        "_per_row": per_row,
    }


def mean_best_f1(per_row: dict[str, tuple[np.ndarray, np.ndarray]], rows: np.ndarray) -> float:
    """Mean over tasks of the best-threshold F1 on ``rows`` (indices, repeats allowed)."""
    from oneguard.model.thresholds import best_f1_threshold

    f1s = []
    for gold, scores in per_row.values():
        g, s = gold[rows], scores[rows]
        known = (g >= 0) & ~np.isnan(s)
        f1s.append(best_f1_threshold(g[known] == 1, s[known]).f1 or 0.0)
    return float(np.mean(f1s))


def paired_bootstrap_gain(
    candidate: dict[str, tuple[np.ndarray, np.ndarray]],
    reference: dict[str, tuple[np.ndarray, np.ndarray]],
    resamples: int = 1000,
    seed: int = 0,
) -> np.ndarray:
    """Gains (candidate minus reference) in mean best-F1 over ``resamples`` bootstrap
    resamples of the dev rows; both models see the same rows, and each re-picks its
    thresholds on every resample, as the selection itself does."""
    n = len(next(iter(candidate.values()))[0])
    rng = np.random.default_rng(seed)
    gains = np.empty(resamples)
    for i in range(resamples):
        rows = rng.integers(0, n, n)
        gains[i] = mean_best_f1(candidate, rows) - mean_best_f1(reference, rows)
    return gains


def choose(scored: list[dict[str, Any]], reference: str, resamples: int) -> dict[str, Any]:
    """The selection rule: the best dev mean replaces the reference only when the lower end
    of its 95% bootstrap interval of the gain is above zero."""
    ref = next(s for s in scored if s["model"] == reference)
    best = max(scored, key=lambda s: s["mean_f1"])
    for s in scored:
        if s is ref:
            continue
        gains = paired_bootstrap_gain(s["_per_row"], ref["_per_row"], resamples)
        low, high = np.percentile(gains, [2.5, 97.5])
        s["gain_vs_reference"] = {
            "mean_f1_gain": s["mean_f1"] - ref["mean_f1"],
            "ci95": [float(low), float(high)],
            "resamples": resamples,
        }
    if best is ref or best["gain_vs_reference"]["ci95"][0] <= 0:
        return ref
    return best


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("models", nargs="+", help="embedded model folders to compare")
    parser.add_argument("--mix", type=Path, required=True, help="training mix Parquet")
    parser.add_argument("--name", default="dev_selection", help="results file stem")
    parser.add_argument("--threads", type=int, default=2, help="torch threads")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument(
        "--reference", default=None, help="the model to beat (default: the first one listed)"
    )
    parser.add_argument("--resamples", type=int, default=1000, help="bootstrap resamples")
    args = parser.parse_args(argv)
    reference = args.reference or args.models[0]
    if reference not in args.models:
        print(f"error: --reference {reference} is not among the models", file=sys.stderr)
        return 2

    import torch
    from oneguard.data.mix import DEV, read_mix

    torch.set_num_threads(args.threads)
    try:
        rows = [r for r in read_mix(args.mix) if r.split == DEV]
    except (FileNotFoundError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if not rows:
        print(f"error: {args.mix} has no dev rows", file=sys.stderr)
        return 2
    for task, _, label_field, _ in TASKS:
        if all(getattr(r, label_field) == "unknown" for r in rows):
            print(f"error: {args.mix}: no dev row labels the {task} task", file=sys.stderr)
            return 2
    for model in args.models:
        if not Path(model).is_dir():
            print(f"error: model folder {model} not found", file=sys.stderr)
            return 2
    scored = [score_model(m, rows, args.batch_size) for m in args.models]
    best = choose(scored, reference, args.resamples)
    for s in scored:
        del s["_per_row"]
    command = "python oneguard/benchmarks/dev_select.py " + " ".join(
        [f"--mix {args.mix}", *args.models, f"--name {args.name}"]
        + ([f"--reference {args.reference}"] if args.reference else [])
    )
    report = {"command": command, "mix": str(args.mix), "dev_rows": len(rows), "models": scored}
    report["reference"] = reference
    report["best"] = best["model"]
    lines = [
        f"# Dev-split selection on `{args.mix}` ({len(rows):,} dev rows)",
        "",
        "F1 (%) at each model's best-F1 threshold on these rows. Gain: mean F1 minus the "
        f"reference's (`{reference}`), with its 95% paired-bootstrap interval "
        f"({args.resamples} resamples of the dev rows). The best mean becomes the default only "
        "when that interval lies above zero; otherwise the reference stays.",
        "",
        "| model | prompt | response | refusal | mean | gain (95% interval) |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for s in scored:
        f1 = [f"{100 * s['tasks'][t]['f1']:.1f}" for t, *_ in TASKS]
        mark = " (chosen)" if s is best else ""
        gain = s.get("gain_vs_reference")
        cell = "reference"
        if gain:
            low, high = gain["ci95"]
            cell = f"{100 * gain['mean_f1_gain']:+.2f} ({100 * low:+.2f} … {100 * high:+.2f})"
        lines.append(
            f"| `{s['model']}`{mark} | {' | '.join(f1)} | {100 * s['mean_f1']:.2f} | {cell} |"
        )
    n = {t: scored[0]["tasks"][t]["n"] for t, *_ in TASKS}
    lines += ["", "Labelled dev rows: " + ", ".join(f"{t} {v:,}" for t, v in n.items()) + "."]
    lines += [
        "",
        "Responses labelled unharmful that each model flags at its own stored threshold "
        "(% of n), per source (augmented variants counted with their source):",
        "",
        "| source | n | " + " | ".join(f"`{Path(s['model']).name}`" for s in scored) + " |",
        "|---|---:|" + "---:|" * len(scored),
    ]
    first = scored[0]["response_false_alarms"]["sources"]
    for source, cell in first.items():
        rates = [
            f"{100 * s['response_false_alarms']['sources'][source]['rate']:.1f}" for s in scored
        ]
        lines.append(f"| {source} | {cell['n']} | " + " | ".join(rates) + " |")
    lines.append(
        "| (threshold) | | "
        + " | ".join(f"{s['response_false_alarms']['threshold']:.3f}" for s in scored)
        + " |"
    )
    lines += ["", f"Command: `{command}`"]
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{args.name}.json").write_text(json.dumps(report, indent=1) + "\n", "utf-8")
    (RESULTS / f"{args.name}.md").write_text("\n".join(lines) + "\n", "utf-8")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
