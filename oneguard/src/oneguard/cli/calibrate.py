"""``oneguard calibrate``: fit a trained model's score calibration on a mix's dev split."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from oneguard.cli import EXIT_ERROR, EXIT_OK

EPILOG = """\
Scores are Platt-scaled per task (prompt harm, response harm, refusal) so that a score reads
as a probability on the dev split; each stored threshold moves with its scores, so every
label stays what it was. `oneguard train` does this at the end of training; this command does
it for a model trained before, or refits it on another mix's dev split. The model folder is
rewritten in place (config.json and MODEL_CARD.md).

examples:
  oneguard calibrate runs/default --mix build/mix_v4/train_mix.parquet
"""


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "calibrate",
        help="fit a trained model's score calibration on a training mix's dev split",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("model", type=Path, help="embedded model folder (rewritten in place)")
    p.add_argument("--mix", type=Path, required=True, help="training-mix Parquet with a dev split")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    p.add_argument(
        "--encoder",
        type=Path,
        default=None,
        help="local encoder folder (default: the packaged one)",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import torch

    from oneguard.model.artifact import ArtifactError
    from oneguard.train import TrainError, calibrate_artifact

    if args.threads:
        torch.set_num_threads(args.threads)
    try:
        report = calibrate_artifact(
            args.model, args.mix, batch_size=args.batch_size, encoder=args.encoder
        )
    except (ArtifactError, TrainError, FileNotFoundError, ValueError) as exc:
        print(f"oneguard calibrate: {exc}", file=sys.stderr)
        return EXIT_ERROR
    print(f"calibrated {args.model} on the dev split of {args.mix}")
    for task, r in report.items():
        print(
            f"  {task:8s} a={r['a']:.3f} b={r['b']:+.3f}  dev ECE {r['ece_before']:.3f} -> "
            f"{r['ece_after']:.3f}  (n={r['n']})"
        )
    return EXIT_OK
