#!/usr/bin/env python3
"""The force-fraction study of aenet-PyTorch (Lopez-Zorrilla et al., J. Chem.
Phys. 2023, Figs. 3-4) with forcefit's exact force gradients, on the TiO2
example's 900/100 split: for alpha in ALPHAS and each percentage of
structures with forces, train the example's 2x5 tanh networks with AdamW
for EPOCHS epochs and record the test energy and force RMSE and the wall
time. Writes study.csv, study.md (a table) and study.png under OUT.

Usage: force_fraction_study.py DATA OUT [--epochs N] [--threads N]
  DATA: the layout of prepare_forcefit.py (DATA/train_all, DATA/test)
"""
import argparse
import csv
import json
import math
import os
import subprocess
import time

ALPHAS = [0.01, 0.1, 0.3]
PERCENTS = [0, 5, 10, 20, 30, 50, 100]

CONFIG = """
[data]
train = "{data}/train_all"
test = "{data}/test"
format = "xsf"

[model]
family = "bp"
species = ["Ti", "O"]
radial_cutoff = 6.5
radial_order = 20
angular_cutoff = 5.0
angular_order = 6
hidden = [5, 5]
activation = "tanh"
atomic_energies = {{ Ti = -1604.604515075, O = -432.503149303 }}

[loss]
kind = "rmse"
lambda_e = {lambda_e}
lambda_f = {lambda_f}
lambda_v = 0.0
force_structures = {fraction}

[optimizer]
type = "adamw"
weight_decay = 0.001
lr = 0.002
lr_min = 0.00001
batch_size = 16

[train]
epochs = {epochs}
validate_every = {epochs}
output_dir = "{out}"
seed = 1
"""


def run(args, alpha, percent):
    name = "a%g-p%d" % (alpha, percent)
    out = os.path.join(args.out, name)
    os.makedirs(out, exist_ok=True)
    cfg = os.path.join(out, "config.toml")
    with open(cfg, "w") as f:
        f.write(CONFIG.format(data=os.path.abspath(args.data), out=os.path.abspath(out),
                              lambda_e=1 - alpha, lambda_f=math.sqrt(3) * alpha if percent else 0.0,
                              fraction=percent / 100, epochs=args.epochs))
    start = time.time()
    subprocess.run([args.forcefit, "train", cfg, "-q", "-j", str(args.threads)], check=True,
                   stdout=subprocess.DEVNULL)
    wall = time.time() - start
    summary = json.load(open(os.path.join(out, "summary.json")))
    test = summary["test"]
    return {"alpha": alpha, "percent": percent, "wall_s": round(wall, 1),
            "test_E_meV_atom": round(test["energy_rmse_mev_per_atom"], 2),
            "test_F_meV_A": round(test["force_rmse_mev_per_angstrom"], 1)}


def plot(rows, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.8))
    for alpha in ALPHAS:
        r = [x for x in rows if x["alpha"] == alpha]
        p = [x["percent"] for x in r]
        axes[0].plot(p, [x["test_E_meV_atom"] for x in r], "o-", label="alpha = %g" % alpha)
        axes[1].plot(p, [x["test_F_meV_A"] for x in r], "o-", label="alpha = %g" % alpha)
        axes[2].plot(p, [x["wall_s"] for x in r], "o-", label="alpha = %g" % alpha)
    for ax, label in zip(axes, ["test energy RMSE, meV/atom", "test force RMSE, meV/Å",
                                "training wall time, s"]):
        ax.set_xlabel("structures with forces in the loss, %")
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
    axes[0].set_yscale("log")
    axes[1].set_yscale("log")
    axes[0].legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("data")
    ap.add_argument("out")
    ap.add_argument("--epochs", type=int, default=300)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--forcefit", default="target/release/forcefit")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    rows = []
    for alpha in ALPHAS:
        for percent in PERCENTS:
            rows.append(run(args, alpha, percent))
            print(rows[-1], flush=True)
    with open(os.path.join(args.out, "study.csv"), "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    with open(os.path.join(args.out, "study.md"), "w") as f:
        f.write("| alpha | forces, % | test E, meV/atom | test F, meV/Å | wall, s |\n")
        f.write("|---|---|---|---|---|\n")
        for r in rows:
            f.write("| %g | %d | %.2f | %.1f | %.1f |\n" % (r["alpha"], r["percent"],
                    r["test_E_meV_atom"], r["test_F_meV_A"], r["wall_s"]))
    plot(rows, os.path.join(args.out, "study.png"))


if __name__ == "__main__":
    main()
