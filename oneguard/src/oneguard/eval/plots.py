"""PNG plots for the eval report: precision-recall curves per task, and a bar chart of our F1
beside the paper's published F1. Uses matplotlib's Agg backend (no display needed)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (the backend must be chosen first)

from oneguard.eval.metrics import precision_recall_curve  # noqa: E402
from oneguard.eval.runner import BenchmarkResult  # noqa: E402
from oneguard.schema import TASKS  # noqa: E402

TASK_TITLES = {
    "prompt": "Prompt harmfulness (positive = harmful)",
    "response": "Response harmfulness (positive = harmful)",
    "refusal": "Refusal detection (positive = refusal)",
}


def plot_pr_curves(results: Sequence[BenchmarkResult], out_dir: Path, label: str) -> list[Path]:
    """One ``pr_<task>.png`` per task that has at least one benchmark with scores."""
    written = []
    for task in TASKS:
        scored = [
            r
            for r in results
            if r.task == task and r.metrics.auprc is not None and r.metrics.positives
        ]
        if not scored:
            continue
        fig, ax = plt.subplots(figsize=(6.4, 4.8), dpi=110)
        for result in scored:
            precision, recall = precision_recall_curve(result.gold, result.scores)  # type: ignore[arg-type]
            # Precision p_k holds on the recall interval (r_{k-1}, r_k]: a "pre" step.
            ax.step(
                [0.0, *recall],
                [precision[0], *precision],
                where="pre",
                label=f"{result.title} (AP {result.metrics.auprc:.3f}, n={result.metrics.n})",
            )
        ax.set_xlim(0, 1.01)
        ax.set_ylim(0, 1.02)
        ax.set_xlabel("Recall")
        ax.set_ylabel("Precision")
        ax.set_title(f"{label}: {TASK_TITLES[task]}", fontsize=10)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, loc="lower left")
        fig.tight_layout()
        path = out_dir / f"pr_{task}.png"
        fig.savefig(path)
        plt.close(fig)
        written.append(path)
    return written


def plot_f1_bars(
    columns: Sequence[tuple[str, str]],
    series: Mapping[str, Mapping[str, float | None]],
    path: Path,
    title: str,
) -> Path:
    """Grouped bars: one group per ``(key, header)`` column, one bar per series (F1 in %).
    Missing values leave a gap."""
    fig, ax = plt.subplots(figsize=(12.0, 4.8), dpi=110)
    width = 0.8 / max(1, len(series))
    for s, (name, values) in enumerate(series.items()):
        xs, ys = [], []
        for c, (key, _) in enumerate(columns):
            value = values.get(key)
            if value is not None:
                xs.append(c - 0.4 + width * (s + 0.5))
                ys.append(value)
        ax.bar(xs, ys, width=width, label=name)
    ax.set_xticks(range(len(columns)))
    ax.set_xticklabels([header for _, header in columns], rotation=30, ha="right", fontsize=8)
    ax.set_ylim(0, 118)  # headroom for the legend above the 100% line
    ax.set_yticks(range(0, 101, 20))
    ax.set_ylabel("F1 (%)")
    ax.set_title(title, fontsize=10)
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize=7, ncol=min(6, max(1, len(series))), loc="upper center", frameon=False)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path
