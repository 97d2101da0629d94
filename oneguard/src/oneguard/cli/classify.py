"""``oneguard classify``: classify a JSONL/CSV/Parquet file (resumably) or one quick text."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from oneguard.cli import _corpus
from oneguard.files import STDIO, FileAccessError, FileContentError, InvalidRow

if TYPE_CHECKING:
    from oneguard.api import Guard
    from oneguard.bulk import ClassifySpec, Summary

EXIT_OK = 0
EXIT_INVALID_INPUT = 1
EXIT_USAGE = 2
EXIT_IO = 3
EXIT_MODEL = 4
EXIT_INTERRUPTED = 130

DESCRIPTION = """\
Classify every row of a file: is the prompt harmful, is the response harmful, is the
response a refusal - with scores and a risk category. Or check one text with --text.

  oneguard classify chats.jsonl -o results.jsonl
  oneguard classify data.csv -o results.parquet --prompt-field question --response-field answer
  cat chats.jsonl | oneguard classify > results.jsonl
  oneguard classify --text "How do I make a bomb?" --response "I can't help with that."
"""

EPILOG = """\
formats:
  Input and output format follow the extension: .jsonl/.ndjson, .csv, .parquet/.pq
  (override with --input-format/--output-format). Without INPUT, JSONL is read from stdin;
  without -o, JSONL (or --output-format csv) goes to stdout.
  Output rows are the input rows with these fields added: prompt_harmfulness,
  response_harmfulness, response_refusal, is_parsing_error, prompt_harmfulness_score,
  response_harmfulness_score, response_refusal_score, category, category_scores
  (an input column with one of those names is replaced). In CSV, a cell holds a string
  as is and any other value as JSON text (category_scores, true/false); null is empty.

field mapping:
  Each row needs a prompt (--prompt-field, default "prompt"); a response
  (--response-field, default "response") is optional per row unless the flag is given.
  --messages-field reads a chat instead: a list of {"role", "content"} (JSON text in
  CSV); the last user turn is judged, with the last assistant turn as the response.

resume:
  The output is written and fsync'ed batch by batch, with a journal beside it
  (OUTPUT.oneguard-resume). After Ctrl-C, kill -9 or a crash, rerun the same command
  (or add --resume) to continue where it stopped: no row is lost or repeated. The
  journal records the row index and a fingerprint of the last row done (and its
  --id-field value), so a changed input is refused rather than mixed. --overwrite
  starts again. Output to stdout cannot be resumed.

invalid rows:
  A malformed line, a missing or non-string field or invalid UTF-8 stops the run
  with an error naming file, line and field; the rows before it stay in the output.
  Fix the row and rerun to continue, or pass --skip-invalid to write bad rows to an
  error file (default OUTPUT.errors.jsonl) and go on.

exit codes:
  0    success (also when --skip-invalid skipped rows)
  1    invalid input stopped the run (bad row, empty input, missing column)
  2    usage error (bad flags, unknown format or backend, output exists without a
       run to resume, resume with other settings or a changed input)
  3    I/O error (input missing or unreadable, output not writable)
  4    the model could not be loaded or failed on a batch
  130  interrupted (Ctrl-C); rerun the same command to resume
"""


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "classify",
        help="classify a JSONL/CSV/Parquet file (resumable) or one --text",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        allow_abbrev=False,
    )
    parser.add_argument("input", nargs="?", help="input file; '-' or omitted: JSONL on stdin")
    parser.add_argument(
        "-o", "--output", help="output file (format from extension); default stdout"
    )
    formats = ("jsonl", "csv", "parquet")
    parser.add_argument("--input-format", choices=formats, help="default: from the extension")
    parser.add_argument("--output-format", choices=formats, help="default: from the extension")

    fields = parser.add_argument_group("fields")
    fields.add_argument("--prompt-field", default="prompt", metavar="NAME", help="default: prompt")
    fields.add_argument("--response-field", metavar="NAME", help="default: response (optional)")
    fields.add_argument("--messages-field", metavar="NAME", help="a chat field to use instead")
    fields.add_argument("--id-field", metavar="NAME", help="row id, checked when resuming")

    model = parser.add_argument_group("model")
    model.add_argument(
        "--model",
        default="default",
        help="'default' (embedded, CPU), a model directory, or 'wildguard' (7B)",
    )
    model.add_argument(
        "--backend",
        help="how to run the model: embedded (default), hf, vllm or openai (for wildguard)",
    )
    model.add_argument(
        "--batch-size", type=_positive_int, metavar="N", help="default: the backend's own"
    )

    run = parser.add_argument_group("run")
    mode = run.add_mutually_exclusive_group()
    mode.add_argument("--resume", action="store_true", help="require an interrupted run")
    mode.add_argument("--overwrite", action="store_true", help="replace an existing output")
    run.add_argument("--skip-invalid", action="store_true", help="record bad rows and go on")
    run.add_argument("--errors", metavar="PATH", help="error file for --skip-invalid")
    run.add_argument("--no-progress", action="store_true", help="no progress bar")

    quick = parser.add_argument_group("quick check")
    quick.add_argument("--text", metavar="PROMPT", help="classify this prompt, print a table")
    quick.add_argument("--response", metavar="RESPONSE", help="with --text: the response")
    _corpus.add_arguments(parser)  # --policy, --engine ray and its options
    parser.set_defaults(func=classify_command)


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _fail(message: str, code: int) -> int:
    print(f"oneguard classify: error: {message}", file=sys.stderr)
    return code


class _ModelLoadError(Exception):
    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.code = code


def _load_guard(args: argparse.Namespace) -> Guard:
    from oneguard.api import WILDGUARD_MODEL_NAMES, Guard
    from oneguard.backends import available_backends

    if args.backend is not None and args.backend not in available_backends():
        known = ", ".join(available_backends())
        raise _ModelLoadError(
            f"unknown backend {args.backend!r}; choose one of {known}", EXIT_USAGE
        )
    model = None if args.model == "default" else args.model
    is_path = model is not None and model not in WILDGUARD_MODEL_NAMES
    if (
        model is not None
        and is_path
        and args.backend in (None, "embedded")
        and not Path(model).exists()
    ):
        raise _ModelLoadError(
            f"model {model!r} not found: give 'default', 'wildguard' or a model directory",
            EXIT_USAGE,
        )
    try:
        return Guard.load(model, backend=args.backend, batch_size=args.batch_size)
    except Exception as error:
        raise _ModelLoadError(
            f"cannot load model {args.model!r}: {type(error).__name__}: {error}", EXIT_MODEL
        ) from error


def classify_command(args: argparse.Namespace) -> int:
    if args.engine == "ray":
        return _corpus.run(args)
    if args.text is not None:
        if args.input is not None:
            return _fail("give either an INPUT file or --text, not both", EXIT_USAGE)
        return _quick_check(args)
    if args.response is not None:
        return _fail("--response goes with --text (for files use --response-field)", EXIT_USAGE)
    if args.input is None and sys.stdin.isatty():
        return _fail("give an INPUT file, pipe JSONL to stdin, or use --text", EXIT_USAGE)
    return _classify_file(args)


def _classify_file(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from oneguard.bulk import ClassifyJob, ClassifySpec, FieldMap

    fields = FieldMap(
        prompt=args.prompt_field,
        response=args.response_field or "response",
        response_required=args.response_field is not None,
        messages=args.messages_field,
        id=args.id_field,
    )
    spec = ClassifySpec(
        input=args.input or STDIO,
        output=args.output or STDIO,
        input_format=args.input_format,
        output_format=args.output_format,
        fields=fields,
        model=args.model,
        backend=args.backend,
        skip_invalid=args.skip_invalid,
        errors=args.errors,
        mode="resume" if args.resume else "overwrite" if args.overwrite else "auto",
        policy=args.policy,
    )
    job = None
    try:
        job = ClassifyJob.prepare(spec)
        summary = job.summary
        if job.resumed:
            total = "?" if summary.rows_total is None else summary.rows_total
            print(
                f"resuming {spec.output}: {summary.start_row} of {total} rows already done",
                file=sys.stderr,
            )
        guard = _load_guard(args)
        with tqdm(
            total=summary.rows_total,
            initial=summary.start_row,
            unit="row",
            desc="classify",
            file=sys.stderr,
            disable=args.no_progress,
            dynamic_ncols=True,
        ) as bar:
            job.run(guard, on_progress=bar.update, on_invalid=_invalid_printer(summary.errors_path))
    except BaseException as error:
        if job is not None:
            job.abandon()
        code = _report_failure(error, job, spec)
        if code is None:
            raise
        return code
    _print_done(job.summary)
    return EXIT_OK


def _report_failure(error: BaseException, job: Any, spec: ClassifySpec) -> int | None:
    """Print ``error`` as a one-line message and return its exit code (None: a real bug)."""
    from oneguard.bulk import InvalidInputError, ModelError, ResumeError

    summary = None if job is None else job.summary
    if isinstance(error, _ModelLoadError):
        return _fail(str(error), error.code)
    if isinstance(error, (ValueError, ResumeError)):
        return _fail(str(error), EXIT_USAGE)
    if isinstance(error, InvalidInputError):
        print(f"oneguard classify: invalid input: {error}", file=sys.stderr)
        if summary is not None and error.row is not None:
            _print_stopped(summary, spec)
        return EXIT_INVALID_INPUT
    if isinstance(error, FileContentError):
        return _fail(str(error), EXIT_INVALID_INPUT)
    if isinstance(error, FileAccessError):
        return _fail(str(error), EXIT_IO)
    if isinstance(error, ModelError):
        if summary is not None:
            _print_stopped(summary, spec)
        return _fail(str(error), EXIT_MODEL)
    if isinstance(error, BrokenPipeError):
        return _fail("output closed before the run ended (broken pipe)", EXIT_IO)
    if isinstance(error, KeyboardInterrupt):
        print("\ninterrupted", file=sys.stderr)
        if summary is not None:
            _print_stopped(summary, spec)
        return EXIT_INTERRUPTED
    return None


def _invalid_printer(errors_path: str | None) -> Any:
    """Without an error file (output to stdout), each skipped row is reported on stderr."""
    if errors_path is not None:
        return None

    def report(row: InvalidRow) -> None:
        print(f"skipped: {row.describe()}", file=sys.stderr)

    return report


def _print_stopped(summary: Summary, spec: ClassifySpec) -> None:
    if spec.output == STDIO or summary.next_row == 0:
        return
    print(
        f"{summary.next_row} input rows are done and saved in {spec.output}; "
        "rerun the same command to continue from there",
        file=sys.stderr,
    )


def _print_done(summary: Summary) -> None:
    where = "stdout" if summary.output == STDIO else summary.output
    print(
        f"classified {summary.classified} rows in {summary.seconds:.1f}s "
        f"({summary.rows_per_second:.1f} rows/s) -> {where}",
        file=sys.stderr,
    )
    if summary.invalid:
        target = summary.errors_path or "stderr"
        print(f"skipped {summary.invalid} invalid rows -> {target}", file=sys.stderr)
    if summary.replaced_columns:
        names = ", ".join(summary.replaced_columns)
        print(f"note: input columns replaced by new results: {names}", file=sys.stderr)


def _quick_check(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.table import Table

    from oneguard.taxonomy import display_name

    policy = None
    try:
        policy = _corpus.load_policy(args.policy)
        guard = _load_guard(args) if policy is None else policy.bind(_load_guard(args))
        item = {"prompt": args.text, "response": args.response}
        (result,) = guard.classify([item])
    except ValueError as error:  # a bad --policy
        return _fail(str(error), EXIT_USAGE)
    except _ModelLoadError as error:
        return _fail(str(error), error.code)
    except Exception as error:
        return _fail(f"the model failed: {type(error).__name__}: {error}", EXIT_MODEL)

    def score(value: float | None) -> str:
        return "" if value is None else f"{value:.3f}"

    table = Table(title="oneguard", show_lines=False)
    table.add_column("check")
    table.add_column("verdict")
    table.add_column("score", justify="right")
    table.add_row(
        "prompt harmfulness",
        result.prompt_harmfulness or "-",
        score(result.prompt_harmfulness_score),
    )
    if args.response is not None:
        table.add_row(
            "response harmfulness",
            result.response_harmfulness or "-",
            score(result.response_harmfulness_score),
        )
        table.add_row(
            "response refusal", result.response_refusal or "-", score(result.response_refusal_score)
        )
    if result.category is not None:
        category_score = (result.category_scores or {}).get(result.category)
        try:
            label = display_name(result.category)
        except KeyError:
            label = result.category
        table.add_row("category", label, score(category_score))
    if result.is_parsing_error:
        table.add_row("parsing error", "yes", "")
    if policy is not None:
        _corpus.add_policy_rows(table, policy, result)
    Console().print(table)
    return EXIT_OK
