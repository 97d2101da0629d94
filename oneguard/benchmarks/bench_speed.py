"""CPU speed: the WildGuard-7B architecture against OneGuard's embedded model, same items.

The 7B side is Mistral-7B-v0.3's architecture with random bf16 weights (built directly in
bf16: ~14.5 GB of RAM, checked before building) run through the real WildGuard backend: exact
template, one BOS, greedy generation of ``--max-new-tokens`` tokens (random weights never stop
early; the real answer is three lines, ~16-20 tokens). The embedded side is
``oneguard.load_wildguard()`` (the shipped default model). Both classify the same synthetic
items one at a time (latency) and all together (throughput), with the same CPU thread count.

    nice -n 10 env PYTHONPATH=oneguard/src .venv/bin/python oneguard/benchmarks/bench_speed.py
    .venv/bin/python oneguard/benchmarks/bench_speed.py --config tiny   # check the script

Writes ``oneguard/benchmarks/results/speed.md`` and ``speed.json`` (``--out`` to change;
``--config tiny`` writes ``speed_tiny.*``).
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import torch
from oneguard.api import Guard, WildGuard
from oneguard.backends.wildguard_hf import WildGuardHF
from tqdm import tqdm
from wildguard_synthetic import (
    build_random_model,
    build_tokenizer,
    input_lengths,
    mistral_config,
    parameter_count,
    synthetic_items,
)

RESULTS_DIR = Path(__file__).resolve().parent / "results"
_GB = 1024**3
#: A short item run once before timing (a full 7B item on a CPU costs over a minute).
WARM_UP_ITEM = {"prompt": "w1 w2 w3 w4 w5 w6 w7 w8", "response": "w9 w10 w11 w12"}


def available_memory_bytes() -> int | None:
    """``MemAvailable`` from /proc/meminfo (Linux), else None."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def time_guard(name: str, guard: WildGuard, items: list[dict[str, Any]]) -> dict[str, Any]:
    """Latency (one item per call) and throughput (all items in one call)."""
    latencies = []
    for item in tqdm(items, desc=f"{name}: one at a time", unit="item"):
        t0 = time.perf_counter()
        guard.classify([item])
        latencies.append(time.perf_counter() - t0)
    t0 = time.perf_counter()
    guard.classify(items)
    batch_s = time.perf_counter() - t0
    return {
        "latency_median_s": round(statistics.median(latencies), 3),
        "latency_mean_s": round(statistics.mean(latencies), 3),
        "latencies_s": [round(x, 3) for x in latencies],
        "batch_size": guard.guard.batch_size,
        "batch_seconds": round(batch_s, 3),
        "items_per_s": round(len(items) / batch_s, 4),
    }


def bench_7b(args: argparse.Namespace, synthetic, items) -> dict[str, Any]:
    config = mistral_config(args.config)
    need = parameter_count(config) * 2 + 2 * _GB  # bf16 weights + activations and slack
    free = available_memory_bytes()
    if free is not None and free < need + args.reserve_gb * _GB:
        raise MemoryError(
            f"the {args.config} model needs ~{need / _GB:.1f} GiB and {args.reserve_gb} GiB must "
            f"stay free for others; only {free / _GB:.1f} GiB available"
        )
    t0 = time.perf_counter()
    model = build_random_model(args.config, "cpu", fast_fill=True)
    build_s = time.perf_counter() - t0
    backend = WildGuardHF.from_loaded(
        model,
        build_tokenizer(config.vocab_size),
        batch_size=len(items),
        max_new_tokens=args.max_new_tokens,
    )
    lengths = input_lengths(backend, synthetic)
    guard = WildGuard(Guard(backend))
    guard.classify([WARM_UP_ITEM])  # first-call allocations, oneDNN kernel selection
    timing = time_guard("wildguard-7b", guard, items)
    return {
        "model": f"MistralForCausalLM, Mistral-7B-v0.3 config ({args.config}), random weights",
        "parameters": parameter_count(config),
        "dtype": "bfloat16",
        "build_s": round(build_s, 1),
        "input_tokens": lengths,
        "max_new_tokens": args.max_new_tokens,
        **timing,
    }


def bench_embedded(items) -> dict[str, Any]:
    from oneguard import load_wildguard

    try:
        guard = load_wildguard()
    except Exception as error:  # missing or unreadable shipped model: say so, do not crash
        return {"available": False, "error": f"{type(error).__name__}: {error}"}
    guard.classify([WARM_UP_ITEM])
    return {
        "available": True,
        "model": "oneguard.load_wildguard() (embedded default)",
        **time_guard("embedded", guard, items),
    }


def to_markdown(report: dict[str, Any]) -> str:
    big, small = report["wildguard_7b"], report["embedded"]
    lines = [
        "# CPU speed: WildGuard-7B architecture vs the embedded model",
        "",
        f"Command: `{report['command']}`",
        "",
        f"Machine: {report['cpu']}, {report['threads']} torch thread(s), torch {report['torch']}, "
        f"transformers {report['transformers']}. Shared machine: timings include contention "
        "from other processes.",
        "",
        f"Items: {report['items']} synthetic (prompts {report['prompt_words']} words, "
        f"responses {report['response_words']} words); the 7B reads "
        f"{min(big['input_tokens'])}-{max(big['input_tokens'])} tokens per item. The 7B has "
        f"random weights (speed only), {big['parameters']:,} parameters in bf16, greedy "
        f"{big['max_new_tokens']} new tokens per item.",
        "",
        "| model | items/s (all items in one call) | latency median (s, one item) | latency mean (s) |",
        "|---|---:|---:|---:|",
        f"| WildGuard-7B architecture | {big['items_per_s']} | {big['latency_median_s']} | "
        f"{big['latency_mean_s']} |",
    ]
    if small.get("available"):
        lines.append(
            f"| embedded (default) | {small['items_per_s']} | {small['latency_median_s']} | "
            f"{small['latency_mean_s']} |"
        )
        lines += ["", f"Embedded / 7B throughput ratio: **{report['ratio_items_per_s']}x**."]
    else:
        lines += ["", f"Embedded model not measured: {small['error']}"]
    lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", choices=["7b", "tiny"], default="7b")
    parser.add_argument("--items", type=int, default=4)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--max-new-tokens", type=int, default=16)
    parser.add_argument(
        "--prompt-words", type=lambda s: tuple(map(int, s.split(","))), default=(50, 150)
    )
    parser.add_argument(
        "--response-words", type=lambda s: tuple(map(int, s.split(","))), default=(100, 200)
    )
    parser.add_argument(
        "--reserve-gb", type=float, default=3.0, help="RAM to leave free for others"
    )
    parser.add_argument("--out", type=Path, default=RESULTS_DIR)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)

    synthetic = synthetic_items(
        args.items,
        seed=1,
        prompt_words=args.prompt_words,
        response_words=args.response_words,
        prompt_only_share=0.0,
    )
    items = [item.as_dict() for item in synthetic]
    embedded = bench_embedded(items)
    torch.set_num_threads(args.threads)  # the embedded backend may have changed it
    try:
        big = bench_7b(args, synthetic, items)
    except MemoryError as error:
        print(f"not run: {error}", file=sys.stderr)
        return 3
    report = {
        "command": "python oneguard/benchmarks/bench_speed.py " + " ".join(sys.argv[1:]),
        "cpu": cpu_name(),
        "threads": args.threads,
        "torch": torch.__version__,
        "transformers": __import__("transformers").__version__,
        "items": args.items,
        "prompt_words": list(args.prompt_words),
        "response_words": list(args.response_words),
        "wildguard_7b": big,
        "embedded": embedded,
        "ratio_items_per_s": (
            round(embedded["items_per_s"] / big["items_per_s"], 1)
            if embedded.get("available")
            else None
        ),
    }
    args.out.mkdir(parents=True, exist_ok=True)
    stem = "speed" if args.config == "7b" else f"speed_{args.config}"
    (args.out / f"{stem}.json").write_text(json.dumps(report, indent=2) + "\n")
    (args.out / f"{stem}.md").write_text(to_markdown(report))
    print(to_markdown(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
