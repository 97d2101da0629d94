"""Compare benchmark results of two models (JSON files written by bench_default_model.py).

    python oneguard/benchmarks/compare_models.py \\
        oneguard/benchmarks/results/default_model.json runs/gpu/results/gpu_model.json

Prints per-benchmark F1 side by side, the three averages (prompt, response, XSTest refusal)
and their mean. This is for reporting: the public suite never picks the model to ship. That
choice is made on the training mix's dev split (the best mean dev F1, in each model card);
ship it as ``oneguard/src/oneguard/weights/default`` and rerun bench_default_model.py with
``--update-card`` for CPU throughput and the card.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any


def load(path: Path) -> dict[str, Any]:
    try:
        report = json.loads(path.read_text("utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise SystemExit(f"error: {path}: {exc}") from None
    if "benchmarks" not in report or "averages" not in report:
        raise SystemExit(f"error: {path}: not a bench_default_model.py result")
    return report


def pct(value: float | None) -> str:
    return "   –" if value is None else f"{100 * value:5.1f}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("a", type=Path)
    parser.add_argument("b", type=Path)
    args = parser.parse_args(argv)
    a, b = load(args.a), load(args.b)
    f1_b = {r["name"]: r["f1"] for r in b["benchmarks"]}
    print(f"{'benchmark':26s} {'A':>6s} {'B':>6s}   A = {args.a}\n{'':40s}B = {args.b}")
    for row in a["benchmarks"]:
        print(f"{row['title']:26s} {pct(row['f1'])} {pct(f1_b.get(row['name']))}")
    means = {}
    for name, report in (("A", a), ("B", b)):
        values = [v for v in report["averages"].values() if v is not None]
        means[name] = sum(values) / len(values) if values else float("nan")
    for task in a["averages"]:
        print(f"{task + ' average':26s} {pct(a['averages'][task])} {pct(b['averages'].get(task))}")
    print(f"{'mean of the averages':26s} {pct(means['A'])} {pct(means['B'])}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
