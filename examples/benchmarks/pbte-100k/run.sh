#!/usr/bin/env bash
# Prediction throughput on one 100,000-atom PbTe cell: forcefit on 1 and 2
# threads against NEP_CPU (calorine's CPUNEP) in the same run.
#   bash examples/benchmarks/pbte-100k/run.sh [WORKDIR]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
data="$root/../shared/datasets/pbte"
exe="$root/target/release/forcefit"
work=${1:-/tmp/pbte-100k}
[ -f "$data/train.xyz" ] || { echo "skipping: $data is absent"; exit 0; }
[ -x "$exe" ] || (cd "$root" && cargo build --release)
mkdir -p "$work"
python3 - "$data/train.xyz" "$work/pbte100k.xyz" <<'PY'
import sys
from ase.io import read, write
a = read(sys.argv[1], index=0).repeat((10, 8, 5))  # 250 atoms x 400
a.calc = None
write(sys.argv[2], a, format="extxyz")
print(len(a), "atoms")
PY
for j in 1 2; do
    for k in 1 2 3; do
        /usr/bin/time -f "forcefit predict -j $j: %e s wall, %M KB" \
            "$exe" predict -j "$j" -m "$data/nep.txt" "$work/pbte100k.xyz" -o "$work/forcefit-$j.xyz" 2>&1 | grep wall
    done
done
cmp "$work/forcefit-1.xyz" "$work/forcefit-2.xyz" && echo "1 and 2 threads: identical files"
OMP_NUM_THREADS=1 python3 - "$data/nep.txt" "$work/pbte100k.xyz" "$work/forcefit-1.xyz" <<'PY'
import sys, time
import numpy as np
from ase.io import read
from calorine.calculators import CPUNEP
model, cell, ours = sys.argv[1:]
a = read(cell)
for k in range(2):
    t = time.perf_counter()
    a.calc = CPUNEP(model)
    e, f = a.get_potential_energy(), a.get_forces()
    print(f"NEP_CPU (calorine CPUNEP): {time.perf_counter() - t:.2f} s (setup, energy, forces, virial)")
b = read(ours)
print(f"energy difference {abs(b.get_potential_energy() - e):.2e} eV, "
      f"max force difference {np.abs(b.get_forces() - f).max():.2e} eV/A")
PY
