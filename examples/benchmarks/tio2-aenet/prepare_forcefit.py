#!/usr/bin/env python3
"""Lays out the aenet-PyTorch TiO2 example's own split for forcefit.

aenet's generate.x picks the structures whose forces are trained with an
unseeded Fortran RNG, so a new draw would not be the published run's. This
reads the split that example_split.py reconstructed from the example's
outputs (split.json: train, test, train_forces, test_forces) and writes

  OUT/train/   the 900 training structures: the 225 with forces as links to
               the data set's XSF files, the other 675 as copies without the
               force columns (forcefit then trains on their energies only,
               as aenet-PyTorch does);
  OUT/train_all/ links to the 900 training structures, all with forces (for
               the force-fraction study, which draws its own fraction);
  OUT/test/    links to the 100 test structures (all with forces);
  OUT/test_forces/ links to the 25 test structures whose forces the example
               reports in forces.test.

Usage: prepare_forcefit.py SPLIT_JSON XSF_DIR OUT
"""
import json
import os
import sys


def strip_forces(src, dst):
    with open(src) as f:
        lines = f.readlines()
    out, in_coords, left = [], False, 0
    for line in lines:
        if line.strip().upper().startswith("PRIMCOORD"):
            in_coords, left = True, None
            out.append(line)
            continue
        if in_coords and left is None:
            left = int(line.split()[0])
            out.append(line)
            continue
        if in_coords and left:
            w = line.split()
            out.append("%s %s %s %s\n" % tuple(w[:4]))
            left -= 1
            continue
        out.append(line)
    with open(dst, "w") as f:
        f.writelines(out)


def main():
    split_json, xsf, out = sys.argv[1:4]
    split = json.load(open(split_json))
    forces = set(split["train_forces"])
    for sub in ("train", "train_all", "test", "test_forces"):
        os.makedirs(os.path.join(out, sub), exist_ok=True)
    for name in split["train"]:
        src, dst = os.path.join(xsf, name), os.path.join(out, "train", name)
        if os.path.lexists(dst):
            os.remove(dst)
        if name in forces:
            os.symlink(os.path.abspath(src), dst)
        else:
            strip_forces(src, dst)
    linked = (("train_all", split["train"]), ("test", split["test"]),
              ("test_forces", split["test_forces"]))
    for sub, names in linked:
        for name in names:
            dst = os.path.join(out, sub, name)
            if os.path.lexists(dst):
                os.remove(dst)
            os.symlink(os.path.abspath(os.path.join(xsf, name)), dst)
    print("%s: %d train (%d with forces), %d test, %d test with reported forces"
          % (out, len(split["train"]), len(forces), len(split["test"]), len(split["test_forces"])))


if __name__ == "__main__":
    main()
