#!/bin/bash
# Reproduces bench/peers/torch_results.txt (PyTorch CPU peer for score matching).
# Needs: apt-get install -y python3-torch libopenblas0-openmp  (Debian bookworm; torch 1.13.1)
# The system libblas.so.3 alternative is left at Debian's reference (netlib) BLAS; OpenBLAS is
# selected per run with LD_LIBRARY_PATH (torch links libblas.so.3 dynamically, BLAS_INFO=generic).
set -u
cd "$(dirname "$0")"
PY=/usr/bin/python3
OB_OMP=/usr/lib/x86_64-linux-gnu/openblas-openmp
OB_PTH=/usr/lib/x86_64-linux-gnu/openblas-pthread
REF=/usr/lib/x86_64-linux-gnu/blas:/usr/lib/x86_64-linux-gnu/lapack
export OMP_NUM_THREADS=2 OPENBLAS_NUM_THREADS=2
PARTS=${PARTS:-"info ob1 ob2 t1 ref ref_redo agree"}
run() { echo; echo "=================== $(date -u +%FT%TZ)"; echo "\$ $*"; "$@"; }
for part in $PARTS; do
  case $part in
    info)
      run env LD_LIBRARY_PATH=$REF $PY torch_sm_bench.py info
      run env LD_LIBRARY_PATH=$OB_OMP $PY torch_sm_bench.py info
      run env LD_LIBRARY_PATH=$OB_PTH $PY torch_sm_bench.py info ;;
    ob1)  # pass 1, OpenBLAS (OpenMP build, shares torch's libgomp pool), all configs/losses;
          # exact SM on b: one timed step (~25 s, ~7 GB), no warm-up
      run env LD_LIBRARY_PATH=$OB_OMP $PY torch_sm_bench.py bench --configs a,b,c --exact-b-reps 0:1 --quiet-wait 60 --retries 1 --job-timeout 150 ;;
    ob2)  # pass 2 (repeat)
      run env LD_LIBRARY_PATH=$OB_OMP $PY torch_sm_bench.py bench --configs a,b,c --exact-b-reps 0:1 --quiet-wait 60 --retries 1 --job-timeout 150 ;;
    t1)   # single-thread pass (torch.set_num_threads(1)); robust when another process holds one core
      run env OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 LD_LIBRARY_PATH=$OB_OMP $PY torch_sm_bench.py bench --threads 1 --configs a,b,c --exact-b-reps 0:1 --quiet-wait 60 --quiet-thresh 0.6 --retries 1 --retry-thresh 0.55 --job-timeout 150 ;;
    ref)  # Debian default: reference netlib BLAS; reduced reps, exact SM on b skipped (~10+ min/step)
      run env LD_LIBRARY_PATH=$REF $PY torch_sm_bench.py bench --configs a,b,c --reps-scale 0.25 --exclude b:exact --retries 0 --quiet-wait 30 ;;
    ref_redo)  # re-run of the reference-BLAS rows that another process disturbed (foreign CPU ~50%)
      for cl in "a exact,ssm" "b ssm" "c ssm_vr"; do set -- $cl
        run env LD_LIBRARY_PATH=$REF $PY torch_sm_bench.py bench --configs $1 --losses $2 --reps-scale 0.25 --retries 1 --quiet-wait 60
      done ;;
    agree)
      run env LD_LIBRARY_PATH=$OB_OMP $PY torch_sm_bench.py agree --configs a,b,c ;;
  esac
done
