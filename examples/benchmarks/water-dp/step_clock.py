"""Runs a training command and clocks its steps: the wall time and the
process CPU time (user + system of the command and all its descendants,
all threads) at which each learning-curve line appears. Used by lkf.sh for
both codes, so a step is timed the same way on a loaded machine.

    python3 step_clock.py [--slim DIR] LCURVE CSV -- COMMAND [ARGS...]

LCURVE is the `lcurve.out` the command writes (deepmd-kit's layout, which
forcefit dp also writes): a data line `<step> ...` marks the end of that
step and of its validation.

`--slim DIR` is for deepmd-kit's checkpoints: with the Kalman filter a
`model.ckpt-<step>.pt` holds the optimizer's covariance blocks (3.7 GB
for this model in blocks of 10,240), so eight of them would fill the
disk. When deepmd-kit publishes one (points `DIR/model.ckpt.pt` at it,
after writing it), the command is stopped (SIGSTOP to its whole process
tree), the file is rewritten with the model's weights only (what `dp
test` reads), and the command is continued; the stopped time is taken off
the wall clock, and the slimming's CPU time is not the command's. The
time from a step's lcurve line to the publication of its checkpoint (the
write) is recorded, so that the write can be left out of a step's time.

Writes CSV: `step,wall_s,cpu_s,save_wall_s,save_cpu_s,max_rss_mib`
(seconds since the command started; the save columns for steps with a
checkpoint), and a last row `end` with the whole command's wall and CPU
time and its peak resident memory. Marks are
polled every 0.2 s. Exits with the command's exit code. Documentation
tooling only (standard library; the slimming runs python3 with torch).
"""
import os
import pathlib
import re
import resource
import signal
import subprocess
import sys
import time

TICK = os.sysconf("SC_CLK_TCK")
SLIM = """
import os, sys, torch
path, tmp = sys.argv[1], sys.argv[1] + ".slim"
ckpt = torch.load(path, map_location="cpu", mmap=True, weights_only=False)
torch.save({"model": ckpt["model"]}, tmp)
os.replace(tmp, path)
"""


def processes():
    """{pid: (ppid, CPU seconds incl. reaped children)} of all processes."""
    out = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            text = pathlib.Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        # The command name may contain spaces: fields start after the last ')'.
        fields = text[text.rindex(")") + 2:].split()
        ticks = sum(int(fields[i]) for i in (11, 12, 13, 14))
        out[int(entry)] = (int(fields[1]), ticks / TICK)
    return out


def tree(root):
    """(pids, CPU seconds) of `root` and all its live descendants."""
    procs = processes()
    children = {}
    for pid, (ppid, _) in procs.items():
        children.setdefault(ppid, []).append(pid)
    pids, total, stack = [], 0.0, [root]
    while stack:
        pid = stack.pop()
        if pid in procs:
            pids.append(pid)
            total += procs[pid][1]
        stack.extend(children.get(pid, []))
    return pids, total


def lcurve_steps(path):
    if not path.exists():
        return set()
    found = set()
    for line in path.read_text().splitlines(keepends=True):
        fields = line.split()
        # Only whole lines: a line being written has no newline yet.
        if line.endswith("\n") and fields and fields[0].isdigit() and len(fields) > 2:
            found.add(int(fields[0]))
    return found


def published(directory):
    """The step of the checkpoint DIR/model.ckpt.pt points at, if any."""
    try:
        target = os.readlink(directory / "model.ckpt.pt")
    except OSError:
        return None
    m = re.fullmatch(r"model\.ckpt-(\d+)\.pt", os.path.basename(target))
    return (int(m.group(1)), directory / os.path.basename(target)) if m else None


def signal_quietly(pid, sig):
    try:
        os.kill(pid, sig)
    except ProcessLookupError:  # it has just ended
        pass


def children_cpu():
    u = resource.getrusage(resource.RUSAGE_CHILDREN)
    return u.ru_utime + u.ru_stime


def main():
    args = sys.argv[1:]
    slim_dir = None
    if args[:1] == ["--slim"]:
        slim_dir, args = pathlib.Path(args[1]), args[2:]
    if len(args) < 4 or args[2] != "--":
        raise SystemExit(__doc__)
    lcurve, out, cmd = pathlib.Path(args[0]), pathlib.Path(args[1]), args[3:]
    start = time.time()
    proc = subprocess.Popen(cmd)
    marks, saves = {}, {}
    paused = 0.0  # wall seconds the command was stopped
    helpers_cpu = 0.0  # CPU seconds of the slimming, not the command's
    slimmed = set()

    def slim(step, path, live):
        nonlocal paused, helpers_cpu
        t0 = time.time()
        pids = tree(proc.pid)[0] if live else []
        for pid in pids:
            signal_quietly(pid, signal.SIGSTOP)
        c0 = children_cpu()
        subprocess.run([sys.executable, "-c", SLIM, str(path)], check=True)
        helpers_cpu += children_cpu() - c0
        for pid in pids:
            signal_quietly(pid, signal.SIGCONT)
        if live:
            paused += time.time() - t0
        slimmed.add(step)

    while proc.poll() is None:
        now = time.time() - start - paused
        cpu = tree(proc.pid)[1]
        for step in sorted(lcurve_steps(lcurve) - set(marks)):
            marks[step] = (now, cpu)
        if slim_dir is not None:
            p = published(slim_dir)
            if p is not None and p[0] not in slimmed:
                saves[p[0]] = (now, cpu)
                slim(*p, live=True)
                continue
        time.sleep(0.2)
    wall = time.time() - start - paused
    cpu = children_cpu() - helpers_cpu
    # Marks that appeared just before the exit: the process is gone, so its
    # CPU time is the reaped total.
    for step in sorted(lcurve_steps(lcurve) - set(marks)):
        marks[step] = (wall, cpu)
    if slim_dir is not None:
        for path in sorted(slim_dir.glob("model.ckpt-*.pt")):
            step = int(re.fullmatch(r"model\.ckpt-(\d+)\.pt", path.name).group(1))
            if step not in slimmed and not path.is_symlink():
                saves.setdefault(step, (wall, cpu))
                slim(step, path, live=False)
    rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    with open(out, "w") as f:
        f.write("step,wall_s,cpu_s,save_wall_s,save_cpu_s,max_rss_mib\n")
        for step in sorted(marks):
            w, c = marks[step]
            sw, sc = "", ""
            if step in saves:
                sw, sc = f"{saves[step][0] - w:.2f}", f"{saves[step][1] - c:.2f}"
            f.write(f"{step},{w:.2f},{c:.2f},{sw},{sc},\n")
        f.write(f"end,{wall:.2f},{cpu:.2f},,,{rss:.0f}\n")
    sys.exit(proc.returncode)


if __name__ == "__main__":
    main()
