"""One side's curve for lkf.sh: the step clock (step_clock.py's clock.csv)
joined with the validation errors on all of data_3 at each step, printed
as CSV: step, wall_s, cpu_s, save_wall_s, save_cpu_s,
energy_rmse_mev_per_atom, force_rmse_mev_per_angstrom, and a last row
`end` with the whole command's wall and CPU time.

    python3 lkf_join.py deepmd-kit RUN   # errors from RUN/test.csv (dp test of each checkpoint)
    python3 lkf_join.py forcefit RUN     # errors from RUN/checkpoint.json (its lcurve rows)

forcefit's lcurve rows hold the validation RMSEs of all of data_3 at full
precision (lcurve.out prints three digits); the last one is checked
against the run's own end-of-run validation in RUN/loss.csv.
"""
import csv
import json
import sys

HEADER = ("step,wall_s,cpu_s,save_wall_s,save_cpu_s,"
          "energy_rmse_mev_per_atom,force_rmse_mev_per_angstrom")


def main():
    side, run = sys.argv[1], sys.argv[2]
    with open(f"{run}/clock.csv") as f:
        clock = {r["step"]: r for r in csv.DictReader(f)}
    errors = {}
    if side == "deepmd-kit":
        with open(f"{run}/test.csv") as f:
            for r in csv.DictReader(f):
                errors[r["step"]] = (float(r["energy_rmse_mev_per_atom"]),
                                     float(r["force_rmse_mev_per_angstrom"]))
    elif side == "forcefit":
        with open(f"{run}/checkpoint.json") as f:
            rows = json.load(f)["lcurve"]
        for r in rows:
            v = r["validation"]
            errors[str(r["step"])] = (v[1] * 1e3, v[2] * 1e3)
        with open(f"{run}/loss.csv") as f:
            last = list(csv.DictReader(f))[-1]
        step = str(rows[-1]["step"])
        if last["step"] != step or abs(float(last["val_force_rmse_mev_per_angstrom"])
                                       - errors[step][1]) > 1e-6:
            raise SystemExit(f"{run}: the last lcurve row (step {step}) is not loss.csv's "
                             f"last validation (step {last['step']})")
    else:
        raise SystemExit(f"unknown side {side!r}")
    print(HEADER)
    for step in sorted(errors, key=int):
        c = clock[step]
        e, f = errors[step]
        print(f'{step},{c["wall_s"]},{c["cpu_s"]},{c["save_wall_s"]},{c["save_cpu_s"]},{e:.4f},{f:.3f}')
    print(f'end,{clock["end"]["wall_s"]},{clock["end"]["cpu_s"]},,,,')


if __name__ == "__main__":
    main()
