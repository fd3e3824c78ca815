#!/usr/bin/env python3
"""deepmd-kit oracle: evaluate a deepmd-kit v3 ``.yaml`` model with the numpy backend.

Usage (from the project root; needs only ``python3 -m pip install deepmd-kit``,
no torch -- deepmd-kit's numpy "dpmodel" backend evaluates ``.yaml``/``.dp``
files):

    python3 tests/oracle/deepmd_eval.py MODEL.yaml INPUT.json
    python3 tests/oracle/deepmd_eval.py MODEL.yaml INPUT.json --fd      # + finite-difference forces/virial
    python3 tests/oracle/deepmd_eval.py ../shared/oracle/deepmd/deeppot_sea.yaml \
        --check-testcase ../shared/oracle/deepmd/deeppot-testcase.yaml  # self-test

INPUT.json is a list of frames (or ``{"frames": [...]}``), each
``{"coord": natoms*3 flat or natoms x 3 nested (Angstrom), "box": 9 numbers
or 3x3 nested (rows = lattice vectors) or null (no periodicity),
"atype": [type index per atom, into the model's type_map]}``.

Prints one JSON list to stdout, one object per frame:
``{"energy": E, "atomic_energy": [natoms]}`` and, when available,
``"force": [natoms*3]``, ``"virial": [9]``, ``"atomic_virial": [natoms*9]``
with ``"force_source"``: ``"model"`` or ``"finite_difference"``.

Forces: deepmd-kit 3.2's numpy backend has no automatic differentiation; it
returns ``None`` for ``energy_derv_r``/``energy_derv_c`` and ``DeepPot.eval``
turns them into NaN arrays (checked: every force and virial entry is NaN).
NaN outputs are therefore left out.  With ``--fd`` the forces are computed
by central differences of the model energy (step ``--fd-step``, default
1e-4 Angstrom; the constant per-type energy bias is taken out of the sum
before differencing to avoid cancellation), and the virial by central
differences with respect to a homogeneous strain of positions and cell:
``virial[3a+b] = -dE/d(eps_ba)`` for ``r -> r (I + eps)``, which equals
deepmd-kit's ``sum_i F_i[a] r_i[b]`` (= -stress * volume).  Per-atom virials
are not available by finite differences.  Against deepmd-kit's own
reference numbers (``--check-testcase``) the finite-difference forces agree
to ~1e-9 eV/Angstrom.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402


def _load(model_path: str):
    # deepmd prints a hint about DP_INFER_BATCH_SIZE on stdout-ish logs; keep
    # stdout clean for JSON by sending everything else to stderr.
    old = sys.stdout
    sys.stdout = sys.stderr
    try:
        from deepmd.infer import DeepPot

        dp = DeepPot(model_path)
    finally:
        sys.stdout = old
    return dp


def _energy_bias(dp) -> np.ndarray | None:
    """Per-type constant added to every atomic energy (out_bias + bias_atom_e)."""
    try:
        model = dp.deep_eval.dp
        data = model.serialize()
    except Exception:  # pragma: no cover - other backends
        return None
    bias = np.zeros(len(dp.get_type_map()))
    try:
        bias += np.asarray(data["@variables"]["out_bias"], dtype=np.float64).reshape(-1)[: len(bias)]
    except (KeyError, TypeError, ValueError):
        pass
    try:
        bias += np.asarray(data["fitting"]["@variables"]["bias_atom_e"], dtype=np.float64).reshape(-1)[: len(bias)]
    except (KeyError, TypeError, ValueError):
        pass
    return bias


def _frames_from(doc):
    if isinstance(doc, dict):
        doc = doc.get("frames", doc.get("results"))
    return doc


def _parse_frame(fr):
    coord = np.asarray(fr["coord"], dtype=np.float64).reshape(-1, 3)
    box = fr.get("box")
    box = None if box is None else np.asarray(box, dtype=np.float64).reshape(9)
    atype = np.asarray(fr["atype"], dtype=np.int64).reshape(-1)
    if len(atype) != len(coord):
        raise ValueError(f"atype has {len(atype)} entries but coord {len(coord)} atoms")
    return coord, box, atype


def _eval_batch(dp, coords: np.ndarray, boxes: np.ndarray | None, atype: np.ndarray):
    """Energies and atomic energies of nf configurations of the same atoms."""
    e, f, v, ae, av = dp.eval(coords, boxes, atype, atomic=True)
    nf = coords.shape[0]
    return (
        e.reshape(nf),
        ae.reshape(nf, -1),
        f.reshape(nf, -1),
        v.reshape(nf, 9),
        av.reshape(nf, -1),
    )


def _reduced_energy(ae: np.ndarray, atype: np.ndarray, bias: np.ndarray | None) -> np.ndarray:
    if bias is None:
        return ae.sum(axis=-1)
    return (ae - bias[atype][None, :]).sum(axis=-1)


def fd_forces_virial(dp, coord, box, atype, bias, step: float, chunk: int = 64):
    nat = len(atype)
    disp = []
    for i in range(nat):
        for a in range(3):
            for s in (+1.0, -1.0):
                c = coord.copy()
                c[i, a] += s * step
                disp.append(c)
    strains = []
    for a in range(3):
        for b in range(3):
            for s in (+1.0, -1.0):
                eps = np.zeros((3, 3))
                eps[a, b] = s * step
                strains.append(eps)
    cfgs = list(disp)
    cells = [box] * len(disp) if box is not None else None
    for eps in strains:
        m = np.eye(3) + eps
        cfgs.append(coord @ m)
        if cells is not None:
            cells.append((box.reshape(3, 3) @ m).reshape(9))
    cfgs = np.asarray(cfgs)
    cells = None if cells is None else np.asarray(cells)
    energies = []
    for k in range(0, len(cfgs), chunk):
        _, ae, _, _, _ = _eval_batch(dp, cfgs[k : k + chunk], None if cells is None else cells[k : k + chunk], atype)
        energies.append(_reduced_energy(ae, atype, bias))
    energies = np.concatenate(energies)
    ed = energies[: 6 * nat].reshape(nat, 3, 2)
    force = -(ed[..., 0] - ed[..., 1]) / (2 * step)
    es = energies[6 * nat :].reshape(3, 3, 2)
    de_deps = (es[..., 0] - es[..., 1]) / (2 * step)  # [a, b] = dE/d eps_ab
    # deepmd virial[3a+b] = sum_i F_i[a] r_i[b] = -dE/d eps_ba
    virial = -de_deps.T
    return force.reshape(-1), virial.reshape(-1)


def evaluate(dp, frames, fd: bool = False, fd_step: float = 1e-4):
    bias = _energy_bias(dp) if fd else None
    out = []
    for fr in frames:
        coord, box, atype = _parse_frame(fr)
        e, ae, f, v, av = _eval_batch(dp, coord[None], None if box is None else box[None], atype)
        rec = {"energy": float(e[0]), "atomic_energy": ae[0].tolist()}
        if np.all(np.isfinite(f)):
            rec["force"] = f[0].tolist()
            rec["force_source"] = "model"
            if np.all(np.isfinite(v)):
                rec["virial"] = v[0].tolist()
            if np.all(np.isfinite(av)):
                rec["atomic_virial"] = av[0].tolist()
        elif fd:
            ff, vv = fd_forces_virial(dp, coord, box, atype, bias, fd_step)
            rec["force"] = ff.tolist()
            rec["virial"] = vv.tolist()
            rec["force_source"] = "finite_difference"
            rec["fd_step"] = fd_step
        out.append(rec)
    return out


def check_testcase(dp, path: str, fd_step: float):
    import yaml

    with open(path) as fh:
        doc = yaml.safe_load(fh)
    cases = doc["results"]
    got = evaluate(dp, cases, fd=True, fd_step=fd_step)
    report = []
    for i, (ref, res) in enumerate(zip(cases, got)):
        ae_ref = np.asarray(ref["atomic_energy"])
        f_ref = np.asarray(ref["force"])
        row = {
            "case": i,
            "box": ref.get("box"),
            "energy": res["energy"],
            "energy_ref": float(ae_ref.sum()),
            "max_abs_diff_atomic_energy": float(np.abs(np.asarray(res["atomic_energy"]) - ae_ref).max()),
            "abs_diff_energy": abs(res["energy"] - float(ae_ref.sum())),
            "force_source": res.get("force_source"),
            "max_abs_diff_force": float(np.abs(np.asarray(res["force"]) - f_ref).max()),
            "max_abs_force_ref": float(np.abs(f_ref).max()),
        }
        if "atomic_virial" in ref:
            v_ref = np.asarray(ref["atomic_virial"]).reshape(-1, 9).sum(axis=0)
            row["max_abs_diff_virial_vs_sum_atomic_virial"] = float(np.abs(np.asarray(res["virial"]) - v_ref).max())
            row["max_abs_virial_ref"] = float(np.abs(v_ref).max())
        report.append(row)
    return report


def main(argv=None):
    ap = argparse.ArgumentParser(description="Evaluate a deepmd-kit .yaml model with the numpy backend.")
    ap.add_argument("model", help="deepmd-kit v3 serialized model (.yaml, .yml or .dp)")
    ap.add_argument("input", nargs="?", help="JSON list of frames {coord, box, atype}")
    ap.add_argument("--fd", action="store_true", help="add finite-difference forces and virial when the backend gives NaN")
    ap.add_argument("--fd-step", type=float, default=1e-4, help="finite-difference step in Angstrom / strain (default 1e-4)")
    ap.add_argument("--check-testcase", metavar="YAML", help="compare with a deepmd-kit testcase yaml and print the agreement")
    args = ap.parse_args(argv)

    dp = _load(args.model)
    if args.check_testcase:
        print(json.dumps(check_testcase(dp, args.check_testcase, args.fd_step), indent=1))
        return
    if not args.input:
        ap.error("INPUT.json is required unless --check-testcase is given")
    with open(args.input) as fh:
        frames = _frames_from(json.load(fh))
    res = evaluate(dp, frames, fd=args.fd, fd_step=args.fd_step)
    print(json.dumps(res))


if __name__ == "__main__":
    main()
