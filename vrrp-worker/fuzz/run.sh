#!/bin/sh
# Fuzz VRRP packet decoding and the receive checks for a bounded time.
#
# Usage: vrrp-worker/fuzz/run.sh [SECONDS]        (default 60)
#        FUZZ_TARGET=machine_input vrrp-worker/fuzz/run.sh [SECONDS]
#
# Targets: packet_decode (default; decoding, receive checks, re-encoding)
# and machine_input (the state machine driven by arbitrary packets, clock
# steps and tracking events).
#
# Needs cargo-fuzz (installed here if missing). The machine has a stable
# toolchain only, so cargo-fuzz's nightly flags are enabled with
# RUSTC_BOOTSTRAP=1. The committed seeds of packet_decode are the adverts
# keepalived 2.2.7 sent (tests/data), prefixed with the family byte; new
# inputs go to corpus-work/TARGET, crashes to artifacts/TARGET/.
# Environment: CARGO_TARGET_DIR is honoured; FUZZ_JOBS runs that many
# fuzzing processes in parallel (default 1).
set -eu

SECONDS_TO_RUN=${1:-60}
HERE=$(cd "$(dirname "$0")" && pwd)
cd "$HERE"

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "run.sh: installing cargo-fuzz" >&2
    cargo install --locked cargo-fuzz
fi

TARGET=${FUZZ_TARGET:-packet_decode}
WORK_CORPUS=${FUZZ_CORPUS:-$HERE/corpus-work/$TARGET}
mkdir -p "$WORK_CORPUS" "$HERE/artifacts/$TARGET"
cp -n "$HERE"/corpus/"$TARGET"/* "$WORK_CORPUS"/ 2>/dev/null || true

JOBS=${FUZZ_JOBS:-1}
PARALLEL=""
if [ "$JOBS" -gt 1 ]; then
    PARALLEL="-jobs=$JOBS -workers=$JOBS"
fi

export RUSTC_BOOTSTRAP=1
# shellcheck disable=SC2086
exec cargo fuzz run "$TARGET" "$WORK_CORPUS" -- \
    -max_total_time="$SECONDS_TO_RUN" \
    -timeout=10 \
    -rss_limit_mb=2048 \
    -max_len=4200 \
    -print_final_stats=1 \
    -artifact_prefix="$HERE/artifacts/$TARGET/" \
    $PARALLEL
