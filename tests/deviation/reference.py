"""Reference model deviations for tests/deviation.rs.

Reads the members' `forcefit predict` outputs (as JSON arrays), computes
deepmd-kit's definitions with numpy written out from the formulas, writes
the model_devi.out layout with numpy.savetxt, and, when deepmd-kit is
importable, also runs deepmd-kit's own functions and writer on the same
predictions. Prints a JSON summary on stdout.

usage: reference.py predictions.json numpy_out deepmd_out
"""

import json
import sys

import numpy as np

data = json.load(open(sys.argv[1]))
energies = np.array(data["energies"])  # members x frames
forces = np.array(data["forces"])  # members x frames x atoms x 3
virials = np.array(data["virials"])  # members x frames x 9
steps = np.array(data["steps"], dtype=np.int64)
relative, relative_v, atomic = data["relative"], data["relative_v"], data["atomic"]
n_atoms = forces.shape[2]
e = energies / n_atoms
v = virials / n_atoms

# Forces: sqrt of the member mean of |F_i - <F_i>|^2, per atom.
mean_f = forces.mean(axis=0)
eps = np.sqrt(np.square(forces - mean_f).sum(axis=-1).mean(axis=0))  # frames x atoms
uncertainty = eps.max(axis=1)
if relative is not None:
    eps = eps / (np.sqrt(np.square(mean_f).sum(axis=-1)) + relative)
sigma_v = np.sqrt(np.square(v - v.mean(axis=0)).mean(axis=0))  # frames x 9
if relative_v is not None:
    sigma_v = sigma_v / (np.sqrt(np.square(v.mean(axis=0)).sum(axis=-1)) + relative_v)[:, None]
devi_e = np.sqrt(np.square(e - e.mean(axis=0)).mean(axis=0))
columns = [
    steps,
    sigma_v.max(axis=1),
    sigma_v.min(axis=1),
    np.sqrt(np.square(sigma_v).sum(axis=1)) / 3,
    eps.max(axis=1),
    eps.min(axis=1),
    eps.mean(axis=1),
    devi_e,
]
rows = np.vstack(columns).T
if atomic:
    rows = np.concatenate([rows, eps], axis=1)

titles = "step".ljust(10) + "".join(
    t.ljust(19)
    for t in ["max_devi_v", "min_devi_v", "avg_devi_v", "max_devi_f", "min_devi_f", "avg_devi_f", "devi_e"]
    + (["atm_devi_f(N)"] if atomic else [])
)
with open(sys.argv[2], "wb") as fp:
    np.savetxt(
        fp,
        rows,
        fmt=["%12d"] + ["%19.6e"] * (rows.shape[1] - 1),
        delimiter="",
        header=data["header"] + "\n" + titles,
    )

out = {"rows": rows.tolist(), "uncertainty": uncertainty.tolist(), "deepmd": False}
try:
    from deepmd.infer.model_devi import (
        calc_model_devi_e,
        calc_model_devi_f,
        calc_model_devi_v,
        write_model_devi_out,
    )
except ImportError:
    pass
else:
    # One frame at a time: deepmd-kit's calc_model_devi_v divides a
    # (frames x 9) array by a (frames,) one, which broadcasts for a single
    # frame only (its relative_v fails on several frames at once).
    per_frame = []
    for k in range(len(steps)):
        one = [steps[k : k + 1]]
        one += list(calc_model_devi_v(v[:, k : k + 1], relative=relative_v))
        devi_f = list(calc_model_devi_f(forces[:, k : k + 1], relative=relative, atomic=True))
        one += devi_f[:3]
        one.append(calc_model_devi_e(e[:, k : k + 1, None]))
        one = np.vstack(one).T
        if atomic:
            one = np.concatenate([one, devi_f[3]], axis=1)
        per_frame.append(one)
    devi = np.vstack(per_frame)
    write_model_devi_out(devi, sys.argv[3], header=data["header"], atomic=atomic)
    out["deepmd"] = True
    out["deepmd_rows"] = devi.tolist()
print(json.dumps(out))
