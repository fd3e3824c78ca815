"""RMSEs of a nep.txt on an extended-XYZ set, computed by NEP_CPU (calorine's
CPUNEP, float64): energy per atom (meV/atom), force components (meV/Å),
virial per atom (meV/atom), as GPUMD reports them.

    python3 eval_nep_cpu.py nep.txt test.xyz
"""
import sys

import numpy as np
from ase.io import read
from calorine.calculators import CPUNEP

model, data = sys.argv[1], sys.argv[2]
de, df, dv = [], [], []
for atoms in read(data, index=":"):
    n = len(atoms)
    # GPUMD's files may capitalise the keys (Energy=, Virial=): ASE then
    # keeps them as plain info and arrays.
    info = {k.lower(): v for k, v in atoms.info.items()}
    e_ref = info["energy"]
    f_ref = atoms.arrays.get("force", atoms.arrays.get("forces"))
    v_ref = info.get("virial")
    calc = CPUNEP(model)
    atoms.calc = calc
    de.append((atoms.get_potential_energy() - e_ref) / n)
    df.extend((atoms.get_forces() - f_ref).ravel())
    if v_ref is not None:
        w = -atoms.get_stress(voigt=False) * atoms.get_volume()
        d = (w - np.reshape(v_ref, (3, 3))) / n
        # GPUMD's six components: xx yy zz xy yz zx.
        dv.extend([d[0, 0], d[1, 1], d[2, 2], d[0, 1], d[1, 2], d[2, 0]])


def rmse(x):
    return 1000 * float(np.sqrt(np.mean(np.square(x)))) if len(x) else float("nan")


print(f"E {rmse(de):.2f} meV/atom  F {rmse(df):.1f} meV/A  V {rmse(dv):.2f} meV/atom"
      f"  ({len(de)} structures)")
