"""Rows/s of the single-process classify engine vs the Ray engine (2 workers, 1 thread each).

One run, the same rows: a sample of the training mix (prompt + response where it has one)
written as JSONL shards, classified

* by the single-process engine (``oneguard classify`` per shard, one model load, 1 thread),
* by the same engine with 2 threads (the same two cores, used by one process),
* by ``classify --engine ray``: a local Ray, an actor pool of 2 workers x 1 thread.

Every engine must write the same rows, columns and verdicts (checked; scores may differ in
the last float bits, since a batch pads to its longest row and 2 threads sum in another
order: the largest difference is reported). Ray is timed end to end (start of a
local Ray, actor start-up and model loads included) and without its start-up; the
single-process runs include their model load.

    nice -n 10 .venv/bin/python oneguard/benchmarks/bench_ray.py --rows 3000 --shards 6

Results: ``oneguard/benchmarks/results/ray_corpus.md`` and ``.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow.parquet as pq

RESULTS_DIR = Path(__file__).resolve().parent / "results"


def write_shards(mix: Path, rows: int, shards: int, folder: Path) -> int:
    """``rows`` rows of the mix (seeded sample), split into ``shards`` JSONL files."""
    frame = pd.read_parquet(mix, columns=["prompt", "response", "id"])
    frame = frame.sample(n=min(rows, len(frame)), random_state=0).reset_index(drop=True)
    folder.mkdir(parents=True, exist_ok=True)
    for index, part in enumerate(range(0, len(frame), -(-len(frame) // shards))):
        chunk = frame.iloc[part : part + -(-len(frame) // shards)]
        with (folder / f"part-{index:03d}.jsonl").open("w", encoding="utf-8") as stream:
            for record in chunk.to_dict(orient="records"):
                record = {k: v for k, v in record.items() if not (v is None or v != v)}
                stream.write(json.dumps(record, ensure_ascii=False) + "\n")
    return len(frame)


def warm_up(args: argparse.Namespace) -> None:
    """Load the model once, untimed, so no engine pays for a cold disk cache."""
    from oneguard.api import Guard

    Guard.load(args.model, backend=args.backend)


def single_process(shards: list[Path], out: Path, args: argparse.Namespace, threads: int) -> float:
    """The classify CLI's engine over every shard in one process; seconds incl. model load."""
    import torch
    from oneguard.api import Guard
    from oneguard.bulk import ClassifyJob, ClassifySpec

    torch.set_num_threads(threads)
    started = time.perf_counter()
    guard = Guard.load(args.model, backend=args.backend, batch_size=args.batch_size)
    out.mkdir(parents=True, exist_ok=True)
    for shard in shards:
        spec = ClassifySpec(
            input=str(shard), output=str(out / f"{shard.stem}.parquet"), mode="overwrite"
        )
        ClassifyJob.prepare(spec).run(guard)
    return time.perf_counter() - started


def ray_engine(folder: Path, out: Path, args: argparse.Namespace) -> tuple[float, float]:
    """(seconds end to end incl. ray.init, seconds of the job alone)."""
    import logging

    import ray
    from oneguard.corpus import classify_corpus

    started = time.perf_counter()
    ray.init(num_cpus=3, include_dashboard=False, logging_level=logging.WARNING)
    job_started = time.perf_counter()
    summary = classify_corpus(
        str(folder),
        out,
        model=args.model,
        backend=args.backend,
        batch_size=args.batch_size,
        concurrency=2,
        threads_per_worker=1,
        overwrite=True,
    )
    finished = time.perf_counter()
    ray.shutdown()
    if summary.failed:
        raise RuntimeError(f"Ray engine failed on {[s.error for s in summary.failed]}")
    return finished - started, finished - job_started


def compare_outputs(reference: Path, other: Path) -> dict[str, Any]:
    """Rows, columns and verdicts must match exactly; scores may differ in the last float
    bits (a batch of other rows pads differently, 2 threads sum in another order)."""
    mismatched_rows = 0
    max_score_diff = 0.0
    names = sorted(p.name for p in reference.glob("*.parquet"))
    if names != sorted(p.name for p in other.glob("*.parquet")):
        return {"same_shards": False}
    for name in names:
        left = pq.read_table(reference / name).to_pylist()
        right = pq.read_table(other / name).to_pylist()
        if len(left) != len(right):
            return {"same_shards": True, "same_rows": False}
        for a, b in zip(left, right, strict=True):
            if a.keys() != b.keys():
                return {"same_shards": True, "same_rows": True, "same_columns": False}
            for key, value in a.items():
                diff = _score_diff(value, b[key])
                if diff is None:
                    mismatched_rows += 1
                    break
                max_score_diff = max(max_score_diff, diff)
    return {
        "same_shards": True,
        "same_rows": True,
        "same_columns": True,
        "rows_with_different_verdicts": mismatched_rows,
        "max_score_difference": max_score_diff,
    }


def _score_diff(a: Any, b: Any) -> float | None:
    """Largest difference between two values if they agree up to float noise, else None."""
    if isinstance(a, float) and isinstance(b, float):
        return abs(a - b) if abs(a - b) < 1e-4 else None
    if isinstance(a, dict) and isinstance(b, dict) and a.keys() == b.keys():
        diffs = [_score_diff(a[k], b[k]) for k in a]
        return None if None in diffs else max(diffs, default=0.0)  # type: ignore[type-var]
    return 0.0 if a == b else None


def _format_diff(check: dict[str, Any]) -> str:
    diff = check.get("max_score_difference")
    return "n/a (outputs differ)" if diff is None else f"{diff:.1e}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mix", type=Path, default=Path("build/mix/train_mix.parquet"))
    parser.add_argument("--rows", type=int, default=3000)
    parser.add_argument("--shards", type=int, default=6)
    parser.add_argument("--model", default=None, help="embedded model (default: shipped)")
    parser.add_argument("--backend", default="embedded")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--out", type=Path, default=RESULTS_DIR)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="oneguard-bench-ray-") as tmp:
        root = Path(tmp)
        rows = write_shards(args.mix, args.rows, args.shards, root / "in")
        shards = sorted((root / "in").glob("*.jsonl"))
        warm_up(args)
        load_before = os.getloadavg()[0]
        runs: dict[str, dict[str, Any]] = {}
        seconds = single_process(shards, root / "single1", args, threads=1)
        runs["single process, 1 thread"] = {"seconds": seconds}
        print(f"single process, 1 thread: {rows / seconds:.1f} rows/s")
        seconds = single_process(shards, root / "single2", args, threads=2)
        runs["single process, 2 threads"] = {"seconds": seconds}
        print(f"single process, 2 threads: {rows / seconds:.1f} rows/s")
        total, job = ray_engine(root / "in", root / "ray", args)
        runs["Ray, 2 workers x 1 thread (end to end)"] = {"seconds": total}
        runs["Ray, 2 workers x 1 thread (without ray.init)"] = {"seconds": job}
        print(f"ray: {rows / total:.1f} rows/s end to end, {rows / job:.1f} without ray.init")
        checks = {
            "ray vs single process": compare_outputs(root / "single1", root / "ray"),
            "2 threads vs 1 thread": compare_outputs(root / "single1", root / "single2"),
        }
        identical = all(
            c.get("same_columns") and c["rows_with_different_verdicts"] == 0
            for c in checks.values()
        )
        load_after = os.getloadavg()[0]
    for run in runs.values():
        run["rows_per_second"] = rows / run["seconds"]
    payload = {
        "command": shlex.join([Path(sys.executable).name, *sys.argv]),
        "rows": rows,
        "shards": args.shards,
        "batch_size": args.batch_size,
        "model": args.model or "default",
        "cpus": os.cpu_count(),
        "load_average": [load_before, load_after],
        "same_rows_and_verdicts": identical,
        "output_checks": checks,
        "runs": runs,
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "ray_corpus.json").write_text(json.dumps(payload, indent=2) + "\n", "utf-8")
    lines = [
        "# Corpus classification: single process vs Ray",
        "",
        f"- Command: `{payload['command']}`",
        f"- {rows} rows of the training mix in {args.shards} JSONL shards, model "
        f"`{payload['model']}`, batch size {args.batch_size}, {os.cpu_count()} CPUs (shared; "
        f"load average {load_before:.1f} before, {load_after:.1f} after)",
        f"- Same rows, columns and verdicts across engines: {identical}; largest score "
        "difference: " + ", ".join(f"{k} {_format_diff(c)}" for k, c in checks.items()),
        "",
        "| Engine | seconds | rows/s |",
        "|---|---:|---:|",
    ]
    lines += [f"| {n} | {r['seconds']:.1f} | {r['rows_per_second']:.1f} |" for n, r in runs.items()]
    (args.out / "ray_corpus.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"wrote {args.out / 'ray_corpus.md'}; same rows and verdicts: {identical}; {checks}")
    return 0 if identical else 1


if __name__ == "__main__":
    sys.exit(main())
