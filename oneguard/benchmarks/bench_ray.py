"""Rows/s of the single-process classify engine vs the Ray engine (2 workers, 1 thread each).

One run, the same rows: a sample of the training mix (prompt + response where it has one)
written as JSONL shards, classified

* by the single-process engine (``oneguard classify`` per shard, one model load, 1 thread),
* by the same engine with 2 threads (the same two cores, used by one process),
* by ``classify --engine ray``: a local Ray, an actor pool of 2 workers x 1 thread.

Every output must be identical across engines (checked). Ray is timed end to end (start of a
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


def same_outputs(a: Path, b: Path) -> bool:
    for left in sorted(a.glob("*.parquet")):
        if pq.read_table(left).to_pylist() != pq.read_table(b / left.name).to_pylist():
            return False
    return len(list(a.glob("*.parquet"))) == len(list(b.glob("*.parquet")))


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
        identical = same_outputs(root / "single1", root / "ray") and same_outputs(
            root / "single1", root / "single2"
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
        "outputs_identical": identical,
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
        f"- Outputs identical across engines: {identical}",
        "",
        "| Engine | seconds | rows/s |",
        "|---|---:|---:|",
    ]
    lines += [f"| {n} | {r['seconds']:.1f} | {r['rows_per_second']:.1f} |" for n, r in runs.items()]
    (args.out / "ray_corpus.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"wrote {args.out / 'ray_corpus.md'}; outputs identical: {identical}")
    return 0 if identical else 1


if __name__ == "__main__":
    sys.exit(main())
