"""Training-step time of every ``--aug`` on one model, measured side by side in one process.

Why: epoch times in a benchmark move with whatever else loads the machine. Here the methods take
turns, a few steps each, for many rounds in a shuffled order, so load drifts hit all of them
alike, and the median step time per method gives the overhead of mixing and relabelling (e.g.
PAL over plain MaskMix) without the noise. The step is the training loop's own
(``mixpro.train.Trainer._step``: mix, forward with attention capture when needed, relabel, loss,
backward, clip, AdamW) on random images.

    .venv/bin/python mixpro/benchmarks/step_time.py --model vit_cifar_d64_l4 --batch-size 64
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import time
from pathlib import Path

import numpy as np
import torch
from mixpro.data import ImageArrays
from mixpro.train import AUGS, Distributed, RelabelStats, Splits, TrainConfig, Trainer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="vit_cifar_d64_l4")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--mix-recipe", default="alone", choices=("alone", "official"))
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--steps", type=int, default=5, help="steps per method per round")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", default=None, help="write the numbers as JSON here")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    rng = np.random.default_rng(0)
    n = args.batch_size * 4
    arrays = ImageArrays(
        rng.integers(0, 256, (n, 32, 32, 3), dtype=np.uint8),
        np.arange(n) % 10,
        tuple(str(c) for c in range(10)),
        "random",
    )
    ctx = Distributed(0, 1, torch.device("cpu"))
    trainers = {}
    for aug in AUGS:
        config = TrainConfig(
            model=args.model,
            aug=aug,
            batch_size=args.batch_size,
            mix_recipe=args.mix_recipe,
            device="cpu",
            progress=False,
        )
        trainers[aug] = Trainer(config, Splits(arrays, arrays), ctx)
    x = (torch.from_numpy(arrays.images[: args.batch_size]).permute(0, 3, 1, 2).float() - 128) / 64
    y = torch.from_numpy(arrays.labels[: args.batch_size])
    times: dict[str, list[float]] = {aug: [] for aug in AUGS}
    order = list(AUGS)
    for aug in AUGS:  # warm-up
        trainers[aug].step(x, y, RelabelStats(ctx.device))
    for _ in range(args.rounds):
        random.shuffle(order)
        for aug in order:
            stats = RelabelStats(ctx.device)
            started = time.perf_counter()
            for _ in range(args.steps):
                trainers[aug].step(x, y, stats)
            times[aug].append((time.perf_counter() - started) / args.steps)
    median = {aug: statistics.median(t) for aug, t in times.items()}
    result = {
        "model": args.model,
        "batch_size": args.batch_size,
        "mix_recipe": args.mix_recipe,
        "threads": args.threads,
        "rounds": args.rounds,
        "steps_per_round": args.steps,
        "median_step_ms": {aug: 1000 * t for aug, t in median.items()},
        "relative_to_none": {aug: t / median["none"] for aug, t in median.items()},
        "pal_overhead_over_maskmix": median["mixpro"] / median["maskmix"] - 1.0,
    }
    print(
        f"{args.model}, batch {args.batch_size}, {args.threads} thread(s), median of {args.rounds} rounds"
    )
    for aug in AUGS:
        print(
            f"  {aug:<9} {1000 * median[aug]:7.1f} ms/step  {median[aug] / median['none']:.3f}× none"
        )
    print(f"  PAL overhead over MaskMix: {100 * result['pal_overhead_over_maskmix']:+.1f}%")
    if args.out:
        Path(args.out).write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
