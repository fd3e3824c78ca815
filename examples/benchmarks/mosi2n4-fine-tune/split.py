"""Splits an extended-XYZ training set into two random halves A and B (and
`all`, the whole set), keeping every line of each frame as it is.

    python3 split.py train.xyz OUTDIR FRACTION_A SEED
"""
import random
import sys

src, out, fraction, seed = sys.argv[1], sys.argv[2], float(sys.argv[3]), int(sys.argv[4])
frames, lines = [], open(src).read().splitlines(keepends=True)
i = 0
while i < len(lines):
    if not lines[i].strip():
        i += 1
        continue
    n = int(lines[i])
    frames.append(lines[i:i + n + 2])
    i += n + 2
order = list(range(len(frames)))
random.Random(seed).shuffle(order)
cut = round(fraction * len(frames))
parts = {"A": sorted(order[:cut]), "B": sorted(order[cut:]), "all": list(range(len(frames)))}
for name, idx in parts.items():
    with open(f"{out}/{name}.xyz", "w") as f:
        for k in idx:
            f.writelines(frames[k])
    print(f"{name}: {len(idx)} structures")
