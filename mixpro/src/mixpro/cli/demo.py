"""``mixpro demo``: a one-to-two-minute MixPro training run on CPU with built-in settings.

Trains the small ViT with MixPro (MaskMix + PAL, official recipe) on a class-balanced CIFAR-10
subset and prints the per-epoch metrics, including PAL's progressive factor α. Without CIFAR-10
on this machine it says so and uses scikit-learn's 8×8 digits upsampled to 32×32 instead.
"""

from __future__ import annotations

import argparse
import sys
import tempfile

from mixpro.data import DataError


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "demo",
        help="a short MixPro training run on CPU (CIFAR-10 subset, else sklearn digits)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--data", default=None, help="CIFAR-10 folder (default: the shared one)")
    parser.add_argument(
        "--epochs", type=int, default=None, help="epochs (default: 4 on CIFAR-10, 15 on digits)"
    )
    parser.add_argument("--subset", type=int, default=4000, help="train images (default: 4000)")
    parser.add_argument("--out", default=None, help="run folder (default: a temporary folder)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import numpy as np

    from mixpro.data import digits_splits
    from mixpro.train import ConfigError, Splits, TrainConfig, load_splits, train

    out = args.out or tempfile.mkdtemp(prefix="mixpro-demo-")
    config = TrainConfig(
        data=args.data,
        model="vit_cifar_d64_l4",
        aug="mixpro",
        epochs=args.epochs or 4,
        subset=args.subset,
        test_subset=2000,
        warmup_epochs=1.0,
        threads=1,  # a 2-thread run slows 4–6x as soon as anything else takes a core
        device="cpu",
        out=out,
    )
    splits = None
    try:
        load_splits(config)
        print(f"demo: MixPro on a {args.subset}-image CIFAR-10 subset, {config.epochs} epochs")
    except DataError as exc:
        train_split, test_split = digits_splits(config.img_size)
        smallest_class = int(np.bincount(train_split.labels).min())
        subset = min(args.subset, 10 * smallest_class)
        config.subset, config.test_subset = subset, None
        config.epochs, config.batch_size = args.epochs or 15, 64
        splits = Splits(train_split, test_split)
        print(
            f"demo: CIFAR-10 is not available ({exc}).\n"
            f"demo: FALLING BACK to scikit-learn's 8×8 digits upsampled to 32×32 RGB "
            f"({subset} train / {len(test_split)} test images); accuracies are not CIFAR-10's."
        )
    try:
        summary = train(config, splits)
    except (ConfigError, DataError) as exc:
        print(f"mixpro demo: error: {exc}", file=sys.stderr)
        return 2
    print(
        f"demo: MixPro reached {100 * summary['final_test_acc']:.1f}% test top-1 after "
        f"{summary['epochs_done']} epochs; metrics per epoch in {out}/metrics.jsonl"
    )
    return 0
