"""``oneguard demo``: the main job on the embedded default model, in under a minute.

Classifies the shipped examples (benign, harmful, jailbreak-wrapped, refusals, a harmful answer,
a conversation) and, when the public benchmark data is present, scores a small slice of the
paper's benchmarks; without it, says so and stops there.
"""

from __future__ import annotations

import argparse
import json
import sys
from importlib import resources

from oneguard.cli import EXIT_ERROR, EXIT_OK

#: Small public benchmarks that run in well under a minute on a laptop CPU.
DEMO_BENCHMARKS = ("simplesafetytests", "harmbench_prompt", "xstest_response_refusal")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "demo",
        help="classify built-in examples (and a benchmark slice when the data is present)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--model", default=None, help="model directory (default: embedded)")
    parser.add_argument("--data-dir", default=None, help="shared data folder (default: auto)")
    parser.set_defaults(func=run)


def _clip(text: str | None, width: int = 60) -> str:
    if text is None:
        return "—"
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def _verdict(label: str | None, score: float | None) -> str:
    if label is None:
        return "—"
    return f"{label} ({score:.2f})" if score is not None else label


def _percent(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f}"


def run(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.table import Table

    from oneguard.api import Guard
    from oneguard.eval.published import load_published
    from oneguard.eval.runner import run_benchmarks
    from oneguard.eval.suites import load_public_suite

    console = Console()
    try:
        guard = Guard.load(args.model)
    except (FileNotFoundError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    text = resources.files("oneguard").joinpath("examples.jsonl").read_text("utf-8")
    items = [json.loads(line) for line in text.splitlines() if line.strip()]
    results = guard.classify(items)

    table = Table(title=f"OneGuard ({guard.backend.name}) on the shipped examples", show_lines=True)
    for column in (
        "prompt",
        "response",
        "harmful prompt?",
        "harmful response?",
        "refusal?",
        "category",
    ):
        table.add_column(column, overflow="fold")
    for item, result in zip(items, results, strict=True):
        prompt = item.get("prompt") or item["messages"][-1]["content"]
        table.add_row(
            _clip(prompt),
            _clip(item.get("response")),
            _verdict(result.prompt_harmfulness, result.prompt_harmfulness_score),
            _verdict(result.response_harmfulness, result.response_harmfulness_score),
            _verdict(result.response_refusal, result.response_refusal_score),
            result.category or "—",
        )
    console.print(table)

    try:
        suite = load_public_suite(args.data_dir, names=DEMO_BENCHMARKS)
    except FileNotFoundError:
        console.print(
            "[yellow]The public benchmark data (../shared/data/moderation or $SHARED_DATA_DIR) "
            "is not here, so the benchmark slice is skipped.[/yellow] "
            "Run `oneguard eval --data-dir DIR` where you have it."
        )
        return EXIT_OK
    run_result = run_benchmarks(guard, suite, label="OneGuard", cache=None)
    scores = Table(title="F1 on a slice of the paper's public benchmarks")
    for column in ("benchmark", "task", "n", "F1", "WildGuard-7B (paper)"):
        scores.add_column(column)
    wildguard = {}
    for published in load_published().values():
        if any(row.model == "WildGuard" for row in published.rows):
            wildguard.update(published.row("WildGuard").values)
    for name, benchmark_result in run_result.results.items():
        metrics = benchmark_result.metrics
        scores.add_row(
            name,
            benchmark_result.task,
            str(metrics.n),
            _percent(None if metrics.f1 is None else 100 * metrics.f1),
            _percent(wildguard.get(name)),
        )
    console.print(scores)
    console.print("Full table: `oneguard eval` (see oneguard/README.md).")
    return EXIT_OK
