"""Score the shipped model and the TF-IDF floor on evaluation data outside the paper's suite.

Issue 2 asks that the margin over the TF-IDF floor also hold "on evaluation data you have not
seen". The hidden sets are not here, but the registry holds eval-only sources that no model was
trained, tuned or selected on (the training mix is deduplicated against all of them, and the
default was chosen on the mix's dev split): this script measures the margin there, set by set
and averaged per task. No refusal set qualifies: the eval-only refusal data is either the
source of XSTest-Resp or compliance-only (F1 undefined).

    python oneguard/benchmarks/bench_out_of_suite.py --tfidf build/tfidf

``build/tfidf`` is the floor model, fitted on the same training mix by ``oneguard eval
--backend tfidf --model build/tfidf --fit-tfidf build/mix/train_mix.parquet``. Results go to
``oneguard/benchmarks/results/out_of_suite.{md,json}``.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import time
from pathlib import Path
from typing import Any

import torch
from oneguard.api import Guard
from oneguard.data.registry import get_source
from oneguard.eval.metrics import mean_or_none
from oneguard.eval.runner import PredictionCache, model_identity, run_benchmarks
from oneguard.eval.suites import Benchmark, resolve_moderation_dir

RESULTS_DIR = Path(__file__).resolve().parent / "results"
#: (registered eval-only source, task, why it is a fair held-out test).
HELD_OUT: tuple[tuple[str, str, str], ...] = (
    ("convabuse_test", "prompt", "abuse aimed at chatbots, real user turns (ConvAbuse test)"),
    ("wizard101_jbb_behaviors", "prompt", "JailbreakBench goals, 100 harmful + 100 benign twins"),
    ("xstest_prompts", "prompt", "XSTest v2: 200 unsafe prompts, 250 safe ones that sound unsafe"),
    ("safety_tuned_llamas_eval", "prompt", "Safety-Tuned LLaMAs evaluation sets"),
    (
        "jailbreakv_sample",
        "prompt",
        "JailBreakV-28K jailbreak-wrapped harmful queries (all harmful)",
    ),
    ("refusal_direction_tdc2023", "prompt", "TDC 2023 red-teaming behaviours (all harmful)"),
    ("diasafety_test", "response", "DiaSafety test: chatbot replies in Reddit-style dialogue"),
    ("dices_350_expert", "response", "DICES-350 multi-turn conversations, expert gold label"),
    ("dices_990", "response", "DICES-990 multi-turn conversations, crowd majority"),
)


def load_held_out(data_dir: str | None) -> list[Benchmark]:
    folder = resolve_moderation_dir(data_dir)
    benchmarks = []
    for name, task, title in HELD_OUT:
        source = get_source(name)
        if source.role != "eval":
            raise RuntimeError(f"{name} is registered as {source.role!r}, not eval-only")
        records = source.load(folder)
        benchmarks.append(
            Benchmark(name, task, records, title=title, origin=str(folder / source.folder))
        )
    return benchmarks


def measure(guards: dict[str, Guard], benchmarks: list[Benchmark]) -> dict[str, Any]:
    cache = PredictionCache()
    runs = {}
    for label, guard in guards.items():
        started = time.perf_counter()
        run = run_benchmarks(guard, benchmarks, label=label, cache=cache)
        runs[label] = {
            "identity": model_identity(guard.backend),
            "seconds": round(time.perf_counter() - started, 1),
            "benchmarks": {name: r.to_dict() for name, r in run.results.items()},
        }
    averages: dict[str, dict[str, float | None]] = {}
    for task in ("prompt", "response"):
        names = [b.name for b in benchmarks if b.task == task]
        averages[task] = {
            label: mean_or_none([run["benchmarks"][n]["f1"] for n in names])
            for label, run in runs.items()
        }
    return {"runs": runs, "averages": averages}


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.1f}"


def write_report(
    result: dict[str, Any], benchmarks: list[Benchmark], command: str, out_dir: Path = RESULTS_DIR
) -> Path:
    """Write ``out_of_suite.md`` and ``.json`` to ``out_dir``; return the markdown's path."""
    model, floor = list(result["runs"])
    runs = result["runs"]
    lines = [
        "# OneGuard on held-out evaluation data outside the paper's suite",
        "",
        f"- Command: `{command}`",
        f"- Models: `{runs[model]['identity']}` against the floor `{runs[floor]['identity']}`",
        "- Every set is registered eval-only: the training mix is deduplicated against it and no "
        "model, threshold or default was chosen on it. F1 in %, positive class harmful.",
        "",
        f"| Set | Task | n | Positives | {model} F1 | P | R | {floor} F1 | margin |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for b in benchmarks:
        ours, theirs = runs[model]["benchmarks"][b.name], runs[floor]["benchmarks"][b.name]
        margin = None if ours["f1"] is None or theirs["f1"] is None else ours["f1"] - theirs["f1"]
        lines.append(
            f"| `{b.name}`: {b.title} | {b.task} | {ours['n']} | {ours['positives']} | "
            f"{_pct(ours['f1'])} | {_pct(ours['precision'])} | {_pct(ours['recall'])} | "
            f"{_pct(theirs['f1'])} | {'–' if margin is None else f'{100 * margin:+.1f}'} |"
        )
    lines += ["", "| Average | " + " | ".join(runs) + " | margin |", "|---|---:|---:|---:|"]
    for task, by_model in result["averages"].items():
        ours, theirs = by_model[model], by_model[floor]
        margin = "–" if ours is None or theirs is None else f"{100 * (ours - theirs):+.1f}"
        lines.append(f"| {task} | {_pct(ours)} | {_pct(theirs)} | {margin} |")
    lines += [
        "",
        "Sets with only harmful items (JailBreakV, TDC 2023) measure recall: their precision is "
        "100% by construction. DiaSafety's test split shares its source with the DiaSafety "
        "training split in the mix; the others have no training counterpart.",
        "",
    ]
    out_dir.mkdir(parents=True, exist_ok=True)
    payload = {"command": command, **result}
    (out_dir / "out_of_suite.json").write_text(json.dumps(payload, indent=2) + "\n", "utf-8")
    markdown = out_dir / "out_of_suite.md"
    markdown.write_text("\n".join(lines), encoding="utf-8")
    return markdown


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", help="embedded model folder (default: the shipped one)")
    parser.add_argument("--tfidf", type=Path, default=Path("build/tfidf"), help="floor model")
    parser.add_argument("--data-dir", help="shared data folder holding moderation/")
    parser.add_argument("--threads", type=int, default=2, help="torch threads")
    parser.add_argument(
        "--out-dir", type=Path, default=RESULTS_DIR, help="where out_of_suite.{md,json} go"
    )
    args = parser.parse_args(argv)
    if not args.tfidf.is_dir():
        parser.error(
            f"--tfidf {args.tfidf}: no such folder (fit it with oneguard eval --fit-tfidf)"
        )
    torch.set_num_threads(args.threads)
    try:
        benchmarks = load_held_out(args.data_dir)
    except FileNotFoundError as err:
        parser.error(str(err))
    guards = {
        "OneGuard": Guard.load(args.model),
        "TF-IDF + LR": Guard.load(str(args.tfidf), backend="tfidf"),
    }
    command = shlex.join(["python", "oneguard/benchmarks/bench_out_of_suite.py", *sys.argv[1:]])
    result = measure(guards, benchmarks)
    args.out_dir.mkdir(parents=True, exist_ok=True)
    print(write_report(result, benchmarks, command, args.out_dir).read_text(encoding="utf-8"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
