"""The model card beside an artifact: rendered from its config.json (training record, dev
metrics) and, when present, its benchmark.json (written by the benchmark script)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from oneguard.model.artifact import CARD_FILE, ArtifactConfig

BENCHMARK_FILE = "benchmark.json"
_TASK_NAMES = {"prompt": "Prompt harm", "response": "Response harm", "refusal": "Refusal"}
_HEAD_NAMES = {"response": "response-harm", "refusal": "refusal"}


def _max_path_clause(max_heads: tuple[str, ...]) -> str:
    if not max_heads:
        return "."
    names = " and ".join(_HEAD_NAMES[h] for h in max_heads)
    subject = f"{names} heads also read" if len(max_heads) > 1 else f"{names} head also reads"
    return f"; the {subject} the response tokens max-pooled (an added path)."


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.1f}"


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return lines


def _data_section(training: dict[str, Any]) -> list[str]:
    table = training.get("data_table") or []
    if not table:
        return ["(no data table recorded)"]
    header = [
        "source",
        "train rows",
        "prompt harmful/unharmful",
        "response harmful/unharmful",
        "refusal/compliance",
        "category",
        "dev rows",
    ]
    rows = []
    totals: dict[str, int] = {}
    for r in table:
        cells = [
            r["source"],
            str(r["train_rows"]),
            f"{r['train_prompt_pos']}/{r['train_prompt_neg']}",
            f"{r['train_response_pos']}/{r['train_response_neg']}",
            f"{r['train_refusal_pos']}/{r['train_refusal_neg']}",
            str(r["train_category"]),
            str(r["dev_rows"]),
        ]
        rows.append(cells)
        for key, value in r.items():
            if key != "source":
                totals[key] = totals.get(key, 0) + int(value)
    if totals:
        rows.append(
            [
                "**total**",
                str(totals["train_rows"]),
                f"{totals['train_prompt_pos']}/{totals['train_prompt_neg']}",
                f"{totals['train_response_pos']}/{totals['train_response_neg']}",
                f"{totals['train_refusal_pos']}/{totals['train_refusal_neg']}",
                str(totals["train_category"]),
                str(totals["dev_rows"]),
            ]
        )
    return _table(header, rows)


def _dev_section(config: ArtifactConfig) -> list[str]:
    metrics = config.dev_metrics
    rows = []
    for task, name in _TASK_NAMES.items():
        m = metrics.get(task) or {}
        rows.append(
            [
                name,
                f"{config.thresholds[task]:.3f}",
                _pct(m.get("f1")),
                _pct(m.get("precision")),
                _pct(m.get("recall")),
                f"{m.get('positives', 0)}/{m.get('n', 0)}",
            ]
        )
    lines = _table(["task", "threshold", "dev F1", "precision", "recall", "positives/n"], rows)
    category = metrics.get("category")
    if category:
        lines += [
            "",
            f"Risk category (top-1 accuracy on {category['n']} dev rows with a "
            f"subcategory label): {_pct(category['accuracy'])}%.",
        ]
    return lines


def _benchmark_section(bench: dict[str, Any]) -> list[str]:
    lines = [
        "F1 (%) with positive class harmful (prompt, response) or refusal, at the stored",
        "thresholds. WildGuard = the 7B model's published numbers (Paper Table 3 / Table 2).",
        "",
    ]
    rows = []
    for b in bench.get("benchmarks", []):
        rows.append(
            [
                b["name"],
                b["task"],
                str(b["n"]),
                _pct(b.get("f1")),
                "–" if b.get("wildguard") is None else f"{b['wildguard']:.1f}",
            ]
        )
    for task, avg in (bench.get("averages") or {}).items():
        wg = (bench.get("wildguard_averages") or {}).get(task)
        rows.append(
            [f"**{task} average**", task, "", _pct(avg), "–" if wg is None else f"{wg:.1f}"]
        )
    lines += _table(["benchmark", "task", "n", "F1", "WildGuard"], rows)
    throughput = bench.get("throughput")
    if throughput:
        lines += [
            "",
            f"Throughput on {throughput.get('cpu', 'this CPU')} "
            f"({throughput.get('threads')} threads, batch {throughput.get('batch_size')}, "
            f"dtype {throughput.get('dtype', 'float32')}): "
            f"{throughput['prompt_items_per_s']:.1f} prompt-only items/s, "
            f"{throughput['pair_items_per_s']:.1f} prompt+response items/s.",
        ]
    if bench.get("command"):
        lines += ["", f"Command: `{bench['command']}`"]
    return lines


def _init_lines(init: dict[str, Any] | None) -> list[str]:
    """A warm-started model is reproduced by its starting points' commands, oldest first."""
    chain = []
    while init:
        chain.append(init)
        init = init.get("init_from")
    lines = []
    for stage, start in enumerate(reversed(chain), 1):
        mix = start.get("mix") or {}
        trained_on = f", mix sha256 prefix {mix['sha256_16']}" if mix.get("sha256_16") else ""
        lines += [
            f"Stage {stage} (the model at `{start.get('path')}` when stage {stage + 1} ran, "
            f"weights fingerprint {start.get('fingerprint')}{trained_on}): "
            f"`{start.get('command') or '(not recorded)'}`",
            "",
        ]
    if chain:
        lines += [f"Stage {len(chain) + 1} (this model, `--init-from` the stage before):", ""]
    return lines


def _mix_command(mix: dict[str, Any]) -> str:
    command = f"oneguard data build --out {mix.get('path', 'build/mix/train_mix.parquet')}"
    if mix.get("keep_split_from"):
        command += f" --keep-split-from {mix['keep_split_from']}"
    command += "".join(f" --exclude {name}" for name in mix.get("exclude") or ())
    from oneguard.data.augment import DEFAULT_PAIR_VARIANTS

    # Records written before pair variants existed have no count: their mixes had none.
    pairs = int(mix.get("augment_pairs", 0))
    if pairs != DEFAULT_PAIR_VARIANTS:
        command += f" --augment-pairs {pairs}"
    cross = int(mix.get("cross_pairs", 0))
    if cross:
        command += f" --cross-pairs {cross}"
    return command


def _calibration_line(config: ArtifactConfig) -> str:
    if not config.calibration:
        return "- Scores: the heads' raw probabilities (no calibration stored)."
    report = config.dev_metrics.get("calibration", {})
    parts = []
    for task in config.calibration:
        ece = report.get(task, {})
        if "ece_before" in ece:
            parts.append(f"{task} {ece['ece_before']:.3f} → {ece['ece_after']:.3f}")
    return (
        "- Scores: Platt-scaled per task on the dev split, thresholds mapped with them (same "
        "decisions)" + (f"; dev ECE {', '.join(parts)}." if parts else ".")
    )


def _resumed(training: dict[str, Any]) -> str:
    """A resumed run times only the steps after its checkpoint; say so."""
    start = training.get("resumed_from_step") or 0
    if not start:
        return ""
    return f" (resumed from its step-{start} checkpoint: the time covers the steps after it)"


def render_model_card(config: ArtifactConfig, benchmark: dict[str, Any] | None = None) -> str:
    training = config.training
    trained = training.get("config", {})
    finetune = trained.get("finetune_layers", 0)
    regime = (
        "frozen encoder, heads trained on cached features"
        if finetune == 0
        else (
            "all encoder layers fine-tuned"
            if finetune < 0
            else f"top {finetune} encoder layers fine-tuned"
            + (
                " (the frozen layers' output computed once, in bf16, and cached)"
                if trained.get("cache_lower_states")
                else ""
            )
        )
    )
    t = config.truncation
    lines = [
        "# OneGuard embedded model",
        "",
        "A small moderation classifier in the spirit of WildGuard (Han et al., 2024): one",
        f"`{config.encoder_name}` encoder shared by four heads — prompt harm, response harm,",
        "refusal, and risk category (WildGuard's 13 subcategories + `others`). It runs offline on",
        "a CPU. Scores are probabilities; labels use thresholds picked on a dev split carved",
        "from the training data (never on a benchmark).",
        "",
        "## Model",
        "",
        f"- Training regime: {regime}; feature layers {list(config.heads.feature_layers)}, "
        f"head MLP width {config.heads.hidden}" + _max_path_clause(config.heads.max_heads),
        "- Weights: heads (`heads.safetensors`)"
        + (
            f" + {len(config.delta_tensors)} fine-tuned encoder tensors as an fp16 delta over the "
            "packaged encoder (`encoder_delta.safetensors`)."
            if config.delta_tensors
            else "; the encoder is the packaged all-MiniLM-L6-v2, unchanged."
        ),
        f"- Truncation: window {t.max_length} tokens. Prompt input keeps the prompt's start. "
        f"Pair input keeps the prompt's start (at least {t.pair_prompt_tokens} tokens) and the "
        f"response's start ({t.response_head_fraction:.0%} of its budget) and end. Earlier turns "
        f"enter as context only if at least {t.min_context_tokens} tokens remain, keeping their end.",
        "- Thresholds: "
        + ", ".join(f"{task} {value:.3f}" for task, value in config.thresholds.items())
        + ".",
        _calibration_line(config),
        "",
        "## Training data",
        "",
        f"Mix: `{training.get('mix', {}).get('path', '?')}` "
        f"(sha256 prefix {training.get('mix', {}).get('sha256_16', '?')}); "
        f"dev split: {training.get('dev_split', '?')}. Counts below are rows with that label; "
        "a row may label several tasks. The mix is rebuilt from the shared data with "
        f"`{_mix_command(training.get('mix', {}))}` (deterministic; its own "
        "summary lists the rows dropped per source by deduplication against every evaluation "
        "set).",
        "",
        *_data_section(training),
        "",
        "## Training",
        "",
        *_init_lines(training.get("init_from")),
        f"Command: `{training.get('command') or '(not recorded)'}`",
        "",
        f"{training.get('steps', '?')} steps of batch {training.get('batch_size', '?')} on "
        f"{training.get('device', '?')} ({training.get('precision', '?')}), "
        f"{training.get('train_seconds', '?')} s in the training loop{_resumed(training)}; "
        f"seed {trained.get('seed', '?')}."
        + (" Stopped early by the time budget." if training.get("stopped_early") else ""),
        "",
        "## Dev-split metrics",
        "",
        *_dev_section(config),
    ]
    if benchmark:
        lines += ["", "## Public benchmarks", "", *_benchmark_section(benchmark)]
    lines += [
        "",
        "## Limits",
        "",
        "- English only; a 22M-parameter encoder sees at most "
        f"{t.max_length} tokens per input, so harm buried in the middle of a long response can be missed.",
        "- Trained on public data only (no WildGuardMix); see the data table for what each task saw.",
    ]
    counts = training.get("category_counts") or {}
    rare = [key for key, n in counts.items() if n < 20]
    if rare:
        lines.append(
            "- Risk categories with fewer than 20 training examples (rarely or never predicted): "
            + ", ".join(f"`{key}` ({counts[key]})" for key in rare)
            + "."
        )
    lines.append("")
    return "\n".join(lines)


def write_model_card(
    folder: str | os.PathLike[str], benchmark: dict[str, Any] | None = None
) -> Path:
    """(Re)write ``MODEL_CARD.md``; ``benchmark`` (or the folder's benchmark.json) adds the
    benchmark table."""
    folder = Path(folder)
    if benchmark is None and (folder / BENCHMARK_FILE).is_file():
        benchmark = json.loads((folder / BENCHMARK_FILE).read_text("utf-8"))
    path = folder / CARD_FILE
    path.write_text(render_model_card(ArtifactConfig.read(folder), benchmark), encoding="utf-8")
    return path
