"""``mixpro train``: train a ViT from scratch with one mixing method (see ``mixpro.train``)."""

from __future__ import annotations

import argparse
import sys

from mixpro.data import DataError


def register(subparsers: argparse._SubParsersAction) -> None:
    from mixpro.train import add_arguments

    parser = subparsers.add_parser(
        "train",
        help="train a ViT from scratch with --aug none|mixup|cutmix|transmix|maskmix|mixpro",
        description=(
            "Train a timm ViT from scratch (DeiT-style recipe for small images) on CIFAR-10, "
            "WebDataset shards or an ImageFolder tree. Flags override --config (YAML with the "
            "same keys). Multi-GPU / multi-node: torchrun --nproc-per-node N -m mixpro train ..."
        ),
    )
    add_arguments(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from mixpro.train import ConfigError, config_from_args, train

    try:
        config = config_from_args(args)
        summary = train(config)
    except (ConfigError, DataError) as exc:
        print(f"mixpro train: error: {exc}", file=sys.stderr)
        return 2
    if summary:
        print(
            f"{summary['aug']}: test accuracy {summary['final_test_acc']:.4f} after "
            f"{summary['epochs_done']}/{summary['epochs']} epochs (best "
            f"{summary['best_test_acc']:.4f}); run folder {config.out}"
        )
    return 0
