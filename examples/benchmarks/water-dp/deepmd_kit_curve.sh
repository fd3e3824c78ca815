#!/usr/bin/env bash
# deepmd-kit's side of the water benchmarks (run.sh, budgets.sh): `dp --pt
# train INPUT` in OUT/deepmd-kit for STEPS steps (a checkpoint every
# save_freq steps), then `dp --pt test` on every checkpoint over all of
# data_3, written to OUT/deepmd-kit.csv (step, time_s, E, F). Skipped when
# that file exists. Run from the repository root; DP names the dp command.
#
#     bash examples/benchmarks/water-dp/deepmd_kit_curve.sh INPUT OUT STEPS
set -euo pipefail
INPUT=$1 OUT=$2 STEPS=$3
DP=${DP:-dp}
[ -e "$OUT/deepmd-kit.csv" ] && exit 0
export OMP_NUM_THREADS=2 DP_INTRA_OP_PARALLELISM_THREADS=2 DP_INTER_OP_PARALLELISM_THREADS=1 CUDA_VISIBLE_DEVICES=
run="$OUT/deepmd-kit"
mkdir -p "$run"
sed "s#\.\./shared#$(cd .. && pwd)/shared#g" "$INPUT" > "$run/input.json"
(cd "$run" && date +%s.%N > start && exec "$DP" --pt train input.json > train.log 2>&1) &
pid=$!
while kill -0 $pid 2>/dev/null; do
    [ -e "$run/model.ckpt-$STEPS.pt" ] && { sleep 3; kill $pid; }
    sleep 1
done
wait $pid || true
python3 benches/peers/deepmd_test_checkpoints.py "$run" ../shared/datasets/water-deepmd/data_3 \
    > "$OUT/deepmd-kit.csv"
