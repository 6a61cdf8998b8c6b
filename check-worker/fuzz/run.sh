#!/usr/bin/env bash
# Fuzz the check worker's HTTP response parser: ./run.sh [SECONDS] (per
# target, default 60). Crashes become regression tests in
# check-worker/src/proto.rs. See scripts/fuzz.sh.
here="$(cd "$(dirname "$0")" && pwd)"
exec "$here/../../scripts/fuzz.sh" "$here" "${1:-60}" http_response
