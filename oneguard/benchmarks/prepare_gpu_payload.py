"""Write ``device_payload/``: what a GPU machine without internet needs to train the model.

* ``minilm/``: all-MiniLM-L6-v2 with fp16 weights (~45 MB instead of ~91 MB; the training
  loads it back as fp32) and its tokenizer and config files;
* ``train_mix.parquet``: a copy of the training mix;
* ``benchmarks.tar.gz``: the public suite's normalised files (optional, ~2 MB compressed), so
  ``gpu_train.sh`` can benchmark the new model on the GPU too.

    .venv/bin/python oneguard/benchmarks/prepare_gpu_payload.py            # then run gpu_train.sh

The payload travels with the working tree, which allows 64 MiB in all: the script prints the
total and fails when it is over.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tarfile
from pathlib import Path

import torch
from oneguard.model.encoder import default_encoder_path
from oneguard.paths import REPO_ROOT, moderation_data_dir
from safetensors.torch import load_file, save_file

#: Files of the encoder folder the training needs besides the weights.
ENCODER_FILES = (
    "config.json",
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "vocab.txt",
)
LIMIT_BYTES = 64 * 2**20


def write_fp16_encoder(source: Path, target: Path) -> Path:
    target.mkdir(parents=True, exist_ok=True)
    for name in ENCODER_FILES:
        if (source / name).is_file():
            shutil.copy2(source / name, target / name)
    weights = load_file(str(source / "model.safetensors"))
    half = {
        k: (v.to(torch.float16) if v.is_floating_point() else v).contiguous()
        for k, v in weights.items()
    }
    save_file(half, str(target / "model.safetensors"), metadata={"format": "pt"})
    return target


def write_benchmarks(data_dir: Path, target: Path) -> Path:
    folder = data_dir / "guardreasoner_benchmarks" / "normalized"
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder} not found (pass --data-dir)")
    with tarfile.open(target, "w:gz") as tar:
        for path in sorted(folder.glob("*.jsonl")):
            tar.add(path, arcname=f"moderation/guardreasoner_benchmarks/normalized/{path.name}")
    return target


def folder_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--mix",
        type=Path,
        default=REPO_ROOT / "build" / "mix_v4" / "train_mix.parquet",
        help="training mix (default: the shipped model's, build/mix_v4)",
    )
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "device_payload")
    parser.add_argument("--encoder", type=Path, default=None, help="default: packaged MiniLM")
    parser.add_argument("--data-dir", type=Path, default=None, help="moderation data folder")
    parser.add_argument("--no-benchmarks", action="store_true")
    args = parser.parse_args(argv)

    if not args.mix.is_file():
        print(f"error: training mix {args.mix} not found (oneguard data build)", file=sys.stderr)
        return 1
    args.out.mkdir(parents=True, exist_ok=True)
    write_fp16_encoder(args.encoder or default_encoder_path(), args.out / "minilm")
    shutil.copy2(args.mix, args.out / "train_mix.parquet")
    if not args.no_benchmarks:
        write_benchmarks(args.data_dir or moderation_data_dir(), args.out / "benchmarks.tar.gz")
    total = folder_bytes(args.out)
    for path in sorted(p for p in args.out.rglob("*") if p.is_file()):
        print(f"{path.stat().st_size / 2**20:7.1f} MiB  {path.relative_to(args.out.parent)}")
    print(f"{total / 2**20:7.1f} MiB  total (limit {LIMIT_BYTES / 2**20:.0f} MiB)")
    if total > LIMIT_BYTES:
        print("error: over the transfer limit; rerun with --no-benchmarks", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
