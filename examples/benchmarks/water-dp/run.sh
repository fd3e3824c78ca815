#!/usr/bin/env bash
# Side-by-side training benchmark on ../shared/datasets/water-deepmd (train
# data_0-2, validate on all 100 frames of data_3): deepmd-kit 3.2 (PyTorch,
# CPU, 2 threads) with its water recipe, and `forcefit dp` on the same
# input with FEKF (two batch sizes) and Adam. Run from the repository root:
#
#     bash examples/benchmarks/water-dp/run.sh [OUT]      # default OUT: /tmp/water-dp
#
# Needs `dp` (pip install deepmd-kit==3.2.0 torch==2.11.0 mpich e3nn) on
# PATH or DP=/path/to/dp, and a release build of forcefit. Takes about an
# hour; the machine should be otherwise idle. Curves: OUT/deepmd-kit.csv
# (dp test on each checkpoint) and OUT/<run>/loss.csv (forcefit validates on
# all of data_3 every epoch); plot with plot_water.py.
set -euo pipefail
OUT=${1:-/tmp/water-dp}
HERE=examples/benchmarks/water-dp
FORCEFIT=${FORCEFIT:-target/release/forcefit}
STEPS=${STEPS:-6000}
mkdir -p "$OUT"
export OMP_NUM_THREADS=2 DP_INTRA_OP_PARALLELISM_THREADS=2 DP_INTER_OP_PARALLELISM_THREADS=1 CUDA_VISIBLE_DEVICES=

# deepmd-kit: STEPS steps, a checkpoint every 500 (save_freq), then stop.
bash "$HERE/deepmd_kit_curve.sh" "$HERE/input.json" "$OUT" "$STEPS"

# forcefit, the same input.
train() {
    local name=$1 input=$2 limit=$3
    shift 3
    [ -e "$OUT/$name/loss.csv" ] && return
    "$FORCEFIT" dp "$input" -j 2 --time-limit "$limit" -o "$OUT/$name" "$@" \
        > "$OUT/$name.log" 2>&1
}
train fekf32 "$HERE/input.json" 420 --optimizer fekf --batch-size 32
train fekf4 "$HERE/input.json" 420 --optimizer fekf --batch-size 4
train adam "$HERE/input.json" 420
