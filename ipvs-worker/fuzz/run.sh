#!/usr/bin/env bash
# Fuzz the IPVS worker's netlink reply decoding: ./run.sh [SECONDS] (per
# target, default 60). Crashes become regression tests in
# ipvs-worker/src/netlink/. See scripts/fuzz.sh.
here="$(cd "$(dirname "$0")" && pwd)"
exec "$here/../../scripts/fuzz.sh" "$here" "${1:-60}" reply_decode
