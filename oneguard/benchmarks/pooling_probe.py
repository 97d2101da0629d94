"""Which pooling of the pair input should the response-harm head read? A cheap probe on dev.

    python oneguard/benchmarks/pooling_probe.py --mix build/mix_v4/train_mix.parquet \\
        --model oneguard/src/oneguard/weights/default

The model's encoder is frozen; from its feature layers it pools every response-labelled pair
of the mix three ways (mean over prompt+response tokens, mean over response tokens, max over
response tokens), trains fresh response-harm heads (the model's MLP shape) on a sample of the
train split with each combination of poolings, and scores them on the dev split: AUPRC and
best-threshold F1, mean and spread over seeds. The comparison is fair among the fresh heads
(same features, data and training); the model's own head, trained end to end, is listed for
scale. No benchmark is read. Writes ``benchmarks/results/<name>.{md,json}``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

RESULTS = Path(__file__).resolve().parent / "results"
#: Feature blocks per pooling, in the order they are stored (each one block per layer).
POOLINGS = ("judged_mean", "response_mean", "response_max")
#: The head inputs compared: the first is the shipped model's.
VARIANTS = {
    "judged mean + response mean (shipped)": ("judged_mean", "response_mean"),
    "judged mean + response mean + response max": POOLINGS,
    "judged mean + response max": ("judged_mean", "response_max"),
}


def pooled_pairs(model: Any, texts: list[Any], batch_size: int) -> np.ndarray:
    """(n, 3 * layers * d) features: every pooling of :data:`POOLINGS`, each per layer, as
    the model's own pair pooling computes them with the response max switched on."""
    from dataclasses import replace

    import torch
    from oneguard.model.classifier import ModerationModel
    from tqdm import tqdm

    heads = replace(model.head_config, max_heads=("response",))
    probe = ModerationModel(model.encoder, model.tokenizer, model.policy, heads).eval()
    out = np.zeros((len(texts), heads.pair_width(probe.feature_width)), np.float32)
    with torch.inference_mode(), tqdm(total=len(texts), desc="pool", unit="pair") as bar:
        for _, _, rows, feats in probe.iter_features(texts, batch_size, prompt=False, pair=True):
            assert feats is not None
            out[rows] = feats.float().numpy()
            bar.update(len(rows))
    return out


def fit_head(x: np.ndarray, y: np.ndarray, x_dev: np.ndarray, seed: int, epochs: int) -> Any:
    """Dev probabilities of a fresh MLP head (the shipped shape) trained on ``x``."""
    import torch
    from oneguard.model.heads import MLPHead

    torch.manual_seed(seed)
    head = MLPHead(x.shape[1], 1, hidden=256, dropout=0.1)
    opt = torch.optim.AdamW(head.parameters(), lr=1e-3, weight_decay=0.01)
    xt, yt = torch.from_numpy(x), torch.from_numpy(y.astype(np.float32))
    for _ in range(epochs):
        perm = torch.randperm(len(xt))
        for i in range(0, len(xt), 64):
            rows = perm[i : i + 64]
            opt.zero_grad()
            logit = head(xt[rows]).squeeze(-1)
            torch.nn.functional.binary_cross_entropy_with_logits(logit, yt[rows]).backward()
            opt.step()
    head.eval()
    with torch.no_grad():
        return torch.sigmoid(head(torch.from_numpy(x_dev)).squeeze(-1)).numpy()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mix", type=Path, required=True, help="training mix Parquet")
    parser.add_argument("--model", required=True, help="embedded model folder (its encoder)")
    parser.add_argument(
        "--encoder", default=None, help="encoder folder (default: the packaged MiniLM)"
    )
    parser.add_argument("--train-rows", type=int, default=9000, help="train-split sample")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--name", default="pooling_probe", help="results file stem")
    args = parser.parse_args(argv)

    import torch
    from oneguard.data.mix import read_mix
    from oneguard.model.artifact import load_artifact
    from oneguard.model.thresholds import best_f1_threshold
    from oneguard.model.training_data import examples_from_records
    from sklearn.metrics import average_precision_score

    torch.set_num_threads(args.threads)
    try:
        records = [
            r
            for r in read_mix(args.mix)
            if r.response is not None and r.response_harm_label != "unknown"
        ]
        model, _ = load_artifact(args.model, encoder_path=args.encoder)
    except (OSError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    examples = examples_from_records(records, annotation_weights={})
    train = np.flatnonzero(examples.split == "train")
    dev = np.flatnonzero(examples.split == "dev")
    if len(train) == 0 or len(dev) == 0:
        print(f"error: {args.mix}: no response-labelled train or dev rows", file=sys.stderr)
        return 2
    rng = np.random.default_rng(0)
    train = rng.choice(train, size=min(args.train_rows, len(train)), replace=False)
    rows = np.concatenate([train, dev])
    started = time.perf_counter()
    feats = pooled_pairs(model, [examples.texts[i] for i in rows], batch_size=32)
    gold = examples.labels["response"][rows].astype(np.int64)
    is_train = np.arange(len(rows)) < len(train)
    width = feats.shape[1] // len(POOLINGS)

    def columns(poolings: tuple[str, ...]) -> np.ndarray:
        return np.concatenate([np.arange(width) + POOLINGS.index(p) * width for p in poolings])

    def scored(probs: np.ndarray) -> tuple[float, float]:
        y = gold[~is_train] == 1
        return 100 * average_precision_score(y, probs), 100 * best_f1_threshold(y, probs).f1

    # The model's own head reads its own layout: the means, and the max when it has that path.
    own_cols = columns(POOLINGS if model.head_config.pools_max else POOLINGS[:2])
    with torch.no_grad():
        logit, _ = model.heads.from_pair(torch.from_numpy(feats[~is_train][:, own_cols]))
    shipped_auprc, shipped_f1 = scored(torch.sigmoid(logit).numpy())
    variants: dict[str, Any] = {}
    for name, poolings in VARIANTS.items():
        cols = columns(poolings)
        x = feats[is_train][:, cols]
        mu, sd = x.mean(0), x.std(0) + 1e-4
        runs = [
            scored(
                fit_head(
                    (x - mu) / sd,
                    gold[is_train],
                    (feats[~is_train][:, cols] - mu) / sd,
                    s,
                    args.epochs,
                )
            )
            for s in range(args.seeds)
        ]
        auprc, f1 = np.array(runs).T
        variants[name] = {
            "poolings": list(poolings),
            "auprc": float(auprc.mean()),
            "auprc_sd": float(auprc.std()),
            "f1": float(f1.mean()),
            "f1_sd": float(f1.std()),
        }
    command = (
        f"python oneguard/benchmarks/pooling_probe.py --mix {args.mix} --model {args.model}"
        + (f" --name {args.name}" if args.name != "pooling_probe" else "")
    )
    report = {
        "command": command,
        "train_rows": int(len(train)),
        "dev_rows": int(len(dev)),
        "seeds": args.seeds,
        "model_head": {"auprc": shipped_auprc, "f1": shipped_f1},
        "variants": variants,
        "seconds": round(time.perf_counter() - started, 1),
    }
    lines = [
        f"# Pooling probe: fresh response-harm heads on `{args.model}`'s frozen encoder",
        "",
        f"Heads trained on {len(train):,} response-labelled train rows of `{args.mix}`, scored "
        f"on its {len(dev):,} dev rows; mean ± spread over {args.seeds} seeds. Dev only: no "
        "benchmark is read.",
        "",
        "| head input | dev AUPRC | dev best F1 |",
        "|---|---:|---:|",
    ]
    for name, v in variants.items():
        lines.append(
            f"| {name} | {v['auprc']:.2f} ± {v['auprc_sd']:.2f} | {v['f1']:.2f} ± {v['f1_sd']:.2f} |"
        )
    lines += [
        f"| the model's own head, trained end to end (for scale) | {shipped_auprc:.2f} | "
        f"{shipped_f1:.2f} |",
        "",
        f"Command: `{command}` ({report['seconds']:.0f} s)",
    ]
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{args.name}.json").write_text(json.dumps(report, indent=2) + "\n", "utf-8")
    (RESULTS / f"{args.name}.md").write_text("\n".join(lines) + "\n", "utf-8")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
