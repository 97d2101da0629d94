#!/usr/bin/env bash
# Full CIFAR-10 comparison of none / Mixup / CutMix / TransMix / MaskMix / MixPro on ONE GPU,
# sized to finish in under 6 minutes wall-clock on an H200, start-up included.
#
#   OUT=/some/folder bash mixpro/benchmarks/gpu_bench.sh
#
# Needs: python3 with torch, timm (and pyyaml, tqdm, numpy, pillow, which timm pulls in);
# matplotlib is optional (without it there is no PNG). No pip install: the package is used
# straight from mixpro/src. CIFAR-10's six .tar.gz shards must be in $CIFAR10_DIR
# (default: <repo>/device_payload/cifar10).
#
# What it does (mixpro bench --scale full):
#   1. decodes the 60,000 JPEGs once into a uint8 array cache (~10 s);
#   2. calibration: the six methods train side by side for 6 short epochs; the time per epoch
#      while all six overlap, scaled to 50,000 images, fixes the epoch count so that both rounds
#      fit the training budget (BUDGET_S, default 250 s);
#   3. two rounds (seed 0, then seed 1) of the six methods as six processes on the one GPU:
#      vit_cifar_d192_l6, batch 512, bf16 autocast, data on the GPU with batched crop/flip;
#   4. writes results.md, results.json and accuracy_curves.png to $OUT.
# --hard-limit stops whatever still runs 330 s after the start and reports what finished.
# EXTRA_ARGS adds bench flags (a CPU dry run: EXTRA_ARGS="--device cpu --model vit_cifar_d32_l2").
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT="$PWD"
OUT="${OUT:-$ROOT/runs/gpu-bench-results}"
DATA="${CIFAR10_DIR:-$ROOT/device_payload/cifar10}"
BUDGET_S="${BUDGET_S:-250}"
WORK="${WORK_DIR:-/tmp/mixpro-gpu-bench}"
export PYTHONPATH="$ROOT/mixpro/src${PYTHONPATH:+:$PYTHONPATH}"
export PYTHONUNBUFFERED=1
mkdir -p "$OUT"
echo "gpu_bench: $(date -u +%FT%TZ) data=$DATA out=$OUT budget=${BUDGET_S}s"
python3 -c "import torch, timm; print('torch', torch.__version__, 'timm', timm.__version__, 'cuda', torch.cuda.is_available(), torch.cuda.get_device_name(0) if torch.cuda.is_available() else '')"
nvidia-smi --query-gpu=name,memory.used,memory.total,utilization.gpu --format=csv || true
start=$(date +%s)
set +e
python3 -m mixpro bench --scale full --seeds 2 --parallel 6 --threads 2 \
  --data "$DATA" --results "$OUT" --work-dir "$WORK" \
  --time-budget "$BUDGET_S" --hard-limit "${HARD_LIMIT_S:-330}" ${EXTRA_ARGS:-} 2>&1 \
  | tee "$OUT/bench.log" | tr '\r' '\n'
status=${PIPESTATUS[0]}
set -e
cp "$WORK"/plan.json "$OUT"/ 2>/dev/null || true
mkdir -p "$OUT/metrics"
for run in "$WORK"/*-seed*/; do
  name=$(basename "$run")
  cp "$run/metrics.jsonl" "$OUT/metrics/$name.jsonl" 2>/dev/null || true
done
echo "gpu_bench: exit $status after $(( $(date +%s) - start )) s"
cat "$OUT/results.md" 2>/dev/null || true
exit "$status"
