"""The torchrun path: 2 CPU processes on the gloo backend, tiny model, synthetic shards."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import torch
from synthetic_images import write_cifar_like

SRC = Path(__file__).resolve().parents[1] / "src"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_torchrun_two_gloo_processes(tmp_path):
    data = write_cifar_like(tmp_path / "c10", train_per_class=10, test_per_class=7)
    out = tmp_path / "run"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(SRC)}
    env.pop("WORLD_SIZE", None)
    command = [
        sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", "2",
        "--master-addr", "127.0.0.1", "--master-port", str(_free_port()),
        "-m", "mixpro", "train", "--data", str(data), "--out", str(out),
        "--model", "vit_cifar_d32_l2", "--aug", "mixpro", "--mix-recipe", "alone",
        "--epochs", "2", "--batch-size", "16", "--device", "cpu", "--no-progress",
    ]  # fmt: skip
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=240)
    assert result.returncode == 0, result.stderr[-3000:]
    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in rows] == [1, 2]  # rank 0 writes once per epoch
    for row in rows:
        assert row["world_size"] == 2
        # DistributedSampler gives each rank 50 of the 100 images: 3 batches of 16 per rank
        assert row["train_images"] == 2 * 3 * 16
        assert row["test_images"] == 70  # every test image exactly once over both ranks
        assert row["relabeled_batches"] == 3
    state = torch.load(out / "checkpoint.pt", weights_only=False)
    assert state["epoch"] == 2 and len(state["rng"]) == 2  # one random state per rank
    assert "module." not in next(iter(state["model"]))  # saved without the DDP wrapper
    assert result.stdout.count("mixpro: test accuracy") == 1  # rank 0 reports
