"""FEKF against Adam: force RMSE over epochs and over wall time.

Reads the loss.csv files the benchmark configurations of this folder write
(out/<name>/loss.csv) and draws docs/img/fekf-vs-adam.png. Needs matplotlib
(documentation tooling only; forcefit itself does not use Python).

    python3 examples/benchmarks/plot_fekf.py
"""
import csv
import pathlib

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

HERE = pathlib.Path(__file__).resolve().parent
OUT = HERE / "out"
RUNS = {
    "MoSi2N4 (test set)": (
        "val",
        [("mosi2n4-adam", "Adam, batch 8"), ("mosi2n4-fekf32", "FEKF, batch 32"),
         ("mosi2n4-fekf128", "FEKF, batch 128")],
    ),
    "PbTe (training set, per-epoch mean)": (
        "train",
        [("pbte", "Adam, batch 2"), ("pbte-fekf8", "FEKF, batch 8"),
         ("pbte-fekf25", "FEKF, batch 25")],
    ),
}


def curve(name, which):
    path = OUT / name / "loss.csv"
    if not path.exists():
        return None
    epochs, times, forces = [], [], []
    with open(path) as f:
        for row in csv.DictReader(f):
            value = row[f"{which}_force_rmse_mev_per_angstrom"]
            if value:
                epochs.append(int(row["epoch"]))
                times.append(float(row["time_s"]))
                forces.append(float(value))
    return epochs, times, forces


fig, axes = plt.subplots(2, 2, figsize=(10, 7.5))
for row, (title, (which, runs)) in zip(axes, RUNS.items()):
    for name, label in runs:
        c = curve(name, which)
        if c is None:
            print(f"skipping {name}: no out/{name}/loss.csv")
            continue
        row[0].plot(c[0], c[2], label=label)
        row[1].plot(c[1], c[2], label=label)
    for ax, x in zip(row, ["epoch", "wall time, s (2 cores)"]):
        ax.set_xscale("log")
        ax.set_xlabel(x)
        ax.set_ylabel("force RMSE, meV/Å")
        ax.set_title(title)
        ax.grid(alpha=0.3)
    row[0].legend()
axes[0][0].set_ylim(100, 600)
axes[0][1].set_ylim(100, 600)
axes[1][0].set_ylim(30, 120)
axes[1][1].set_ylim(30, 120)
fig.tight_layout()
target = HERE.parent.parent / "docs" / "img" / "fekf-vs-adam.png"
fig.savefig(target, dpi=90)
print(f"wrote {target}")
