"""deepmd-kit's LKF against forcefit's FEKF on water, from the files lkf.sh
writes: validation energy and force RMSE on all of data_3 against the
step, and the time per step (wall and process CPU). Draws
docs/img/lkf-vs-fekf.png, writes OUT/lkf-vs-fekf.csv (one row per step
both codes validated) and prints the Markdown table and the times for
docs/benchmarks.md. Needs matplotlib (documentation tooling only).

    python3 examples/benchmarks/water-dp/plot_lkf.py [OUT]     # default OUT: /tmp/water-lkf

The time per step is the slope between the first mark at or after step 5
and the last one, so start-up (imports, data, statistics) is left out,
and so are deepmd-kit's checkpoint writes (3.7 GB each with the filter's
covariance; forcefit writes none within these steps). Both codes validate
on all 80 frames of data_3 every 5 steps, and that is in it for both.
"""
import csv
import json
import pathlib
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

OUT = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "/tmp/water-lkf")
ROOT = pathlib.Path(__file__).resolve().parents[3]
CODES = [("deepmd-kit", "deepmd-kit 3.2 LKF", "k", "o"), ("forcefit", "forcefit FEKF", "C1", "s")]


def curve(name):
    """{step: (wall_s, cpu_s, E, F, save_wall_s, save_cpu_s)} and the whole
    run's (wall_s, cpu_s)."""
    rows, end = {}, None
    with open(OUT / f"{name}.csv") as f:
        for r in csv.DictReader(f):
            if r["step"] == "end":
                end = (float(r["wall_s"]), float(r["cpu_s"]))
            else:
                rows[int(r["step"])] = (float(r["wall_s"]), float(r["cpu_s"]),
                                        float(r["energy_rmse_mev_per_atom"]),
                                        float(r["force_rmse_mev_per_angstrom"]),
                                        float(r.get("save_wall_s") or 0),
                                        float(r.get("save_cpu_s") or 0))
    return rows, end


def per_step(rows):
    """(wall, cpu) seconds per step between the first mark >= 5 and the
    last, less the checkpoint writes in between."""
    steps = sorted(s for s in rows if s >= 5)
    a, b = steps[0], steps[-1]
    saved = [rows[s] for s in steps if s < b]
    n = b - a
    wall = (rows[b][0] - rows[a][0] - sum(r[4] for r in saved)) / n
    cpu = (rows[b][1] - rows[a][1] - sum(r[5] for r in saved)) / n
    return wall, cpu, a, b


def main():
    curves = {name: curve(name) for name, *_ in CODES}
    dp, ff = curves["deepmd-kit"][0], curves["forcefit"][0]
    common = sorted(set(dp) & set(ff))
    with open(OUT / "lkf-vs-fekf.csv", "w") as f:
        f.write("step,deepmd_kit_energy_rmse_mev_per_atom,deepmd_kit_force_rmse_mev_per_angstrom,"
                "forcefit_energy_rmse_mev_per_atom,forcefit_force_rmse_mev_per_angstrom,"
                "deepmd_kit_wall_s,deepmd_kit_cpu_s,forcefit_wall_s,forcefit_cpu_s\n")
        for s in common:
            f.write(f"{s},{dp[s][2]:.4f},{dp[s][3]:.3f},{ff[s][2]:.4f},{ff[s][3]:.3f},"
                    f"{dp[s][0]:.1f},{dp[s][1]:.1f},{ff[s][0]:.1f},{ff[s][1]:.1f}\n")

    print("| step | deepmd-kit E | deepmd-kit F | forcefit E | forcefit F |")
    print("|---|---|---|---|---|")
    for s in common:
        print(f"| {s} | {dp[s][2]:.2f} | {dp[s][3]:.1f} | {ff[s][2]:.2f} | {ff[s][3]:.1f} |")
    print()
    times = {}
    for name, label, *_ in CODES:
        rows, end = curves[name]
        wall, cpu, a, b = per_step(rows)
        times[name] = (wall, cpu)
        print(f"{label}: {wall:.2f} s wall, {cpu:.2f} s CPU per step (steps {a}-{b}); "
              f"whole run {end[0]:.0f} s wall, {end[1]:.0f} s CPU")
    (dw, dc), (fw, fc) = times["deepmd-kit"], times["forcefit"]
    print(f"ratio deepmd-kit / forcefit: {dw / fw:.1f}x wall, {dc / fc:.1f}x CPU")
    summary = OUT / "forcefit" / "summary.json"
    if summary.exists():
        k = json.loads(summary.read_text()).get("kalman", {})
        t = k.get("timing", {})
        if t.get("steps"):
            n = t["steps"]
            print(f"forcefit's own split per step (wall): prediction {t['predict_s'] / n:.2f} s, "
                  f"vjp {t['vjp_s'] / n:.2f} s, Kalman {t['kalman_s'] / n:.2f} s "
                  f"(blocks {k.get('blocks')}, covariance {k.get('covariance_bytes', 0) / 2**20:.0f} MiB, "
                  f"{k.get('precision', '?')})")

    fig, axes = plt.subplots(1, 3, figsize=(13, 4), gridspec_kw={"width_ratios": [1, 1, 0.7]})
    for name, label, color, marker in CODES:
        rows = curves[name][0]
        steps = sorted(rows)
        axes[0].plot(steps, [rows[s][2] for s in steps], "-", color=color, marker=marker, ms=4, label=label)
        axes[1].plot(steps, [rows[s][3] for s in steps], "-", color=color, marker=marker, ms=4, label=label)
    forces = sorted((ROOT.parent / "shared/datasets/water-deepmd/data_3").glob("set.*/force.npy"))
    if forces:
        import numpy as np

        rms = float(np.sqrt(np.mean(np.concatenate([np.load(p).ravel() for p in forces]) ** 2.0)))
        axes[1].axhline(rms * 1e3, color="0.5", ls="--", lw=1,
                        label=f"zero forces ({rms * 1e3:.1f})")
    axes[0].set_yscale("log")
    # The force errors stay near the reference forces' RMS (817 meV/Å on
    # data_3) within these steps: a linear axis shows the small changes.
    for ax, what in zip(axes[:2], ["energy RMSE (meV/atom)", "force RMSE (meV/Å)"]):
        ax.set_xlabel("step (batch of 4 structures)")
        ax.set_ylabel(what)
        ax.grid(True, which="both", alpha=0.3)
    axes[1].legend(fontsize=8)
    x = range(len(CODES))
    width = 0.38
    walls = [times[name][0] for name, *_ in CODES]
    cpus = [times[name][1] for name, *_ in CODES]
    bw = axes[2].bar([i - width / 2 for i in x], walls, width, label="wall", color="0.35")
    bc = axes[2].bar([i + width / 2 for i in x], cpus, width, label="process CPU", color="0.7")
    axes[2].bar_label(bw, fmt="%.1f", fontsize=8)
    axes[2].bar_label(bc, fmt="%.1f", fontsize=8)
    axes[2].set_xticks(list(x), [label.replace(" ", "\n", 1) for _, label, *_ in CODES], fontsize=8)
    axes[2].set_ylabel("seconds per step, 2 threads (compare CPU time)")
    axes[2].legend(fontsize=8)
    fig.suptitle("Water, se_e2_a of the FEKF paper's size, Kalman filter, batch 4, blocks of 10,240: "
                 "validation on all of data_3", fontsize=10)
    fig.tight_layout()
    fig.savefig(ROOT / "docs/img/lkf-vs-fekf.png", dpi=120)


if __name__ == "__main__":
    main()
