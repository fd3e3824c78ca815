#!/usr/bin/env bash
# Peer benchmark: aenet-PyTorch training its own TiO2 example on this CPU.
#
#   1. build aenet-PyTorch's modified aenet (lib + src, gfortran serial) and tools/
#   2. generate.x on the 1000 TiO2 XSF files (the example's generate.in), then
#      trainbin2ASCII.x -> TiO.train.ascii (+ TiO.train.forces)
#   3. aenet-PyTorch (src/aenet_pytorch.py) with the example's train.in,
#      ITERATIONS replaced by $ITERATIONS, $THREADS torch threads,
#      under /usr/bin/time -v, with the machine load sampled every 15 s
#   4. summary.txt: timings, peak memory, final RMSEs, load
#
# Variables (environment):
#   WORK         work directory (default /work/bench/aenet-peer)
#   ITERATIONS   training iterations/epochs (default 500, the example's train.in)
#   THREADS      torch/OpenMP threads (default 2)
#   DATA         the tio2-aenet data set (default <repo>/../shared/datasets/tio2-aenet)
#   PY           python with torch + numpy (default: $WORK/venv, created if missing)
#   SRC_GIT      a git directory of aenet-PyTorch (bare mirror or clone); if unset
#                and /work/.mirror/atomisticnet+aenet-PyTorch/repo does not exist,
#                the upstream repository is cloned
#   REV          aenet-PyTorch commit (default the one benchmarked)
#   EXAMPLE_SPLIT=1  make generate.x select the example's own 25 % force
#                structures (a 10-line patch that reads the selection from
#                $AENET_FORCE_SELECTION); aenet-PyTorch's own train/test split
#                (numpy seed 1) then reproduces the example's split exactly.
#                Default 0: upstream generate.x, whose unseeded RNG draws anew.
#   INSTALL_DEPS=0   skip apt-get / pip
#   NICE         niceness for the builds (default 19)
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$HERE/../../.." && pwd)
WORK=${WORK:-/work/bench/aenet-peer}
ITERATIONS=${ITERATIONS:-500}
THREADS=${THREADS:-2}
DATA=${DATA:-$REPO_ROOT/../shared/datasets/tio2-aenet}
REV=${REV:-c1cf315c39382663e14654ccf5bade967acebe73}
EXAMPLE_SPLIT=${EXAMPLE_SPLIT:-0}
INSTALL_DEPS=${INSTALL_DEPS:-1}
NICE=${NICE:-19}
UPSTREAM=https://github.com/atomisticnet/aenet-PyTorch.git

[ -d "$DATA/xsf" ] || { echo "data set not found: DATA=$DATA" >&2; exit 1; }
DATA=$(cd "$DATA" && pwd)
mkdir -p "$WORK/logs"
WORK=$(cd "$WORK" && pwd)
LOGS=$WORK/logs
log() { echo "[$(date +%T)] $*" | tee -a "$LOGS/run_peer.log"; }

# ---------------------------------------------------------------- deps
if [ "$INSTALL_DEPS" = 1 ]; then
  if ! dpkg -s gfortran liblapack-dev libblas-dev time python3-venv >/dev/null 2>&1; then
    log "apt-get install gfortran liblapack-dev libblas-dev time python3-venv"
    apt-get update
    DEBIAN_FRONTEND=noninteractive apt-get install -y gfortran liblapack-dev libblas-dev time python3-venv
  fi
fi
if [ -z "${PY:-}" ]; then
  PY=$WORK/venv/bin/python
  if [ ! -x "$PY" ]; then
    [ "$INSTALL_DEPS" = 1 ] || { echo "set PY to a python with torch and numpy" >&2; exit 1; }
    log "creating $WORK/venv with torch and numpy"
    python3 -m venv "$WORK/venv"
    "$WORK/venv/bin/pip" install torch numpy
  fi
fi
"$PY" -c 'import torch, numpy' || { echo "$PY lacks torch/numpy" >&2; exit 1; }

# ---------------------------------------------------------------- sources
SRC=$WORK/src
rm -rf "$SRC"; mkdir -p "$SRC"
PATHS="aenet_modified/lib aenet_modified/src aenet_modified/bin tools src example LICENSE"
if [ -z "${SRC_GIT:-}" ] && [ -d /work/.mirror/atomisticnet+aenet-PyTorch/repo ]; then
  SRC_GIT=/work/.mirror/atomisticnet+aenet-PyTorch/repo
fi
if [ -z "${SRC_GIT:-}" ]; then
  log "cloning $UPSTREAM"
  git clone -q "$UPSTREAM" "$WORK/aenet-PyTorch.git" 2>/dev/null || git -C "$WORK/aenet-PyTorch.git" fetch -q
  SRC_GIT=$WORK/aenet-PyTorch.git
fi
# archive only the paths needed (a partial mirror may lack unrelated objects)
# shellcheck disable=SC2086
git -C "$SRC_GIT" archive "$REV" $PATHS | tar -x -C "$SRC"
echo "$REV" > "$LOGS/aenet-pytorch-commit.txt"
log "aenet-PyTorch $REV extracted to $SRC"

if [ "$EXAMPLE_SPLIT" = 1 ]; then
  log "patching pytorchoutput.f90: force selection from \$AENET_FORCE_SELECTION"
  "$PY" - "$SRC/aenet_modified/src/pytorchoutput.f90" <<'EOF'
import sys
p = sys.argv[1]; s = open(p).read()
decl = "      integer          :: istruc, jstruc, aux, N_do_forces\n"
add_decl = decl + "      character(len=4096) :: fsel\n      integer          :: ustat, usel\n"
block = """
      ! benchmark patch: take the selection (one 0/1 per FILES entry) from a file
      call get_environment_variable('AENET_FORCE_SELECTION', fsel, status=ustat)
      if (ustat == 0 .and. len_trim(fsel) > 0) then
        open(newunit=usel, file=trim(fsel), status='old', action='read')
        do istruc = 1, nstrucs
          read(usel, *) struc_write_force(istruc)
        end do
        close(usel)
      end if
"""
end = "  end subroutine pyo_select_force_structures"
assert s.count(decl) == 1 and s.count(end) == 1
s = s.replace(decl, add_decl).replace(end, block + end)
open(p, "w").write(s)
EOF
fi

# ---------------------------------------------------------------- 1. build
log "building (nice -n $NICE)"
( cd "$SRC/aenet_modified/lib" && nice -n "$NICE" make ) > "$LOGS/build-lib.log" 2>&1
( cd "$SRC/aenet_modified/src" && nice -n "$NICE" make -f makefiles/Makefile.gfortran_serial ) > "$LOGS/build-aenet.log" 2>&1
( cd "$SRC/tools" && nice -n "$NICE" make ) > "$LOGS/build-tools.log" 2>&1
GENERATE=$(ls "$SRC"/aenet_modified/bin/generate.x-*)
TRAINBIN2ASCII=$SRC/tools/trainbin2ASCII.x
[ -x "$GENERATE" ] && [ -x "$TRAINBIN2ASCII" ] && log "build ok: $(basename "$GENERATE"), trainbin2ASCII.x, nnASCII2bin.x"

# ---------------------------------------------------------------- 2. generate
RUN=$WORK/run
rm -rf "$RUN"; mkdir -p "$RUN/01-generate" "$RUN/02-train"
ln -s "$DATA/xsf" "$RUN/dir_xsf"          # generate.in lists ../dir_xsf/structureNNNN.xsf
G=$RUN/01-generate
cp "$DATA/aenet-pytorch-generate.in" "$G/generate.in"
cp "$DATA/aenet-pytorch-Ti.fingerprint.stp" "$G/Ti.fingerprint.stp"
cp "$DATA/aenet-pytorch-O.fingerprint.stp" "$G/O.fingerprint.stp"
chmod u+w "$G"/*

# the example's split, reconstructed from its output files
"$PY" "$HERE/example_split.py" --outputs "$DATA" --xsf "$DATA/xsf" -o "$WORK/example_split.json" \
  > "$LOGS/example_split.txt"
cat "$LOGS/example_split.txt" | tee -a "$LOGS/run_peer.log"
if [ "$EXAMPLE_SPLIT" = 1 ]; then
  "$PY" - "$G/generate.in" "$WORK/example_split.json" "$G/force_selection.txt" <<'EOF'
import json, os, sys
gen, split, out = sys.argv[1:]
s = json.load(open(split)); F = set(s["train_forces"]) | set(s["test_forces"])
files = [os.path.basename(l.split()[0]) for l in open(gen) if l.strip().endswith(".xsf")]
open(out, "w").write("".join("%d\n" % (f in F) for f in files))
print("force selection: %d of %d structures" % (sum(f in F for f in files), len(files)))
EOF
  export AENET_FORCE_SELECTION=$G/force_selection.txt
fi

log "generate.x"
uptime > "$LOGS/generate-uptime.txt"
( cd "$G" && /usr/bin/time -v -o "$LOGS/generate-time.txt" "$GENERATE" generate.in > generate.out 2> generate.err )
uptime >> "$LOGS/generate-uptime.txt"
( cd "$G" && /usr/bin/time -v -o "$LOGS/trainbin2ascii-time.txt" "$TRAINBIN2ASCII" TiO.train TiO.train.ascii \
    > "$LOGS/trainbin2ascii.out" 2>&1 )
unset AENET_FORCE_SELECTION
log "generate.x: $(grep 'Elapsed' "$LOGS/generate-time.txt" | awk '{print $NF}') wall"

# ---------------------------------------------------------------- 3. train
T=$RUN/02-train
sed "s/^ITERATIONS .*/ITERATIONS  $ITERATIONS/" "$DATA/aenet-pytorch-train.in" > "$T/train.in"
ln -s ../01-generate/TiO.train.ascii "$T/TiO.train.ascii"
ln -s ../01-generate/TiO.train.forces "$T/TiO.train.forces"   # TRAININGSET X.train.ascii -> X.train.forces
rm -f "$T/model.restart"                                       # else aenet-PyTorch restarts from it

export OMP_NUM_THREADS=$THREADS MKL_NUM_THREADS=$THREADS PYTHONUNBUFFERED=1
"$PY" -c 'import torch, numpy; print("torch", torch.__version__, "threads", torch.get_num_threads(), "numpy", numpy.__version__)' \
  | tee "$LOGS/python-env.txt"
sample_load() {
  while true; do
    echo "$(date +%T) $(cut -d' ' -f1-3 /proc/loadavg) | $(ps -eo pcpu=,comm= --sort=-pcpu | head -4 | tr -s ' ' | tr '\n' ';')"
    sleep 15
  done
}
uptime > "$LOGS/train-uptime.txt"
sample_load > "$LOGS/train-load-samples.txt" &
SAMPLER=$!
trap 'kill $SAMPLER 2>/dev/null || true' EXIT
log "aenet-PyTorch: $ITERATIONS iterations, $THREADS threads"
set +e
( cd "$T" && /usr/bin/time -v -o "$LOGS/train-time.txt" "$PY" "$SRC/src/aenet_pytorch.py" train.in 2> train.err \
    | while IFS= read -r line; do printf '%s %s\n' "$EPOCHREALTIME" "$line" >> train.out.stamped; printf '%s\n' "$line"; done \
    > "$T/train.out" )
RC=$?
set -e
kill $SAMPLER 2>/dev/null || true
uptime >> "$LOGS/train-uptime.txt"
[ $RC = 0 ] || { log "aenet-PyTorch failed (rc $RC), see $T/train.err"; exit $RC; }

# ---------------------------------------------------------------- 4. summary
"$PY" "$HERE/example_split.py" --outputs "$T" --prefix "" --xsf "$DATA/xsf" -o "$WORK/peer_split.json" \
  > "$LOGS/peer_split.txt"
"$PY" - "$WORK" "$ITERATIONS" > "$WORK/summary.txt" <<'EOF'
import re, statistics, sys
work, iters = sys.argv[1], int(sys.argv[2])
L = work + "/logs"; T = work + "/run/02-train"
def tv(path, key):
    for l in open(path):
        if key in l:
            return l.split(": ", 1)[1].strip() if ": " in l else l.split()[-1]
out = open(T + "/train.out").read()
ep = re.findall(r"^\s*(\d+) :\s+(\S+)\s+(\S+)\s+\|\s+(\S+)\s+(\S+)\s+\|\s+(\S+)\s+(\S+)", out, re.M)
t_train = float(re.search(r"Time needed for training:\s+(\S+)", out).group(1))
mem = re.search(r"Maximum CPU memory used:\s+(\S+)", out).group(1)
stamps = [float(l.split()[0]) for l in open(T + "/train.out.stamped") if re.match(r"^\S+\s+\d+ :.*\|", l)]
d = [b - a for a, b in zip(stamps, stamps[1:])]
up = open(L + "/train-uptime.txt").read().split("\n")
loads = [float(l.split()[1]) for l in open(L + "/train-load-samples.txt") if l.strip()]
last = ep[-1]
print("aenet-PyTorch peer run,", work)
print(open(L + "/python-env.txt").read().strip())
print("generate.x wall:", tv(L + "/generate-time.txt", "Elapsed"), " max RSS kB:", tv(L + "/generate-time.txt", "Maximum resident"))
print("trainbin2ASCII wall:", tv(L + "/trainbin2ascii-time.txt", "Elapsed"))
print("training (aenet-PyTorch's timer): %.1f s for %d iterations = %.3f s/iteration" % (t_train, iters, t_train / iters))
if d:
    print("per-iteration interval from the timestamped log (line arrival, approximate): median %.3f s, min %.3f s, max %.3f s" % (statistics.median(d), min(d), max(d)))
print("process wall (incl. reading/batching):", tv(L + "/train-time.txt", "Elapsed"),
      " CPU%:", tv(L + "/train-time.txt", "Percent of CPU"),
      " max RSS kB:", tv(L + "/train-time.txt", "Maximum resident"), " (aenet-PyTorch reports %s GB)" % mem)
print("final epoch %s: E RMSE train %.2f / test %.2f meV/atom; F RMSE (per-atom vector) train %.4f / test %.4f eV/A"
      % (last[0], 1000 * float(last[3]), 1000 * float(last[4]), float(last[5]), float(last[6])))
print("   = per component train %.4f / test %.4f eV/A" % (float(last[5]) / 3 ** 0.5, float(last[6]) / 3 ** 0.5))
print("load: before  ", up[0].strip())
print("      after   ", up[1].strip() if len(up) > 1 else "")
if loads:
    print("      1-min load avg sampled every 15 s: min %.2f, mean %.2f, max %.2f (2 cores)" % (min(loads), sum(loads) / len(loads), max(loads)))
print("split of this run (example_split.py on its outputs):")
print(open(L + "/peer_split.txt").read().strip())
EOF
cat "$WORK/summary.txt" | tee -a "$LOGS/run_peer.log"
