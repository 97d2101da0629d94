#!/usr/bin/env bash
# Fine-tune every MiniLM layer + the four heads on one GPU, then benchmark the result.
#
# Needs device_payload/ (write it with oneguard/benchmarks/prepare_gpu_payload.py): the fp16
# MiniLM folder, the training mix and (optionally) the public benchmark files. Needs no
# package install: PYTHONPATH=oneguard/src. Writes:
#   $OUT/model/              the artifact (config.json, heads + encoder delta, MODEL_CARD.md)
#   $OUT/results/gpu_model.* benchmark F1 on the public suite (when the payload carries it)
#   $OUT/train.log           the training log
# Budget: about 2-3 minutes on an H200 (the training loop stops itself after TIME_BUDGET s).
set -euo pipefail
cd "$(dirname "$0")/../.."

OUT=${OUT:-runs/gpu}
PAYLOAD=${PAYLOAD:-device_payload}
EPOCHS=${EPOCHS:-3}
BATCH=${BATCH:-128}
LR=${LR:-8e-5}
TIME_BUDGET=${TIME_BUDGET:-170}
PYTHON=${PYTHON:-python3}
DEVICE=${DEVICE:-cuda}        # DEVICE=cpu with a tiny payload is a dry run of this script
EXTRA_ARGS=${EXTRA_ARGS:-}    # more `oneguard train` flags, e.g. "--max-steps 5"

export PYTHONPATH=oneguard/src
export ONEGUARD_CACHE=${ONEGUARD_CACHE:-/tmp/oneguard-cache}
export TOKENIZERS_PARALLELISM=true
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
mkdir -p "$OUT"

nvidia-smi --query-gpu=name,memory.used,memory.total --format=csv,noheader || true

start=$(date +%s)
"$PYTHON" -m oneguard.cli train \
    --mix "$PAYLOAD/train_mix.parquet" \
    --encoder "$PAYLOAD/minilm" \
    --out "$OUT/model" \
    --device "$DEVICE" \
    --finetune-layers -1 \
    --feature-layers 6 \
    --epochs "$EPOCHS" \
    --batch-size "$BATCH" \
    --lr "$LR" \
    --head-lr 1e-3 \
    --eval-batch-size 512 \
    --time-budget "$TIME_BUDGET" \
    --checkpoint-every 100000 \
    --no-progress $EXTRA_ARGS 2>&1 | tee "$OUT/train.log"
echo "training took $(( $(date +%s) - start )) s"

# Benchmark on the GPU when the public suite was carried (never fails the run: the model
# in $OUT/model is what matters; the benchmark can be rerun on CPU).
if [ -f "$PAYLOAD/benchmarks.tar.gz" ]; then
    bench_dir=$(mktemp -d)
    tar xzf "$PAYLOAD/benchmarks.tar.gz" -C "$bench_dir"
    "$PYTHON" oneguard/benchmarks/bench_default_model.py \
        --model "$OUT/model" --encoder "$PAYLOAD/minilm" --data-dir "$bench_dir" \
        --device "$DEVICE" --batch-size 256 --no-throughput \
        --name gpu_model --out-dir "$OUT/results" --update-card \
        || echo "benchmark failed (the model in $OUT/model is complete)"
    rm -rf "$bench_dir"
fi
echo "total $(( $(date +%s) - start )) s"
