"""``mixpro bench``: the side-by-side comparison of the mixing methods (see ``mixpro.bench``)."""

from __future__ import annotations

import argparse
import sys

from mixpro.data import DataError

#: Train flags that the bench sets itself for every run.
_BENCH_OWNED = ("config", "aug", "seed", "out", "resume", "stop_after", "progress", "threads")


def register(subparsers: argparse._SubParsersAction) -> None:
    from mixpro.bench import SCALES
    from mixpro.train import add_arguments

    parser = subparsers.add_parser(
        "bench",
        help="compare none/mixup/cutmix/transmix/maskmix/mixpro under one fixed budget",
        description=(
            "Train every method with the same model, data, epochs and seeds (seed-major, "
            "method-minor, --parallel processes at a time) and write results.md, results.json "
            "and accuracy_curves.png. Re-run the same command to resume. Any train flag below "
            "overrides the --scale preset."
        ),
    )
    parser.add_argument(
        "--scale",
        choices=sorted(SCALES),
        default="small",
        help="small: CPU, about an hour on 2 idle cores; full: all of CIFAR-10 on a GPU",
    )
    parser.add_argument(
        "--methods", default=None, help="comma-separated subset of the methods (default: all)"
    )
    parser.add_argument("--seeds", type=int, default=3, help="seeds 0..N-1 (default: 3)")
    parser.add_argument(
        "--parallel", type=int, default=None, help="runs side by side (small: 2, full: 6)"
    )
    parser.add_argument(
        "--threads", type=int, default=None, help="torch threads per run (small: 1, full: 2)"
    )
    parser.add_argument(
        "--results", default=None, help="report folder (default: mixpro/benchmarks/results/<scale>)"
    )
    parser.add_argument(
        "--work-dir",
        default=None,
        help="run folders, logs, decoded data (default: runs/bench-<scale>)",
    )
    parser.add_argument(
        "--time-budget",
        type=float,
        default=None,
        metavar="SECONDS",
        help="fit the epoch count to this much training time (a short calibration run first)",
    )
    parser.add_argument(
        "--hard-limit",
        type=float,
        default=None,
        metavar="SECONDS",
        help="stop everything this long after the start and report what finished",
    )
    parser.add_argument(
        "--report-only", action="store_true", help="rewrite the report from finished runs"
    )
    overrides = parser.add_argument_group(
        "train settings",
        "override the --scale preset (see mixpro.bench.SCALES); the defaults shown are mixpro "
        "train's, not the preset's",
    )
    add_arguments(overrides, exclude=_BENCH_OWNED)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from mixpro.bench import command_line, make_bench_config, run_bench
    from mixpro.train import ConfigError, TrainConfig

    fields = TrainConfig.__dataclass_fields__
    overrides = {name: getattr(args, name) for name in fields if hasattr(args, name)}
    # bench's own --threads / --seeds are not train fields; keep them out of the overrides
    for name in ("threads", "seed"):
        overrides.pop(name, None)
    try:
        config = make_bench_config(
            args.scale,
            overrides,
            methods=args.methods.split(",") if args.methods else None,
            seeds=args.seeds,
            parallel=args.parallel,
            threads=args.threads,
            results=args.results,
            work_dir=args.work_dir,
            time_budget=args.time_budget,
            hard_limit=args.hard_limit,
            command=command_line(sys.argv[2:] if len(sys.argv) > 2 else []),
        )
        payload = run_bench(config, report_only=args.report_only)
    except (ConfigError, DataError) as exc:
        print(f"mixpro bench: error: {exc}", file=sys.stderr)
        return 2
    print(f"report: {config.results / 'results.md'}")
    for method in payload["ranking"]:
        stats = payload["methods"][method]
        print(f"  {method:<9} {100 * stats['mean']:6.2f} ± {100 * stats['std']:.2f}")
    return 1 if payload["failed"] else 0
