"""``oneguard policy``: show a policy, fit a custom category on a few labelled examples."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from oneguard.cli import EXIT_ERROR, EXIT_OK, EXIT_USAGE

EPILOG = """\
examples:
  oneguard policy show strict
  oneguard policy fit --policy default --examples competitors.jsonl \\
      --category competitor_mentions --out my-policy/
  oneguard serve --policy my-policy/policy.yaml

examples file: one JSON object per line, {"text": "...", "label": true|false}; at least 2
of each label (20 or so is plenty). The head is fitted in seconds on the packaged encoder and
written to OUT/NAME.safetensors beside OUT/policy.yaml, which names it.
"""


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "policy",
        help="show a moderation policy or fit a custom category into one",
        description="Moderation policies: what blocks, at which thresholds, custom categories.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="policy_command", metavar="ACTION")

    show = commands.add_parser("show", help="print a policy (shipped name or YAML file)")
    show.add_argument(
        "policy", nargs="?", default="default", help="default | strict | lenient | PATH"
    )
    show.set_defaults(func=run_show)

    fit = commands.add_parser(
        "fit",
        help="fit a custom category on labelled examples and write policy + head to --out",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    fit.add_argument("--policy", default="default", help="policy to extend (name or YAML)")
    fit.add_argument("--examples", type=Path, required=True, help="JSONL of {text, label}")
    fit.add_argument("--category", required=True, help="name of the custom category")
    fit.add_argument("--out", type=Path, required=True, help="folder for policy.yaml + head")
    fit.add_argument("--threshold", type=float, default=0.5, help="score that fires (0..1)")
    fit.add_argument(
        "--applies-to",
        nargs="+",
        choices=("prompt", "response"),
        default=["prompt", "response"],
        help="texts the category judges (default: both)",
    )
    fit.add_argument(
        "--no-background",
        action="store_true",
        help="do not add the shipped generic benign texts as extra negatives",
    )
    fit.set_defaults(func=run_fit)
    parser.set_defaults(func=lambda args: parser.print_help() or EXIT_USAGE)


def run_show(args: argparse.Namespace) -> int:
    import yaml

    from oneguard.custom_categories import describe_head
    from oneguard.policy import Policy

    try:
        policy = Policy.load(args.policy)
    except ValueError as exc:
        print(f"oneguard policy: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    source = Path(args.policy)
    data = policy.to_dict(source.parent if source.exists() else None)
    print(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), end="")
    for category in policy.custom_categories:
        details = ", ".join(f"{k}={v}" for k, v in describe_head(category.head).items())
        print(f"# {category.name}: {details}")
    return EXIT_OK


def run_fit(args: argparse.Namespace) -> int:
    from oneguard.custom_categories import CustomCategoryError
    from oneguard.policy import Policy, fit_custom_category

    try:
        base = Policy.load(args.policy)
        policy, path = fit_custom_category(
            base,
            args.examples,
            args.category,
            args.out,
            threshold=args.threshold,
            applies_to=tuple(args.applies_to),
            background=not args.no_background,
        )
    except (CustomCategoryError, ValueError) as exc:
        print(f"oneguard policy: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except OSError as exc:
        print(f"oneguard policy: error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    (category,) = [c for c in policy.custom_categories if c.name == args.category]
    training = category.head.training
    print(
        f"fitted {args.category} on {training['examples']} examples "
        f"({training['positives']} positive) + {training['background_negatives']} background "
        "negatives: cross-validated accuracy "
        f"{100 * training['cv_accuracy']:.1f}% ({training['cv_folds']} folds, C={training['C']})"
    )
    print(f"wrote {category.head_path} and {path}")
    return EXIT_OK
