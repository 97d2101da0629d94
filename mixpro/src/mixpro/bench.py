"""``mixpro bench``: none / Mixup / CutMix / TransMix / MaskMix / MixPro under one fixed budget.

Every method trains the same model on the same data for the same epochs with the same seeds;
only ``--aug`` differs. Runs are separate ``mixpro train`` processes, started seed-major and
method-minor (seed 0: none, mixup, ..., mixpro; then seed 1 ...) into ``--parallel`` slots, so
whatever else loads the machine hits every method alike. Re-running the same command resumes:
finished runs are kept, interrupted ones continue from their last checkpoint.

Outputs (``--results``): ``results.md`` (mean ± std top-1 over seeds, time per epoch relative to
``none``, the separation check), ``results.json`` (everything, per run) and
``accuracy_curves.png`` (test accuracy per epoch, mean over seeds with the min–max band).

Scales: ``small`` (default) is sized for a 2-core CPU in about an hour; ``full`` is the whole
CIFAR-10 on a GPU, its epoch count fitted to ``--time-budget`` by a short calibration run.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import platform
import shlex
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from mixpro.data import REPO_ROOT
from mixpro.train import AUGS, ConfigError, TrainConfig, load_splits, validate

#: Train settings of each scale; any of them can be overridden by a flag of ``mixpro bench``.
SCALES: dict[str, dict[str, Any]] = {
    "small": {
        "model": "vit_cifar_d64_l4",
        "subset": 4000,
        "test_subset": 4000,
        "epochs": 30,
        "batch_size": 64,
        "lr": 1e-3,
        "warmup_epochs": 3.0,
        "mix_recipe": "alone",
        "pipeline": "pil",
        "device": "cpu",
    },
    "full": {
        "model": "vit_cifar_d192_l6",
        "subset": None,
        "test_subset": None,
        "epochs": 60,
        "batch_size": 512,
        "lr": 1e-3,
        "warmup_epochs": 5.0,
        "mix_recipe": "alone",
        "pipeline": "tensor",
        "device": "cuda",
    },
}
#: Processes side by side and torch threads per process, per scale.
SCALE_EXECUTION: dict[str, tuple[int, int]] = {"small": (2, 1), "full": (6, 2)}
DEFAULT_RESULTS = REPO_ROOT / "mixpro" / "benchmarks" / "results"
LABELS = {
    "none": "none",
    "mixup": "Mixup",
    "cutmix": "CutMix",
    "transmix": "TransMix",
    "maskmix": "MaskMix",
    "mixpro": "MixPro",
}


@dataclass
class BenchConfig:
    """One comparison: the shared train settings, the methods, the seeds and how to run them."""

    train: TrainConfig
    methods: list[str] = field(default_factory=lambda: list(AUGS))
    seeds: list[int] = field(default_factory=lambda: [0, 1, 2])
    scale: str = "small"
    parallel: int = 2
    threads: int = 1
    results: Path = DEFAULT_RESULTS
    work_dir: Path = REPO_ROOT / "runs" / "bench-small"
    time_budget: float | None = None
    hard_limit: float | None = None
    max_epochs: int = 400
    command: str = ""


@dataclass
class Run:
    method: str
    seed: int
    out: Path

    @property
    def name(self) -> str:
        return f"{self.method}-seed{self.seed}"


def make_bench_config(
    scale: str,
    overrides: dict[str, Any],
    methods: Sequence[str] | None = None,
    seeds: int = 3,
    parallel: int | None = None,
    threads: int | None = None,
    results: str | None = None,
    work_dir: str | None = None,
    time_budget: float | None = None,
    hard_limit: float | None = None,
    command: str = "",
) -> BenchConfig:
    """Resolve a scale preset plus flag overrides into a validated :class:`BenchConfig`."""
    if scale not in SCALES:
        raise ConfigError(f"--scale {scale!r}: choose one of {', '.join(SCALES)}")
    methods = list(methods) if methods else list(AUGS)
    unknown = [m for m in methods if m not in AUGS]
    if unknown:
        raise ConfigError(f"--methods: unknown {unknown}; choose from {', '.join(AUGS)}")
    if len(set(methods)) != len(methods):
        raise ConfigError("--methods: each method once")
    if seeds < 1:
        raise ConfigError("--seeds must be >= 1")
    default_parallel, default_threads = SCALE_EXECUTION[scale]
    parallel = default_parallel if parallel is None else parallel
    threads = default_threads if threads is None else threads
    if parallel < 1 or threads < 1:
        raise ConfigError("--parallel and --threads must be >= 1")
    if time_budget is not None and time_budget <= 0:
        raise ConfigError("--time-budget must be > 0 seconds")
    if hard_limit is not None and hard_limit <= 0:
        raise ConfigError("--hard-limit must be > 0 seconds")
    values = {**SCALES[scale], **{k: v for k, v in overrides.items() if v is not None}}
    values.update(progress=False, resume=False, threads=threads, aug="none", seed=0)
    train = TrainConfig(**values)
    validate(train)
    work = Path(work_dir) if work_dir else REPO_ROOT / "runs" / f"bench-{scale}"
    return BenchConfig(
        train=train,
        methods=methods,
        seeds=list(range(seeds)),
        scale=scale,
        parallel=parallel,
        threads=threads,
        results=Path(results) if results else DEFAULT_RESULTS / scale,
        work_dir=work,
        time_budget=time_budget,
        hard_limit=hard_limit,
        command=command,
    )


def plan_runs(config: BenchConfig) -> list[Run]:
    """Seed-major, method-minor order: each seed's methods run back to back."""
    return [
        Run(method, seed, config.work_dir / f"{method}-seed{seed}")
        for seed in config.seeds
        for method in config.methods
    ]


# ----------------------------------------------------------------------------- running


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    if not path.is_file():
        return []
    rows = []
    for line in path.read_text().splitlines():
        if line.strip():
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError:
                break  # a line being written right now
    return rows


def _epochs_done(run: Run) -> int:
    rows = _read_jsonl(run.out / "metrics.jsonl")
    return rows[-1]["epoch"] if rows else 0


def _run_config(config: BenchConfig, run: Run, epochs: int | None = None) -> TrainConfig:
    return dataclasses.replace(
        config.train,
        aug=run.method,
        seed=run.seed,
        out=str(run.out),
        epochs=epochs or config.train.epochs,
    )


def _start(config: BenchConfig, run: Run, train: TrainConfig) -> tuple[subprocess.Popen, Any]:
    run.out.mkdir(parents=True, exist_ok=True)
    resume = (run.out / "checkpoint.pt").is_file()
    values = dataclasses.asdict(dataclasses.replace(train, resume=resume))
    config_file = config.work_dir / f"{run.name}.yaml"
    config_file.write_text(yaml.safe_dump(values, sort_keys=False))
    env = dict(os.environ)
    threads = str(config.threads)
    env.update(OMP_NUM_THREADS=threads, MKL_NUM_THREADS=threads, PYTHONUNBUFFERED="1")
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(Path(__file__).resolve().parents[1]), env.get("PYTHONPATH")) if p
    )
    log = (config.work_dir / f"{run.name}.log").open("a")
    process = subprocess.Popen(
        [sys.executable, "-m", "mixpro", "train", "--config", str(config_file)],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=env,
    )
    return process, log


@dataclass
class Execution:
    """What happened to a batch of runs: failures, launch times, whether the deadline hit."""

    failed: list[str] = field(default_factory=list)
    launched_at: dict[str, float] = field(default_factory=dict)
    stopped_by_deadline: list[str] = field(default_factory=list)


def execute(
    config: BenchConfig,
    runs: list[Run],
    epochs: int,
    label: str = "bench",
    deadline: float | None = None,
) -> Execution:
    """Run every unfinished run, ``parallel`` at a time, in the order given. At ``deadline``
    (unix time) the runs still going are stopped (their last checkpoint stays resumable)."""
    from tqdm import tqdm

    config.work_dir.mkdir(parents=True, exist_ok=True)
    pending = [r for r in runs if _epochs_done(r) < epochs]
    total = len(runs) * epochs
    running: list[tuple[Run, subprocess.Popen, Any]] = []
    result = Execution()
    bar = tqdm(total=total, desc=label, unit="epoch", dynamic_ncols=True, mininterval=5)

    def done_epochs() -> int:
        return sum(min(_epochs_done(r), epochs) for r in runs)

    bar.update(done_epochs())
    while pending or running:
        out_of_time = deadline is not None and time.time() > deadline
        while pending and len(running) < config.parallel and not out_of_time:
            run = pending.pop(0)
            process, log = _start(config, run, _run_config(config, run, epochs))
            result.launched_at[run.name] = time.time()
            running.append((run, process, log))
        if out_of_time:
            result.stopped_by_deadline += [r.name for r, _, _ in running] + [
                r.name for r in pending
            ]
            for _, process, _ in running:
                process.terminate()
            for _, process, log in running:
                process.wait()
                log.close()
            pending, running = [], []
            tqdm.write(f"{label}: deadline reached; stopped {result.stopped_by_deadline}")
            break
        time.sleep(1.0)
        still = []
        for run, process, log in running:
            code = process.poll()
            if code is None:
                still.append((run, process, log))
                continue
            log.close()
            if code != 0 or _epochs_done(run) < epochs:
                result.failed.append(run.name)
                tail = (config.work_dir / f"{run.name}.log").read_text().splitlines()[-5:]
                tqdm.write(f"{run.name} failed (exit {code}):\n  " + "\n  ".join(tail))
        running = still
        done = done_epochs()
        if done != bar.n:
            bar.n = done
            bar.set_postfix_str(", ".join(r.name for r, _, _ in running), refresh=False)
            bar.refresh()
    bar.n = done_epochs()
    bar.close()
    return result


def _probe_epoch_seconds(rows_per_run: list[list[dict[str, Any]]]) -> float:
    """Train time of one probe epoch while every probe run was training: the median over the
    epochs that lie inside the window where all runs overlap (start-up skew excluded), or the
    slowest epoch after the first when no epoch fits that window."""
    window_start = max(rows[0]["started_at"] for rows in rows_per_run)
    window_end = min(rows[-1]["ended_at"] for rows in rows_per_run)
    inside = [
        row["train_time_s"]
        for rows in rows_per_run
        for row in rows
        if row["started_at"] >= window_start and row["ended_at"] <= window_end
    ]
    if inside:
        return statistics.median(inside)
    return max(row["train_time_s"] for rows in rows_per_run for row in rows[1:])


def calibrate_epochs(
    config: BenchConfig, budget_s: float, deadline: float | None = None
) -> dict[str, Any]:
    """Fit the epoch count so that every round of runs fits ``budget_s`` seconds in all: each
    method trains short epochs on a subset, side by side as in the real run; the time per probe
    epoch while all overlap, scaled to the full split, plus the measured start-up and first-epoch
    overhead, gives the epochs."""
    full = load_splits(dataclasses.replace(config.train, subset=None, test_subset=None))
    classes = full.train.num_classes
    train_n = config.train.subset or len(full.train)
    test_n = config.train.test_subset or len(full.test)
    probe_train = min(train_n, config.train.batch_size * 32) // classes * classes
    probe_test = min(test_n, 2000) // classes * classes
    probe = dataclasses.replace(
        config,
        train=dataclasses.replace(
            config.train, subset=probe_train, test_subset=probe_test, warmup_epochs=0.0
        ),
        work_dir=config.work_dir / "calibration",
        parallel=min(config.parallel, len(config.methods)),
    )
    runs = [Run(m, 0, probe.work_dir / f"{m}-seed0") for m in config.methods[: probe.parallel]]
    execution = execute(probe, runs, epochs=6, label="calibration", deadline=deadline)
    if execution.failed or execution.stopped_by_deadline:
        raise RuntimeError(f"calibration did not finish; see the logs in {probe.work_dir}")
    rows_per_run = [_read_jsonl(run.out / "metrics.jsonl") for run in runs]
    probe_epoch = _probe_epoch_seconds(rows_per_run)
    eval_per_image = max(
        r["eval_time_s"] / r["test_images"] for rows in rows_per_run for r in rows[1:]
    )
    batch = config.train.batch_size
    probe_steps = rows_per_run[0][-1]["train_images"] // batch
    per_epoch = probe_epoch * (train_n // batch) / probe_steps + eval_per_image * test_n
    overhead = max(
        rows[0]["ended_at"] - execution.launched_at[run.name]
        for run, rows in zip(runs, rows_per_run, strict=True)
    )
    rounds = math.ceil(len(config.methods) * len(config.seeds) / config.parallel)
    epochs = int((budget_s - rounds * overhead) // (rounds * per_epoch))
    epochs = max(1, min(config.max_epochs, epochs))
    return {
        "budget_s": budget_s,
        "estimated_epoch_s": per_epoch,
        "startup_overhead_s": overhead,
        "rounds": rounds,
        "epochs": epochs,
        "probe_train_images": probe_train,
    }


# ----------------------------------------------------------------------------- reporting


def _std(values: Sequence[float]) -> float:
    return statistics.stdev(values) if len(values) > 1 else math.nan


def summarise(config: BenchConfig, runs: list[Run], epochs: int) -> dict[str, Any]:
    """Per-method statistics over the finished runs, and the pairwise separation check."""
    per_method: dict[str, dict[str, Any]] = {}
    for method in config.methods:
        finals, curves, times, factors, shifts, seeds = [], [], [], [], [], []
        partial: list[list[float]] = []
        for run in runs:
            if run.method != method:
                continue
            rows = _read_jsonl(run.out / "metrics.jsonl")
            if len(rows) < epochs:
                if rows:
                    partial.append([r["test_acc"] for r in rows])
                continue
            rows = rows[:epochs]
            seeds.append(run.seed)
            finals.append(rows[-1]["test_acc"])
            curves.append([r["test_acc"] for r in rows])
            times.append(statistics.median(r["train_time_s"] for r in rows))
            if "pal_factor" in rows[-1]:
                factors.append(rows[-1]["pal_factor"])
            if "relabel_shift" in rows[-1]:
                shifts.append(rows[-1]["relabel_shift"])
        per_method[method] = {
            "seeds": seeds,
            "final_test_acc": finals,
            "mean": statistics.fmean(finals) if finals else math.nan,
            "std": _std(finals),
            "curves": curves,
            "partial_curves": partial,
            "epoch_time_s": statistics.fmean(times) if times else math.nan,
            "last_epoch_pal_factor": statistics.fmean(factors) if factors else None,
            "last_epoch_relabel_shift": statistics.fmean(shifts) if shifts else None,
        }
    base_time = per_method.get("none", {}).get("epoch_time_s", math.nan)
    for stats in per_method.values():
        stats["time_vs_none"] = stats["epoch_time_s"] / base_time if base_time else math.nan
    complete = [m for m in config.methods if per_method[m]["final_test_acc"]]
    spreads = [per_method[m]["std"] for m in complete if not math.isnan(per_method[m]["std"])]
    pooled = math.sqrt(statistics.fmean(s * s for s in spreads)) if spreads else math.nan
    ranking = sorted(complete, key=lambda m: per_method[m]["mean"], reverse=True)
    pairs = []
    for upper, lower in zip(ranking, ranking[1:], strict=False):
        pairs.append(_pair(per_method, upper, lower, pooled))
    listed = {frozenset((p["a"], p["b"])) for p in pairs}
    ablations = [("mixpro", "maskmix"), ("transmix", "cutmix"), ("mixpro", "transmix")]
    ablations += [("maskmix", "cutmix"), ("cutmix", "mixup")]
    for a, b in ablations:
        if a in complete and b in complete and frozenset((a, b)) not in listed:
            pairs.append(_pair(per_method, a, b, pooled))
            listed.add(frozenset((a, b)))
    return {
        "methods": per_method,
        "ranking": ranking,
        "pooled_seed_std": pooled,
        "pairs": pairs,
        "pal_time_overhead": per_method.get("mixpro", {}).get("epoch_time_s", math.nan)
        / per_method.get("maskmix", {}).get("epoch_time_s", math.nan)
        - 1.0
        if "mixpro" in per_method and "maskmix" in per_method
        else None,
    }


def _pair(per_method: dict[str, Any], a: str, b: str, pooled: float) -> dict[str, Any]:
    """Paired comparison over the seeds both methods finished (same seed = same init/order)."""
    acc_a = dict(zip(per_method[a]["seeds"], per_method[a]["final_test_acc"], strict=True))
    acc_b = dict(zip(per_method[b]["seeds"], per_method[b]["final_test_acc"], strict=True))
    shared = sorted(set(acc_a) & set(acc_b))
    diffs = [acc_a[s] - acc_b[s] for s in shared]
    mean_diff = statistics.fmean(diffs) if diffs else math.nan
    same_sign = bool(diffs) and (all(d > 0 for d in diffs) or all(d < 0 for d in diffs))
    return {
        "a": a,
        "b": b,
        "seeds": shared,
        "mean_diff": mean_diff,
        "std_diff": _std(diffs),
        "every_seed_agrees": same_sign,
        "exceeds_seed_std": bool(diffs) and abs(mean_diff) > pooled,
        "separated": same_sign and abs(mean_diff) > pooled,
    }


def _pct(value: float | None, digits: int = 2) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return f"{100 * value:.{digits}f}"


def _markdown(
    config: BenchConfig, summary: dict[str, Any], epochs: int, meta: dict[str, Any]
) -> str:
    t = config.train
    methods = summary["methods"]
    lines = [
        f"# MixPro benchmark ({config.scale})",
        "",
        f"Command: `{meta.get('original_command') or config.command}`",
        "",
        f"Model `{t.model}`, {meta['train_images']} train images"
        f"{' (class-balanced subset)' if t.subset else ''}, {meta['test_images']} test images, "
        f"{epochs} epochs, batch {t.batch_size}, lr {t.lr:g}, warmup {t.warmup_epochs:g} epochs, "
        f"recipe `--mix-recipe {t.mix_recipe}`, pipeline `{t.pipeline}`"
        f"{f' (RandAugment `{t.randaugment}`)' if t.pipeline == 'pil' and t.randaugment else ''}"
        f", seeds {config.seeds}, {config.parallel} processes side by side × "
        f"{config.threads} thread(s). Device: {meta['device']}. "
        f"Wall time {meta['wall_time_s'] / 60:.1f} min.",
        "",
        "Time per epoch is the wall-clock time of a run's training loop (median over its epochs, "
        "mean over seeds); on a shared machine it follows whatever else ran at the time.",
        "",
        "| method | top-1 % (mean ± std) | per seed | time/epoch vs none | last-epoch PAL α |",
        "|---|---|---|---|---|",
    ]
    for method in config.methods:
        s = methods[method]
        per_seed = ", ".join(_pct(v) for v in s["final_test_acc"]) or "not finished"
        factor = s["last_epoch_pal_factor"]
        lines.append(
            f"| {LABELS[method]} | {_pct(s['mean'])} ± {_pct(s['std'])} | {per_seed} | "
            f"{s['time_vs_none']:.2f}× | {'–' if factor is None else f'{factor:.2f}'} |"
        )
    ranking = " > ".join(LABELS[m] for m in summary["ranking"])
    lines += [
        "",
        f"Measured order (by mean): **{ranking}**.",
        "",
        f"Seed spread: pooled within-method std of the final top-1 = "
        f"{_pct(summary['pooled_seed_std'])} points.",
        "",
        "Separation check: for each neighbouring pair in the ranking (and the ablation pairs "
        "below it) the per-seed differences are paired (same seed = same initial weights and "
        "data order). A pair counts as separated when every seed orders it the same way AND the "
        "mean gap exceeds the pooled seed std.",
        "",
        "| pair | mean gap (points) | std of paired gaps | every seed agrees | gap > seed std | separated |",
        "|---|---|---|---|---|---|",
    ]
    for p in summary["pairs"]:
        lines.append(
            f"| {LABELS[p['a']]} − {LABELS[p['b']]} | {_pct(p['mean_diff'])} | "
            f"{_pct(p['std_diff'])} | {'yes' if p['every_seed_agrees'] else 'no'} | "
            f"{'yes' if p['exceeds_seed_std'] else 'no'} | "
            f"{'**yes**' if p['separated'] else 'no'} |"
        )
    overhead = summary["pal_time_overhead"]
    if overhead is not None and not math.isnan(overhead):
        lines += [
            "",
            f"PAL step-time overhead over plain MaskMix (time per training epoch, mean over "
            f"seeds): {100 * overhead:+.1f}%.",
        ]
    if meta.get("calibration"):
        c = meta["calibration"]
        lines += [
            "",
            f"Epochs fitted to a {c['budget_s']:.0f} s training budget: calibration estimated "
            f"{c['estimated_epoch_s']:.1f} s per epoch for the slowest method with all methods "
            f"side by side → {c['epochs']} epochs.",
        ]
    if meta.get("missing"):
        lines += [
            "",
            f"Not finished (excluded from the table; dashed in the plot when a method has no "
            f"finished run): {', '.join(meta['missing'])}.",
        ]
    if meta.get("stopped_by_deadline"):
        lines += ["", f"Stopped by `--hard-limit`: {', '.join(meta['stopped_by_deadline'])}."]
    if meta.get("original_command") and meta["original_command"] != config.command:
        lines += ["", f"Report rebuilt from the finished runs with `{config.command}`."]
    lines += ["", "![test accuracy per epoch](accuracy_curves.png)", ""]
    return "\n".join(lines)


def _plot(config: BenchConfig, summary: dict[str, Any], path: Path) -> str | None:
    """Test accuracy per epoch (mean over seeds, min–max band); None when matplotlib is absent."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return "matplotlib is not installed; accuracy_curves.png not written"
    fig, ax = plt.subplots(figsize=(7.5, 4.8), dpi=120)
    for method in config.methods:
        curves = summary["methods"][method]["curves"]
        label = f"{LABELS[method]} ({len(curves)} seeds)"
        if not curves:  # only unfinished runs: plot what they reached, dashed
            curves = summary["methods"][method]["partial_curves"]
            label = f"{LABELS[method]} (unfinished)"
            if not curves:
                continue
            shortest = min(len(c) for c in curves)
            curves = [c[:shortest] for c in curves]
        epochs = range(1, len(curves[0]) + 1)
        columns = list(zip(*curves, strict=True))
        mean = [100 * statistics.fmean(c) for c in columns]
        ax.plot(epochs, mean, label=label, linestyle="--" if "unfinished" in label else "-")
        if len(curves) > 1:
            ax.fill_between(
                epochs, [100 * min(c) for c in columns], [100 * max(c) for c in columns], alpha=0.15
            )
    ax.set_xlabel("epoch")
    ax.set_ylabel("test top-1 (%)")
    ax.set_title(f"{config.train.model}, {config.scale} scale: mean over seeds, min–max band")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return None


def write_report(
    config: BenchConfig, runs: list[Run], epochs: int, meta: dict[str, Any]
) -> dict[str, Any]:
    """Write results.md, results.json and accuracy_curves.png into ``config.results``."""
    summary = summarise(config, runs, epochs)
    meta["missing"] = [r.name for r in runs if _epochs_done(r) < epochs]
    config.results.mkdir(parents=True, exist_ok=True)
    note = _plot(config, summary, config.results / "accuracy_curves.png")
    if note:
        meta["plot"] = note
        print(note, file=sys.stderr)
    payload = {
        "command": config.command,
        "scale": config.scale,
        "epochs": epochs,
        "seeds": config.seeds,
        "parallel": config.parallel,
        "threads": config.threads,
        "train_config": dataclasses.asdict(config.train),
        **meta,
        **summary,
    }
    (config.results / "results.json").write_text(json.dumps(payload, indent=2) + "\n")
    (config.results / "results.md").write_text(_markdown(config, summary, epochs, meta))
    return payload


def run_bench(config: BenchConfig, report_only: bool = False) -> dict[str, Any]:
    """Calibrate (with a time budget), run every unfinished run, and write the report."""
    started = time.time()
    deadline = started + config.hard_limit if config.hard_limit else None
    config.work_dir.mkdir(parents=True, exist_ok=True)
    if not config.train.cache_dir:  # decode once here; every run loads the cached arrays
        cache = str(config.work_dir / "decoded")
        config = dataclasses.replace(
            config, train=dataclasses.replace(config.train, cache_dir=cache)
        )
    splits = load_splits(config.train)
    meta: dict[str, Any] = {
        "train_images": len(splits.train),
        "test_images": len(splits.test),
        "device": _device_description(config.train.device),
        "python": platform.python_version(),
        "platform": platform.platform(),
    }
    epochs = config.train.epochs
    plan_file = config.work_dir / "plan.json"
    if plan_file.is_file():  # a resumed bench keeps the epochs it calibrated
        meta["calibration"] = json.loads(plan_file.read_text())
    elif config.time_budget and not report_only:
        meta["calibration"] = calibrate_epochs(config, config.time_budget, deadline)
        plan_file.write_text(json.dumps(meta["calibration"]))
    if "calibration" in meta:
        epochs = meta["calibration"]["epochs"]
        warmup = min(config.train.warmup_epochs, max(1.0, epochs / 10))
        config = dataclasses.replace(
            config, train=dataclasses.replace(config.train, epochs=epochs, warmup_epochs=warmup)
        )
        print(
            f"calibration: {meta['calibration']['estimated_epoch_s']:.1f} s per epoch, "
            f"{meta['calibration']['startup_overhead_s']:.0f} s start-up → {epochs} epochs",
            flush=True,
        )
    runs = plan_runs(config)
    execution = Execution()
    clock_file = config.work_dir / "wall_time.json"
    spent = json.loads(clock_file.read_text())["seconds"] if clock_file.is_file() else 0.0
    command_file = config.work_dir / "command.txt"
    if not report_only and not command_file.is_file():
        command_file.write_text(config.command + "\n")
    if command_file.is_file():
        meta["original_command"] = command_file.read_text().strip()
    if not report_only:
        execution = execute(config, runs, epochs, deadline=deadline)
        spent += time.time() - started
        clock_file.write_text(json.dumps({"seconds": spent}))
    elif not spent:  # no session has finished yet: first epoch start to last epoch end
        rows = [row for run in runs for row in _read_jsonl(run.out / "metrics.jsonl")]
        if rows:
            spent = max(r["ended_at"] for r in rows) - min(r["started_at"] for r in rows)
    meta["wall_time_s"] = spent  # summed over every session of this bench (resumes included)
    meta["failed"] = execution.failed
    meta["stopped_by_deadline"] = execution.stopped_by_deadline
    return write_report(config, runs, epochs, meta)


def _device_description(device: str) -> str:
    import torch

    if device.startswith("cuda") and torch.cuda.is_available():
        return f"{torch.cuda.get_device_name(0)} (torch {torch.__version__})"
    return f"CPU, {os.cpu_count()} cores (torch {torch.__version__})"


def command_line(argv: Sequence[str]) -> str:
    return "mixpro bench " + " ".join(shlex.quote(a) for a in argv)
