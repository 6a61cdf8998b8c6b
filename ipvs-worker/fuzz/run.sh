#!/usr/bin/env bash
# Fuzz the IPVS worker's netlink decoding for a bounded time: ./run.sh SECONDS (per target,
# default 60). Installs cargo-fuzz if missing. Works on the stable
# toolchain: RUSTC_BOOTSTRAP=1 lets it take the -Z flags cargo-fuzz passes.
# Crashes land in artifacts/TARGET/; each one should become a regression
# test in ipvs-worker/src/netlink/ (then fixed).
set -euo pipefail

secs="${1:-60}"
here="$(cd "$(dirname "$0")" && pwd)"
cd "$here"

export RUSTC_BOOTSTRAP=1
# Builds go next to the fuzz crate unless the caller chose a target dir.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$here/target}"

if ! cargo fuzz --version >/dev/null 2>&1; then
    cargo install cargo-fuzz --locked
fi

# The sanitizer: address by default; FUZZ_SANITIZER=none for speed.
sanitizer="${FUZZ_SANITIZER:-address}"

status=0
for target in reply_decode; do
    mkdir -p "corpus/$target" "artifacts/$target"
    echo "== $target: ${secs}s"
    # New inputs go to corpus/TARGET; the committed seeds are read too.
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
