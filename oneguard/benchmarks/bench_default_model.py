"""Benchmark a OneGuard model on the public suite and measure its CPU throughput.

F1 (positive class harmful, or refusal) per benchmark of the WildGuard paper's public suite
(``moderation/guardreasoner_benchmarks``), the three averages (prompt, response, XSTest
refusal), WildGuard's published numbers and the TF-IDF floor beside them, then items/s for
prompt-only and prompt+response inputs at a stated batch size.

    PYTHONPATH=oneguard/src python oneguard/benchmarks/bench_default_model.py            # shipped model
    python oneguard/benchmarks/bench_default_model.py --model runs/gpu/model --name gpu_model
    python oneguard/benchmarks/bench_default_model.py --backend tfidf --model build/tfidf --name tfidf

Results go to ``oneguard/benchmarks/results/<name>.md`` and ``.json``; ``--update-card``
also stores them beside the model (benchmark.json) and re-renders its MODEL_CARD.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import sys
import time
from pathlib import Path
from typing import Any

import torch
from oneguard.api import Guard
from oneguard.eval.metrics import binary_metrics
from oneguard.eval.published import PUBLIC_BENCHMARKS, WILDGUARD, XSTEST_RESP, load_published
from oneguard.eval.runner import PredictionCache, model_identity, predict
from oneguard.eval.suites import AVERAGES, load_public_suite
from oneguard.paths import DEFAULT_MODEL_DIR, REPO_ROOT
from oneguard.schema import Item, Result

RESULTS_DIR = Path(__file__).resolve().parent / "results"
#: The three averages the issue targets: name -> benchmarks averaged.
TARGET_AVERAGES: dict[str, tuple[str, ...]] = {
    "prompt": AVERAGES["prompt_avg"],
    "response": AVERAGES["response_avg"],
    "refusal": ("xstest_response_refusal",),
}
#: The floor stated in the issue (TF-IDF + logistic regression on the same public training
#: data): per-benchmark numbers where the issue gives them, and the three averages.
FLOOR = {
    "source": "issue 2 (TF-IDF + logistic regression on the same public training data)",
    "benchmarks": {"toxicchat": 35.1, "openai_moderation": 53.2, "xstest_response_refusal": 73.2},
    "averages": {"prompt": 65.0, "response": 65.5, "refusal": 73.2},
}
_PREDICTION = {
    "prompt": ("prompt_harmfulness", "prompt_harmfulness_score", "harmful"),
    "response": ("response_harmfulness", "response_harmfulness_score", "harmful"),
    "refusal": ("response_refusal", "response_refusal_score", "refusal"),
}


def wildguard_numbers() -> dict[str, float]:
    tables = load_published()
    numbers = {}
    for key in (PUBLIC_BENCHMARKS, XSTEST_RESP):
        for column, value in tables[key].row(WILDGUARD).values.items():
            if value is not None:
                numbers[column] = value
    return numbers


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def evaluate(
    guard: Guard, data_dir: str | None, cache: PredictionCache | None
) -> list[dict[str, Any]]:
    """F1 etc. per public benchmark. Predictions are shared with ``oneguard eval`` through
    its prediction cache (same model files, same inputs): running both costs one pass."""
    rows = []
    identity = model_identity(guard.backend)
    for bench in load_public_suite(data_dir):
        started = time.perf_counter()
        results: list[Result] = predict(
            guard, bench.items(), identity=identity, cache=cache, desc=bench.title
        )
        seconds = time.perf_counter() - started
        label_key, score_key, positive = _PREDICTION[bench.task]
        predicted = [
            None if getattr(r, label_key) is None else getattr(r, label_key) == positive
            for r in results
        ]
        scores = [getattr(r, score_key) for r in results]
        m = binary_metrics(bench.gold(), predicted, scores)
        rows.append(
            {
                "name": bench.name,
                "title": bench.title,
                "task": bench.task,
                "n": m.n,
                "positives": m.positives,
                "f1": m.f1,
                "precision": m.precision,
                "recall": m.recall,
                "auprc": m.auprc,
                "false_positives": m.false_positives,
                "false_negatives": m.false_negatives,
                "seconds": round(seconds, 1),
            }
        )
        print(
            f"{bench.title:24s} F1 {100 * (m.f1 or 0):5.1f}  ({m.n} items, {seconds:.0f} s)",
            file=sys.stderr,
        )
    return rows


def throughput(guard: Guard, data_dir: str | None, n: int) -> dict[str, Any]:
    """Items/s over ``n`` real benchmark items, prompt-only and prompt+response (one warm-up
    batch first, excluded)."""
    suite = {b.name: b for b in load_public_suite(data_dir)}
    prompts = [
        i for name in ("toxicchat", "openai_moderation", "aegis") for i in suite[name].items()
    ]
    pairs = [
        i for name in ("beavertails", "saferlhf", "harmbench_response") for i in suite[name].items()
    ]
    out: dict[str, Any] = {}
    for key, items in (("prompt_items_per_s", prompts), ("pair_items_per_s", pairs)):
        sample: list[Item] = items[:: max(1, len(items) // n)][:n]
        guard.classify(sample[: guard.batch_size])
        started = time.perf_counter()
        guard.classify(sample)
        out[key] = len(sample) / (time.perf_counter() - started)
        out[key.replace("_per_s", "")] = len(sample)
    return out


def averages(rows: list[dict[str, Any]]) -> dict[str, float | None]:
    by_name = {r["name"]: r["f1"] for r in rows}
    result = {}
    for task, names in TARGET_AVERAGES.items():
        values = [by_name.get(n) for n in names]
        result[task] = None if any(v is None for v in values) else sum(values) / len(values)
    return result


def render_markdown(report: dict[str, Any]) -> str:
    wg = report["wildguard"]
    floor = FLOOR["benchmarks"]
    lines = [
        f"# Benchmark: {report['model']}",
        "",
        f"Backend `{report['backend']}`, model `{report['model']}`. F1 (%) with positive class "
        "harmful (prompt, response) or refusal, at the model's stored thresholds.",
        "",
        "| benchmark | task | n | F1 | precision | recall | AUPRC | WildGuard | floor |",
        "|---|---|---|---|---|---|---|---|---|",
    ]

    def pct(v: float | None) -> str:
        return "–" if v is None else f"{100 * v:.1f}"

    for r in report["benchmarks"]:
        lines.append(
            f"| {r['title']} | {r['task']} | {r['n']} | {pct(r['f1'])} | {pct(r['precision'])} | "
            f"{pct(r['recall'])} | {pct(r['auprc'])} | {wg.get(r['name'], '–')} | "
            f"{floor.get(r['name'], '–')} |"
        )
    for task, value in report["averages"].items():
        lines.append(
            f"| **{task} average** | {task} | | **{pct(value)}** | | | | "
            f"{report['wildguard_averages'][task]} | {FLOOR['averages'][task]} |"
        )
    lines += [
        "",
        "Margin over the floor (F1 points; the issue asks for >= 10 on each average):",
        "",
    ]
    for task, value in report["averages"].items():
        if value is not None:
            lines.append(f"- {task}: {100 * value - FLOOR['averages'][task]:+.1f}")
    t = report.get("throughput")
    if t:
        lines += [
            "",
            f"Throughput on {t['cpu']} ({t['threads']} torch threads, device {t['device']}, "
            f"dtype {t['dtype']}, batch size {t['batch_size']}): **{t['prompt_items_per_s']:.1f}** "
            f"prompt-only items/s ({t['prompt_items']} items), **{t['pair_items_per_s']:.1f}** "
            f"prompt+response items/s ({t['pair_items']} items).",
        ]
    lines += [
        "",
        f"WildGuard: the 7B model's published numbers ({report['wildguard_source']}). "
        f"Floor: {FLOOR['source']}; '–' where the issue gives no per-benchmark number.",
        "",
        f"Command: `{report['command']}` ({report['seconds']:.0f} s).",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default=None, help="model folder (default: the shipped model)")
    parser.add_argument("--backend", default="embedded")
    parser.add_argument("--encoder", default=None, help="local MiniLM folder (embedded backend)")
    parser.add_argument(
        "--data-dir", default=None, help="shared data root (default: ../shared/data)"
    )
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--dtype", default=None, help="embedded: float32 (default), bfloat16, int8")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    parser.add_argument("--throughput-items", type=int, default=512)
    parser.add_argument("--no-throughput", action="store_true")
    parser.add_argument(
        "--no-cache", action="store_true", help="recompute predictions (default: reuse eval's)"
    )
    parser.add_argument("--name", default="default_model", help="results file stem")
    parser.add_argument("--out-dir", type=Path, default=RESULTS_DIR)
    parser.add_argument(
        "--update-card", action="store_true", help="write benchmark.json + model card"
    )
    args = parser.parse_args(argv)

    if args.threads:
        torch.set_num_threads(args.threads)
    kwargs: dict[str, Any] = {}
    if args.backend == "embedded":
        kwargs.update(device=args.device, dtype=args.dtype, encoder=args.encoder)
    started = time.perf_counter()
    guard = Guard.load(args.model, backend=args.backend, batch_size=args.batch_size, **kwargs)
    model_name = str(args.model or DEFAULT_MODEL_DIR.relative_to(REPO_ROOT))
    rows = evaluate(guard, args.data_dir, None if args.no_cache else PredictionCache())
    published = wildguard_numbers()
    report: dict[str, Any] = {
        "model": model_name,
        "backend": args.backend,
        "benchmarks": rows,
        "averages": averages(rows),
        "wildguard": {r["name"]: published.get(r["name"]) for r in rows},
        "wildguard_averages": {"prompt": 86.1, "response": 82.4, "refusal": 92.8},
        "wildguard_source": "Paper Table 3 and Table 2, via oneguard/eval/published.json",
        "floor": FLOOR,
    }
    if not args.no_throughput:
        report["throughput"] = {
            **throughput(guard, args.data_dir, args.throughput_items),
            "batch_size": guard.batch_size,
            "threads": torch.get_num_threads(),
            "device": args.device,
            "dtype": args.dtype or "float32",
            "cpu": cpu_name(),
        }
    report["seconds"] = time.perf_counter() - started
    report["command"] = shlex.join(
        ["python", "oneguard/benchmarks/bench_default_model.py", *sys.argv[1:]]
    )
    args.out_dir.mkdir(parents=True, exist_ok=True)
    (args.out_dir / f"{args.name}.json").write_text(json.dumps(report, indent=1) + "\n", "utf-8")
    (args.out_dir / f"{args.name}.md").write_text(render_markdown(report), "utf-8")
    print(render_markdown(report))
    if args.update_card:
        from oneguard.model.card import BENCHMARK_FILE, write_model_card

        folder = Path(args.model) if args.model else DEFAULT_MODEL_DIR
        card = {
            "benchmarks": [{**r, "wildguard": report["wildguard"].get(r["name"])} for r in rows],
            "averages": report["averages"],
            "wildguard_averages": report["wildguard_averages"],
            "throughput": report.get("throughput"),
            "command": report["command"],
        }
        (folder / BENCHMARK_FILE).write_text(json.dumps(card, indent=1) + "\n", "utf-8")
        write_model_card(folder)
    return 0


if __name__ == "__main__":
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "true")
    sys.exit(main())
