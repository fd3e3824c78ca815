"""forcefit.Calculator against deepmd-kit's ASE calculator `DP` (PyTorch
backend, the same se_e2_a model converted with `dp convert-backend
deeppot_sea.yaml sea.pth`) on a water frame of 192 atoms, one thread each,
energy + forces + stress through ASE, back to back.

    python3 python/benchmarks/deepmd_speed.py ../shared sea.pth [calls]
"""

import os
import sys

# One thread for PyTorch too (set before deepmd-kit imports it).
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("DP_INTRA_OP_PARALLELISM_THREADS", "1")
os.environ.setdefault("DP_INTER_OP_PARALLELISM_THREADS", "1")

import numpy as np  # noqa: E402
from ase import Atoms  # noqa: E402
from deepmd.calculator import DP  # noqa: E402

import forcefit  # noqa: E402
from calculator_speed import timed  # noqa: E402  (this directory: the same timing loop)


def water_frame(shared: str) -> Atoms:
    """The first frame of the shared water set's data_3."""
    d = os.path.join(shared, "datasets/water-deepmd/data_3")
    types = np.loadtxt(os.path.join(d, "type.raw"), dtype=int)
    names = open(os.path.join(d, "type_map.raw")).read().split()
    first = sorted(s for s in os.listdir(d) if s.startswith("set."))[0]
    coord = np.load(os.path.join(d, first, "coord.npy"))[0].reshape(-1, 3)
    box = np.load(os.path.join(d, first, "box.npy"))[0].reshape(3, 3)
    return Atoms([names[t] for t in types], positions=coord, cell=box, pbc=True)


def main() -> None:
    shared, pth = sys.argv[1], sys.argv[2]
    calls = int(sys.argv[3]) if len(sys.argv) > 3 else 200
    atoms = water_frame(shared)
    yaml = os.path.join(shared, "oracle/deepmd/deeppot_sea.yaml")
    ours, ours_cpu = timed(atoms, forcefit.Calculator(yaml, threads=1), calls)
    theirs, theirs_cpu = timed(atoms, DP(pth), calls)
    a, b = atoms.copy(), atoms.copy()
    a.calc, b.calc = forcefit.Calculator(yaml, threads=1), DP(pth)
    de = abs(a.get_potential_energy() - b.get_potential_energy())
    df = np.abs(a.get_forces() - b.get_forces()).max()
    print(
        f"{len(atoms)} atoms: forcefit {ours * 1e3:.2f} ms/call, deepmd-kit DP "
        f"{theirs * 1e3:.2f} ms/call, ratio {theirs / ours:.1f}x (process CPU time: "
        f"{ours_cpu * 1e3:.2f} against {theirs_cpu * 1e3:.2f} ms, {theirs_cpu / ours_cpu:.1f}x); |dE| {de:.2e} eV, "
        f"max |dF| {df:.2e} eV/A"
    )


if __name__ == "__main__":
    main()
