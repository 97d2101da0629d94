"""``oneguard data build`` (the training mix) and ``oneguard data sources`` (the registry)."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from oneguard.cli import EXIT_ERROR, EXIT_OK, EXIT_USAGE
from oneguard.data.augment import DEFAULT_PAIR_VARIANTS
from oneguard.paths import REPO_ROOT, moderation_data_dir

#: The summary table is wide; when stdout is not a terminal (logs, CI), do not squash it.
_WIDTH = None if sys.stdout.isatty() else 220
DEFAULT_OUT = REPO_ROOT / "build" / "mix" / "train_mix.parquet"

BUILD_EPILOG = """\
Loads every train-role source; drops rows whose (prompt, response) pair or specific response
is in an eval-role source and removes the labels an eval set judges on a shared prompt
(--strict-dedup: drops those rows); resolves duplicate texts; adds adversarial variants of
harmful and benign requests; caps each source; carves a dev split by prompt; writes:
  OUT (NAME.parquet)   one row per record (all Record fields, zstd)
  NAME.summary.md      rows per source x task x label x adversarial, dedup drops, timings
                       (keep it in the model card)
  NAME.summary.json    the same, machine-readable
example:
  oneguard data build --out build/mix/train_mix.parquet --seed 0
"""


def _data_dir(value: str | None) -> Path:
    """The ``moderation/`` folder: ``--data-dir`` may name it or the shared data root."""
    if value is None:
        return moderation_data_dir()
    path = Path(value)
    if not (path / "MANIFEST.md").exists() and (path / "moderation").is_dir():
        return path / "moderation"
    return path


def register(subparsers: argparse._SubParsersAction) -> None:
    data = subparsers.add_parser("data", help="build the training mix; list data sources")
    commands = data.add_subparsers(dest="data_command", metavar="SUBCOMMAND")
    data.set_defaults(func=lambda args: (data.print_help(), EXIT_USAGE)[1])

    build = commands.add_parser(
        "build",
        help="write the training mix (Parquet) and its summary table",
        epilog=BUILD_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    build.add_argument(
        "--data-dir",
        default=None,
        help="moderation data folder (default: $SHARED_DATA_DIR/moderation or ../shared/data)",
    )
    build.add_argument(
        "--out", type=Path, default=DEFAULT_OUT, help="Parquet path (default: %(default)s)"
    )
    build.add_argument("--seed", type=int, default=0, help="random seed (default: %(default)s)")
    build.add_argument(
        "--max-per-source",
        type=int,
        default=6000,
        help="rows kept per source after dedup (default: %(default)s)",
    )
    build.add_argument(
        "--cap",
        action="append",
        default=[],
        metavar="SOURCE=N",
        help="per-source cap overriding --max-per-source (repeatable)",
    )
    build.add_argument(
        "--dev-fraction",
        type=float,
        default=0.05,
        help="share of prompts in dev (default: %(default)s)",
    )
    build.add_argument(
        "--augment-harmful",
        type=int,
        default=10_000,
        help="adversarial variants of harmful requests (default: %(default)s)",
    )
    build.add_argument(
        "--augment-benign",
        type=int,
        default=10_000,
        help="adversarial variants of benign requests (default: %(default)s)",
    )
    build.add_argument(
        "--augment-pairs",
        type=int,
        default=DEFAULT_PAIR_VARIANTS,
        help="adversarial variants of labelled prompt+response pairs, keeping the response "
        "(default: %(default)s)",
    )
    build.add_argument("--no-augment", action="store_true", help="skip adversarial augmentation")
    build.add_argument(
        "--cross-pairs",
        type=int,
        default=0,
        metavar="N",
        help="train-split rows pairing one record's prompt with another's response, labelled "
        "by the response alone: half harmless answers behind harmful requests, half harmful "
        "answers behind benign ones (default: %(default)s)",
    )
    build.add_argument(
        "--exclude",
        action="append",
        default=[],
        metavar="SOURCE",
        help="leave a registered source out entirely (repeatable)",
    )
    build.add_argument(
        "--strict-dedup",
        action="store_true",
        help="drop every row whose prompt is in an eval set (default: drop only its labels "
        "judged there, keeping e.g. refusal labels on a prompt-only benchmark's prompts)",
    )
    build.add_argument(
        "--keep-split-from",
        default=None,
        metavar="PARQUET",
        help="an earlier mix whose prompts keep their train/dev side here, so a model "
        "fine-tuned (--init-from) from one trained on it is still scored on unseen prompts",
    )
    build.add_argument("--quiet", action="store_true", help="no progress bars or table")
    build.set_defaults(func=run_build)

    sources = commands.add_parser("sources", help="list registered data sources")
    sources.add_argument("--data-dir", default=None, help="moderation data folder")
    sources.add_argument(
        "--no-counts", action="store_true", help="do not load sources to count their rows"
    )
    sources.set_defaults(func=run_sources)


def _parse_caps(values: list[str]) -> dict[str, int]:
    caps = {}
    for value in values:
        name, sep, number = value.partition("=")
        if not sep or not name or not number.isdigit():
            raise ValueError(f"--cap expects SOURCE=N with a whole number N, got {value!r}")
        caps[name] = int(number)
    return caps


def run_build(args: argparse.Namespace) -> int:
    from rich.console import Console

    from oneguard.data.augment import AugmentConfig
    from oneguard.data.mix import MixConfig, MixError, build_mix, write_mix
    from oneguard.data.templates import TemplateFormatError

    console = Console(quiet=args.quiet, width=_WIDTH)
    try:
        config = MixConfig(
            seed=args.seed,
            max_per_source=args.max_per_source,
            source_caps=_parse_caps(args.cap),
            dev_fraction=args.dev_fraction,
            augment=None
            if args.no_augment
            else AugmentConfig(
                n_harmful=args.augment_harmful,
                n_benign=args.augment_benign,
                n_pairs=args.augment_pairs,
            ),
            exclude=tuple(args.exclude),
            strict_eval_dedup=args.strict_dedup,
            keep_split_from=args.keep_split_from,
            cross_pairs=args.cross_pairs,
        )
        started = time.perf_counter()
        result = build_mix(_data_dir(args.data_dir), config, progress=not args.quiet)
        written = write_mix(result, args.out)
    except (MixError, TemplateFormatError, FileNotFoundError, ValueError) as exc:
        print(f"oneguard data build: {exc}", file=sys.stderr)
        return EXIT_ERROR
    _print_summary(console, result)
    size = written[0].stat().st_size / 2**20
    console.print(
        f"wrote {len(result.records):,} rows to {written[0]} ({size:.1f} MiB); "
        f"summary: {written[1]}, {written[2]}; total {time.perf_counter() - started:.1f} s"
    )
    return EXIT_OK


def _print_summary(console, result) -> None:
    from rich.table import Table

    from oneguard.data.mix import summary_columns, summary_rows

    table = Table(title="training mix (cells: vanilla + adversarial)", show_lines=False)
    table.add_column("source", no_wrap=True)
    for column in summary_columns():
        table.add_column(column, justify="right")
    for row in summary_rows(result):
        style = "bold" if row[0] == "TOTAL" else None
        table.add_row(*row, style=style)
    console.print(table)
    hits = result.report.eval_hits
    if hits:
        console.print(
            "dropped per eval set: "
            + ", ".join(f"{name} {n:,}" for name, n in sorted(hits.items(), key=lambda kv: -kv[1]))
        )
    console.print("timings (s): " + ", ".join(f"{k} {v}" for k, v in result.timings.items()))


def run_sources(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.table import Table

    from oneguard.data.registry import all_sources

    data_dir = _data_dir(args.data_dir)
    sources = all_sources()
    present = data_dir.is_dir()
    console = Console(width=_WIDTH)
    if not present:
        console.print(
            f"[yellow]moderation data folder {data_dir} not found: counts omitted "
            "(pass --data-dir or set SHARED_DATA_DIR)[/yellow]"
        )
    table = Table(title=f"{len(sources)} registered sources")
    for column in ("name", "role", "tasks", "folder", "rows"):
        table.add_column(column, justify="right" if column == "rows" else "left")
    failures = 0
    for name, source in sorted(sources.items(), key=lambda kv: (kv[1].role, kv[0])):
        rows = ""
        if present and not args.no_counts:
            try:
                rows = f"{len(source.load(data_dir)):,}"
            except FileNotFoundError:
                rows = "[dim]no data[/dim]"
            except ValueError as exc:
                failures += 1
                rows = "[red]error[/red]"
                console.print(f"[red]{name}: {exc}[/red]")
        folder = source.folder if source.folder is not None else "(generated)"
        table.add_row(name, source.role, ", ".join(source.tasks), folder, rows)
    console.print(table)
    return EXIT_ERROR if failures else EXIT_OK
