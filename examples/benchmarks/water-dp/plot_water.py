"""Validation energy and force RMSE on all of water data_3 against wall
time: deepmd-kit (dp test on its checkpoints) and forcefit's runs, from the
files run.sh writes. Draws docs/img/water-dp.png and prints, for each
forcefit run, when it first reached deepmd-kit's final accuracy. Needs
matplotlib (documentation tooling only).

    python3 examples/benchmarks/water-dp/plot_water.py [OUT]
"""
import csv
import pathlib
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

OUT = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "/tmp/water-dp")
ROOT = pathlib.Path(__file__).resolve().parents[3]
RUNS = [("fekf32", "forcefit FEKF, batch 32"), ("fekf4", "forcefit FEKF, batch 4"),
        ("adam", "forcefit Adam, batch 1 (deepmd-kit's recipe)")]


def deepmd_curve():
    with open(OUT / "deepmd-kit.csv") as f:
        rows = list(csv.DictReader(f))
    return ([float(r["time_s"]) for r in rows],
            [float(r["energy_rmse_mev_per_atom"]) for r in rows],
            [float(r["force_rmse_mev_per_angstrom"]) for r in rows])


def forcefit_curve(name):
    path = OUT / name / "loss.csv"
    if not path.exists():
        return None
    with open(path) as f:
        rows = [r for r in csv.DictReader(f) if r["val_force_rmse_mev_per_angstrom"]]
    return ([float(r["time_s"]) for r in rows],
            [float(r["val_energy_rmse_mev_per_atom"]) for r in rows],
            [float(r["val_force_rmse_mev_per_angstrom"]) for r in rows])


def first_reaching(curve, e_goal, f_goal):
    for t, e, f in zip(*curve):
        if e <= e_goal and f <= f_goal:
            return t
    return None


def main():
    dp = deepmd_curve()
    e_goal, f_goal, t_goal = dp[1][-1], dp[2][-1], dp[0][-1]
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    axes[0].plot(dp[0], dp[1], "k-o", ms=3, label="deepmd-kit 3.2 Adam, batch 1")
    axes[1].plot(dp[0], dp[2], "k-o", ms=3, label="deepmd-kit 3.2 Adam, batch 1")
    print(f"deepmd-kit after {t_goal:.0f} s: E {e_goal:.2f} meV/atom, F {f_goal:.1f} meV/Å")
    for name, label in RUNS:
        c = forcefit_curve(name)
        if c is None:
            continue
        axes[0].plot(c[0], c[1], "-", label=label)
        axes[1].plot(c[0], c[2], "-", label=label)
        t = first_reaching(c, e_goal, f_goal)
        ratio = f"{t_goal / t:.1f}x" if t else "not reached"
        print(f"{name}: reaches both at {t if t else float('nan'):.0f} s ({ratio}); "
              f"best E {min(c[1]):.2f}, best F {min(c[2]):.1f}")
    for ax, what in zip(axes, ["energy RMSE (meV/atom)", "force RMSE (meV/Å)"]):
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("wall time (s), 2 threads")
        ax.set_ylabel(what)
        ax.grid(True, which="both", alpha=0.3)
    axes[1].legend(fontsize=8)
    fig.suptitle("Water (data_0-2 -> all of data_3), se_e2_a of the FEKF paper's size")
    fig.tight_layout()
    fig.savefig(ROOT / "docs/img/water-dp.png", dpi=120)


if __name__ == "__main__":
    main()
