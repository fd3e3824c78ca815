#!/usr/bin/env bash
# The cost of the MPI path on one machine: time per epoch of 1 process × 2
# threads against 2 MPI ranks × 1 thread (and 1 × 1, the compute per step
# the scaling model starts from), on MoSi2N4 and PbTe with Adam and FEKF,
# and the bytes each rank sends per step. Run from the repository root
# after `cargo build --release --features mpi`:
#
#     bash examples/benchmarks/mpi/run.sh [OUT]     # default OUT: /tmp/mpi-bench
#
# Writes OUT/results.jsonl (one line per run); scaling.py turns it into the
# table and plot of docs/cluster.md. Takes about 10 minutes; the machine
# should be otherwise idle. Needs ../shared next to the repository.
set -euo pipefail
OUT=${1:-/tmp/mpi-bench}
FORCEFIT=$(pwd)/target/release/forcefit
SHARED=$(cd .. && pwd)/shared
MPIRUN="mpirun --allow-run-as-root --oversubscribe"
mkdir -p "$OUT"
: > "$OUT/results.jsonl"

# One run: measure() RUN NAME LAYOUT after the run wrote RUN/out.
measure() {
    python3 - "$@" >> "$OUT/results.jsonl" <<'PY'
import csv, json, sys
run, name, layout = sys.argv[1:]
rows = list(csv.DictReader(open(f"{run}/out/loss.csv")))
summary = json.load(open(f"{run}/out/summary.json"))
params = len(json.load(open(f"{run}/out/checkpoint.json"))["params"])
# Epoch 1 carries the start-up; time the epochs after it.
t = [float(r["time_s"]) for r in rows]
steps = [int(r["step"]) for r in rows]
comm = summary.get("communication") or {}
kalman = summary.get("kalman") or {}
# A run shorter than two epochs (water's Kalman steps): time per step.
whole = len(rows) > 1
print(json.dumps({
    "case": name, "layout": layout, "epochs": len(rows), "params": params,
    "s_per_epoch": (t[-1] - t[0]) / (len(t) - 1) if whole else None,
    "s_per_step": (t[-1] - t[0]) / (steps[-1] - steps[0]) if whole else t[-1] / steps[-1],
    "steps_per_epoch": (steps[-1] - steps[0]) / (len(rows) - 1) if whole else None,
    "bytes_per_step": comm.get("bytes_per_step"),
    "collectives_per_step": comm.get("collectives_per_step"),
    "kalman_ms_per_step": (1e3 * kalman["timing"]["kalman_s"] / kalman["timing"]["steps"]) if kalman else None,
}))
PY
    tail -1 "$OUT/results.jsonl"
}

launch() {
    case $1 in
        1x1) shift; "$FORCEFIT" "$@" -q -j1 ;;
        1x2) shift; "$FORCEFIT" "$@" -q -j2 ;;
        2x1) shift; $MPIRUN -np 2 "$FORCEFIT" "$@" -q -j1 ;;
    esac
}

# name, benchmark config, epochs
cases="mosi2n4-adam:mosi2n4-adam.toml:40 mosi2n4-fekf32:mosi2n4-fekf32.toml:8 \
pbte-adam:pbte.toml:30 pbte-fekf8:pbte-fekf8.toml:8"

for case in $cases; do
    IFS=: read -r name toml epochs <<< "$case"
    for layout in 1x1 1x2 2x1; do
        run="$OUT/$name-$layout"
        rm -rf "$run"
        mkdir -p "$run"
        # The benchmark's model and optimizer; a fixed number of epochs,
        # validation only at the end.
        sed -e "s#\.\./\.\./\.\./shared#$SHARED#g" \
            -e "s#^epochs = .*#epochs = $epochs#" \
            -e "/^time_limit/d" -e "/^validate_every/d" \
            -e "s#^output_dir = .*#output_dir = \"$run/out\"\nvalidate_every = 100000#" \
            "examples/benchmarks/$toml" > "$run/run.toml"
        launch "$layout" train "$run/run.toml" > "$run/log" 2>&1
        measure "$run" "$name" "$layout"
    done
done

# Water, deepmd-kit's se_e2_a recipe through `forcefit dp` (its input.json),
# 60 s of FEKF (batch 4) and of Adam (batch 4).
for opt in fekf adam; do
    for layout in 1x1 1x2 2x1; do
        run="$OUT/water-$opt-$layout"
        rm -rf "$run"
        mkdir -p "$run"
        sed "s#\.\./shared#$SHARED#g" examples/benchmarks/water-dp/input.json > "$run/input.json"
        launch "$layout" dp "$run/input.json" --optimizer "$opt" --batch-size 4 \
            --time-limit 60 --output-dir "$run/out" > "$run/log" 2>&1
        measure "$run" "water-$opt" "$layout"
    done
done
