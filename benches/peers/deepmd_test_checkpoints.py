"""deepmd-kit's side of the water training benchmark: `dp --pt test` on
every checkpoint a `dp --pt train` run left, on a whole validation system.

    python benches/peers/deepmd_test_checkpoints.py RUN_DIR SYSTEM > curve.csv

RUN_DIR holds the `model.ckpt-<step>.pt` files (`save_freq` steps apart;
set `max_ckpt_keep` high enough to keep them all) and a file `start` with
the Unix time at which `dp train` was started. The wall time of a
checkpoint is its modification time minus that start. Prints CSV: step,
time_s, energy RMSE per atom (meV/atom), force RMSE (meV/Å), over all
frames of SYSTEM (`-n 100000`). Needs `dp` on PATH, or DP=/path/to/dp
(deepmd-kit 3.2 with its PyTorch backend). Documentation tooling only.
"""
import os
import pathlib
import re
import subprocess
import sys


def rmse(text, label):
    m = re.search(label + r"\s*:\s*([0-9.eE+-]+)", text)
    if not m:
        raise SystemExit(f"no '{label}' in dp test output:\n{text}")
    return float(m.group(1))


def main():
    run, system = pathlib.Path(sys.argv[1]), sys.argv[2]
    start = float((run / "start").read_text().strip())
    ckpts = sorted(run.glob("model.ckpt-*.pt"), key=lambda p: int(p.stem.split("-")[1]))
    print("step,time_s,energy_rmse_mev_per_atom,force_rmse_mev_per_angstrom")
    env = dict(os.environ, CUDA_VISIBLE_DEVICES="")
    for ckpt in ckpts:
        step = int(ckpt.stem.split("-")[1])
        out = subprocess.run(
            [os.environ.get("DP", "dp"), "--pt", "test", "-m", str(ckpt), "-s", system, "-n", "100000"],
            capture_output=True, text=True, env=env, check=True,
        )
        text = out.stdout + out.stderr
        e = rmse(text, r"Energy RMSE/Natoms") * 1e3
        f = rmse(text, r"Force\s+RMSE") * 1e3
        print(f"{step},{ckpt.stat().st_mtime - start:.1f},{e:.4f},{f:.3f}", flush=True)


if __name__ == "__main__":
    main()
