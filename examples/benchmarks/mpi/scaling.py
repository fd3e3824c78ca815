"""Scaling model of data-parallel training across nodes, from the compute and
communication measured on one machine by run.sh:

    python3 examples/benchmarks/mpi/scaling.py /tmp/mpi-bench/results.jsonl

prints the table of docs/cluster.md and writes docs/img/mpi-scaling.png.
Without an argument (or without the file) it starts from the measurements
docs/cluster.md records (RECORDED below).

One node is the measured machine (2 cores, one rank of 2 threads). A step
of a global batch of B structures costs, on N nodes,

    T(N) = (T_1 - K) * E[max_r b_r] / B  +  K  +  c * 2 log2(N) * alpha
           + 2 (N - 1) / N * m / beta

with T_1 the measured step time on one node, b_r the structures of a random
batch that rank r holds (structure i lives on rank i mod N, so the b_r are
multinomial; the slowest rank sets the pace), K the part every rank repeats
(the Kalman update of FEKF: each rank applies it to its own copy of P), c
collectives of m bytes in all per step (both measured on 2 ranks), latency
alpha = 2 us and bandwidth beta = 100 Gb/s (Rabenseifner's all-reduce). The
batch is global, so no more than B nodes have work.

With the covariance blocks spread over the ranks ("sharded"), K becomes
K * s(N), s(N) the largest rank's share of the packed block sizes under
forcefit's assignment (largest block first, to the least loaded rank), so
it stops falling once every block has a rank of its own; each of the u
updates per step adds two all-gathers (4 collectives: counts, then data)
and the parameters of the other ranks' blocks, (N - 1)/N * 8 n bytes.
"""
import json
import math
import random
import sys

ALPHA = 2e-6
BETA = 100e9 / 8
NODES = [1, 2, 4, 8, 16, 32, 64]


# The inputs docs/cluster.md records (2 cores, no other load): per case the
# step time on one process of 2 threads and its Kalman part, and the
# collectives and bytes per step of 2 ranks.
RECORDED = [
    ("mosi2n4-adam", 0.0049, 0.0, 5.0, 73_079, 4051),
    ("mosi2n4-fekf32", 0.1869, 0.0740, 28.2, 438_012, 4051),
    ("water-adam", 0.2109, 0.0, 5.1, 959_600, 53_302),
    ("water-fekf", 2.186, 1.366, 24.7, 4_797_650, 53_302),
]

# Covariance blocks (parameters) of the FEKF cases at their block_size:
# MoSi2N4's NEP is one block of 4,051 at the default 10240; `forcefit dp`
# puts the water model in 7 blocks of up to 10240.
BLOCKS = {
    "mosi2n4-fekf32": [4051],
    "water-fekf": [2700, 10240, 9810, 5251, 10240, 9810, 5251],
}
# Kalman updates per FEKF step: energy, 4 force, virial (MoSi2N4 has virials).
UPDATES = {"mosi2n4-fekf32": 6, "water-fekf": 5}


def load(path):
    try:
        rows = [json.loads(line) for line in open(path)]
    except (OSError, TypeError):
        rows = []
        for case, t1, k, c, m, n in RECORDED:
            rows.append({"case": case, "layout": "1x2", "s_per_step": t1, "params": n,
                         "kalman_ms_per_step": 1e3 * k, "steps_per_epoch": None})
            rows.append({"case": case, "layout": "2x1", "collectives_per_step": c,
                         "bytes_per_step": m})
    return {(r["case"], r["layout"]): r for r in rows}


def largest_block_share(blocks, n):
    """The largest rank's share of the packed sizes, forcefit's assignment."""
    packed = sorted(((b * (b + 1) // 2, i) for i, b in enumerate(blocks)),
                    key=lambda x: (-x[0], x[1]))
    load = [0] * n
    for size, _ in packed:
        r = min(range(n), key=lambda r: (load[r], r))
        load[r] += size
    return max(load) / sum(load)


def largest_share(batch, n, samples=4000):
    """E[max_r b_r] for a batch of `batch` structures dealt at random to n ranks."""
    if n == 1:
        return batch
    rng = random.Random(1)
    total = 0
    for _ in range(samples):
        counts = [0] * n
        for _ in range(batch):
            counts[rng.randrange(n)] += 1
        total += max(counts)
    return total / samples


def step_time(t1, kalman, batch, collectives, message_bytes, n, shard=None):
    """shard: (blocks, updates per step, parameters) when P is sharded."""
    compute = (t1 - kalman) * largest_share(batch, n) / batch
    if n == 1:
        return compute + kalman
    comm = collectives * 2 * math.log2(n) * ALPHA + 2 * (n - 1) / n * message_bytes / BETA
    if shard:
        blocks, updates, params = shard
        kalman *= largest_block_share(blocks, n)
        comm += updates * (4 * math.log2(n) * ALPHA + (n - 1) / n * 8 * params / BETA)
    return compute + kalman + comm


def scenarios(r):
    """(label, T_1 s/step, K s/step, batch, collectives, bytes, steps per epoch)."""
    out = []
    for case, batch, label in [
        ("mosi2n4-adam", 8, "MoSi2N4 NEP, Adam, batch 8"),
        ("mosi2n4-fekf32", 32, "MoSi2N4 NEP, FEKF, batch 32"),
        ("water-adam", 4, "water DeePMD, Adam, batch 4"),
        ("water-fekf", 4, "water DeePMD, FEKF, batch 4"),
    ]:
        one, two = r.get((case, "1x2")), r.get((case, "2x1"))
        if not one or not two:
            continue
        k = (one["kalman_ms_per_step"] or 0) / 1e3
        row = (label, one["s_per_step"], k, batch, two["collectives_per_step"],
               two["bytes_per_step"], None)
        out.append(row)
        if case in BLOCKS and len(BLOCKS[case]) > 1:
            shard = (BLOCKS[case], UPDATES[case], one["params"])
            out.append((label + ", P sharded",) + row[1:-1] + (shard,))
    # 100k structures of MoSi2N4's kind: per-structure cost from MoSi2N4,
    # batches of 256 (Adam) and 512 (FEKF).
    adam, fekf = r.get(("mosi2n4-adam", "1x2")), r.get(("mosi2n4-fekf32", "1x2"))
    adam2, fekf2 = r.get(("mosi2n4-adam", "2x1")), r.get(("mosi2n4-fekf32", "2x1"))
    if adam and adam2:
        per = adam["s_per_step"] / 8
        out.append(("100k structures (MoSi2N4 kind), Adam, batch 256", per * 256, 0.0, 256,
                    adam2["collectives_per_step"], adam2["bytes_per_step"], None))
    if fekf and fekf2:
        k = fekf["kalman_ms_per_step"] / 1e3
        per = (fekf["s_per_step"] - k) / 32
        out.append(("100k structures (MoSi2N4 kind), FEKF, batch 512", per * 512 + k, k, 512,
                    fekf2["collectives_per_step"], fekf2["bytes_per_step"], None))
    return out


def main():
    r = load(sys.argv[1] if len(sys.argv) > 1 else None)
    table = []
    print("| case | " + " | ".join(f"{n} node{'s' if n > 1 else ''}" for n in NODES)
          + " | stops scaling at |")
    print("|---|" + "---|" * (len(NODES) + 1))
    for label, t1, k, batch, c, m, shard in scenarios(r):
        times = [step_time(t1, k, batch, c, m, n, shard) for n in NODES]
        speedup = [times[0] / t for t in times]
        # Where adding nodes stops paying: efficiency below one half.
        stop = next((n for n, s in zip(NODES, speedup) if s / n < 0.5), None)
        cells = [f"{t * 1e3:.1f} ms ({s:.1f}×)" for t, s in zip(times, speedup)]
        print(f"| {label} | " + " | ".join(cells) + f" | {stop or '> 64'} nodes |")
        table.append((label, speedup))
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return
    fig, ax = plt.subplots(figsize=(7, 4.5))
    ax.plot(NODES, NODES, "k:", label="ideal")
    for label, speedup in table:
        ax.plot(NODES, speedup, "o-", label=label)
    ax.set_xscale("log", base=2)
    ax.set_yscale("log", base=2)
    ax.set_xlabel("nodes (one rank of 2 threads each)")
    ax.set_ylabel("speed-up per optimizer step")
    ax.set_title("Modelled data-parallel scaling, 100 Gb/s, 2 µs latency")
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig("docs/img/mpi-scaling.png", dpi=120)


if __name__ == "__main__":
    main()
