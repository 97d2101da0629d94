"""``oneguard cascade``: build the TF-IDF -> encoder cascade (cut-offs chosen on the dev split)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from oneguard.cli import EXIT_ERROR, EXIT_OK, EXIT_USAGE

EPILOG = """\
example:
  oneguard cascade fit --tfidf build/tfidf --mix build/mix/train_mix.parquet --out build/cascade
  oneguard classify chats.jsonl -o out.jsonl --backend cascade --model build/cascade
  oneguard eval --backend cascade --model build/cascade

The cut-offs settle as many dev items as possible by TF-IDF alone while each task's dev F1
cannot fall more than --max-f1-drop points below the encoder alone (TF-IDF may change only so
many of the encoder's verdicts that even all-wrong changes stay within it). They belong to the
encoder they were chosen for: retrain it and run `cascade fit` again.
"""


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "cascade",
        help="build a fast TF-IDF -> encoder cascade",
        description="A cheap first stage settles confident items; the encoder judges the rest.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="cascade_command", metavar="ACTION")
    fit = commands.add_parser("fit", help="choose cut-offs on the dev split, write the cascade")
    fit.add_argument("--tfidf", type=Path, required=True, help="TF-IDF model folder (stage 1)")
    fit.add_argument("--mix", type=Path, required=True, help="training mix Parquet (dev split)")
    fit.add_argument("--out", type=Path, required=True, help="cascade folder to write")
    fit.add_argument("--model", default=None, help="embedded model folder (default: shipped)")
    fit.add_argument(
        "--max-f1-drop",
        type=float,
        default=0.5,
        metavar="POINTS",
        help="largest dev F1 loss per task, in points (default: %(default)s)",
    )
    fit.add_argument(
        "--negatives-only",
        action="store_true",
        help="stage 1 settles only confident negatives (every positive gets a category)",
    )
    fit.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    fit.add_argument("--quiet", action="store_true", help="no progress bars")
    fit.set_defaults(func=run_fit)
    parser.set_defaults(func=lambda args: parser.print_help() or EXIT_USAGE)


def run_fit(args: argparse.Namespace) -> int:
    from oneguard.backends.cascade import calibrate_cascade

    kwargs = {} if args.threads is None else {"threads": args.threads}
    try:
        config = calibrate_cascade(
            args.tfidf,
            args.mix,
            args.out,
            stage2_model=args.model,
            max_f1_drop=args.max_f1_drop / 100,
            settle_positives=not args.negatives_only,
            progress=not args.quiet,
            **kwargs,
        )
    except ValueError as exc:
        print(f"oneguard cascade: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except (FileNotFoundError, OSError) as exc:
        print(f"oneguard cascade: error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    for task, figures in (config.dev or {}).items():
        if "skipped" in figures:
            print(f"{task:<9} skipped: {figures['skipped']}")
            continue
        cut = config.cutoffs[task]
        print(
            f"{task:<9} n={figures['n']:<5} settled {100 * figures['settled_share']:5.1f}%  "
            f"F1 encoder {100 * figures['f1_stage2']:.1f} -> cascade "
            f"{100 * figures['f1_cascade']:.1f}  verdicts changed "
            f"{figures['changed_verdicts']}/{figures['max_changed_verdicts']} allowed  "
            f"(low {cut.low}, high {cut.high})"
        )
    print(f"wrote {args.out}")
    return EXIT_OK
