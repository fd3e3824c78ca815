#!/usr/bin/env bash
# A short fuzz run of every target, for CI: builds the targets with plain
# cargo (no cargo-fuzz install; RUSTC_BOOTSTRAP=1 for libFuzzer's -Z
# flags, the coverage flags cargo-fuzz passes, no sanitizer, the `smoke`
# profile of fuzz/Cargo.toml), then runs each for SECONDS (default 15) on
# its seeds. A crash (panic, overflow, allocation over 1 GiB, timeout)
# fails; a missing corpus or seed directory does not.
#   fuzz/smoke.sh [SECONDS] [TARGET...]
set -euo pipefail
cd "$(dirname "$0")"
seconds=${1:-15}
shift || true
host=$(rustc -vV | sed -n 's/^host: //p')
export RUSTC_BOOTSTRAP=1
export CARGO_TARGET_DIR=${FUZZ_TARGET_DIR:-$PWD/target/smoke}
# The flags cargo-fuzz uses for libFuzzer's coverage (sanitizer "none").
export RUSTFLAGS="-Cpasses=sancov-module -Cllvm-args=-sanitizer-coverage-level=4 \
-Cllvm-args=-sanitizer-coverage-inline-8bit-counters -Cllvm-args=-sanitizer-coverage-pc-table \
-Cllvm-args=-sanitizer-coverage-trace-compares --cfg fuzzing"
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    mapfile -t targets < <(sed -n 's/^name = "\(.*\)"$/\1/p' Cargo.toml | grep -v '^forcefit-fuzz$')
fi
start=$(date +%s)
# --target keeps build scripts and proc macros uninstrumented.
cargo build --profile smoke --target "$host" --bins
echo "fuzz smoke: built ${#targets[@]} targets in $(( $(date +%s) - start )) s"
failed=()
for t in "${targets[@]}"; do
    bin="$CARGO_TARGET_DIR/$host/smoke/$t"
    work=$(mktemp -d)
    dirs=("$work")
    [ -d "seeds/$t" ] && dirs+=("seeds/$t")
    [ -d "corpus/$t" ] && dirs+=("corpus/$t")
    if ! "$bin" "${dirs[@]}" -max_total_time="$seconds" -rss_limit_mb=2048 \
        -malloc_limit_mb=1024 -timeout=10 -artifact_prefix="$work/" \
        > "$work/log" 2>&1; then
        echo "fuzz smoke: $t CRASHED; the input and log are in $work:"
        tail -n 30 "$work/log"
        failed+=("$t")
        continue
    fi
    runs=$(sed -n 's/^Done \([0-9]*\) runs.*/\1/p' "$work/log")
    echo "fuzz smoke: $t ok (${runs:-?} runs in ${seconds} s)"
    rm -rf "$work"
done
echo "fuzz smoke: $(( $(date +%s) - start )) s in all"
if [ ${#failed[@]} -gt 0 ]; then
    echo "fuzz smoke: crashes in ${failed[*]}"
    exit 1
fi
