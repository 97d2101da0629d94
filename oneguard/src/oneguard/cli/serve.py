"""``oneguard serve`` (moderation API + playground) and ``oneguard proxy`` (guarded chat proxy)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from oneguard.cli import EXIT_ERROR, EXIT_OK, EXIT_USAGE

if TYPE_CHECKING:
    from fastapi import FastAPI

SERVE_EPILOG = """\
endpoints:
  POST /v1/moderations   OpenAI moderation schema (point an OpenAI SDK's base_url here)
  POST /v1/classify      native: items with prompt/response or messages -> full results
  GET  /healthz          liveness;  GET /metrics  Prometheus;  GET /  playground page

security: with --api-key (or ONEGUARD_API_KEYS=k1,k2) every /v1 call needs
  "Authorization: Bearer <key>" (401 otherwise). Request text is never logged.

examples:
  oneguard serve --port 8080
  oneguard serve --model wildguard --backend hf --api-key "$KEY" --policy strict.yaml
"""

PROXY_EPILOG = """\
A harmful prompt is refused without calling the upstream; a harmful response is replaced by
the policy's refusal; streamed responses are moderated every --window-chars characters and
cut off (finish_reason "content_filter") as soon as they turn harmful.

example:
  oneguard proxy --upstream http://localhost:8000/v1 --port 8081
"""


def _add_server_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="bind address (default: %(default)s)")
    parser.add_argument("--port", type=int, default=8080, help="port (default: %(default)s)")
    parser.add_argument(
        "--model", default=None, help="model directory or 'wildguard' (default: embedded model)"
    )
    parser.add_argument("--backend", default=None, help="embedded | hf | vllm | openai")
    parser.add_argument(
        "--policy", default=None, help="policy YAML file, or default | strict | lenient"
    )
    parser.add_argument(
        "--api-key",
        action="append",
        default=None,
        help="accepted bearer key (repeatable; also $ONEGUARD_API_KEYS)",
    )
    parser.add_argument("--max-body-bytes", type=int, default=1_000_000)
    parser.add_argument("--max-items", type=int, default=64, help="items per request")
    parser.add_argument("--max-text-chars", type=int, default=32_000, help="per text")
    parser.add_argument(
        "--long-text",
        choices=("reject", "truncate"),
        default="reject",
        help="texts over --max-text-chars: 413, or keep their start (default: %(default)s)",
    )
    parser.add_argument("--request-timeout", type=float, default=30.0, help="seconds")
    parser.add_argument("--max-batch-size", type=int, default=32, help="dynamic batching")
    parser.add_argument("--max-wait-ms", type=float, default=5.0, help="dynamic batching")


def register(subparsers: argparse._SubParsersAction) -> None:
    serve = subparsers.add_parser(
        "serve",
        help="run the moderation HTTP API and playground",
        description="Serve OneGuard over HTTP (FastAPI + uvicorn).",
        epilog=SERVE_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _add_server_options(serve)
    serve.add_argument(
        "--write-openapi",
        type=Path,
        metavar="PATH",
        help="write the OpenAPI spec to PATH and exit (no model is loaded)",
    )
    serve.set_defaults(func=run_serve)

    proxy = subparsers.add_parser(
        "proxy",
        help="run a guarded OpenAI chat-completions proxy in front of an upstream server",
        description="An OpenAI chat-completions proxy that moderates prompts and responses.",
        epilog=PROXY_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    proxy.add_argument("--upstream", required=True, help="upstream base URL, e.g. http://h:8000/v1")
    proxy.add_argument("--upstream-api-key", default=None, help="key sent to the upstream")
    proxy.add_argument("--window-chars", type=int, default=256, help="streaming check window")
    _add_server_options(proxy)
    proxy.set_defaults(func=run_proxy, port=8081)


def _settings(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    from oneguard.serve.settings import ServerSettings, api_keys_from_env

    keys = frozenset(args.api_key or ()) | api_keys_from_env()
    return ServerSettings(
        api_keys=keys,
        max_body_bytes=args.max_body_bytes,
        max_items=args.max_items,
        max_text_chars=args.max_text_chars,
        long_text=args.long_text,
        request_timeout_s=args.request_timeout,
        max_batch_size=args.max_batch_size,
        max_wait_ms=args.max_wait_ms,
    )


def _load(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    from oneguard.api import Guard
    from oneguard.policy import Policy

    policy = Policy.load(args.policy)
    return Guard.load(args.model, backend=args.backend), policy


def _run(app: FastAPI, args: argparse.Namespace) -> int:
    import uvicorn

    if args.host not in ("127.0.0.1", "localhost", "::1") and not _settings(args).api_keys:
        print(f"warning: serving on {args.host} without an API key (--api-key)", file=sys.stderr)
    uvicorn.run(app, host=args.host, port=args.port, log_level="info", access_log=True)
    return EXIT_OK


def run_serve(args: argparse.Namespace) -> int:
    from oneguard.serve.app import create_app

    try:
        settings = _settings(args)
        if args.write_openapi:
            from oneguard.serve.app import openapi_spec

            args.write_openapi.write_text(json.dumps(openapi_spec(), indent=2) + "\n")
            print(f"wrote {args.write_openapi}")
            return EXIT_OK
        guard, policy = _load(args)
    except (ValueError, FileNotFoundError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE if isinstance(exc, ValueError) else EXIT_ERROR
    return _run(create_app(guard, settings, policy), args)


def run_proxy(args: argparse.Namespace) -> int:
    from oneguard.serve.proxy import create_proxy_app

    try:
        settings = _settings(args)
        guard, policy = _load(args)
    except (ValueError, FileNotFoundError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE if isinstance(exc, ValueError) else EXIT_ERROR
    app = create_proxy_app(
        guard,
        args.upstream,
        settings=settings,
        policy=policy,
        upstream_api_key=args.upstream_api_key,
        window_chars=args.window_chars,
    )
    return _run(app, args)
