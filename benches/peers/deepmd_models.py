#!/usr/bin/env python3
"""Build deepmd-kit se_e2_a energy models and reference predictions for forcefit.

This is the deepmd-kit side of forcefit's side-by-side benchmark and oracle.
It builds two randomly initialised se_e2_a energy models through deepmd-kit's
own PyTorch code path (``deepmd.pt.model.model.get_model`` on a model
definition dict, exactly what ``dp --pt train`` does), computes the data
statistics (descriptor davg/dstd and the per-type energy bias) from the water
training systems data_0..2 with deepmd-kit's own stat routines
(``DpLoaderSet`` + ``make_stat_input`` + ``model.compute_or_load_stat``, as in
``deepmd/pt/train/training.py``), and writes for each model:

* ``<name>.pth``   TorchScript model for ``deepmd.infer.DeepPot`` (PyTorch backend),
                   written by ``deepmd.pt.utils.serialization.deserialize_to_file``
                   (the code path of ``dp convert-backend x.yaml x.pth``)
* ``<name>.yaml``  deepmd-kit v3 serialised model (same layout as
                   ``shared/oracle/deepmd/deeppot_sea.yaml``), written by
                   ``deepmd.dpmodel.utils.serialization.save_dp_model``
                   (the code path of ``dp convert-backend x.pth x.yaml``)
* ``<name>_reference.json``  deepmd-kit's predictions (PyTorch backend,
                   float64, via ``DeepPot.eval(..., atomic=True)``) for a few
                   water frames: coords, box, atype, energy, atomic energies,
                   forces, virial, atomic virial, plus descriptor rows for a
                   few atoms and neighbour counts.  The energies are
                   cross-checked against the numpy (dpmodel) backend
                   evaluating the ``.yaml`` file.

Models (type_map [O, H], rcut 6.0, rcut_smth 0.5, sel [46, 92],
axis_neuron 16, type_one_side true as in deepmd-kit's examples/water
input, descriptor resnet_dt false, fitting resnet_dt true, precision float64,
seed 1 for both networks like the example):

* ``water_se_e2_a``  embedding [25, 50, 100], fitting [240, 240, 240]
                     (deepmd-kit's examples/water/se_e2_a size)
* ``fekf_se_e2_a``   embedding [25, 25, 25], fitting [50, 50, 50]
                     (the small FEKF-paper size)

Run (needs the virtualenv with torch; about 3 min on one thread, most of it
writing and re-reading the 40 MB yaml of the large model):

    /work/venv-dp/bin/python benches/peers/deepmd_models.py /tmp/dp-models

from /work/main, or with options:

    /work/venv-dp/bin/python benches/peers/deepmd_models.py OUT_DIR \
        --data /work/shared/datasets/water-deepmd --frames 3 --stat-nbatch 20

Install of the virtualenv (once; ~3 min, 5.1 GB because PyPI's torch wheel
pulls the CUDA runtime packages):

    python3 -m venv /work/venv-dp
    /work/venv-dp/bin/pip install deepmd-kit==3.2.0 torch==2.11.0 mpich e3nn
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import sys
import time
from pathlib import Path

# Keep CPU use modest while building: deepmd-kit reads these at import time.
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("DP_INTRA_OP_PARALLELISM_THREADS", "1")
os.environ.setdefault("DP_INTER_OP_PARALLELISM_THREADS", "1")

import numpy as np  # noqa: E402

DEFAULT_DATA = "/work/shared/datasets/water-deepmd"

COMMON_DESCRIPTOR = {
    "type": "se_e2_a",
    "sel": [46, 92],
    "rcut_smth": 0.5,
    "rcut": 6.0,
    "resnet_dt": False,
    "axis_neuron": 16,
    "type_one_side": True,
    "precision": "float64",
    "seed": 1,
}
COMMON_FITTING = {
    "type": "ener",
    "resnet_dt": True,
    "precision": "float64",
    "seed": 1,
}

MODELS = {
    "water_se_e2_a": {"neuron": [25, 50, 100], "fitting": [240, 240, 240]},
    "fekf_se_e2_a": {"neuron": [25, 25, 25], "fitting": [50, 50, 50]},
}


def model_params(name: str, stat_nbatch: int) -> dict:
    spec = MODELS[name]
    desc = dict(COMMON_DESCRIPTOR, neuron=list(spec["neuron"]))
    fit = dict(COMMON_FITTING, neuron=list(spec["fitting"]))
    return {
        "type_map": ["O", "H"],
        "descriptor": desc,
        "fitting_net": fit,
        "data_stat_nbatch": stat_nbatch,
    }


def load_frames(data: Path, system: str, nframes: int):
    """First ``nframes`` frames of a DeePMD npy system (float32 -> float64)."""
    sysdir = data / system
    setdir = sorted(sysdir.glob("set.*"))[0]
    coord = np.load(setdir / "coord.npy").astype(np.float64)[:nframes]
    box = np.load(setdir / "box.npy").astype(np.float64)[:nframes]
    energy = np.load(setdir / "energy.npy").astype(np.float64)[:nframes]
    atype = np.loadtxt(sysdir / "type.raw", dtype=np.int64).reshape(-1)
    return coord.reshape(nframes, -1, 3), box.reshape(nframes, 9), atype, energy


def sheared_copy(coord: np.ndarray, box: np.ndarray):
    """The same configuration in a triclinic (sheared) cell.

    Fractional coordinates are kept and the cell rows are sheared, so the
    structure is a valid periodic configuration with a non-orthogonal cell.
    Cell rows are the lattice vectors (deepmd-kit's convention:
    ``box.reshape(3, 3)[i]`` is lattice vector i, positions r = frac @ box).
    """
    cell = box.reshape(3, 3)
    frac = coord @ np.linalg.inv(cell)
    shear = np.array([[1.0, 0.0, 0.0], [0.12, 1.0, 0.0], [-0.07, 0.09, 1.0]])
    new_cell = shear @ cell
    return frac @ new_cell, new_cell.reshape(9)


def neighbour_counts(coord, box, atype, rcut, ntypes=2):
    """Max/mean number of neighbours of each type within rcut (all images)."""
    cell = box.reshape(3, 3)
    inv = np.linalg.inv(cell)
    counts = np.zeros((len(atype), ntypes), dtype=np.int64)
    # minimum-image is enough only if rcut < half the perpendicular width;
    # enumerate images explicitly to be safe.
    vol = abs(np.linalg.det(cell))
    widths = [vol / np.linalg.norm(np.cross(cell[(i + 1) % 3], cell[(i + 2) % 3])) for i in range(3)]
    nimg = [int(np.ceil(rcut / w)) for w in widths]
    shifts = np.array(
        [
            [a, b, c]
            for a in range(-nimg[0], nimg[0] + 1)
            for b in range(-nimg[1], nimg[1] + 1)
            for c in range(-nimg[2], nimg[2] + 1)
        ],
        dtype=np.float64,
    ) @ cell
    frac = coord @ inv
    wrapped = (frac - np.floor(frac)) @ cell
    for i in range(len(atype)):
        d = wrapped[None, :, :] + shifts[:, None, :] - wrapped[i]
        r = np.linalg.norm(d, axis=-1)
        within = (r < rcut) & (r > 1e-10)
        for t in range(ntypes):
            counts[i, t] = int(within[:, atype == t].sum())
    return counts


def build_model(name: str, data: Path, stat_nbatch: int, seed: int):
    import torch

    from deepmd.pt.loss import EnergyStdLoss
    from deepmd.pt.model.model import get_model
    from deepmd.pt.utils.dataloader import DpLoaderSet
    from deepmd.pt.utils.stat import make_stat_input

    params = model_params(name, stat_nbatch)
    model = get_model(copy.deepcopy(params)).to("cpu")
    systems = [str(data / f"data_{i}") for i in range(3)]
    loader = DpLoaderSet(systems, 1, params["type_map"], seed=seed)
    # As in dp train: the loss declares which labels the data must provide
    # (energy, force); without this the stat sample has no energy and the
    # energy bias stays zero.  Prefactors are the example input's.
    loss = EnergyStdLoss(
        starter_learning_rate=1e-3, start_pref_e=0.02, limit_pref_e=1.0, start_pref_f=1000.0, limit_pref_f=1.0
    )
    loader.add_data_requirement(loss.label_requirement)
    t0 = time.perf_counter()
    sampled = make_stat_input(loader.systems, loader.dataloaders, stat_nbatch)
    model.compute_or_load_stat(sampled_func=lambda: sampled, stat_file_path=None)
    nstat = sum(int(s["coord"].shape[0]) for s in sampled)
    print(f"[{name}] stat sample keys: {sorted(sampled[0])}", file=sys.stderr)
    print(f"[{name}] statistics from {nstat} frames of data_0..2 in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
    model.eval()
    data_dict = {
        "backend": "PyTorch",
        "pt_version": str(torch.__version__),
        "model": model.serialize(),
        "model_def_script": params,
        "@variables": {},
    }
    return data_dict


def write_model_files(name: str, data_dict: dict, out: Path):
    from deepmd.dpmodel.utils.serialization import save_dp_model
    from deepmd.pt.utils.serialization import deserialize_to_file

    pth = out / f"{name}.pth"
    yml = out / f"{name}.yaml"
    deserialize_to_file(str(pth), copy.deepcopy(data_dict))
    save_dp_model(str(yml), copy.deepcopy(data_dict))
    return pth, yml


def reference_frames(data: Path, nframes: int):
    coord, box, atype, energy = load_frames(data, "data_3", nframes)
    frames = []
    for i in range(nframes):
        frames.append({"label": f"data_3 set.000 frame {i}", "coord": coord[i], "box": box[i]})
    sc, sb = sheared_copy(coord[0], box[0])
    frames.append({"label": "data_3 frame 0 in a sheared (triclinic) cell, fractional coords kept", "coord": sc, "box": sb})
    return frames, atype


def predict(name: str, pth: Path, yml: Path, frames, atype, rcut: float):
    from deepmd.infer import DeepPot

    dp_pt = DeepPot(str(pth))
    dp_np = DeepPot(str(yml))  # numpy (dpmodel) backend: energies only
    probe_atoms = [0, 1, 64, 65]  # two O, two H
    out = []
    for fr in frames:
        c = fr["coord"].reshape(1, -1, 3)
        b = fr["box"].reshape(1, 9)
        e, f, v, ae, av = dp_pt.eval(c, b, atype, atomic=True)
        e_np, _, _, ae_np, _ = dp_np.eval(c, b, atype, atomic=True)
        desc = dp_pt.eval_descriptor(c, b, atype)
        nn = neighbour_counts(fr["coord"], fr["box"], atype, rcut)
        rec = {
            "label": fr["label"],
            "natoms": int(len(atype)),
            "coord": fr["coord"].reshape(-1).tolist(),
            "box": fr["box"].reshape(-1).tolist(),
            "atype": atype.tolist(),
            "energy": float(e.reshape(-1)[0]),
            "atomic_energy": ae.reshape(-1).tolist(),
            "force": f.reshape(-1).tolist(),
            "virial": v.reshape(-1).tolist(),
            "atomic_virial": av.reshape(-1).tolist(),
            "descriptor_atoms": probe_atoms,
            "descriptor": desc.reshape(len(atype), -1)[probe_atoms].tolist(),
            "max_neighbours_per_type": nn.max(axis=0).tolist(),
            "mean_neighbours_per_type": nn.mean(axis=0).tolist(),
            "numpy_backend_energy": float(e_np.reshape(-1)[0]),
            "numpy_backend_max_abs_atomic_energy_diff": float(np.abs(ae_np.reshape(-1) - ae.reshape(-1)).max()),
        }
        out.append(rec)
        print(
            f"[{name}] {fr['label']}: E = {rec['energy']:.10f} eV "
            f"(numpy backend {rec['numpy_backend_energy']:.10f}), "
            f"|F|max = {np.abs(f).max():.4e}, virial diag = {v.reshape(9)[[0, 4, 8]].round(6).tolist()}, "
            f"max nbrs O/H = {rec['max_neighbours_per_type']}",
            file=sys.stderr,
        )
    return out


def summarise_stats(data_dict: dict):
    m = data_dict["model"]
    davg = np.asarray(m["descriptor"]["@variables"]["davg"])
    dstd = np.asarray(m["descriptor"]["@variables"]["dstd"])
    out_bias = np.asarray(m["@variables"]["out_bias"]).reshape(-1)
    bias_atom_e = np.asarray(m["fitting"]["@variables"]["bias_atom_e"]).reshape(-1)
    return {
        "davg_first_slot_per_type": davg[:, 0, :].tolist(),
        "dstd_first_slot_per_type": dstd[:, 0, :].tolist(),
        "davg_constant_over_slots": bool(np.all(davg == davg[:, :1, :])),
        "dstd_constant_over_slots": bool(np.all(dstd == dstd[:, :1, :])),
        "out_bias": out_bias.tolist(),
        "out_std": np.asarray(m["@variables"]["out_std"]).reshape(-1).tolist(),
        "fitting_bias_atom_e": bias_atom_e.tolist(),
    }


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("out", nargs="?", default="/tmp/dp-models", help="output directory (default /tmp/dp-models)")
    ap.add_argument("--data", default=DEFAULT_DATA, help="water-deepmd folder")
    ap.add_argument("--frames", type=int, default=3, help="number of data_3 frames for the reference JSON (+1 sheared)")
    ap.add_argument("--stat-nbatch", type=int, default=20, help="data_stat_nbatch (frames per system, batch 1)")
    ap.add_argument("--seed", type=int, default=10, help="data loader seed (the example's training seed)")
    ap.add_argument("--models", nargs="*", default=list(MODELS), choices=list(MODELS))
    args = ap.parse_args(argv)

    import deepmd
    import torch

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    data = Path(args.data)
    frames, atype = reference_frames(data, args.frames)
    summary = {"deepmd_version": deepmd.__version__, "torch_version": torch.__version__, "models": {}}
    for name in args.models:
        data_dict = build_model(name, data, args.stat_nbatch, args.seed)
        pth, yml = write_model_files(name, data_dict, out)
        stats = summarise_stats(data_dict)
        print(f"[{name}] wrote {pth} ({pth.stat().st_size} B) and {yml} ({yml.stat().st_size} B)", file=sys.stderr)
        print(f"[{name}] stats: {json.dumps(stats)}", file=sys.stderr)
        ref = predict(name, pth, yml, frames, atype, COMMON_DESCRIPTOR["rcut"])
        ref_path = out / f"{name}_reference.json"
        doc = {
            "model": str(yml),
            "model_pth": str(pth),
            "model_def_script": data_dict["model_def_script"],
            "deepmd_version": deepmd.__version__,
            "torch_version": torch.__version__,
            "backend": "PyTorch (DeepPot on the .pth), float64",
            "units": "coord/box Angstrom, energy eV, force eV/Angstrom, virial eV",
            "conventions": (
                "box rows are lattice vectors; force = -dE/dr; virial[3a+b] = sum_i F_i[a] r_i[b] "
                "(= -stress*volume), row-major 3x3; atomic_virial natoms x 9 same layout"
            ),
            "statistics": stats,
            "frames": ref,
        }
        ref_path.write_text(json.dumps(doc))
        summary["models"][name] = {"pth": str(pth), "yaml": str(yml), "reference": str(ref_path), **stats}
    (out / "summary.json").write_text(json.dumps(summary, indent=1))
    print(json.dumps({k: v for k, v in summary.items()}, indent=1))


if __name__ == "__main__":
    main()
