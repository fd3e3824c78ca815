#!/usr/bin/env bash
# The tests: the Rust library's (cargo test --release), then the Python
# package built from python/ (pip install, which builds the extension in
# release with maturin) and its pytest suite. Extra arguments go to cargo.
set -uo pipefail
cd "$(dirname "$0")"
status=0
cargo test --release "$@" || status=$?
python_status=0
python3 -m pip install --quiet --disable-pip-version-check ./python || python_status=$?
# pytest is the one tool the suite needs beyond the package's own numpy and ase.
python3 -m pytest --version >/dev/null 2>&1 \
    || python3 -m pip install --quiet --disable-pip-version-check pytest || python_status=$?
if [ "$python_status" -eq 0 ]; then
    python3 -m pytest -q python/tests || python_status=$?
fi
[ "$status" -eq 0 ] && status=$python_status
exit "$status"
