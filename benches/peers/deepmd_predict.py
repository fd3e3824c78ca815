#!/usr/bin/env python3
"""Time deepmd-kit's DeepPot (PyTorch backend, CPU) predicting E+F+V on water.

The deepmd-kit side of forcefit's prediction benchmark.  For each model
written by ``benches/peers/deepmd_models.py`` (``water_se_e2_a``: embedding
[25, 50, 100], fitting [240, 240, 240]; ``fekf_se_e2_a``: embedding
[25, 25, 25], fitting [50, 50, 50]; both se_e2_a, rcut 6, sel [46, 92],
axis_neuron 16, float64) and for 1 and 2 threads it loads the ``.pth`` with
``deepmd.infer.DeepPot`` and times ``dp.eval(coords, cells, atype)``
(energy, forces and virial; no per-atom virial) on the first 40 frames of
water data_3 (192 atoms each), in two modes:

* ``batched``:   one ``eval`` call on all frames (deepmd-kit splits it into
                 batches of DP_INFER_BATCH_SIZE = 1024 atoms, i.e. 5 frames)
* ``per_frame``: one ``eval`` call per frame (as an MD driver would call it)

Each (model, threads) case runs in a fresh Python process, because
deepmd-kit fixes torch's thread pools at import time from the environment.
The worker gets ``OMP_NUM_THREADS=n``, ``DP_INTRA_OP_PARALLELISM_THREADS=n``
and ``DP_INTER_OP_PARALLELISM_THREADS=1`` (the variables deepmd-kit's
parallelism docs name; it calls ``torch.set_num_threads`` /
``torch.set_num_interop_threads`` from the DP_ ones) and also calls
``torch.set_num_threads(n)`` itself.  One warm-up pass (TorchScript
profiling/optimisation happens in the first calls), then the best of
``--repeats`` timed passes is reported as atoms/s.

Run (after deepmd_models.py; about 8-10 minutes on an idle 2-core machine; uses
up to 2 cores; each repeat also records the CPU seconds other processes used
meanwhile, "other_cpu_s", so a disturbed measurement shows):

    /work/venv-dp/bin/python benches/peers/deepmd_models.py /tmp/dp-models
    /work/venv-dp/bin/python benches/peers/deepmd_predict.py --models-dir /tmp/dp-models

Options: ``--threads 1 2``, ``--frames 40``, ``--repeats 5``,
``--json out.json`` (also printed as the last stdout line),
``--models water_se_e2_a fekf_se_e2_a``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

DEFAULT_DATA = "/work/shared/datasets/water-deepmd"
MODELS = ["water_se_e2_a", "fekf_se_e2_a"]


def _busy_s() -> float:
    """Machine-wide busy CPU seconds (all cores) from /proc/stat."""
    f = open("/proc/stat").readline().split()[1:]
    user, nice, system, idle, iowait, irq, softirq, steal = (int(x) for x in f[:8])
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def _own_s() -> float:
    t = os.times()
    return t.user + t.system


def worker(args) -> dict:
    import numpy as np
    import torch

    n = args.threads[0]
    torch.set_num_threads(n)
    import deepmd
    from deepmd.infer import DeepPot

    data = Path(args.data) / "data_3"
    setdir = sorted(data.glob("set.*"))[0]
    coord = np.load(setdir / "coord.npy").astype(np.float64)[: args.frames]
    box = np.load(setdir / "box.npy").astype(np.float64)[: args.frames]
    atype = np.loadtxt(data / "type.raw", dtype=np.int64).reshape(-1)
    nf, nat = coord.shape[0], len(atype)
    coord = coord.reshape(nf, nat, 3)
    box = box.reshape(nf, 9)

    t0 = time.perf_counter()
    dp = DeepPot(args.model)
    load_s = time.perf_counter() - t0

    def batched():
        e, f, v = dp.eval(coord, box, atype)
        return e

    def per_frame():
        for i in range(nf):
            dp.eval(coord[i : i + 1], box[i : i + 1], atype)

    res = {
        "model": args.model,
        "threads": n,
        "torch_num_threads": torch.get_num_threads(),
        "torch_num_interop_threads": torch.get_num_interop_threads(),
        "env": {k: os.environ.get(k) for k in ("OMP_NUM_THREADS", "DP_INTRA_OP_PARALLELISM_THREADS", "DP_INTER_OP_PARALLELISM_THREADS")},
        "frames": nf,
        "atoms_per_frame": nat,
        "load_s": load_s,
        "deepmd_version": deepmd.__version__,
        "torch_version": torch.__version__,
        "loadavg_before": open("/proc/loadavg").read().split()[:3],
    }
    for mode, fn in (("batched", batched), ("per_frame", per_frame)):
        if mode not in args.modes:
            continue
        t0 = time.perf_counter()
        fn()  # warm-up (TorchScript profiling executor optimises in the first calls)
        warm = time.perf_counter() - t0
        times, other = [], []
        for _ in range(args.repeats):
            b0, o0 = _busy_s(), _own_s()
            t0 = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t0)
            other.append(max(0.0, (_busy_s() - b0) - (_own_s() - o0)))
        best = min(times)
        res[mode] = {
            "warmup_s": warm,
            "times_s": times,
            # CPU seconds used by other processes during each repeat: a repeat
            # with other_cpu_s well above 0 was disturbed by another job.
            "other_cpu_s": other,
            "best_s": best,
            "atoms_per_s": nf * nat / best,
            "ms_per_frame": 1e3 * best / nf,
        }
    e, f, v = dp.eval(coord[:1], box[:1], atype)
    res["check_frame0"] = {"energy": float(e.reshape(-1)[0]), "virial_xx": float(v.reshape(-1)[0])}
    res["loadavg_after"] = open("/proc/loadavg").read().split()[:3]
    return res


def main(argv=None):
    ap = argparse.ArgumentParser(description="Time deepmd-kit DeepPot E+F+V prediction on water.")
    ap.add_argument("--models-dir", default="/tmp/dp-models")
    ap.add_argument("--models", nargs="*", default=MODELS)
    ap.add_argument("--threads", nargs="*", type=int, default=[1, 2])
    ap.add_argument("--frames", type=int, default=40)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--data", default=DEFAULT_DATA)
    ap.add_argument("--modes", nargs="*", default=["batched", "per_frame"], choices=["batched", "per_frame"])
    ap.add_argument("--json", help="also write the results to this file")
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--model", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)

    if args.worker:
        print(json.dumps(worker(args)))
        return

    results = []
    for name in args.models:
        pth = Path(args.models_dir) / f"{name}.pth"
        if not pth.exists():
            sys.exit(f"{pth} not found: run benches/peers/deepmd_models.py {args.models_dir} first")
        for n in args.threads:
            env = dict(os.environ)
            env.update(
                OMP_NUM_THREADS=str(n),
                DP_INTRA_OP_PARALLELISM_THREADS=str(n),
                DP_INTER_OP_PARALLELISM_THREADS="1",
            )
            cmd = [
                sys.executable,
                os.path.abspath(__file__),
                "--worker",
                "--model",
                str(pth),
                "--threads",
                str(n),
                "--frames",
                str(args.frames),
                "--repeats",
                str(args.repeats),
                "--data",
                args.data,
                "--modes",
                *args.modes,
            ]
            p = subprocess.run(cmd, env=env, capture_output=True, text=True)
            if p.returncode != 0:
                sys.stderr.write(p.stderr)
                sys.exit(f"worker failed for {name} with {n} threads")
            r = json.loads(p.stdout.strip().splitlines()[-1])
            r["name"] = name
            results.append(r)
            for mode in args.modes:
                print(
                    f"{name:15s} threads={n}  {mode:9s} {r[mode]['atoms_per_s']:8.0f} atoms/s "
                    f"({r[mode]['ms_per_frame']:.1f} ms/frame; repeats {[round(t, 2) for t in r[mode]['times_s']]} s, "
                    f"other processes' CPU {[round(t, 1) for t in r[mode]['other_cpu_s']]} s)",
                    file=sys.stderr,
                    flush=True,
                )

    print()
    print(f"deepmd-kit {results[0]['deepmd_version']}, torch {results[0]['torch_version']}, CPU, float64, "
          f"{results[0]['frames']} frames x {results[0]['atoms_per_frame']} atoms of water data_3, E+F+V, best of {args.repeats}")
    print(f"| model | threads | batched atoms/s | per-frame atoms/s | ms/frame (batched) |")
    print(f"|---|---|---|---|---|")
    def cell(r, mode, key, fmt):
        return format(r[mode][key], fmt) if mode in r else "-"

    for r in results:
        print(f"| {r['name']} | {r['threads']} | {cell(r, 'batched', 'atoms_per_s', '.0f')} | "
              f"{cell(r, 'per_frame', 'atoms_per_s', '.0f')} | {cell(r, 'batched', 'ms_per_frame', '.1f')} |")
    doc = {"benchmark": "deepmd-kit DeepPot E+F+V prediction", "results": results}
    if args.json:
        Path(args.json).write_text(json.dumps(doc, indent=1))
    print(json.dumps(doc))


if __name__ == "__main__":
    main()
