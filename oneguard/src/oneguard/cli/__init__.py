"""``oneguard`` command line. Thin: every subcommand lives in a module of this package that
defines ``register(subparsers)`` and sets ``func`` (returning an exit code) on its parser."""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2


def build_parser() -> argparse.ArgumentParser:
    from oneguard import __version__

    parser = argparse.ArgumentParser(
        prog="oneguard",
        description=(
            "Moderate LLM interactions: is the prompt harmful, is the response harmful, "
            "is the response a refusal - with scores and a WildGuard risk category."
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"oneguard {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda i: i.name):
        if info.name.startswith("_"):  # __main__ (python -m oneguard.cli), private helpers
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        module.register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return EXIT_USAGE
    try:
        return int(args.func(args) or EXIT_OK)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
