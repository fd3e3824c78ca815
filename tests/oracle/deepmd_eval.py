"""Evaluate a deepmd-kit model file with deepmd-kit's numpy (dpmodel) backend.

Reads a JSON request on stdin:

    {"model": "path.yaml",
     "frames": [{"coord": [x0, y0, z0, ...], "cell": [9 numbers] or null, "atype": [...]}],
     "fd_forces": {"frame": 0, "atoms": [0, 5], "step": 1e-4},   (optional)
     "stats": {"frames": [...same form...], "energies": [...]}}    (optional)

and prints JSON: per frame "energy" and "atomic_energy"; "fd_forces" as
-dE/dr by central differences of deepmd-kit's energies (its numpy backend
returns no forces); "davg"/"dstd" computed by deepmd-kit's own descriptor
statistics on the stats frames, and "out_bias"/"out_std" by its
least-squares rule. Used by tests/deepmd_python_oracle.rs.
"""

import json
import sys

import numpy as np
from deepmd.dpmodel.descriptor.se_e2_a import DescrptSeA
from deepmd.dpmodel.utils.serialization import load_dp_model
from deepmd.infer import DeepPot
from deepmd.utils.out_stat import compute_stats_from_redu


def evaluate(dp, frames):
    out = []
    for fr in frames:
        coord = np.array(fr["coord"], dtype=np.float64).reshape(1, -1)
        cell = None if fr["cell"] is None else np.array(fr["cell"], dtype=np.float64).reshape(1, 9)
        e, _, _, ae, _ = dp.eval(coord, cell, fr["atype"], atomic=True)
        out.append({"energy": float(e.ravel()[0]), "atomic_energy": ae.ravel().tolist()})
    return out


def fd_forces(dp, frame, atoms, step):
    coord = np.array(frame["coord"], dtype=np.float64).reshape(-1, 3)
    cell = None if frame["cell"] is None else np.array(frame["cell"]).reshape(1, 9)
    batch = []
    for i in atoms:
        for x in range(3):
            for sign in (1.0, -1.0):
                c = coord.copy()
                c[i, x] += sign * step
                batch.append(c.ravel())
    batch = np.array(batch)
    cells = None if cell is None else np.repeat(cell, len(batch), axis=0)
    e = dp.eval(batch, cells, frame["atype"])[0].ravel()
    return [[-(e[6 * k + 2 * x] - e[6 * k + 2 * x + 1]) / (2 * step) for x in range(3)] for k in range(len(atoms))]


def statistics(model_path, stats, ntypes):
    data = load_dp_model(model_path)
    desc = DescrptSeA.deserialize(data["model"]["descriptor"])
    systems = []
    for fr in stats["frames"]:
        atype = np.array(fr["atype"], dtype=np.int64).reshape(1, -1)
        systems.append(
            {
                "coord": np.array(fr["coord"], dtype=np.float64).reshape(1, -1),
                "atype": atype,
                "box": np.array(fr["cell"], dtype=np.float64).reshape(1, 9),
                "natoms": np.concatenate([[atype.size, atype.size], np.bincount(atype.ravel(), minlength=ntypes)]).reshape(1, -1),
            }
        )
    desc.compute_input_stats(systems)
    counts = np.array([s["natoms"][0, 2:] for s in systems], dtype=np.float64)
    energies = np.array(stats["energies"], dtype=np.float64).reshape(-1, 1)
    bias, std = compute_stats_from_redu(energies, counts)
    return {
        "davg": np.asarray(desc.davg).ravel().tolist(),
        "dstd": np.asarray(desc.dstd).ravel().tolist(),
        "out_bias": np.asarray(bias).ravel().tolist(),
        "out_std": np.asarray(std).ravel().tolist(),
    }


def main():
    req = json.load(sys.stdin)
    dp = DeepPot(req["model"])
    result = {"frames": evaluate(dp, req["frames"])}
    if req.get("fd_forces"):
        f = req["fd_forces"]
        result["fd_forces"] = fd_forces(dp, req["frames"][f["frame"]], f["atoms"], f["step"])
    if req.get("stats"):
        result.update(statistics(req["model"], req["stats"], dp.get_ntypes()))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
