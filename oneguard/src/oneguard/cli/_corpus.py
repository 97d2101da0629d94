"""``oneguard classify --engine ray``: the corpus options of ``classify`` and their command.

Kept apart from ``cli/classify.py`` (the single-process engine) so each stays readable;
``classify`` registers these options and hands ``--engine ray`` runs to :func:`run`.
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.table import Table

    from oneguard.policy import Policy
    from oneguard.schema import Result

EXIT_OK = 0
EXIT_FAILED_SHARDS = 1
EXIT_USAGE = 2
EXIT_RAY = 4

EPILOG = """\
policy:
  --policy NAME|PATH (default | strict | lenient, or a YAML file) adds a "blocked" column
  (and the custom category scores, if the policy defines any) with either engine.

ray engine:
  --engine ray reads INPUT as a directory (searched for .jsonl/.csv/.parquet shards) or a
  glob ("data/*.jsonl", quoted), classifies it on Ray Data with an actor pool of
  --concurrency workers (one model load each, --threads-per-worker CPU threads, batches of
  --batch-size rows) and writes OUTPUT/<shard>.parquet per input shard. A shard that fails
  (unreadable, an invalid row, the model failed) is reported with its path and reason and
  nothing of it is written; rerun the same command to retry it: shards already written are
  skipped. Without --ray-address a local Ray is started with this machine's cores.

  oneguard classify --engine ray shards/ -o results/ --concurrency 4 --policy strict
  oneguard classify --engine ray "logs/2026-*.jsonl" -o results/ --ray-address auto
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options ``classify`` gains: ``--policy`` (both engines) and the Ray engine's."""
    parser.epilog = (parser.epilog or "") + "\n" + EPILOG
    parser.add_argument(
        "--policy",
        metavar="NAME|PATH",
        help="add a 'blocked' column under this policy (default, strict, lenient or a YAML)",
    )
    group = parser.add_argument_group("engine")
    group.add_argument(
        "--engine",
        choices=("local", "ray"),
        default="local",
        help="local: one process, one file (default); ray: a folder/glob of shards on Ray",
    )
    group.add_argument(
        "--ray-address", metavar="ADDR", help="join this Ray cluster ('auto', host:port)"
    )
    group.add_argument(
        "--concurrency", type=int, default=2, metavar="N", help="Ray actors (default: 2)"
    )
    group.add_argument(
        "--threads-per-worker", type=int, default=1, metavar="N", help="CPU threads per actor"
    )


def load_policy(name_or_path: str | None) -> Policy | None:
    """The ``--policy`` given (None without one); raises ``ValueError`` for a bad one."""
    from oneguard.policy import Policy

    return None if name_or_path is None else Policy.load(name_or_path)


def add_policy_rows(table: Table, policy: Policy, result: Result) -> None:
    """``classify --text --policy``: the custom category scores and the policy's decision."""
    for target, scores in (
        ("prompt", result.prompt_custom_scores),
        ("response", result.response_custom_scores),
    ):
        fired = policy.custom_fired(result, target)
        for name, score in (scores or {}).items():
            verdict = "fires" if name in fired else "-"
            table.add_row(f"{target}: {name}", verdict, f"{score:.3f}")
    reasons = policy.reasons(result)
    table.add_row("blocked by policy", ", ".join(reasons) if reasons else "no", "")


def run(args: argparse.Namespace) -> int:
    """Classify a corpus with the Ray engine; print failed shards; exit 1 if any failed."""
    from tqdm import tqdm

    from oneguard.corpus import CorpusError, classify_corpus

    if args.input is None or args.output is None:
        print(
            "oneguard classify: error: --engine ray needs INPUT (folder or glob) and -o FOLDER",
            file=sys.stderr,
        )
        return EXIT_USAGE
    for name in (
        "text",
        "messages_field",
        "skip_invalid",
        "resume",
        "input_format",
        "output_format",
    ):
        if getattr(args, name, None):
            flag = "--" + name.replace("_", "-")
            print(
                f"oneguard classify: error: {flag} does not go with --engine ray", file=sys.stderr
            )
            return EXIT_USAGE
    from oneguard.bulk import FieldMap

    fields = FieldMap(
        prompt=args.prompt_field,
        response=args.response_field or "response",
        response_required=args.response_field is not None,
        id=args.id_field,
    )
    bar = tqdm(unit="shard", desc="classify (ray)", file=sys.stderr, disable=args.no_progress)

    def report(outcome) -> None:  # type: ignore[no-untyped-def]
        bar.update(1)
        if outcome.error is not None:
            bar.write(f"failed: {outcome.error}", file=sys.stderr)

    try:
        summary = classify_corpus(
            args.input,
            args.output,
            model=args.model,
            backend=args.backend or "embedded",
            policy=args.policy,
            fields=fields,
            batch_size=args.batch_size or 64,
            concurrency=args.concurrency,
            threads_per_worker=args.threads_per_worker,
            ray_address=args.ray_address,
            overwrite=args.overwrite,
            on_shard=report,
        )
    except (CorpusError, ValueError, FileNotFoundError) as exc:
        bar.close()
        print(f"oneguard classify: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except ImportError as exc:
        bar.close()
        print(
            f"oneguard classify: error: --engine ray needs Ray Data ({exc}); "
            "install it with: pip install 'ray[data]==2.60.0'",
            file=sys.stderr,
        )
        return EXIT_USAGE
    except Exception as exc:  # Ray could not start, the cluster went away, ...
        bar.close()
        print(
            f"oneguard classify: error: Ray run failed: {type(exc).__name__}: {exc}",
            file=sys.stderr,
        )
        return EXIT_RAY
    bar.close()
    print(
        f"classified {summary.rows} rows of {len(summary.written)} shards in "
        f"{summary.seconds:.1f}s ({summary.rows_per_second:.1f} rows/s) -> {summary.output_dir}; "
        f"{len(summary.skipped)} already done, {len(summary.failed)} failed",
        file=sys.stderr,
    )
    if summary.failed:
        print("rerun the same command to retry the failed shards", file=sys.stderr)
        return EXIT_FAILED_SHARDS
    return EXIT_OK
