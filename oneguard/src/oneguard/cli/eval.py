"""``oneguard eval``: score a model on the paper's public benchmarks (and your own labelled
files), write report.md / report.json / plots, and optionally measure it as a filter."""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from oneguard.backends import available_backends
from oneguard.cli import EXIT_ERROR, EXIT_OK, EXIT_USAGE
from oneguard.schema import TASKS

if TYPE_CHECKING:
    from oneguard.eval.efficacy import EfficacyReport
    from oneguard.eval.runner import EvalRun

DEFAULT_OUT = "oneguard-eval"
#: Table labels per backend when --label is not given.
_BACKEND_LABELS = {"embedded": "OneGuard", "tfidf": "TF-IDF + LR", "keyword": "Keyword baseline"}


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "eval",
        help="evaluate a model on the public benchmarks and write a report",
        description=(
            "Run a model over the WildGuard paper's public benchmarks (ToxicChat, OpenAI "
            "Moderation, Aegis, SimpleSafetyTests, HarmBench, SafeRLHF, BeaverTails, XSTest) "
            "and/or your own labelled file; write report.md, report.json and PNG plots with "
            "the paper's published numbers beside ours. Predictions are cached per model and "
            "data, so reruns are instant."
        ),
    )
    parser.add_argument(
        "--model",
        help="model name or path (default: the embedded model shipped with oneguard)",
    )
    parser.add_argument(
        "--backend",
        choices=available_backends(),
        help="backend (default: embedded; hf for allenai/wildguard)",
    )
    parser.add_argument(
        "--suite",
        choices=("public", "none"),
        help="benchmark suite (default: public, or none when --data is given)",
    )
    parser.add_argument(
        "--data", type=Path, help="extra labelled file (.jsonl/.json/.csv/.parquet)"
    )
    parser.add_argument("--task", choices=TASKS, help="task the --data file is labelled for")
    parser.add_argument(
        "--efficacy",
        action="store_true",
        help="also measure the model as a filter: ASR on attack transcripts, block rate on "
        "benign look-alike prompts",
    )
    parser.add_argument("--out", type=Path, default=Path(DEFAULT_OUT), help="output folder")
    parser.add_argument(
        "--data-dir",
        type=Path,
        help="shared data folder holding moderation/ (default: $SHARED_DATA_DIR or ../shared/data)",
    )
    parser.add_argument("--batch-size", type=int, help="items per model call")
    parser.add_argument(
        "--no-cache", action="store_true", help="ignore and do not write cached predictions"
    )
    parser.add_argument(
        "--label", help="name of this model in the tables (default: from backend/model)"
    )
    parser.add_argument(
        "--compare",
        type=Path,
        action="append",
        default=[],
        metavar="REPORT_JSON",
        help="add another run's measured row (its report.json) to the tables; repeatable",
    )
    parser.add_argument(
        "--no-keyword-baseline",
        action="store_true",
        help="do not add the keyword refusal baseline's measured row to the refusal tables",
    )
    parser.add_argument(
        "--fit-tfidf",
        type=Path,
        metavar="MIX_PARQUET",
        help="with --backend tfidf: first train the TF-IDF baseline on this training mix and "
        "save it to --model",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    parser.set_defaults(func=run_eval)


def _default_label(backend: str, model: str | None) -> str:
    label = _BACKEND_LABELS.get(backend, backend)
    if model is None or backend in ("tfidf", "keyword"):
        return label
    return f"{label} ({Path(model).name or model})"


def _check_usage(args: argparse.Namespace) -> str | None:
    if (args.data is None) != (args.task is None):
        return "--data and --task go together"
    if args.fit_tfidf is not None and (args.backend != "tfidf" or args.model is None):
        return "--fit-tfidf needs --backend tfidf and --model DIR (where to save it)"
    if args.batch_size is not None and args.batch_size < 1:
        return "--batch-size must be >= 1"
    suite = args.suite or ("none" if args.data else "public")
    if suite == "none" and args.data is None and not args.efficacy:
        return "nothing to evaluate: use --suite public, --data FILE --task TASK or --efficacy"
    return None


def run_eval(args: argparse.Namespace) -> int:
    problem = _check_usage(args)
    if problem:
        print(f"oneguard eval: {problem}", file=sys.stderr)
        return EXIT_USAGE
    try:
        return _evaluate(args)
    except (FileNotFoundError, ValueError) as err:
        print(f"oneguard eval: error: {err}", file=sys.stderr)
        return EXIT_ERROR


def _evaluate(args: argparse.Namespace) -> int:
    # Heavy imports here so `oneguard --help` stays fast.
    from oneguard.api import Guard
    from oneguard.backends.baselines import KeywordRefusalBackend, TfidfBackend
    from oneguard.eval.efficacy import run_efficacy
    from oneguard.eval.labelled_file import load_labelled_file
    from oneguard.eval.report import MeasuredRow, write_report
    from oneguard.eval.runner import PredictionCache, model_identity, run_benchmarks
    from oneguard.eval.suites import load_public_suite

    progress = not args.quiet
    suite = args.suite or ("none" if args.data else "public")
    benchmarks = load_public_suite(args.data_dir) if suite == "public" else []
    if args.data is not None:
        benchmarks.append(load_labelled_file(args.data, args.task))
    comparisons = [MeasuredRow.from_report_json(path) for path in args.compare]

    if args.fit_tfidf is not None:
        fitted = TfidfBackend.fit(args.fit_tfidf, progress=progress)
        fitted.save(args.model)
        print(f"saved TF-IDF baseline to {args.model}")

    guard = Guard.load(args.model, backend=args.backend, batch_size=args.batch_size)
    identity = model_identity(guard.backend, args.model)
    cache = None if args.no_cache else PredictionCache()
    label = args.label or _default_label(guard.backend.name, args.model)
    run = run_benchmarks(
        guard, benchmarks, label=label, identity=identity, cache=cache, progress=progress
    )

    refusal_sets = [b for b in benchmarks if b.task == "refusal"]
    if refusal_sets and guard.backend.name != "keyword" and not args.no_keyword_baseline:
        keyword = Guard(KeywordRefusalBackend())
        baseline = run_benchmarks(
            keyword, refusal_sets, label="Keyword baseline", cache=cache, progress=progress
        )
        comparisons.append(MeasuredRow.from_run(baseline))

    efficacy = None
    if args.efficacy:
        efficacy = run_efficacy(
            guard, args.data_dir, identity=identity, cache=cache, progress=progress
        )

    command = shlex.join(["oneguard", "eval", *sys.argv[2:]]) if sys.argv[1:2] == ["eval"] else ""
    paths = write_report(run, args.out, comparisons=comparisons, efficacy=efficacy, command=command)
    _print_summary(run, efficacy)
    print(f"wrote {', '.join(str(p) for p in paths.values())}")
    return EXIT_OK


def _print_summary(run: EvalRun, efficacy: EfficacyReport | None) -> None:
    from oneguard.eval.report import MeasuredRow
    from oneguard.eval.suites import AVERAGES

    def pct(value: float | None) -> str:
        return "   –" if value is None else f"{value:5.1f}"

    for result in run.results.values():
        m = result.metrics
        auprc = "–" if m.auprc is None else f"{m.auprc:.3f}"
        f1 = None if m.f1 is None else 100 * m.f1
        print(f"{result.title:<38} {result.task:<8} n={m.n:<5} F1 {pct(f1)}  AUPRC {auprc}")
    ours = MeasuredRow.from_run(run)
    for column in AVERAGES:
        value = ours.percent(column)
        if value is not None:
            print(f"{column:<38} F1 {pct(value)}")
    for name, why in run.skipped.items():
        print(f"{name:<38} skipped: {why}")
    if efficacy is not None:
        for attack in efficacy.attacks:
            print(
                f"efficacy {attack.name:<20} ASR 100.0% -> {100 * attack.asr_with_filter:.1f}% "
                f"(n={attack.n})"
            )
        for benign in efficacy.benign:
            print(
                f"efficacy {benign.name:<20} block rate {100 * benign.block_rate:.1f}% (n={benign.n})"
            )
        for name, why in efficacy.skipped.items():
            print(f"efficacy {name:<20} skipped: {why}")
