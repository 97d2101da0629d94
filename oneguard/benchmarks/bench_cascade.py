"""F1 and throughput on the public suite with and without the TF-IDF -> encoder cascade.

One run, same items, same batch size and CPU threads: the encoder alone, the cascade
(stage 1 settles the confident items, the encoder judges the rest) and, for reference, TF-IDF
alone, taking turns benchmark by benchmark. F1 per benchmark of the WildGuard paper's public
suite and the three averages (prompt, response, XSTest refusal); items per wall second and per
CPU second of this process over the whole suite (model loading excluded); the share of items
stage 1 settled. Predictions are never read from the eval cache.

    nice -n 10 .venv/bin/python oneguard/benchmarks/bench_cascade.py \\
        --cascade build/cascade --fit --tfidf build/tfidf --mix build/mix/train_mix.parquet

``--fit`` (re)chooses the cut-offs on the mix's dev split first (``oneguard cascade fit``).
Results: ``oneguard/benchmarks/results/cascade.md`` and ``.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
import time
from pathlib import Path
from typing import Any

import torch
from oneguard.api import Guard
from oneguard.backends import create_backend
from oneguard.backends.baselines import TfidfBackend
from oneguard.backends.cascade import CascadeBackend, calibrate_cascade
from oneguard.eval.runner import EvalRun, run_benchmarks
from oneguard.eval.suites import AVERAGES, load_public_suite

RESULTS_DIR = Path(__file__).resolve().parent / "results"
AVERAGE_SETS = {
    "prompt avg": AVERAGES["prompt_avg"],
    "response avg": AVERAGES["response_avg"],
    "refusal (XSTest)": ("xstest_response_refusal",),
}


def interleaved_runs(
    backends: dict[str, Any], benchmarks: list, batch_size: int
) -> tuple[dict[str, EvalRun], dict[str, dict[str, float]]]:
    """Every backend on every benchmark, taking turns benchmark by benchmark so that a change
    in the machine's load hits all of them alike; wall and process CPU seconds per backend."""
    runs = {
        label: EvalRun(label=label, backend=b.name, identity=label) for label, b in backends.items()
    }
    clocks = {label: {"seconds": 0.0, "cpu_seconds": 0.0, "items": 0} for label in backends}
    for bench in benchmarks:
        for label, backend in backends.items():
            wall, cpu = time.perf_counter(), time.process_time()
            run = run_benchmarks(
                Guard(backend, batch_size=batch_size), [bench], label=label, cache=None
            )
            clocks[label]["seconds"] += time.perf_counter() - wall
            clocks[label]["cpu_seconds"] += time.process_time() - cpu
            runs[label].results.update(run.results)
            runs[label].skipped.update(run.skipped)
            if bench.name in run.results:
                clocks[label]["items"] += len(bench.records)
    return runs, clocks


def f1_table(runs: dict[str, EvalRun]) -> dict[str, dict[str, float | None]]:
    """Benchmark (and average) -> run label -> F1 in points."""
    names = [name for name in next(iter(runs.values())).results]
    table: dict[str, dict[str, float | None]] = {}
    for name in names:
        table[name] = {
            label: None if run.f1(name) is None else 100 * run.f1(name)
            for label, run in runs.items()
        }
    for average, members in AVERAGE_SETS.items():
        table[average] = {}
        for label, run in runs.items():
            values = [run.f1(m) for m in members]
            table[average][label] = (
                None if None in values else 100 * sum(values) / len(values)  # type: ignore[arg-type]
            )
    return table


def write_report(payload: dict[str, Any], out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "cascade.json").write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
    labels = list(payload["throughput"])
    lines = [
        "# Cascade: TF-IDF first stage, encoder second stage",
        "",
        f"- Command: `{payload['command']}`",
        f"- Machine: {payload['machine']}",
        f"- Cascade: `{payload['cascade']}`, max dev F1 drop {payload['max_f1_drop_points']} "
        "point per task",
        "",
        "## Throughput (whole public suite, model loading excluded)",
        "",
        "The backends take turns benchmark by benchmark. Items per CPU second (this process's",
        "CPU time, 1 torch thread) is the figure to compare: wall time on this shared machine",
        "also depends on other people's jobs.",
        "",
        "| Model | items | wall s | items/s | CPU s | items per CPU s | settled by stage 1 |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for label in labels:
        t = payload["throughput"][label]
        share = "" if t.get("settled_share") is None else f"{100 * t['settled_share']:.1f}%"
        lines.append(
            f"| {label} | {t['items']} | {t['seconds']:.1f} | {t['items_per_second']:.1f} | "
            f"{t['cpu_seconds']:.1f} | {t['items_per_cpu_second']:.1f} | {share} |"
        )
    lines += ["", "## F1 (%) on the public suite", ""]
    lines.append("| Benchmark | " + " | ".join(labels) + " | cascade - encoder |")
    lines.append("|---|" + "---:|" * (len(labels) + 1))
    for name, row in payload["f1"].items():
        cells = ["–" if row[label] is None else f"{row[label]:.1f}" for label in labels]
        delta = payload["f1_delta"].get(name)
        bold = "**" if name in AVERAGE_SETS else ""
        delta_text = "–" if delta is None else f"{delta:+.1f}"
        lines.append(f"| {bold}{name}{bold} | " + " | ".join(cells) + f" | {delta_text} |")
    lines += [
        "",
        "## Cut-offs and dev figures",
        "",
        "```json",
        json.dumps(payload["dev"], indent=2),
        "```",
        "",
    ]
    (out / "cascade.md").write_text("\n".join(lines), encoding="utf-8")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cascade", type=Path, default=Path("build/cascade"))
    parser.add_argument("--fit", action="store_true", help="choose the cut-offs first")
    parser.add_argument("--tfidf", type=Path, default=Path("build/tfidf"))
    parser.add_argument("--mix", type=Path, default=Path("build/mix/train_mix.parquet"))
    parser.add_argument("--model", default=None, help="embedded model (default: shipped)")
    parser.add_argument("--max-f1-drop", type=float, default=0.5, help="points, per task")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    parser.add_argument("--batch-size", type=int, default=32, help="the embedded default")
    parser.add_argument("--data-dir", default=None, help="shared data folder")
    parser.add_argument("--out", type=Path, default=RESULTS_DIR)
    parser.add_argument(
        "--limit", type=int, default=None, help="items per benchmark (a quick check, not a result)"
    )
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    model_kwargs: dict[str, Any] = {"threads": args.threads}
    if args.fit or not (args.cascade / "cascade.json").is_file():
        started = time.perf_counter()
        config = calibrate_cascade(
            args.tfidf,
            args.mix,
            args.cascade,
            stage2_model=args.model,
            max_f1_drop=args.max_f1_drop / 100,
            **model_kwargs,
        )
        print(f"calibrated in {time.perf_counter() - started:.0f}s: {config.cutoffs}")
    benchmarks = load_public_suite(args.data_dir)
    if args.limit is not None:
        for bench in benchmarks:
            bench.records = bench.records[: args.limit]

    encoder = create_backend(
        "embedded", model=args.model, batch_size=args.batch_size, **model_kwargs
    )
    cascade = CascadeBackend(args.cascade, batch_size=args.batch_size, **model_kwargs)
    dev = json.loads((args.cascade / "cascade.json").read_text())
    tfidf = TfidfBackend(model=args.cascade / "stage1")
    backends = {"encoder": encoder, "cascade": cascade, "tfidf": tfidf}
    runs, clocks = interleaved_runs(backends, benchmarks, args.batch_size)
    throughput: dict[str, dict[str, Any]] = {}
    for label, clock in clocks.items():
        throughput[label] = {
            **clock,
            "items_per_second": clock["items"] / clock["seconds"],
            "items_per_cpu_second": clock["items"] / clock["cpu_seconds"],
            "settled_share": cascade.settled_share if label == "cascade" else None,
        }
        print(
            f"{label}: {clock['items']} items, {clock['items'] / clock['seconds']:.1f} items/s "
            f"wall, {clock['items'] / clock['cpu_seconds']:.1f} items per CPU second"
        )
    table = f1_table(runs)
    delta = {
        name: None
        if row["cascade"] is None or row["encoder"] is None
        else row["cascade"] - row["encoder"]
        for name, row in table.items()
    }
    load = os.getloadavg()
    payload = {
        "command": shlex.join([sys.executable.rsplit("/", 1)[-1], *sys.argv]),
        "machine": f"{os.cpu_count()} CPUs, torch threads {args.threads}, batch size "
        f"{args.batch_size}, load average {load[0]:.1f} at the end (shared machine)",
        "cascade": str(args.cascade),
        "max_f1_drop_points": dev.get("max_f1_drop", 0) * 100,
        "throughput": throughput,
        "f1": table,
        "f1_delta": delta,
        "dev": {"cutoffs": dev["cutoffs"], "dev": dev["dev"]},
    }
    write_report(payload, args.out)
    for name in AVERAGE_SETS:
        row = table[name]
        print(
            f"{name:<18} encoder {row['encoder']:.1f}  cascade {row['cascade']:.1f}  "
            f"delta {delta[name]:+.1f}"
        )
    print(f"wrote {args.out / 'cascade.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
