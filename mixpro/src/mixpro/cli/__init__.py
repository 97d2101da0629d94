"""``mixpro`` command line. Thin: every subcommand lives in a module of this package that
defines ``register(subparsers)`` and sets ``func`` (returning an exit code) on its parser."""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys


def build_parser() -> argparse.ArgumentParser:
    from mixpro import __version__

    parser = argparse.ArgumentParser(
        prog="mixpro",
        description=(
            "MaskMix + Progressive Attention Labeling for training Vision Transformers with "
            "timm, beside TransMix, Mixup and CutMix."
        ),
    )
    parser.add_argument("--version", action="version", version=f"mixpro {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda i: i.name):
        module = importlib.import_module(f"{__name__}.{info.name}")
        module.register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
