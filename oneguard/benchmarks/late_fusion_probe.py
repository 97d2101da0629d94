"""Late fusion: does anything cheap added at inference lift the shipped model?

Each family below fuses the model's scores with a second view of the same item, in logit
space, with one parameter. The parameter is picked on the training mix's dev split by the
rule that picks the default (best mean of the three dev F1s, thresholds re-picked per task;
the gain over the model alone with its 95% paired-bootstrap interval). Only then, to report
it, the fused model is measured on the public suite and on the held-out sets of
``bench_out_of_suite.py``, at the thresholds picked on dev. No parameter or threshold is read
off an evaluation set.

* ``lexical blend``: ``(1 - w) logit(model) + w logit(TF-IDF)`` on every task: a second model
  family with other errors, nearly free at inference;
* ``response-only view``: ``(1 - w) logit(pair) + w logit(response alone)`` on response harm:
  the response scored with an empty prompt, so a scary request cannot lift its score;
* ``prompt term``: ``logit(response) + b logit(prompt)`` on response harm: harm in a response
  mostly answers a harmful request.

    python oneguard/benchmarks/late_fusion_probe.py --mix build/mix_v5/train_mix.parquet \\
        --tfidf build/tfidf_v4

Predictions are cached (the eval cache), so a rerun only recomputes the fusions. Writes
``benchmarks/results/late_fusion.{md,json}``.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_out_of_suite import load_held_out  # noqa: E402
from dev_select import mean_best_f1, paired_bootstrap_gain  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
TASK_NAMES = ("prompt", "response", "refusal")
#: The suite's refusal benchmark that enters the issue's third average.
XSTEST_REFUSAL = "xstest_response_refusal"


@dataclass
class Views:
    """Per-item scores of one list of items: the model's, the lexical model's (per task) and
    the model's response-harm score with the prompt left empty (NaN where no response)."""

    model: dict[str, np.ndarray]
    lexical: dict[str, np.ndarray]
    response_only: np.ndarray


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(np.asarray(p, dtype=float), 1e-6, 1 - 1e-6)
    return np.log(p) - np.log1p(-p)


def score_views(model: Any, lexical: Any, items: Sequence[Any], cache: Any) -> Views:
    from oneguard.eval.runner import model_identity, predict, task_prediction
    from oneguard.schema import Item

    def task_scores(guard: Any, batch: Sequence[Any]) -> dict[str, np.ndarray]:
        results = predict(
            guard, batch, identity=model_identity(guard.backend), cache=cache, progress=True
        )
        return {
            task: np.array(
                [np.nan if (s := task_prediction(r, task)[1]) is None else s for r in results]
            )
            for task in TASK_NAMES
        }

    with_response = [i for i, item in enumerate(items) if item.response is not None]
    response_only = np.full(len(items), np.nan)
    if with_response:
        alone = [Item("", items[i].response) for i in with_response]
        response_only[with_response] = task_scores(model, alone)["response"]
    return Views(task_scores(model, items), task_scores(lexical, items), response_only)


#: A fusion: (views, task, parameter) -> fused logits for that task.
Fusion = Callable[[Views, str, float], np.ndarray]


def _lexical_blend(v: Views, task: str, w: float) -> np.ndarray:
    return (1 - w) * _logit(v.model[task]) + w * _logit(v.lexical[task])


def _response_only_view(v: Views, task: str, w: float) -> np.ndarray:
    if task != "response":
        return _logit(v.model[task])
    return (1 - w) * _logit(v.model[task]) + w * _logit(v.response_only)


def _prompt_term(v: Views, task: str, b: float) -> np.ndarray:
    if task != "response":
        return _logit(v.model[task])
    return _logit(v.model[task]) + b * _logit(v.model["prompt"])


#: name -> (fusion, parameter grid, what the parameter is called).
FAMILIES: dict[str, tuple[Fusion, tuple[float, ...], str]] = {
    "lexical blend": (_lexical_blend, (0.1, 0.2, 0.3, 0.4, 0.5), "w"),
    "response-only view": (_response_only_view, (0.1, 0.2, 0.35, 0.5), "w"),
    "prompt term": (_prompt_term, (0.1, 0.2, 0.3, 0.5), "b"),
}


def fused(views: Views, fusion: Fusion, param: float) -> dict[str, np.ndarray]:
    return {task: fusion(views, task, param) for task in TASK_NAMES}


def dev_choice(
    views: Views, gold: dict[str, np.ndarray], fusion: Fusion, grid: Sequence[float], resamples: int
) -> dict[str, Any]:
    """The dev rule for one family: the best grid point by mean dev F1, and its gain over the
    model alone (parameter 0) with a paired bootstrap."""
    rows = np.arange(len(gold["prompt"]))

    def per_row(param: float) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        return {t: (gold[t], s) for t, s in fused(views, fusion, param).items()}

    reference = per_row(0.0)
    by_param = {p: mean_best_f1(per_row(p), rows) for p in grid}
    best = max(by_param, key=by_param.__getitem__)
    gains = paired_bootstrap_gain(per_row(best), reference, resamples)
    low, high = np.percentile(gains, [2.5, 97.5])
    return {
        "param": best,
        "dev_mean_f1": by_param[best],
        "dev_mean_f1_by_param": {str(p): f for p, f in by_param.items()},
        "reference_dev_mean_f1": mean_best_f1(reference, rows),
        "gain_ci95": [float(low), float(high)],
        "passes_rule": bool(low > 0),
    }


def dev_thresholds(gold: dict[str, np.ndarray], scores: dict[str, np.ndarray]) -> dict[str, float]:
    from oneguard.model.thresholds import best_f1_threshold

    thresholds = {}
    for task in TASK_NAMES:
        known = (gold[task] >= 0) & ~np.isnan(scores[task])
        thresholds[task] = best_f1_threshold(gold[task][known] == 1, scores[task][known]).threshold
    return thresholds


def benchmark_f1(
    benchmarks: Sequence[Any],
    scores: dict[str, dict[str, np.ndarray]],
    thresholds: dict[str, float],
) -> dict[str, float | None]:
    """F1 per benchmark of fused scores (``scores[benchmark][task]``) at dev thresholds."""
    from oneguard.eval.metrics import binary_metrics

    f1 = {}
    for b in benchmarks:
        s = scores[b.name][b.task]
        predicted = [None if np.isnan(x) else bool(x >= thresholds[b.task]) for x in s]
        f1[b.name] = binary_metrics(b.gold(), predicted, [None if np.isnan(x) else x for x in s]).f1
    return f1


def averages(
    f1: dict[str, float | None], suite: Sequence[Any], held_out: Sequence[Any]
) -> dict[str, float | None]:
    from oneguard.eval.metrics import mean_or_none

    def mean(benchmarks: Sequence[Any], task: str) -> float | None:
        return mean_or_none([f1[b.name] for b in benchmarks if b.task == task])

    return {
        "suite_prompt": mean(suite, "prompt"),
        "suite_response": mean(suite, "response"),
        "suite_xstest_refusal": f1.get(XSTEST_REFUSAL),
        "held_out_prompt": mean(held_out, "prompt"),
        "held_out_response": mean(held_out, "response"),
    }


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.1f}"


def write_report(report: dict[str, Any], out: Path) -> Path:
    columns = list(report["rows"][0]["averages"])
    lines = [
        "# Late fusion probes on the shipped model",
        "",
        f"- Command: `{report['command']}`",
        f"- Model `{report['model']}`; lexical model `{report['lexical']}`; dev split of "
        f"`{report['mix']}` ({report['dev_rows']:,} rows).",
        "- Each family's parameter is the best of its grid on dev (mean of the three dev F1s, "
        "thresholds re-picked per task); the gain over the model alone carries a 95% "
        f"paired-bootstrap interval ({report['resamples']} resamples). The suite and held-out "
        "columns are measured after that choice, at thresholds picked on dev, for the model "
        "alone too (so its row can differ from the shipped report by a tie in the threshold). "
        "F1 in %.",
        "",
        "| fusion | parameter | dev mean | gain (95% interval) | passes the dev rule | "
        + " | ".join(c.replace("_", " ") for c in columns)
        + " |",
        "|---|---|---:|---|---|" + "---:|" * len(columns),
    ]
    for row in report["rows"]:
        choice = row.get("choice")
        if choice is None:
            head = f"| {row['name']} | – | {100 * row['dev_mean_f1']:.2f} | reference | – |"
        else:
            low, high = choice["gain_ci95"]
            gain = 100 * (choice["dev_mean_f1"] - choice["reference_dev_mean_f1"])
            head = (
                f"| {row['name']} | {row['param_name']} = {choice['param']} | "
                f"{100 * choice['dev_mean_f1']:.2f} | {gain:+.2f} ({100 * low:+.2f} … "
                f"{100 * high:+.2f}) | {'yes' if choice['passes_rule'] else 'no'} |"
            )
        lines.append(head + "".join(f" {_pct(row['averages'][c])} |" for c in columns))
    lines += [
        "",
        "Suite averages are the paper's (five prompt sets, four response sets, XSTest refusal); "
        "held-out averages are those of `out_of_suite.md`. Per-benchmark F1 is in the JSON.",
        "",
    ]
    out.mkdir(parents=True, exist_ok=True)
    (out / "late_fusion.json").write_text(json.dumps(report, indent=1) + "\n", "utf-8")
    markdown = out / "late_fusion.md"
    markdown.write_text("\n".join(lines), encoding="utf-8")
    return markdown


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mix", type=Path, required=True, help="training mix (its dev split)")
    parser.add_argument("--tfidf", type=Path, required=True, help="TF-IDF model folder")
    parser.add_argument("--model", help="embedded model folder (default: the shipped one)")
    parser.add_argument("--data-dir", help="shared data folder holding moderation/")
    parser.add_argument("--threads", type=int, default=2, help="torch threads")
    parser.add_argument("--resamples", type=int, default=300, help="bootstrap resamples")
    parser.add_argument("--out-dir", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    if not args.tfidf.is_dir():
        parser.error(f"--tfidf {args.tfidf}: no such folder")

    import torch
    from oneguard.data.mix import DEV, read_mix
    from oneguard.eval.runner import PredictionCache, model_identity
    from oneguard.eval.suites import load_public_suite
    from oneguard.model.training_data import examples_from_records

    from oneguard import Guard

    torch.set_num_threads(args.threads)
    try:
        rows = [r for r in read_mix(args.mix) if r.split == DEV]
        suite = list(load_public_suite(args.data_dir))
        held_out = load_held_out(args.data_dir)
    except (FileNotFoundError, ValueError) as err:
        parser.error(str(err))
    if not rows:
        parser.error(f"{args.mix} has no dev rows")
    model = Guard.load(args.model)
    lexical = Guard.load(str(args.tfidf), backend="tfidf")
    cache = PredictionCache()
    labels = examples_from_records(rows, annotation_weights={}).labels
    gold = {t: labels[t].astype(np.int64) for t in TASK_NAMES}
    dev_views = score_views(model, lexical, [r.to_item() for r in rows], cache)
    eval_sets = [*suite, *held_out]
    eval_views = {b.name: score_views(model, lexical, b.items(), cache) for b in eval_sets}

    def measured(fusion: Fusion, param: float) -> tuple[dict[str, Any], dict[str, Any]]:
        thresholds = dev_thresholds(gold, fused(dev_views, fusion, param))
        scores = {name: fused(v, fusion, param) for name, v in eval_views.items()}
        f1 = benchmark_f1(eval_sets, scores, thresholds)
        return averages(f1, suite, held_out), f1

    reference_avg, reference_f1 = measured(_lexical_blend, 0.0)
    report_rows: list[dict[str, Any]] = [
        {
            "name": "model alone",
            "dev_mean_f1": mean_best_f1(
                {t: (gold[t], s) for t, s in fused(dev_views, _lexical_blend, 0.0).items()},
                np.arange(len(rows)),
            ),
            "averages": reference_avg,
            "f1": reference_f1,
        }
    ]
    for name, (fusion, grid, param_name) in FAMILIES.items():
        choice = dev_choice(dev_views, gold, fusion, grid, args.resamples)
        avg, f1 = measured(fusion, choice["param"])
        report_rows.append(
            {"name": name, "param_name": param_name, "choice": choice, "averages": avg, "f1": f1}
        )
    command = shlex.join(["python", "oneguard/benchmarks/late_fusion_probe.py", *sys.argv[1:]])
    report = {
        "command": command,
        "model": model_identity(model.backend),
        "lexical": model_identity(lexical.backend),
        "mix": str(args.mix),
        "dev_rows": len(rows),
        "resamples": args.resamples,
        "rows": report_rows,
    }
    print(write_report(report, args.out_dir).read_text(encoding="utf-8"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
