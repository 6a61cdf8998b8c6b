#!/usr/bin/env bash
# Run every test of keepalived-rs: formatting, lints, unit tests, the
# end-to-end tests (root: they create network namespaces) and short fuzz runs.
#   FUZZ_SECONDS=N  seconds per fuzz target (default 20; 0 skips fuzzing)
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "test.sh: the end-to-end tests need root (network namespaces)" >&2; exit 1; }
./scripts/deps.sh
export PATH="$HOME/.cargo/bin:$PATH"

echo "== cargo fmt --check"
cargo fmt --all -- --check
echo "== cargo clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings
echo "== cargo test"
cargo test --workspace --locked
echo "== Debian package: build, dpkg -i, -t on the installed example, dpkg -r/-P"
./scripts/package.sh

FUZZ_SECONDS=${FUZZ_SECONDS:-20}
if [ "$FUZZ_SECONDS" != 0 ]; then
  for run in */fuzz/run.sh; do
    [ -x "$run" ] || continue
    echo "== fuzz: $run ($FUZZ_SECONDS s per target)"
    "$run" "$FUZZ_SECONDS"
  done
fi
echo "test.sh: all tests passed"
