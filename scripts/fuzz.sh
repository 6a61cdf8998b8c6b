#!/usr/bin/env bash
# Run the cargo-fuzz targets of one fuzz package, each for a bounded time.
#   scripts/fuzz.sh FUZZ_DIR SECONDS TARGET...
# Installs cargo-fuzz if missing. Works on the stable toolchain:
# RUSTC_BOOTSTRAP=1 lets it take the -Z flags cargo-fuzz passes.
# Reads the committed seeds in FUZZ_DIR/seeds/TARGET; new inputs go to
# FUZZ_DIR/corpus/TARGET, crashes to FUZZ_DIR/artifacts/TARGET/ (each crash
# should become a regression test, then be fixed).
# FUZZ_SANITIZER=none trades the address sanitizer for speed.
set -euo pipefail

dir="$(cd "$1" && pwd)"
secs="$2"
shift 2
cd "$dir"

export RUSTC_BOOTSTRAP=1
# Builds go next to the fuzz crate unless the caller chose a target dir.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$dir/target}"

if ! cargo fuzz --version >/dev/null 2>&1; then
    cargo install cargo-fuzz --locked
fi
sanitizer="${FUZZ_SANITIZER:-address}"

status=0
for target in "$@"; do
    mkdir -p "corpus/$target" "artifacts/$target" "seeds/$target"
    echo "== $target: ${secs}s"
    log="artifacts/$target/last-run.log"
    set +e
    cargo fuzz run --sanitizer "$sanitizer" "$target" \
        "corpus/$target" "seeds/$target" -- \
        -max_total_time="$secs" -rss_limit_mb=2048 -timeout=10 \
        -print_final_stats=1 >"$log" 2>&1
    rc=$?
    set -e
    grep -E '^(#[0-9]+[[:space:]]+(INITED|DONE)|stat::(number_of_executed_units|average_exec_per_sec|peak_rss_mb|new_units_added)|SUMMARY|Test unit written|thread .* panicked)' "$log" || true
    if [ "$rc" -ne 0 ]; then
        echo "== $target: FAILED, exit $rc (log: $log, crash inputs: artifacts/$target/)"
        tail -n 30 "$log"
        status=1
    else
        echo "== $target: no crash"
    fi
done
exit "$status"
