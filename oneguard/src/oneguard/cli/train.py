"""``oneguard train``: train the embedded model on the training mix and write an artifact."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from oneguard.cli import EXIT_ERROR, EXIT_OK
from oneguard.paths import REPO_ROOT

DEFAULT_MIX = REPO_ROOT / "build" / "mix" / "train_mix.parquet"

EPILOG = """\
regimes:
  --finetune-layers 0    frozen encoder: features cached once (resumable), heads trained on
                         them (CPU friendly; default epochs 20, batch 256)
  --finetune-layers K    fine-tune the top K layers (-1: all) with the heads (GPU; default
                         epochs 3, batch 32); bf16 autocast on CUDA
  --finetune-layers K --cache-lower-states --precision bf16
                         the CPU fine-tune: the frozen layers' output is computed once (bf16)
                         and each step runs only the top K layers (feature layers >= 6-K)
An interrupted run resumes from its last checkpoint when the same command is run again.
examples:
  oneguard train --mix build/mix/train_mix.parquet --out runs/frozen --feature-layers 3,6
  oneguard train --mix train_mix.parquet --out $OUT/model --device cuda --finetune-layers -1 \\
      --encoder device_payload/minilm --batch-size 128 --epochs 3
"""


def _floats(text: str) -> dict[str, float]:
    pairs = {}
    for part in filter(None, text.split(",")):
        key, sep, value = part.partition("=")
        if not sep:
            raise argparse.ArgumentTypeError(f"expected NAME=VALUE, got {part!r}")
        try:
            pairs[key.strip()] = float(value)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{part!r}: {value!r} is not a number") from None
    return pairs


def _layers(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(x) for x in text.split(",") if x.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected layer numbers like 3,6; got {text!r}") from None


def _names(text: str) -> tuple[str, ...]:
    return tuple(name.strip() for name in text.split(",") if name.strip())


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "train",
        help="train the embedded model (shared MiniLM encoder + 4 heads) on the training mix",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--mix", type=Path, default=None, help=f"training-mix Parquet (default: {DEFAULT_MIX})"
    )
    p.add_argument(
        "--data-dir",
        default=None,
        help="build the mix first from this moderation data folder (written beside --out)",
    )
    p.add_argument("--out", type=Path, required=True, help="artifact folder to write")
    p.add_argument(
        "--encoder", type=Path, default=None, help="local MiniLM folder (default: packaged)"
    )
    p.add_argument("--work-dir", type=Path, default=None, help="checkpoint folder (default: cache)")
    p.add_argument("--finetune-layers", type=int, default=0, help="0 frozen, K top layers, -1 all")
    p.add_argument("--train-embeddings", action="store_true", help="also train the embeddings")
    p.add_argument(
        "--init-from",
        type=Path,
        default=None,
        metavar="MODEL_DIR",
        help="start from a trained model folder (its encoder and heads) instead of the packaged "
        "encoder: a further training stage with a fresh optimiser and schedule, e.g. one more "
        "epoch on the shipped default",
    )
    p.add_argument(
        "--cache-lower-states",
        action="store_true",
        help="top-k fine-tune: compute the frozen layers once, run only the top k per step (CPU)",
    )
    p.add_argument("--feature-layers", type=_layers, default=(6,), help="pooled layers, e.g. 3,6")
    p.add_argument("--head-hidden", type=int, default=256, help="head MLP width (0: linear)")
    p.add_argument(
        "--max-pool-heads",
        type=_names,
        default=(),
        metavar="HEADS",
        help="pair heads that also read the response tokens max-pooled, e.g. 'response' or "
        "'response,refusal' (an added path that starts at zero from an --init-from model "
        "without it); needs --finetune-layers",
    )
    p.add_argument(
        "--response-max-pool",
        action="store_const",
        dest="max_pool_heads",
        const=("response", "refusal"),
        help="shorthand for --max-pool-heads response,refusal",
    )
    p.add_argument("--dropout", type=float, default=0.1)
    p.add_argument("--max-length", type=int, default=256, help="encoder window in tokens")
    p.add_argument("--pair-prompt-tokens", type=int, default=96, help="prompt budget in pairs")
    p.add_argument("--epochs", type=float, default=None)
    p.add_argument("--max-steps", type=int, default=None)
    p.add_argument("--batch-size", type=int, default=None)
    p.add_argument("--lr", type=float, default=5e-5, help="encoder learning rate")
    p.add_argument("--head-lr", type=float, default=1e-3)
    p.add_argument("--weight-decay", type=float, default=0.01)
    p.add_argument("--warmup-ratio", type=float, default=0.06)
    p.add_argument("--class-balance", choices=("none", "sqrt", "balanced"), default="sqrt")
    p.add_argument(
        "--task-weights",
        type=_floats,
        default={},
        help="e.g. prompt=1,response=1,refusal=1,category=0.3",
    )
    p.add_argument("--annotation-weights", type=_floats, default={}, help="e.g. model=0.7,rule=0.7")
    p.add_argument(
        "--source-weights",
        type=_floats,
        default={},
        help="loss weight per source (augmented variants included), e.g. toxicchat_train=2",
    )
    p.add_argument("--dev-fraction", type=float, default=0.05, help="if the mix has no dev rows")
    p.add_argument("--max-train-rows", type=int, default=None, help="seeded subsample of train")
    p.add_argument(
        "--pair-share",
        type=float,
        default=None,
        help="share of the --max-train-rows sample taken from rows with a response "
        "(default: a uniform sample, about 0.4 on the shipped mix)",
    )
    p.add_argument(
        "--refusal-prompt-swap",
        type=float,
        default=0.5,
        help="share of refusal rows copied with another prompt, against prompt shortcuts",
    )
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="cpu", help="cpu or cuda")
    p.add_argument("--precision", choices=("auto", "fp32", "bf16"), default="auto")
    p.add_argument("--checkpoint-every", type=int, default=500, help="steps between checkpoints")
    p.add_argument("--eval-batch-size", type=int, default=128)
    p.add_argument("--time-budget", type=float, default=None, help="stop training after N seconds")
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from oneguard.train import TrainConfig, TrainError, command_line, train

    mix = args.mix
    if args.data_dir is not None:
        try:
            mix = _build_mix(args.data_dir, args.out, progress=not args.no_progress)
        except (ImportError, RuntimeError, OSError, ValueError) as exc:
            print(f"error: cannot build the mix: {exc}", file=sys.stderr)
            return EXIT_ERROR
    config = TrainConfig(mix=mix or DEFAULT_MIX, out=args.out)
    defaults = TrainConfig(mix=config.mix, out=config.out)
    config = TrainConfig(
        mix=config.mix,
        out=args.out,
        encoder=args.encoder,
        work_dir=args.work_dir,
        finetune_layers=args.finetune_layers,
        train_embeddings=args.train_embeddings,
        init_from=args.init_from,
        cache_lower_states=args.cache_lower_states,
        feature_layers=args.feature_layers,
        head_hidden=args.head_hidden,
        max_pool_heads=args.max_pool_heads,
        dropout=args.dropout,
        max_length=args.max_length,
        pair_prompt_tokens=args.pair_prompt_tokens,
        epochs=args.epochs,
        max_steps=args.max_steps,
        batch_size=args.batch_size,
        lr=args.lr,
        head_lr=args.head_lr,
        weight_decay=args.weight_decay,
        warmup_ratio=args.warmup_ratio,
        class_balance=args.class_balance,
        task_weights={**defaults.task_weights, **args.task_weights},
        annotation_weights={**defaults.annotation_weights, **args.annotation_weights},
        source_weights=args.source_weights,
        dev_fraction=args.dev_fraction,
        max_train_rows=args.max_train_rows,
        pair_share=args.pair_share,
        refusal_prompt_swap=args.refusal_prompt_swap,
        seed=args.seed,
        device=args.device,
        precision=args.precision,
        checkpoint_every=args.checkpoint_every,
        eval_batch_size=args.eval_batch_size,
        time_budget_s=args.time_budget,
        threads=args.threads,
        progress=not args.no_progress,
        command=command_line(),
    )
    try:
        summary = train(config)
    except (TrainError, ValueError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    resumed = f" (resumed from step {summary.resumed_from})" if summary.resumed_from else ""
    print(f"wrote {summary.out} after {summary.steps} steps{resumed}, {summary.seconds:.0f} s")
    for task in ("prompt", "response", "refusal"):
        m = summary.dev_metrics.get(task, {})
        f1 = m.get("f1")
        f1_text = "n/a" if f1 is None else f"{100 * f1:.1f}"
        print(
            f"  {task:8s} dev F1 {f1_text:>5s}  threshold {summary.thresholds[task]:.3f}  (n={m.get('n', 0)})"
        )
    return EXIT_OK


def _build_mix(data_dir: str, out: Path, progress: bool) -> Path:
    """Build the training mix (default settings) from ``data_dir`` (the shared data root or
    its ``moderation/`` folder) into ``<out>.mix/train_mix.parquet``."""
    from oneguard.data.mix import build_mix, write_mix

    folder = Path(data_dir)
    if (folder / "moderation").is_dir():
        folder = folder / "moderation"
    path = Path(str(out).rstrip("/") + ".mix") / "train_mix.parquet"
    write_mix(build_mix(folder, progress=progress), path)
    return path
