#!/usr/bin/env python3
"""Reconstruct the train/test split (and which structures had forces) of an
aenet-PyTorch run from its own output files, and recompute its test RMSEs.

aenet-PyTorch's TiO2 example (example/02-train/output in aenet-PyTorch; copied
to ../shared/datasets/tio2-aenet/aenet-pytorch-*) used a split that cannot be
regenerated: generate.x picks the 25 % of structures that carry forces with an
unseeded Fortran RNG, and aenet-PyTorch then splits the energy-only and the
force structures 90/10 separately. This script recovers that split:

* `energies.{train,test}` list one structure per line:
  `N_atoms E_ref E_ann E_ref/N E_ann/N path` (energies in eV, cohesive,
  i.e. minus the atomic reference energies).
* `forces.{train,test}` hold per-atom rows
  `i_atom |dF| Fref_x Fref_y Fref_z Fann_x Fann_y Fann_z`, i_atom restarting
  at 0 for each structure. The example's files name no structure, so each
  block is identified by matching its reference forces (and atom count)
  against the forces in the XSF files, among the structures of the same set.
  Newer aenet-PyTorch versions write a `# N |dF|/N path` line before each
  block; when present, that name is used and checked against the forces.

Writes split.json {"train", "test", "train_forces", "test_forces"} (XSF file
names, e.g. "structure0001.xsf", in the order of the energies files / force
blocks) and prints the test energy RMSE (meV/atom) and the test force RMSE
(eV/Angstrom), both per Cartesian component and per atom vector.

Standard library + numpy only.

usage: example_split.py [--outputs DIR] [--prefix aenet-pytorch-] [--xsf DIR] [-o split.json]
defaults: the shared tio2-aenet data set (../shared/datasets/tio2-aenet,
looked for relative to this file's repository and to the current directory).
"""

import argparse
import json
import math
import os
import sys

import numpy as np

TOL = 1.5e-6  # printed with 6 decimals; XSF has 8: allow rounding + float noise


def find_dataset():
    here = os.path.dirname(os.path.abspath(__file__))
    candidates = [
        os.path.join(here, "..", "..", "..", "..", "shared", "datasets", "tio2-aenet"),
        os.path.join(os.getcwd(), "..", "shared", "datasets", "tio2-aenet"),
        "/work/shared/datasets/tio2-aenet",
    ]
    for c in candidates:
        if os.path.isdir(os.path.join(c, "xsf")):
            return os.path.normpath(c)
    return None


def read_xsf(path):
    """Return (total_energy, species list, forces (N,3)) of an aenet XSF file."""
    energy = None
    with open(path) as f:
        lines = f.read().splitlines()
    for line in lines:
        if "total energy" in line:
            energy = float(line.split("=")[1].split()[0])
            break
    species, forces = [], []
    for i, line in enumerate(lines):
        if line.strip().upper().startswith("PRIMCOORD"):
            n = int(lines[i + 1].split()[0])
            for row in lines[i + 2:i + 2 + n]:
                t = row.split()
                species.append(t[0])
                forces.append([float(x) for x in t[4:7]])
            break
    else:  # ATOMS (isolated) format
        for i, line in enumerate(lines):
            if line.strip().upper().startswith("ATOMS"):
                for row in lines[i + 1:]:
                    t = row.split()
                    if len(t) < 7:
                        break
                    species.append(t[0])
                    forces.append([float(x) for x in t[4:7]])
                break
    return energy, species, np.array(forces, dtype=float).reshape(-1, 3)


def read_energies(path):
    rows = []
    with open(path) as f:
        for line in f:
            t = line.split()
            if not t or t[0].startswith("#"):
                continue
            rows.append((int(t[0]), float(t[1]), float(t[2]), os.path.basename(t[5])))
    return rows


def read_force_blocks(path):
    """List of (name or None, array (N, 8) of the numeric columns)."""
    blocks, cur, name = [], [], None
    pending_name = None
    with open(path) as f:
        for line in f:
            t = line.split()
            if not t:
                continue
            if t[0].startswith("#"):
                if cur:
                    blocks.append((name, np.array(cur)))
                    cur = []
                pending_name = os.path.basename(t[-1])
                continue
            i_atom = int(t[0])
            if i_atom == 0 and cur:
                blocks.append((name, np.array(cur)))
                cur = []
            if i_atom == 0:
                name, pending_name = pending_name, None
            if i_atom != len(cur):
                raise ValueError(f"{path}: atom index {i_atom} out of sequence")
            cur.append([float(x) for x in t])
    if cur:
        blocks.append((name, np.array(cur)))
    return blocks


def sort_rows(a):
    return a[np.lexsort(a.T[::-1])]


def match_dev(fref, fxsf):
    """Max deviation in atom order, and after sorting rows (permutation)."""
    if fref.shape != fxsf.shape:
        return math.inf, math.inf
    in_order = float(np.max(np.abs(fref - fxsf)))
    if in_order <= TOL:
        return in_order, in_order
    # rows may be permuted (e.g. grouped by species): compare sorted rows;
    # rounding can reorder nearly equal rows, so also try a greedy match
    perm = float(np.max(np.abs(sort_rows(np.round(fref, 6)) - sort_rows(np.round(fxsf, 6)))))
    if TOL < perm < 1e-2:
        used = np.zeros(len(fxsf), bool)
        perm = 0.0
        for r in fref:
            d = np.max(np.abs(fxsf - r), axis=1)
            d[used] = math.inf
            j = int(np.argmin(d))
            used[j] = True
            perm = max(perm, float(d[j]))
    return in_order, perm


def identify(blocks, candidates, xsf_forces, label):
    """Assign each force block to a structure of `candidates` (names)."""
    by_n = {}
    for name in candidates:
        by_n.setdefault(len(xsf_forces[name]), []).append(name)
    names, taken = [], set()
    stats = {"in_order": 0, "permuted": 0, "max_dev": 0.0}
    for k, (given, blk) in enumerate(blocks):
        fref = blk[:, 2:5]
        n = len(fref)
        pool = [given] if given else by_n.get(n, [])
        hits = []
        for name in pool:
            if name not in xsf_forces:
                continue
            d_order, d_perm = match_dev(fref, xsf_forces[name])
            if min(d_order, d_perm) <= TOL:
                hits.append((name, d_order, d_perm))
        hits = [h for h in hits if h[0] not in taken]
        if len(hits) != 1:
            raise SystemExit(
                f"{label} block {k} ({n} atoms): {len(hits)} matching structures "
                f"{[h[0] for h in hits][:5]}")
        name, d_order, d_perm = hits[0]
        taken.add(name)
        names.append(name)
        if d_order <= TOL:
            stats["in_order"] += 1
            stats["max_dev"] = max(stats["max_dev"], d_order)
        else:
            stats["permuted"] += 1
            stats["max_dev"] = max(stats["max_dev"], d_perm)
    return names, stats


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--outputs", help="directory with the energies/forces files "
                    "(default: the shared tio2-aenet data set)")
    ap.add_argument("--prefix", default=None,
                    help="file name prefix: 'aenet-pytorch-' for the shared data set "
                    "(default), '' for an aenet-PyTorch run directory")
    ap.add_argument("--xsf", help="directory of the XSF files (default: <data set>/xsf)")
    ap.add_argument("--atomic-energies", default="O=-432.503149303,Ti=-1604.604515075",
                    help="atomic reference energies (eV) for the energy cross-check")
    ap.add_argument("-o", "--output", default="split.json", help="where to write split.json")
    args = ap.parse_args()

    ds = find_dataset()
    outputs = args.outputs or ds
    xsf_dir = args.xsf or (os.path.join(ds, "xsf") if ds else None)
    if outputs is None or xsf_dir is None or not os.path.isdir(xsf_dir):
        sys.exit("tio2-aenet data set not found: pass --outputs and --xsf")
    prefix = args.prefix
    if prefix is None:
        prefix = "aenet-pytorch-" if os.path.exists(
            os.path.join(outputs, "aenet-pytorch-energies.test")) else ""
    f = lambda kind, s: os.path.join(outputs, f"{prefix}{kind}.{s}")
    e_atom = {k: float(v) for k, v in (kv.split("=") for kv in args.atomic_energies.split(","))}

    e_train, e_test = read_energies(f("energies", "train")), read_energies(f("energies", "test"))
    train = [r[3] for r in e_train]
    test = [r[3] for r in e_test]
    if set(train) & set(test):
        sys.exit("a structure is both in train and test")

    xsf_forces, max_e_dev = {}, 0.0
    for name, rows in (("train", e_train), ("test", e_test)):
        for n, e_ref, _e_ann, fname in rows:
            etot, species, forces = read_xsf(os.path.join(xsf_dir, fname))
            if len(species) != n:
                sys.exit(f"{fname}: {len(species)} atoms in XSF, {n} in energies.{name}")
            xsf_forces[fname] = forces
            e_coh = etot - sum(e_atom[s] for s in species)
            max_e_dev = max(max_e_dev, abs(e_coh - e_ref))

    blocks_tr = read_force_blocks(f("forces", "train")) if os.path.exists(f("forces", "train")) else []
    blocks_te = read_force_blocks(f("forces", "test")) if os.path.exists(f("forces", "test")) else []
    train_forces, st_tr = identify(blocks_tr, train, xsf_forces, "forces.train")
    test_forces, st_te = identify(blocks_te, test, xsf_forces, "forces.test")

    split = {"train": train, "test": test,
             "train_forces": train_forces, "test_forces": test_forces}
    with open(args.output, "w") as out:
        json.dump(split, out, indent=1)
        out.write("\n")

    # test RMSEs
    de = np.array([(e_ann - e_ref) / n for n, e_ref, e_ann, _ in e_test])
    e_rmse = 1000.0 * math.sqrt(float(np.mean(de ** 2)))
    de_tr = np.array([(e_ann - e_ref) / n for n, e_ref, e_ann, _ in e_train])
    e_rmse_tr = 1000.0 * math.sqrt(float(np.mean(de_tr ** 2)))
    lines = [
        f"outputs: {outputs} (prefix '{prefix}'), XSF: {xsf_dir}",
        f"train {len(train)}, test {len(test)}, train_forces {len(train_forces)}, "
        f"test_forces {len(test_forces)}",
        f"force blocks matched in atom order: train {st_tr['in_order']}, test {st_te['in_order']}; "
        f"permuted: train {st_tr['permuted']}, test {st_te['permuted']}; max |Fref - F_xsf| "
        f"{max(st_tr['max_dev'], st_te['max_dev']):.2e} eV/A",
        f"energies: max |E_ref - (E_xsf - sum E_atom)| = {max_e_dev:.2e} eV",
        f"energy RMSE: test {e_rmse:.3f} meV/atom, train {e_rmse_tr:.3f} meV/atom",
    ]
    for label, blocks in (("test", blocks_te), ("train", blocks_tr)):
        if not blocks:
            continue
        allb = np.concatenate([b for _, b in blocks])
        d = allb[:, 5:8] - allb[:, 2:5]
        comp = math.sqrt(float(np.mean(d ** 2)))
        vec = math.sqrt(float(np.mean(np.sum(d ** 2, axis=1))))
        col = math.sqrt(float(np.mean(allb[:, 1] ** 2)))
        lines.append(
            f"force RMSE {label} ({len(allb)} atoms): per component {comp:.4f} eV/A "
            f"(= per-atom |dF| RMSE / sqrt(3)); per-atom vector |dF| RMSE {vec:.4f} eV/A "
            f"(from the |dF| column: {col:.4f}; this is the 'F' column of aenet-PyTorch's log)")
    lines.append(f"wrote {args.output}")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
