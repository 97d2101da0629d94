"""``mixpro show``: PNG grid of real CIFAR-10 images under each mixer (see ``mixpro.show``)."""

from __future__ import annotations

import argparse
import sys


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "show",
        help="draw CIFAR-10 images under Mixup, CutMix, TransMix and MaskMix with masks and λ",
        description=(
            "Write a PNG grid: each row one mixer, each image followed by its mask "
            "(white = own image) and λ. Uses the CIFAR-10 test shard; falls back to "
            "scikit-learn's digits when CIFAR-10 is absent."
        ),
    )
    parser.add_argument("--out", default="mixers.png", help="PNG to write (default: mixers.png)")
    parser.add_argument(
        "--data-dir",
        default=None,
        help="folder with the CIFAR-10 shards (default: $SHARED_DATA_DIR/images/cifar10, "
        "else ../shared/data/images/cifar10 beside the repository)",
    )
    parser.add_argument("--num-images", type=int, default=6, help="even number of images (6)")
    parser.add_argument("--patch-size", type=int, default=4, help="ViT patch size in px (4)")
    parser.add_argument("--mask-size", type=int, default=8, help="MaskMix cell size in px (8)")
    parser.add_argument("--seed", type=int, default=0, help="random seed of the mixes (0)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from mixpro.data import DataError
    from mixpro.show import render_mixers

    try:
        path, preview = render_mixers(
            args.out,
            data_dir=args.data_dir,
            count=args.num_images,
            patch_size=args.patch_size,
            mask_size=args.mask_size,
            seed=args.seed,
        )
    except (ValueError, DataError) as exc:
        print(f"mixpro show: error: {exc}", file=sys.stderr)
        return 2
    if preview.source.startswith("scikit-learn"):
        print("mixpro show: CIFAR-10 not found; using scikit-learn digits instead", file=sys.stderr)
    print(f"wrote {path} ({preview.images.shape[0]} images from {preview.source})")
    return 0
