#!/bin/sh
# Fuzz the configuration parser (config::load_str) for a bounded time.
#
# Usage: config/fuzz/run.sh [SECONDS]        (default 60)
#
# Needs cargo-fuzz (installed here if missing). The machine has a stable
# toolchain only, so cargo-fuzz's nightly flags are enabled with
# RUSTC_BOOTSTRAP=1. New inputs go to corpus/parse (the committed seeds are
# real configurations); crashes land in artifacts/parse/.
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

# Work on a copy of the seeds so the committed corpus stays small.
WORK_CORPUS=${FUZZ_CORPUS:-$HERE/corpus-work/parse}
mkdir -p "$WORK_CORPUS" "$HERE/artifacts/parse"
cp -n "$HERE"/corpus/parse/* "$WORK_CORPUS"/ 2>/dev/null || true

JOBS=${FUZZ_JOBS:-1}
PARALLEL=""
if [ "$JOBS" -gt 1 ]; then
    PARALLEL="-jobs=$JOBS -workers=$JOBS"
fi

export RUSTC_BOOTSTRAP=1
# shellcheck disable=SC2086
exec cargo fuzz run parse "$WORK_CORPUS" -- \
    -max_total_time="$SECONDS_TO_RUN" \
    -timeout=20 \
    -rss_limit_mb=4096 \
    -max_len=16384 \
    -print_final_stats=1 \
    -artifact_prefix="$HERE/artifacts/parse/" \
    $PARALLEL
