"""Moderate a whole corpus of JSONL/CSV/Parquet shards on Ray, one output Parquet per shard.

The standard Ray Data batch-inference pattern::

    read shards (one read task per shard) -> map_batches(GuardActor, actor pool of N) -> sink

* **Read**: a :class:`~ray.data.Datasource` with one read task per shard. It reads with the same
  :class:`~oneguard.files.RowReader` and field rules (:class:`~oneguard.bulk.FieldMap`) as
  ``oneguard classify``, so parsing, validation and error messages (file, line, field) are
  the single-process CLI's. A shard that cannot be read, or holds an invalid row, becomes one
  error record instead of failing the whole job.
* **Classify**: :class:`GuardActor`, a callable class run by Ray Data as an actor pool: each
  actor loads the model once and classifies batches of ``batch_size`` rows.
* **Write**: the driver collects each shard's results (small: row index + verdicts) and, once
  every row of a shard is in, writes ``OUT/<shard>.parquet`` exactly as ``oneguard classify``
  would (input columns + result fields [+ ``blocked``]), atomically. So a shard is either
  written whole or not at all; a rerun skips shards already written (a manifest records the
  settings, and a rerun with other settings is refused) and retries failed ones.

Works on a local Ray (started here with this machine's cores) or on a cluster
(``ray_address``); on a cluster the shards must be on storage every node can read, and the
output folder is written by the driver.
"""

from __future__ import annotations

import contextlib
import glob
import json
import os
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import pyarrow as pa

from oneguard.bulk import FieldMap, result_row
from oneguard.files import (
    InvalidRow,
    ParquetWriter,
    Row,
    RowFileError,
    RowReader,
    format_for_path,
)
from oneguard.paths import fingerprint_path
from oneguard.policy import Policy, output_columns
from oneguard.schema import Item, Result

#: Input extensions a directory is searched for.
SHARD_EXTENSIONS = (".jsonl", ".ndjson", ".csv", ".parquet", ".pq")
MANIFEST = "_oneguard_corpus.json"
#: Rows per block a read task yields.
READ_BLOCK_ROWS = 2048
#: Logical CPUs a read task asks for (reading is light next to the model).
READ_TASK_CPUS = 0.25

_READ_SCHEMA = pa.schema(
    [
        ("shard", pa.string()),
        ("row", pa.int64()),
        ("prompt", pa.string()),
        ("response", pa.string()),
        ("context", pa.string()),
        ("total", pa.int64()),
        ("error", pa.string()),
    ]
)
_RESULT_SCHEMA = pa.schema(
    [
        ("shard", pa.string()),
        ("row", pa.int64()),
        ("total", pa.int64()),
        ("error", pa.string()),
        ("result", pa.string()),
    ]
)


class CorpusError(ValueError):
    """The corpus job cannot start (no shards, clashing outputs, other settings than the
    run that wrote the output folder); the message says what to do."""


# ---------------------------------------------------------------------------------------------
# Shards


@dataclass(frozen=True)
class Shard:
    """One input file and where its results go (``key`` is its path relative to the input
    root; the output is ``key`` with a ``.parquet`` suffix under the output folder)."""

    path: str
    key: str

    @property
    def output_name(self) -> str:
        return str(Path(self.key).with_suffix(".parquet"))


def find_shards(inputs: str | Sequence[str], exclude: Path | None = None) -> list[Shard]:
    """Shards of ``inputs``: directories (searched recursively for JSONL/CSV/Parquet), glob
    patterns, or files; sorted, each once. Files under ``exclude`` (the output) are skipped."""
    patterns = [inputs] if isinstance(inputs, (str, os.PathLike)) else list(inputs)
    found: dict[str, Shard] = {}
    excluded = exclude.resolve() if exclude is not None else None
    for pattern in map(str, patterns):
        path = Path(pattern)
        if path.is_dir():
            root = path
            files = [p for p in path.rglob("*") if p.suffix.lower() in SHARD_EXTENSIONS]
        else:
            files = [Path(p) for p in glob.glob(pattern, recursive=True)]
            if not files:
                raise CorpusError(f"no shards match {pattern!r}")
            root = Path(os.path.commonpath([str(p.parent.resolve()) for p in files]))
        for file in sorted(files):
            if not file.is_file() or file.name.startswith(("_", ".")):
                continue
            resolved = file.resolve()
            if excluded is not None and resolved.is_relative_to(excluded):
                continue
            format_for_path(str(file))  # an unknown extension is a clear error here
            key = os.path.relpath(resolved, root.resolve())
            # Absolute paths: Ray workers do not share the driver's working directory.
            found.setdefault(str(resolved), Shard(str(resolved), key))
    shards = sorted(found.values(), key=lambda s: s.key)
    if not shards:
        raise CorpusError(f"no JSONL/CSV/Parquet shards found in {', '.join(map(str, patterns))}")
    outputs: dict[str, str] = {}
    for shard in shards:
        if shard.output_name in outputs:
            raise CorpusError(
                f"shards {outputs[shard.output_name]} and {shard.path} would both be written "
                f"to {shard.output_name}; rename one"
            )
        outputs[shard.output_name] = shard.path
    return shards


# ---------------------------------------------------------------------------------------------
# Reading (runs in Ray read tasks)


def _context_json(item: Item) -> str | None:
    return (
        json.dumps([list(turn) for turn in item.context], ensure_ascii=False)
        if item.context
        else None
    )


def read_shard_blocks(
    shard: Shard, fields: FieldMap, block_rows: int = READ_BLOCK_ROWS
) -> Iterator[pa.Table]:
    """Arrow blocks of the shard's validated rows, then one marker row (``row=-1``) giving the
    row count; a read error or invalid row ends the shard with a marker carrying ``error``."""
    columns: dict[str, list[Any]] = {name: [] for name in _READ_SCHEMA.names}

    def add(row: int, item: Item | None = None, total: int | None = None, error: str | None = None):
        columns["shard"].append(shard.key)
        columns["row"].append(row)
        columns["prompt"].append(item.prompt if item else None)
        columns["response"].append(item.response if item else None)
        columns["context"].append(_context_json(item) if item else None)
        columns["total"].append(total)
        columns["error"].append(error)

    def flush() -> pa.Table:
        table = pa.table(columns, schema=_READ_SCHEMA)
        for values in columns.values():
            values.clear()
        return table

    count = 0
    try:
        with RowReader(shard.path) as reader:
            for entry in reader:
                checked = fields.to_item(entry) if isinstance(entry, Row) else entry
                if isinstance(checked, InvalidRow):
                    add(-1, error=checked.describe())
                    yield flush()
                    return
                add(entry.location.row, checked)
                count += 1
                if len(columns["row"]) >= block_rows:
                    yield flush()
    except (RowFileError, ValueError, OSError) as exc:
        add(-1, error=str(exc))
        yield flush()
        return
    if count == 0:
        add(-1, error=f"{shard.path}: no rows to classify (the shard is empty)")
    else:
        add(-1, total=count)
    yield flush()


def _shard_datasource(shards: Sequence[Shard], fields: FieldMap) -> Any:
    from ray.data.block import BlockMetadata
    from ray.data.datasource import Datasource, ReadTask

    class ShardDatasource(Datasource):
        """One read task per shard (so one bad shard fails alone)."""

        def get_name(self) -> str:
            return "OneGuardShards"

        def estimate_inmemory_data_size(self) -> int | None:
            return sum(_file_size(s.path) for s in shards)

        def get_read_tasks(
            self, parallelism: int, per_task_row_limit: int | None = None, data_context=None
        ) -> list[ReadTask]:
            del parallelism, per_task_row_limit, data_context  # always one task per shard
            return [
                ReadTask(
                    partial(read_shard_blocks, shard, fields),
                    BlockMetadata(
                        num_rows=None,
                        size_bytes=_file_size(shard.path),
                        input_files=(shard.path,),
                        exec_stats=None,
                    ),
                    schema=_READ_SCHEMA,
                )
                for shard in shards
            ]

    return ShardDatasource()


def _file_size(path: str) -> int:
    try:
        return int(os.path.getsize(path))
    except OSError:
        return 0


# ---------------------------------------------------------------------------------------------
# Classifying (runs in the Ray actor pool)


@dataclass(frozen=True)
class ModelSpec:
    """What every actor loads: a backend (by import target, since registrations are per
    process), its model, keyword arguments, and a policy file (for custom categories and the
    ``blocked`` column)."""

    backend_target: str
    model: str | None = None
    backend_kwargs: dict[str, Any] = field(default_factory=dict)
    policy: str | None = None
    threads: int | None = None
    batch_size: int | None = None

    def load(self) -> tuple[Any, Any]:
        """(guard, policy or None), as the single-process CLI builds them."""
        from oneguard.api import Guard
        from oneguard.backends import create_backend_from_target

        if self.threads is not None:
            try:
                import torch

                torch.set_num_threads(self.threads)
            except ImportError:
                pass
        kwargs = dict(self.backend_kwargs)
        if self.model is not None:
            kwargs["model"] = self.model
        guard = Guard(create_backend_from_target(self.backend_target, **kwargs), self.batch_size)
        policy = None
        if self.policy is not None:
            policy = Policy.load(self.policy)
            guard = policy.bind(guard)
        return guard, policy


def result_json(result: Result, policy: Any) -> str:
    """A result as the JSON the driver writes out (with ``blocked`` under a policy)."""
    data = result.to_dict()
    if policy is not None:
        data["blocked"] = policy.blocks(result)
    return json.dumps(data, ensure_ascii=False)


class GuardActor:
    """Ray Data callable class: loads the model once per actor, classifies Arrow batches."""

    def __init__(self, spec: ModelSpec) -> None:
        self.guard, self.policy = spec.load()

    def _classify(self, data: dict[str, list[Any]], rows: list[int], out: list[str | None]) -> None:
        items = [
            Item(
                prompt=data["prompt"][i],
                response=data["response"][i],
                context=tuple(tuple(turn) for turn in json.loads(data["context"][i]))
                if data["context"][i]
                else (),
            )
            for i in rows
        ]
        if items:
            for i, result in zip(rows, self.guard.classify(items), strict=True):
                out[i] = result_json(result, self.policy)

    def __call__(self, batch: pa.Table) -> pa.Table:
        table = batch.select(["shard", "row", "prompt", "response", "context", "total", "error"])
        data = table.to_pydict()
        n = table.num_rows
        results: list[str | None] = [None] * n
        errors: list[str | None] = list(data["error"])
        todo = [i for i in range(n) if data["row"][i] >= 0 and errors[i] is None]
        try:
            self._classify(data, todo, results)
        except Exception:
            # A batch may hold rows of several shards: retry shard by shard so that only the
            # shard the model fails on is lost.
            by_shard: dict[str, list[int]] = {}
            for i in todo:
                by_shard.setdefault(data["shard"][i], []).append(i)
            for rows in by_shard.values():
                try:
                    self._classify(data, rows, results)
                except Exception as exc:  # one failing shard fails alone, not the job
                    first, last = data["row"][rows[0]] + 1, data["row"][rows[-1]] + 1
                    for i in rows:
                        errors[i] = (
                            f"rows {first}-{last}: the model failed: {type(exc).__name__}: {exc}"
                        )
        return pa.table(
            {
                "shard": data["shard"],
                "row": data["row"],
                "total": data["total"],
                "error": errors,
                "result": results,
            },
            schema=_RESULT_SCHEMA,
        )


# ---------------------------------------------------------------------------------------------
# Writing (runs in the driver)


@dataclass
class ShardOutcome:
    key: str
    path: str
    output: str | None = None
    rows: int = 0
    error: str | None = None
    skipped: bool = False


@dataclass
class CorpusSummary:
    """What a run did; ``failed`` lists shards with the reason (the CLI prints them)."""

    output_dir: str
    shards: list[ShardOutcome] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def written(self) -> list[ShardOutcome]:
        return [s for s in self.shards if s.output and not s.skipped and not s.error]

    @property
    def skipped(self) -> list[ShardOutcome]:
        return [s for s in self.shards if s.skipped]

    @property
    def failed(self) -> list[ShardOutcome]:
        return [s for s in self.shards if s.error]

    @property
    def rows(self) -> int:
        return sum(s.rows for s in self.written)

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds > 0 else 0.0


class _ShardCollector:
    """Results of the shards in flight; a shard is written once its marker and every row are in."""

    def __init__(
        self, shards: Sequence[Shard], out_dir: Path, fields: FieldMap, columns: list[str]
    ):
        self.by_key = {s.key: s for s in shards}
        self.out_dir = out_dir
        self.fields = fields
        self.columns = columns
        self.results: dict[str, dict[int, str]] = {s.key: {} for s in shards}
        self.totals: dict[str, int] = {}
        self.outcomes: dict[str, ShardOutcome] = {}

    def add(self, batch: pa.Table) -> list[ShardOutcome]:
        """Take one result batch; return the shards it completed (written or failed)."""
        data = batch.to_pydict()
        touched = set()
        for key, row, total, error, result in zip(
            data["shard"], data["row"], data["total"], data["error"], data["result"], strict=True
        ):
            if key in self.outcomes:
                continue  # already failed: the rest of its rows are dropped
            touched.add(key)
            if error is not None:
                self._fail(key, error)
            elif row < 0:
                self.totals[key] = total
            else:
                self.results[key][row] = result
        done = []
        for key in touched:
            if key in self.outcomes:
                done.append(self.outcomes[key])
            elif key in self.totals and len(self.results[key]) == self.totals[key]:
                done.append(self._write(key))
        return done

    def _fail(self, key: str, error: str) -> None:
        """Record the shard as failed; every reason starts with the shard's path."""
        shard = self.by_key[key]
        if not error.startswith(shard.path):
            error = f"{shard.path}: {error}"
        self.outcomes[key] = ShardOutcome(key, shard.path, error=error)
        self.results[key] = {}

    def _write(self, key: str) -> ShardOutcome:
        """Re-read the shard (the driver sees the same files) and write input + results."""
        shard = self.by_key[key]
        results = self.results.pop(key)
        target = self.out_dir / shard.output_name
        target.parent.mkdir(parents=True, exist_ok=True)
        writer = ParquetWriter(str(target), columns=self.columns)
        try:
            pending = []
            with RowReader(shard.path) as reader:
                for entry in reader:
                    assert isinstance(entry, Row)
                    data = json.loads(results[entry.location.row])
                    blocked = data.pop("blocked", None)
                    pending.append(result_row(entry.values, Result(**data), blocked))
                    if len(pending) >= 65_536:
                        writer.write(pending)
                        writer.commit()
                        pending = []
            writer.write(pending)
            writer.finish()
        except (RowFileError, OSError, KeyError, AssertionError) as exc:
            writer.close()
            outcome = ShardOutcome(
                key, shard.path, error=f"{shard.path}: cannot write results: {exc}"
            )
            self.outcomes[key] = outcome
            return outcome
        outcome = ShardOutcome(key, shard.path, output=str(target), rows=len(results))
        self.outcomes[key] = outcome
        return outcome

    def unfinished(self) -> list[ShardOutcome]:
        """Shards the stream ended without completing (should not happen; reported if so)."""
        missing = [k for k in self.by_key if k not in self.outcomes]
        return [
            ShardOutcome(k, self.by_key[k].path, error=f"{self.by_key[k].path}: results incomplete")
            for k in missing
        ]


# ---------------------------------------------------------------------------------------------
# Manifest


def _read_manifest(out_dir: Path) -> dict[str, Any] | None:
    path = out_dir / MANIFEST
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise CorpusError(
            f"{path}: unreadable manifest ({exc}); pass overwrite to start again"
        ) from None


def _write_manifest(out_dir: Path, manifest: dict[str, Any]) -> None:
    path = out_dir / MANIFEST
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", "utf-8")
    os.replace(temporary, path)


def _policy_fingerprint(policy: str | None) -> str | None:
    if policy is None:
        return None
    from oneguard.policy import SHIPPED_DIR, SHIPPED_POLICIES

    path = Path(policy)
    if str(policy) in SHIPPED_POLICIES and not path.exists():
        path = SHIPPED_DIR / f"{policy}.yaml"
    folder = path.parent  # the YAML and the heads beside it
    return f"{path.name}@{fingerprint_path(path)}@{fingerprint_path(folder)}"


# ---------------------------------------------------------------------------------------------
# The job


def _ensure_ray(ray_address: str | None, num_cpus: int | None, runtime_env: dict | None) -> None:
    """Join ``ray_address``, or start a local Ray with ``num_cpus`` logical CPUs; keep a Ray
    that is already running."""
    import logging

    import ray

    if ray.is_initialized():
        return
    if ray_address is not None:
        ray.init(address=ray_address, runtime_env=runtime_env, logging_level=logging.WARNING)
    else:
        ray.init(
            num_cpus=num_cpus,
            include_dashboard=False,
            runtime_env=runtime_env,
            logging_level=logging.WARNING,
        )


def _absolute(path: str) -> str:
    """An existing path made absolute (workers do not share the driver's working directory);
    anything else (a model name) as given."""
    return os.path.abspath(path) if os.path.exists(path) else path


@contextlib.contextmanager
def _quiet_ray_data() -> Iterator[None]:
    """No Ray Data progress bars or plan printout for this job (the caller shows progress);
    the caller's settings are restored afterwards."""
    import ray

    context = ray.data.DataContext.get_current()
    saved = context.enable_progress_bars, context.print_on_execution_start
    context.enable_progress_bars = context.print_on_execution_start = False
    try:
        yield
    finally:
        context.enable_progress_bars, context.print_on_execution_start = saved


def classify_corpus(
    inputs: str | Sequence[str],
    out_dir: str | os.PathLike[str],
    *,
    model: str | None = None,
    backend: str = "embedded",
    backend_kwargs: dict[str, Any] | None = None,
    policy: str | None = None,
    fields: FieldMap | None = None,
    batch_size: int = 64,
    concurrency: int = 2,
    threads_per_worker: int = 1,
    ray_address: str | None = None,
    num_cpus: int | None = None,
    runtime_env: dict[str, Any] | None = None,
    overwrite: bool = False,
    on_shard: Callable[[ShardOutcome], None] | None = None,
) -> CorpusSummary:
    """Classify every row of every shard of ``inputs`` on Ray; write ``out_dir/<shard>.parquet``.

    ``concurrency`` actors (each ``threads_per_worker`` CPU threads, one model load) classify
    batches of ``batch_size`` rows. ``ray_address`` joins a cluster; without it a local Ray is
    started with ``num_cpus`` (default: this machine's cores) unless one is running already.
    Shards already written by an earlier run with the same settings are skipped; a run with
    other settings raises :class:`CorpusError` unless ``overwrite``. ``on_shard`` is called as
    each shard is written, fails or is skipped.
    """
    import ray

    from oneguard.backends import backend_target

    started = time.perf_counter()
    if batch_size < 1 or concurrency < 1 or threads_per_worker < 1:
        raise ValueError("batch_size, concurrency and threads_per_worker must be >= 1")
    out = Path(out_dir)
    fields = fields or FieldMap()
    shards = find_shards(inputs, exclude=out)
    model = None if model in (None, "default") else _absolute(model)
    policy = None if policy is None else _absolute(str(policy))
    loaded_policy = None if policy is None else Policy.load(policy)  # errors before Ray starts
    spec = ModelSpec(
        backend_target=backend_target(backend),
        model=model,
        backend_kwargs=dict(backend_kwargs or {}),
        policy=policy,
        threads=threads_per_worker,
        batch_size=batch_size,
    )
    settings = {
        "backend": backend,
        "model": model or "default",
        "backend_kwargs": spec.backend_kwargs,
        "policy": _policy_fingerprint(spec.policy),
        "fields": asdict(fields),
    }
    out.mkdir(parents=True, exist_ok=True)
    manifest = None if overwrite else _read_manifest(out)
    if manifest is not None and manifest.get("settings") != settings:
        raise CorpusError(
            f"{out} holds results of a run with other settings ({manifest.get('settings')}); "
            "use another output folder, or overwrite to start again"
        )
    if manifest is None or overwrite:
        manifest = {"settings": settings, "shards": {}}
        for shard in shards:
            (out / shard.output_name).unlink(missing_ok=True)
    summary = CorpusSummary(output_dir=str(out))
    pending = []
    for shard in shards:
        done = manifest["shards"].get(shard.key)
        target = out / shard.output_name
        if done is not None and target.is_file():
            outcome = ShardOutcome(shard.key, shard.path, str(target), done["rows"], skipped=True)
            summary.shards.append(outcome)
            if on_shard is not None:
                on_shard(outcome)
        else:
            pending.append(shard)
    _write_manifest(out, manifest)
    if not pending:
        summary.seconds = time.perf_counter() - started
        return summary

    # Locally, one logical CPU beyond the actors' keeps the (light) read tasks schedulable.
    local_cpus = num_cpus or max(os.cpu_count() or 1, concurrency * threads_per_worker + 1)
    _ensure_ray(ray_address, local_cpus, runtime_env)
    dataset = ray.data.read_datasource(
        _shard_datasource(pending, fields), num_cpus=READ_TASK_CPUS
    ).map_batches(
        GuardActor,
        fn_constructor_kwargs={"spec": spec},
        batch_size=batch_size,
        batch_format="pyarrow",
        compute=ray.data.ActorPoolStrategy(size=concurrency),
        num_cpus=threads_per_worker,
    )
    collector = _ShardCollector(pending, out, fields, output_columns(loaded_policy))

    def finished(outcome: ShardOutcome) -> None:
        summary.shards.append(outcome)
        if outcome.error is None:
            manifest["shards"][outcome.key] = {"input": outcome.path, "rows": outcome.rows}
            _write_manifest(out, manifest)
        if on_shard is not None:
            on_shard(outcome)

    with _quiet_ray_data():
        for batch in dataset.iter_batches(batch_size=None, batch_format="pyarrow"):
            for outcome in collector.add(batch):
                finished(outcome)
    for outcome in collector.unfinished():
        finished(outcome)
    summary.seconds = time.perf_counter() - started
    return summary


__all__ = [
    "CorpusError",
    "CorpusSummary",
    "GuardActor",
    "ModelSpec",
    "Shard",
    "ShardOutcome",
    "classify_corpus",
    "find_shards",
    "read_shard_blocks",
]
