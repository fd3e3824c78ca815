#!/usr/bin/env bash
# Fine-tuning against training from scratch on MoSi2N4 (see README.md).
#   bash examples/benchmarks/mosi2n4-fine-tune/run.sh [WORKDIR]
# Needs ../shared beside the repository and a release build.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
data="$root/../shared/datasets/mosi2n4"
exe="$root/target/release/forcefit"
work=${1:-/tmp/mosi2n4-fine-tune}
[ -f "$data/train.xyz" ] || { echo "skipping: $data is absent"; exit 0; }
[ -x "$exe" ] || (cd "$root" && cargo build --release)
mkdir -p "$work"
python3 "$here/split.py" "$data/train.xyz" "$work" 0.5 1

arch="type 3 Mo Si N
cutoff 6 4
n_max 4 4
basis_size 12 12
l_max 4 2 0
neuron 30
lambda_v 0.1"
run() { # name, training part, time limit, extra nep.in lines
    local d="$work/$1"
    mkdir -p "$d"
    ln -sf "$work/$2.xyz" "$d/train.xyz"
    ln -sf "$data/test.xyz" "$d/test.xyz"
    printf '%s\ntime_limit %s\n%s\n' "$arch" "$3" "${4:-}" > "$d/nep.in"
    # A finished run is kept: the study can be continued after a stop.
    [ -f "$d/summary.json" ] || /usr/bin/time -f "$1: %e s wall" \
        "$exe" nep "$d" -q -j "${THREADS:-2}" > "$d/stdout.txt"
    python3 -c "import json,sys; d=json.load(open(sys.argv[1])); v=d['test']; print(sys.argv[2], d['epochs'], 'epochs, test', {k: round(x, 2) for k, x in v.items() if k.endswith('rmse_mev_per_atom') or k.endswith('rmse_mev_per_angstrom')})" \
        "$d/summary.json" "$1"
}
run base-A A 150
run fine-tune-B B 60 "fine_tune $work/base-A/nep.txt"
run scratch-B-60 B 60
run scratch-all-210 all 210
