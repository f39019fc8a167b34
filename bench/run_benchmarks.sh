#!/usr/bin/env bash
# Produces every figure of BENCHMARKS.md, in one sitting, into $OUT (default ./bench-results).
#   ROUNDS: repetitions of each go test -bench pass, interleaved (default 5)
#   SWEEPS=0: skip the batching ablation, the scaling sweeps and the GEMM benchmark (sections 2 and 5)
#   PEER=1: also run the PyTorch peer (PEER_DIR, default bench/peers; needs: apt-get install -y python3-torch libopenblas0-openmp)
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-bench-results}
ROUNDS=${ROUNDS:-5}
mkdir -p "$OUT"
{ date -u +%FT%TZ; uname -a; grep -m1 'model name' /proc/cpuinfo; nproc; go version; uptime; } > "$OUT/machine.txt"
go test -c -o "$OUT/bench.test" ./bench
go test -c -o "$OUT/tensor.test" ./tensor
go build -o "$OUT/fdsm" ./cmd/fdsm

# 1. One training step per objective and configuration, rounds interleaved (A B A B ...).
: > "$OUT/objective.txt"
for i in $(seq "$ROUNDS"); do
  "$OUT/bench.test" -test.run XXX -test.bench 'Objective/' -test.benchtime 5x -test.benchmem | grep '^Benchmark' >> "$OUT/objective.txt"
done
if [ "${SWEEPS:-1}" != 0 ]; then
  # 2. Batched vs non-batched FD, and the scaling sweeps.
  : > "$OUT/sweeps.txt"
  for i in $(seq 3); do
    "$OUT/bench.test" -test.run XXX -test.bench 'FDBatching|ScalingDim|ScalingOrder' -test.benchtime 5x -test.benchmem | grep '^Benchmark' >> "$OUT/sweeps.txt"
  done
  # 3. GEMM throughput on the training shapes, one and two threads.
  : > "$OUT/matmul.txt"
  for i in $(seq 3); do
    "$OUT/tensor.test" -test.run XXX -test.bench MatMul -test.benchtime 20x -test.cpu 1,2 | grep '^Benchmark' >> "$OUT/matmul.txt"
  done
fi
# 4. The poster's table: SM loss after the same short training run, time and memory.
"$OUT/fdsm" bench -config toy -steps 200 > "$OUT/table-toy.md"
"$OUT/fdsm" bench -config mnist-mlp -steps 50 -objectives dsm,fd-dsm,ssm,ssm-vr,fd-ssm,mdsm,fd-mdsm > "$OUT/table-mnist-mlp.md"
"$OUT/fdsm" bench -config mnist-large -steps 30 -objectives dsm,fd-dsm,ssm,ssm-vr,fd-ssm > "$OUT/table-mnist-large.md"
"$OUT/fdsm" bench -config conv-resnet -steps 10 -eval-rows 4 -objectives dsm,fd-dsm,ssm,ssm-vr,fd-ssm,mdsm,fd-mdsm > "$OUT/table-conv-resnet.md"
# 5. The PyTorch peer in the same sitting (OpenBLAS, 2 threads).
if [ "${PEER:-0}" = 1 ]; then
  ( cd "${PEER_DIR:-bench/peers}" && OMP_NUM_THREADS=2 OPENBLAS_NUM_THREADS=2 \
      LD_LIBRARY_PATH=/usr/lib/x86_64-linux-gnu/openblas-openmp \
      /usr/bin/python3 torch_sm_bench.py bench --configs a,b,c --losses ssm,ssm_vr,dsm,fd_ssm,fd_dsm ) > "$OUT/peer.txt" 2>&1
fi
python3 bench/medians.py "$OUT/objective.txt" > "$OUT/objective-medians.txt"
python3 bench/tables.py "$OUT/objective.txt" > "$OUT/objective-table.md"
if [ "${SWEEPS:-1}" != 0 ]; then
  python3 bench/medians.py "$OUT/sweeps.txt" > "$OUT/sweeps-medians.txt"
  python3 bench/medians.py "$OUT/matmul.txt" > "$OUT/matmul-medians.txt"
fi
echo "results in $OUT"
