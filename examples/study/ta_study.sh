#!/usr/bin/env bash
# Smith et al.'s Table I on a public set: NEP models for the SNAP tantalum
# data trained on energies only and on energies plus forces, several seeds,
# one fixed random 90/10 split (split_seed 2024). Writes the configurations
# and runs to examples/study/out/ and prints a Markdown table of the test
# RMSEs (mean ± standard deviation over seeds).
#   bash examples/study/ta_study.sh [forcefit binary]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
bin=${1:-$here/../../target/release/forcefit}
data=$here/../../../shared/datasets/ta-snap/ta.xyz
[ -f "$data" ] || { echo "skipping: $data not found"; exit 0; }
out=$here/out
mkdir -p "$out"
for mode in energy forces; do
    lambda_f=$([ "$mode" = forces ] && echo 1.0 || echo 0.0)
    for seed in 1 2 3; do
        name=$mode-seed$seed
        cat > "$out/$name.toml" <<TOML
[data]
train = "$data"
validation_fraction = 0.1
split_seed = 2024

[model]
type = ["Ta"]
cutoff = [5.0, 4.0]
n_max = [4, 4]
basis_size = [8, 8]
l_max = [4, 2, 0]
neuron = 20

[loss]
lambda_e = 1.0
lambda_f = $lambda_f
lambda_v = 0.0

[optimizer]
lr = 0.002
batch_size = 8

[train]
epochs = 1000
seed = $seed
output_dir = "$name"
TOML
        "$bin" train -q "$out/$name.toml" > "$out/$name.log"
    done
done
python3 - "$out" <<'PY'
import json, statistics, sys
out = sys.argv[1]
print("| training data | test E RMSE (meV/atom) | test F RMSE (meV/Å) |")
print("|---|---|---|")
for mode, label in (("energy", "energies only"), ("forces", "energies + forces")):
    e, f = [], []
    for seed in (1, 2, 3):
        s = json.load(open(f"{out}/{mode}-seed{seed}/summary.json"))["test"]
        e.append(s["energy_rmse_mev_per_atom"]); f.append(s["force_rmse_mev_per_angstrom"])
    fmt = lambda v: f"{statistics.mean(v):.1f} ± {statistics.stdev(v):.1f} ({', '.join(f'{x:.1f}' for x in v)})"
    print(f"| {label} | {fmt(e)} | {fmt(f)} |")
PY
