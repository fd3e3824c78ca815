#!/usr/bin/env python3
"""Pool-based active learning on TiO2 with forcefit alone.

The 900 training structures of aenet-PyTorch's TiO2 example are the pool,
its 100 test structures the test set. A structure's DFT labels are "revealed"
only when it is selected. Every strategy starts from the same 45 random
structures and adds 45 per round until 270:

* committee: a committee of 4 NEP models; `forcefit deviation` over the
  rest of the pool, `forcefit select` takes the 3 x 45 frames of highest
  max_devi_f as candidates and picks 45 of them by farthest-point sampling
  on the descriptors (the labelled structures count as already picked);
* random: 45 structures drawn at random (seeds 1, 2, 3).

Round 0 trains from scratch; later rounds warm-retrain each member with
`--continue-from` the previous round. Each round records the members' mean
test RMSEs, the wall time of training and of deviation + selection. For
chosen rounds of the committee strategy, each member is also trained from scratch, to time how long
scratch training needs to reach the warm model's validation error
(`--scratch-rounds`). A single model trained on all 900 is the reference.

Writes WORK/results.json and, with --plot, the figure.

usage: tio2_pool.py --data DIR [--forcefit BIN] [--work DIR] [-j N]
  DIR holds train_all/ (the 900 pool structures, XSF, all with forces) and
  test/ (100), as examples/benchmarks/tio2-aenet/prepare_forcefit.py lays
  them out (see docs/active-learning.md).
"""

import argparse
import json
import os
import random
import subprocess
import sys
import time

START, STEP, STOP, K = 45, 45, 270, 4
MODEL = """[model]
cutoff = [6.0, 4.5]

[loss]
lambda_v = 0.0

[optimizer]
batch_size = 8
"""


def config(path, train, test, out, seed=1, validate_every=10, steps=None):
    files = ",\n  ".join(json.dumps(p) for p in train)
    with open(path, "w") as f:
        f.write(f"[data]\ntrain = [\n  {files}\n]\ntest = {json.dumps(test)}\n"
                f'format = "xsf"\n\n{MODEL}\n[train]\nseed = {seed}\n'
                f"validate_every = {validate_every}\noutput_dir = {json.dumps(out)}\n"
                + (f"steps = {steps}\n" if steps else ""))


def forcefit(args, *argv):
    cmd = [args.forcefit, *argv]
    t = time.time()
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed:\n{r.stderr[-3000:]}")
    return time.time() - t


def test_errors(run_dir):
    """Mean over the committee's members of the test RMSEs (meV/atom, meV/Å)."""
    with open(os.path.join(run_dir, "committee.json")) as f:
        c = json.load(f)
    e = [m["test"]["energy_rmse_mev_per_atom"] for m in c["members"]]
    fo = [m["test"]["force_rmse_mev_per_angstrom"] for m in c["members"]]
    return sum(e) / len(e), sum(fo) / len(fo)


def read_devi(path):
    rows = []
    with open(path) as f:
        for line in f:
            if line.startswith("#") or not line.strip():
                continue
            rows.append(float(line.split()[4]))  # max_devi_f
    return rows


def frame_keys(path):
    """(atom count, first position rounded) of each frame of an extxyz file."""
    keys, lines = [], open(path).read().splitlines()
    i = 0
    while i < len(lines):
        n = int(lines[i])
        first = lines[i + 2].split()
        keys.append((n, tuple(round(float(x), 4) for x in first[1:4])))
        i += n + 2
    return keys


def xsf_key(path):
    with open(path) as f:
        lines = f.read().splitlines()
    k = next(i for i, l in enumerate(lines) if l.strip() == "PRIMCOORD")
    n = int(lines[k + 1].split()[0])
    first = lines[k + 2].split()
    return (n, tuple(round(float(x), 4) for x in first[1:4]))


def select_committee(args, run_dir, labelled, pool, work):
    members = [os.path.join(run_dir, f"member-{k}", "nep.txt") for k in range(K)]
    models = [a for m in members for a in ("--model", m)]
    devi = os.path.join(work, "model_devi.out")
    t = forcefit(args, "deviation", *models, *pool, "-o", devi, "-j", args.j, "--format", "xsf")
    devs = sorted(read_devi(devi), reverse=True)
    trust_lo = devs[min(3 * STEP, len(devs)) - 1]
    cand = os.path.join(work, "candidates.xyz")
    t += forcefit(args, "select", *pool, "--format", "xsf", "--model-devi", devi,
                  "--trust-lo", repr(trust_lo), "--trust-hi", "1e9", "--max", str(STEP),
                  "--fps", "--model", members[0], *[a for t in labelled for a in ("--train", t)],
                  "-o", cand)
    by_key = {xsf_key(p): p for p in pool}
    chosen = [by_key[k] for k in frame_keys(cand)]
    return chosen, t


def run_strategy(args, name, pool_all, test, first, pick_seed):
    work = os.path.join(args.work, name)
    os.makedirs(work, exist_ok=True)
    labelled, rounds, prev = list(first), [], None
    rng = random.Random(pick_seed)
    r = 0
    while True:
        run_dir = os.path.join(work, f"round-{r}")
        cfg = os.path.join(work, f"round-{r}.toml")
        config(cfg, labelled, test, run_dir, seed=1)
        argv = ["train", cfg, "-q", "-j", args.j, "--committee", str(K)]
        if prev:
            argv += ["--continue-from", prev]
        t_train = forcefit(args, *argv)
        e, f = test_errors(run_dir)
        row = {"round": r, "labels": len(labelled), "test_e": e, "test_f": f,
               "train_s": t_train, "warm": prev is not None}
        if prev and r in args.scratch_rounds and name == "committee":
            row.update(scratch_comparison(args, work, r, labelled, test, run_dir))
        print(f"{name} round {r}: {len(labelled)} labels, test E {e:.2f} meV/atom, "
              f"F {f:.1f} meV/Å, training {t_train:.1f} s", flush=True)
        if len(labelled) >= STOP:
            rounds.append(row)
            break
        pool = [p for p in pool_all if p not in set(labelled)]
        if name == "committee":
            chosen, t_sel = select_committee(args, run_dir, labelled, pool, work)
        else:
            chosen, t_sel = rng.sample(pool, STEP), 0.0
        row["select_s"] = t_sel
        rounds.append(row)
        labelled += chosen
        prev, r = run_dir, r + 1
    return rounds


def scratch_comparison(args, work, r, labelled, test, warm_dir):
    """Each member from scratch: the time its validation force error first
    reaches the warm member's (from loss.csv's time and val columns)."""
    out = os.path.join(work, f"scratch-{r}")
    cfg = os.path.join(work, f"scratch-{r}.toml")
    config(cfg, labelled, test, out, seed=1, validate_every=1)
    total = forcefit(args, "train", cfg, "-q", "-j", args.j, "--committee", str(K))
    reach = []
    for k in range(K):
        with open(os.path.join(warm_dir, f"member-{k}", "summary.json")) as f:
            target = json.load(f)["test"]["force_rmse_mev_per_angstrom"]
        with open(os.path.join(out, f"member-{k}", "loss.csv")) as f:
            head = f.readline().strip().split(",")
            rows = [dict(zip(head, l.strip().split(","))) for l in f]
        hit = next((float(x["time_s"]) for x in rows
                    if x.get("val_force_rmse_mev_per_angstrom") not in (None, "", "nan")
                    and float(x["val_force_rmse_mev_per_angstrom"]) <= target), None)
        reach.append(hit)
    return {"scratch_total_s": total, "scratch_reach_s": reach}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True)
    ap.add_argument("--forcefit", default="target/release/forcefit")
    ap.add_argument("--work", default="al-work")
    ap.add_argument("-j", default="2")
    ap.add_argument("--scratch-rounds", type=int, nargs="*", default=[3, 5])
    ap.add_argument("--strategies", nargs="*", default=["committee", "random-1", "random-2", "random-3"])
    ap.add_argument("--plot", help="write the figure here")
    ap.add_argument("--production", nargs="*", default=[],
                    help="these strategies' final labels: one model from scratch, "
                         "as many steps as the all-900 model took")
    args = ap.parse_args()
    args.forcefit = os.path.abspath(args.forcefit)
    os.makedirs(args.work, exist_ok=True)
    pool_dir = os.path.join(args.data, "train_all")
    pool_all = sorted(os.path.realpath(os.path.join(pool_dir, f)) for f in os.listdir(pool_dir))
    test = os.path.realpath(os.path.join(args.data, "test"))
    first = random.Random(0).sample(pool_all, START)
    results_path = os.path.join(args.work, "results.json")
    results = json.load(open(results_path)) if os.path.exists(results_path) else {}
    if "all-900" not in results:
        out = os.path.join(args.work, "all-900")
        cfg = out + ".toml"
        config(cfg, pool_all, test, out)
        t = forcefit(args, "train", cfg, "-q", "-j", args.j)
        s = json.load(open(os.path.join(out, "summary.json")))["test"]
        results["all-900"] = {"test_e": s["energy_rmse_mev_per_atom"],
                              "test_f": s["force_rmse_mev_per_angstrom"], "train_s": t}
        print(f"all 900: {results['all-900']}", flush=True)
        json.dump(results, open(results_path, "w"), indent=1)
    for name in args.strategies:
        if name in results:
            continue
        seed = int(name.split("-")[1]) if name.startswith("random") else 0
        results[name] = run_strategy(args, name, pool_all, test, first, seed)
        json.dump(results, open(results_path, "w"), indent=1)
    json.dump(results, open(results_path, "w"), indent=1)
    if args.production:
        production(args, results, test)
        json.dump(results, open(results_path, "w"), indent=1)
    if args.plot:
        plot(results, args.plot)


def production(args, results, test):
    """The final labels' worth on its own: one model from scratch on each
    strategy's last labelled set, as many optimizer steps as the all-900
    model (300 epochs of 900 structures, 8 per step)."""
    import tomllib
    steps = 300 * -(-900 // 8)
    for name in args.production:
        last = max(r["round"] for r in results[name])
        with open(os.path.join(args.work, name, f"round-{last}.toml"), "rb") as f:
            train = tomllib.load(f)["data"]["train"]
        out = os.path.join(args.work, name, "production")
        cfg = out + ".toml"
        config(cfg, train, test, out, steps=steps)
        t = forcefit(args, "train", cfg, "-q", "-j", args.j)
        s = json.load(open(os.path.join(out, "summary.json")))["test"]
        results[name + "-production"] = {"labels": len(train), "test_e": s["energy_rmse_mev_per_atom"],
                                         "test_f": s["force_rmse_mev_per_angstrom"], "train_s": t}
        print(f"{name} production ({len(train)} labels, {steps} steps): "
              f"{results[name + '-production']}", flush=True)


def plot(results, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for ax, key, label in ((axes[0], "test_e", "test energy RMSE (meV/atom)"),
                           (axes[1], "test_f", "test force RMSE (meV/Å)")):
        for name, rows in results.items():
            if name.endswith("-production"):
                ax.plot([rows["labels"]], [rows[key]], marker="*", ms=12, ls="",
                        label=f"{name} (from scratch)")
                continue
            if name == "all-900":
                ax.axhline(rows[key], color="k", ls="--", label="all 900")
                continue
            style = dict(marker="o", lw=2) if name == "committee" else dict(marker=".", alpha=0.6)
            ax.plot([r["labels"] for r in rows], [r[key] for r in rows], label=name, **style)
        ax.set_xlabel("labelled structures")
        ax.set_ylabel(label)
        ax.legend(fontsize=8)
    fig.suptitle("TiO2 pool-based active learning: committee of 4 NEP (forcefit)")
    fig.tight_layout()
    fig.savefig(path, dpi=120)


if __name__ == "__main__":
    main()
