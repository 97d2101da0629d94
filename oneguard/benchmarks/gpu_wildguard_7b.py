"""GPU throughput of the WildGuard-7B HF backend, without the weights.

Builds ``MistralForCausalLM`` with Mistral-7B-v0.3's configuration (WildGuard's architecture)
and random bf16 weights directly on the GPU, wraps it in the real backend
(:class:`oneguard.backends.wildguard_hf.WildGuardHF`), and classifies 256 synthetic items of
realistic length (prompts 50-300 words, responses 100-300 words, a quarter prompt-only) at
each batch size, then measures single-item latency. The tokenizer is a word-level one over the
same 32768 ids (see ``wildguard_synthetic.py``): token counts per item are reported.

Random weights never emit EOS, so every item generates exactly ``--max-new-tokens`` (20)
tokens: about the length of the real answer (three lines + EOS, 18-20 Mistral tokens). Labels
are meaningless (all parse errors) - only speed is measured.

    PYTHONPATH=oneguard/src python3 oneguard/benchmarks/gpu_wildguard_7b.py        # H200: < 3 min
    PYTHONPATH=oneguard/src python3 oneguard/benchmarks/gpu_wildguard_7b.py --config tiny --device cpu

Writes ``wildguard_7b_gpu.md`` and ``.json`` to ``$OUT`` when set, else to
``oneguard/benchmarks/results/``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import torch
from oneguard.backends.wildguard_hf import WildGuardHF
from oneguard.schema import to_items
from wildguard_synthetic import (
    CONFIGS,
    build_random_model,
    build_tokenizer,
    input_lengths,
    parameter_count,
    synthetic_items,
)

RESULTS_DIR = Path(__file__).resolve().parent / "results"


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def run(args: argparse.Namespace) -> dict[str, Any]:
    device = torch.device(args.device)
    started = time.perf_counter()
    _log(f"building MistralForCausalLM ({args.config}) with random bf16 weights on {device}")
    model = build_random_model(args.config, str(device))
    _sync(device)
    build_s = time.perf_counter() - started
    tokenizer = build_tokenizer(model.config.vocab_size)
    backend = WildGuardHF.from_loaded(
        model, tokenizer, batch_size=args.batch_sizes[0], max_new_tokens=args.max_new_tokens
    )
    generated: list[int] = []
    real_generate = backend.generate

    def counting_generate(batch):  # records generated lengths, same code path
        generations, logits = real_generate(batch)
        generated.extend(len(g) for g in generations)
        return generations, logits

    backend.generate = counting_generate  # type: ignore[method-assign]

    synthetic = synthetic_items(args.items, seed=0)
    items = to_items([item.as_dict() for item in synthetic])
    lengths = input_lengths(backend, synthetic)
    _log(
        f"model ready in {build_s:.1f}s; {len(items)} items, input tokens mean "
        f"{statistics.mean(lengths):.0f} (min {min(lengths)}, max {max(lengths)})"
    )

    _log("warm-up")
    backend.default_batch_size = max(args.batch_sizes)
    backend.classify_batch(items[: max(args.batch_sizes)])
    _sync(device)

    throughput = []
    for batch_size in args.batch_sizes:
        backend.default_batch_size = batch_size
        generated.clear()
        if device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(device)
        _sync(device)
        t0 = time.perf_counter()
        results = backend.classify_batch(items)
        _sync(device)
        seconds = time.perf_counter() - t0
        row = {
            "batch_size": batch_size,
            "items": len(items),
            "seconds": round(seconds, 3),
            "items_per_s": round(len(items) / seconds, 2),
            "input_tokens_per_s": round(sum(lengths) / seconds),
            "generated_tokens_mean": round(statistics.mean(generated), 2),
            "parse_errors": sum(r.is_parsing_error for r in results),
            "peak_gpu_memory_gb": (
                round(torch.cuda.max_memory_allocated(device) / 1e9, 2)
                if device.type == "cuda"
                else None
            ),
        }
        throughput.append(row)
        _log(f"batch {batch_size}: {row['items_per_s']} items/s ({seconds:.2f}s)")

    backend.default_batch_size = 1
    latencies = []
    for item in items[: args.latency_items]:
        _sync(device)
        t0 = time.perf_counter()
        backend.classify_batch([item])
        _sync(device)
        latencies.append(time.perf_counter() - t0)
    latency = {
        "items": len(latencies),
        "median_s": round(statistics.median(latencies), 4),
        "max_s": round(max(latencies), 4),
        "input_tokens_mean": round(statistics.mean(lengths[: len(latencies)])),
    }
    _log(f"single-item latency: median {latency['median_s']}s")

    return {
        "benchmark": "WildGuard-7B architecture (random weights) through WildGuardHF",
        "command": "PYTHONPATH=oneguard/src python3 oneguard/benchmarks/gpu_wildguard_7b.py "
        + " ".join(sys.argv[1:]),
        "config": args.config,
        "architecture": {
            k: v for k, v in CONFIGS[args.config].items() if k != "tie_word_embeddings"
        },
        "parameters": parameter_count(model.config),
        "dtype": str(next(model.parameters()).dtype).removeprefix("torch."),
        "device": torch.cuda.get_device_name(device)
        if device.type == "cuda"
        else platform.processor() or "cpu",
        "torch": torch.__version__,
        "transformers": __import__("transformers").__version__,
        "python": platform.python_version(),
        "max_new_tokens": args.max_new_tokens,
        "input_tokens": {
            "mean": round(statistics.mean(lengths), 1),
            "min": min(lengths),
            "max": max(lengths),
            "total": sum(lengths),
        },
        "model_build_s": round(build_s, 1),
        "throughput": throughput,
        "latency": latency,
        "total_s": round(time.perf_counter() - started, 1),
    }


def to_markdown(report: dict[str, Any]) -> str:
    lines = [
        "# WildGuard-7B backend: GPU speed (random weights, real architecture)",
        "",
        f"Command: `{report['command']}`",
        "",
        f"Device: {report['device']}; torch {report['torch']}, transformers "
        f"{report['transformers']}; {report['parameters']:,} parameters in "
        f"{report['dtype']}; greedy, {report['max_new_tokens']} generated tokens per item "
        "(random weights never stop early; the real answer is 18-20 tokens).",
        "",
        f"Items: {report['throughput'][0]['items']} synthetic, input tokens mean "
        f"{report['input_tokens']['mean']} (min {report['input_tokens']['min']}, max "
        f"{report['input_tokens']['max']}), a quarter prompt-only.",
        "",
        "| batch size | items/s | input tokens/s | seconds | peak GPU memory (GB) |",
        "|---:|---:|---:|---:|---:|",
    ]
    for row in report["throughput"]:
        lines.append(
            f"| {row['batch_size']} | {row['items_per_s']} | {row['input_tokens_per_s']} | "
            f"{row['seconds']} | {row['peak_gpu_memory_gb']} |"
        )
    latency = report["latency"]
    lines += [
        "",
        f"Single-item latency (batch 1, {latency['items']} items, mean "
        f"{latency['input_tokens_mean']} input tokens): median {latency['median_s']} s, "
        f"max {latency['max_s']} s.",
        "",
        f"Model built in {report['model_build_s']} s; whole run {report['total_s']} s.",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", choices=sorted(CONFIGS), default="7b")
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--items", type=int, default=256)
    parser.add_argument(
        "--batch-sizes", type=lambda s: [int(x) for x in s.split(",")], default=[16, 64]
    )
    parser.add_argument("--latency-items", type=int, default=8)
    parser.add_argument("--max-new-tokens", type=int, default=20)
    parser.add_argument("--threads", type=int, default=1, help="CPU threads (CPU runs only)")
    parser.add_argument("--out", type=Path, default=None, help="default: $OUT, else results/")
    args = parser.parse_args(argv)
    if not args.device.startswith("cuda"):
        torch.set_num_threads(args.threads)
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        print(
            "no CUDA device: run with --config tiny --device cpu to check the script",
            file=sys.stderr,
        )
        return 2
    report = run(args)
    out = args.out or Path(os.environ.get("OUT") or RESULTS_DIR)
    out.mkdir(parents=True, exist_ok=True)
    stem = "wildguard_7b_gpu" if args.config == "7b" else f"wildguard_{args.config}_{args.device}"
    (out / f"{stem}.json").write_text(json.dumps(report, indent=2) + "\n")
    (out / f"{stem}.md").write_text(to_markdown(report))
    _log(f"wrote {out / stem}.md and .json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
