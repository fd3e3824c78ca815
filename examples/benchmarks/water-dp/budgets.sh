#!/usr/bin/env bash
# Time budgets on deepmd-kit's own long schedule (input-long.json:
# numb_steps 1000000, decay_steps 5000): `forcefit dp --time-limit T` for
# T = 30, 60, 120 and 300 s (each anneals the schedule to its end at T),
# and deepmd-kit 3.2 (PyTorch, CPU, 2 threads) on the same input, stopped
# after STEPS steps, its checkpoints tested on all of data_3. Run from the
# repository root on an otherwise idle machine:
#
#     bash examples/benchmarks/water-dp/budgets.sh [OUT]   # default OUT: /tmp/water-budgets
#
# Needs `dp` (pip install deepmd-kit==3.2.0 torch==2.11.0 mpich e3nn) on
# PATH or DP=..., and a release build of forcefit. Prints one line per
# forcefit budget (validation errors on all 80 frames of data_3 at the end,
# meV/atom and meV/Å) and deepmd-kit's curve (OUT/deepmd-kit.csv).
set -euo pipefail
OUT=${1:-/tmp/water-budgets}
HERE=examples/benchmarks/water-dp
FORCEFIT=${FORCEFIT:-target/release/forcefit}
STEPS=${STEPS:-5000}
BUDGETS=${BUDGETS:-30 60 120 300}
mkdir -p "$OUT"
export OMP_NUM_THREADS=2 DP_INTRA_OP_PARALLELISM_THREADS=2 DP_INTER_OP_PARALLELISM_THREADS=1 CUDA_VISIBLE_DEVICES=

for t in $BUDGETS; do
    run="$OUT/forcefit-$t"
    [ -e "$run/loss.csv" ] || "$FORCEFIT" dp "$HERE/input-long.json" -j 2 -q --time-limit "$t" -o "$run" \
        > "$run.log" 2>&1
    # The last validated row: epoch, step, time, E and F on data_3.
    awk -F, -v t="$t" 'NR > 1 && $9 != "" {row = $0} END {split(row, c, ","); printf "forcefit %4d s: epoch %s, step %s, %.1f s, E %.2f meV/atom, F %.1f meV/A\n", t, c[1], c[2], c[3], c[9], c[10]}' "$run/loss.csv"
done

bash "$HERE/deepmd_kit_curve.sh" "$HERE/input-long.json" "$OUT" "$STEPS"
cat "$OUT/deepmd-kit.csv"
