#!/usr/bin/env bash
# Fuzz IPC frame decoding: ./run.sh [SECONDS] (per target, default 60).
# Crashes become regression tests in ipc/tests/. See scripts/fuzz.sh.
here="$(cd "$(dirname "$0")" && pwd)"
exec "$here/../../scripts/fuzz.sh" "$here" "${1:-60}" frame_decode
