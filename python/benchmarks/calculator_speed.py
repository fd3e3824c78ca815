"""Calculator throughput against calorine's CPUNEP (and deepmd-kit's DP
when given a model), energy + forces + stress, back to back on the same
structures: a 6,750-atom PbTe cell, and a 250-atom cell called many times
(the MD case, which measures the per-call overhead).

    python3 python/benchmarks/calculator_speed.py [--threads 1] [--calls 1000]

Each row gives wall time per call and the process's CPU time per call: on a
quiet machine they agree (one thread); on a busy one the CPU time still
compares the two codes fairly. numpy's BLAS threads are held to one so that
their idle spinning is not counted.
"""

from __future__ import annotations

import argparse
import json
import os
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
from pathlib import Path

import numpy as np
from ase import Atoms

import forcefit

SHARED = Path(__file__).resolve().parents[3] / "shared"


def timed(atoms: Atoms, calc, calls: int) -> tuple[float, float]:
    """Wall and process CPU seconds per energy+forces+stress call (positions
    nudged each call, so nothing is served from ASE's cache)."""
    atoms = atoms.copy()
    atoms.calc = calc
    atoms.get_forces()
    start, cpu = time.perf_counter(), time.process_time()
    for k in range(calls):
        atoms.positions[0, 0] += 1e-6 * (-1) ** k
        atoms.get_potential_energy()
        atoms.get_forces()
        atoms.get_stress()
    return (time.perf_counter() - start) / calls, (time.process_time() - cpu) / calls


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--calls", type=int, default=1000)
    parser.add_argument("--model", default=str(SHARED / "datasets/pbte/nep.txt"), help="a PbTe nep.txt (default: GPUMD's)")
    args = parser.parse_args()
    data = json.loads((SHARED / "oracle/nep/pbte_zbl.json").read_text())
    model = Path(args.model)
    case = data["cases"][0]
    small = Atoms(case["symbols"], positions=case["positions"], cell=case["cell"], pbc=True)
    large = small.repeat((3, 3, 3))
    ours = forcefit.Calculator(model, threads=args.threads)
    rows = []
    try:
        from calorine.calculators import CPUNEP

        theirs = CPUNEP(str(model))
    except ImportError:
        theirs = None
    for name, atoms, calls in (("6750 atoms", large, max(3, args.calls // 200)), ("250 atoms", small, args.calls)):
        t_ours, cpu_ours = timed(atoms, ours, calls)
        row = {
            "case": name,
            "forcefit_s_per_call": t_ours,
            "forcefit_cpu_s_per_call": cpu_ours,
            "forcefit_atoms_per_s": len(atoms) / t_ours,
        }
        if theirs is not None:
            t_theirs, cpu_theirs = timed(atoms, theirs, calls)
            row.update(
                calorine_s_per_call=t_theirs,
                calorine_cpu_s_per_call=cpu_theirs,
                calorine_atoms_per_s=len(atoms) / t_theirs,
                speedup=t_theirs / t_ours,
                cpu_speedup=cpu_theirs / cpu_ours,
            )
        rows.append(row)
    # Per-call overhead: a 2-atom cell is almost all overhead.
    tiny = Atoms("PbTe", positions=[[0, 0, 0], [3.2, 0, 0]], cell=np.eye(3) * 30, pbc=True)
    rows.append({"case": "2 atoms (overhead)", "forcefit_s_per_call": timed(tiny, ours, args.calls)[0]})
    print(json.dumps({"model": str(model), "threads": args.threads, "rows": rows}, indent=1))


if __name__ == "__main__":
    main()
