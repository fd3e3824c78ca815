#!/usr/bin/env bash
# deepmd-kit's Kalman filter (LKF) against forcefit's FEKF on the FEKF
# paper's water model: error after equal steps and time per step.
# input-lkf.json (se_e2_a [25, 25, 25] / [50, 50, 50], LKF with blocks of
# 10,240, batch 4, 40 steps, train on data_0-2) is run by
#
#   deepmd-kit: `dp --pt train`, a checkpoint every 5 steps, then
#               `dp --pt test` of each on all 80 frames of data_3;
#   forcefit:   `forcefit dp --optimizer fekf --batch-size 4 -j 2`, which
#               validates on all 80 frames of data_3 every 5 steps (the
#               input's disp_freq and validation_data make its lcurve.out
#               lines; the values come at full precision from its
#               checkpoint.json).
#
# Both on 2 threads, each timed by step_clock.py (wall and process CPU time
# at every learning-curve line). deepmd-kit's checkpoints, which hold the
# filter's 3.7 GB of covariance, are cut to the model's weights as they
# appear, with deepmd-kit stopped meanwhile; their write is timed so that
# plot_lkf.py can leave it out. Run from the repository root:
#
#     bash examples/benchmarks/water-dp/lkf.sh [OUT]     # default OUT: /tmp/water-lkf
#     python3 examples/benchmarks/water-dp/plot_lkf.py [OUT]
#
# Writes OUT/deepmd-kit.csv and OUT/forcefit.csv (step, wall_s, cpu_s, the
# checkpoint write's save_wall_s and save_cpu_s, E meV/atom, F meV/Å; a last
# row `end` for the whole command). A side whose CSV exists is skipped,
# except that giving FORCEFIT redoes forcefit's side:
#
#     FORCEFIT=target/release/forcefit bash examples/benchmarks/water-dp/lkf.sh OUT
#
# deepmd-kit's side takes 30-90 minutes on 2 cores (its LKF step is 35-70
# s of CPU time here) and 6.6 GiB of memory; forcefit's a few minutes.
# Needs `dp` (deepmd-kit 3.2, PyTorch backend) on PATH or DP=..., and a
# release build of forcefit.
set -euo pipefail
OUT=${1:-/tmp/water-lkf}
HERE=examples/benchmarks/water-dp
REDO_FORCEFIT=${FORCEFIT:+1}
FORCEFIT=$(realpath "$(command -v "${FORCEFIT:-target/release/forcefit}")")
DP=$(realpath "$(command -v "${DP:-dp}")")
export DP
CLOCK=$(realpath "$HERE/step_clock.py")
JOIN=$(realpath "$HERE/lkf_join.py")
mkdir -p "$OUT"
OUT=$(realpath "$OUT")
export OMP_NUM_THREADS=2 DP_INTRA_OP_PARALLELISM_THREADS=2 DP_INTER_OP_PARALLELISM_THREADS=1 CUDA_VISIBLE_DEVICES=
sed "s#\.\./shared#$(cd .. && pwd)/shared#g" "$HERE/input-lkf.json" > "$OUT/input.json"
VALID=$(cd .. && pwd)/shared/datasets/water-deepmd/data_3

if [ ! -e "$OUT/deepmd-kit.csv" ]; then
    run="$OUT/deepmd-kit"
    rm -rf "$run" && mkdir -p "$run"
    "$DP" --version > "$run/version" 2>&1 || true
    (cd "$run" && date +%s.%N > start &&
        python3 "$CLOCK" --slim . lcurve.out clock.csv -- "$DP" --pt train ../input.json > train.log 2>&1)
    python3 benches/peers/deepmd_test_checkpoints.py "$run" "$VALID" > "$run/test.csv"
    python3 "$JOIN" deepmd-kit "$run" > "$OUT/deepmd-kit.csv.part"
    mv "$OUT/deepmd-kit.csv.part" "$OUT/deepmd-kit.csv"
fi

if [ -n "$REDO_FORCEFIT" ] || [ ! -e "$OUT/forcefit.csv" ]; then
    run="$OUT/forcefit"
    rm -rf "$run" "$OUT/forcefit.csv" && mkdir -p "$run"
    "$FORCEFIT" --version > "$run/version" 2>&1 || true
    python3 "$CLOCK" "$run/lcurve.out" "$run/clock.csv" -- \
        "$FORCEFIT" dp "$OUT/input.json" -j 2 -q --optimizer fekf --batch-size 4 -o "$run" \
        > "$run/train.log" 2>&1
    python3 "$JOIN" forcefit "$run" > "$OUT/forcefit.csv.part"
    mv "$OUT/forcefit.csv.part" "$OUT/forcefit.csv"
fi
cat "$OUT/deepmd-kit.csv" "$OUT/forcefit.csv"
