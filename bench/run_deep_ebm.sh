#!/usr/bin/env bash
# The poster's "Deep EBM on MNIST" table at CPU scale (EXPERIMENTS.md): the
# ResNet energy (fdsm -model resnet: 3 residual blocks × 32 channels, MNIST
# zero-padded to 32×32 inside the model) trained from the same seed by MDSM,
# FD-MDSM, SSM and FD-SSM; annealed-Langevin sample grids, time and memory
# per step, exact SM loss on test images.
#   STEPS (default 400), BATCH (32), ROWS: test images for the exact SM loss (16), OUT (docs/experiments/ebm),
#   OBJECTIVES (default "mdsm fd-mdsm ssm fd-ssm"), BENCH=0 skips the fdsm bench table
set -euo pipefail
cd "$(dirname "$0")/.."
STEPS=${STEPS:-400}; BATCH=${BATCH:-32}; ROWS=${ROWS:-16}; OUT=${OUT:-docs/experiments/ebm}
RUNS=${RUNS:-/tmp/fdsm-ebm}
mkdir -p "$OUT" "$RUNS"
go build -o "$RUNS/fdsm" ./cmd/fdsm
{ date -u +%FT%TZ; uname -a; grep -m1 'model name' /proc/cpuinfo; nproc; go version; uptime; } > "$OUT/machine.txt"
for obj in ${OBJECTIVES:-mdsm fd-mdsm ssm fd-ssm}; do
  t0=$(date +%s)
  "$RUNS/fdsm" train -data mnist -model resnet -objective "$obj" -steps "$STEPS" -batch "$BATCH" -lr 1e-3 \
    -seed 1 -every "$STEPS" -log-every 10 -out "$RUNS/$obj" 2> "$RUNS/$obj.log"
  t1=$(date +%s)
  case $obj in
    *mdsm) anneal=(-annealed -sigmas 1.2,0.05,10 -steps 1000 -step-size 2e-5) ;;
    *)     anneal=(-annealed -sigmas 1,0.05,10 -steps 1000 -step-size 2e-5) ;;
  esac
  "$RUNS/fdsm" sample -ckpt "$RUNS/$obj" -n 64 "${anneal[@]}" -seed 1 -out "$OUT/samples-$obj.png"
  "$RUNS/fdsm" eval -ckpt "$RUNS/$obj" -rows "$ROWS" -batch 8 -is-samples 2000 -json > "$RUNS/$obj.eval.json" 2> "$RUNS/$obj.eval.log"
  echo "$obj train_seconds=$((t1 - t0))" >> "$RUNS/walltimes.txt"
done
# Time and memory per step of the same model and batch, measured in one sitting (bench harness).
[ "${BENCH:-1}" = 0 ] && exit 0
"$RUNS/fdsm" bench -config conv-resnet -steps 20 -objectives mdsm,fd-mdsm,ssm,fd-ssm,dsm,fd-dsm -eval-rows 4 > "$OUT/bench.md"
