#!/usr/bin/env bash
# VRRP failover benchmark: Debian's keepalived pairs and keepalived-rs
# pairs side by side in the same run (VRRPv2 advert_int 1 with auth PASS,
# VRRPv3 advert_int 0.1), through SIGTERM, SIGKILL of the whole daemon,
# link down and SIGKILL of the VRRP process alone (keepalived-rs's VRRP
# worker, keepalived's VRRP child), REPEAT times each.
#
# Takeover is the VIP appearing on the backup (netlink), measured from the
# event the protocol counts from as tshark sees it on the bridge: the
# master's priority-0 advert (SIGTERM; bound: the backup's skew,
# (256-prio)/256 x advert) or its last advert (the others; bound: master
# down interval, 3 x advert + skew). Each figure is printed against its
# bound; the goal for keepalived-rs is within 5 ms. Not a test: it prints.
#
# Usage: bench/vrrp-failover.sh [REPEAT] [extra options]     (as root)
#   REPEAT  trials per scenario and daemon (default 3)
#   extra options go to the benchmark binary: --only sigterm,sigkill,
#   linkdown,worker-kill  --impl rs|ka|both  --config v2|v3|both
# Environment:
#   PROFILE=dev      build keepalived-rs and the benchmark without
#                    optimisation (default: release)
#   KEEPALIVED       reference binary (default /usr/sbin/keepalived)
#   CARGO_TARGET_DIR honoured when building.
#
# Everything runs in network namespaces it creates (a bridge and two
# nodes per trial, deleted after each); needs keepalived, tshark, iproute2.
set -euo pipefail

REPEAT=${1:-3}
[ $# -gt 0 ] && shift
ROOT=$(cd "$(dirname "$0")/.." && pwd)
PROFILE=${PROFILE:-release}

[ "$(id -u)" = 0 ] || { echo "vrrp-failover: run as root (it creates network namespaces)" >&2; exit 1; }
[ -x "${KEEPALIVED:-/usr/sbin/keepalived}" ] || { echo "vrrp-failover: keepalived not found (apt-get install keepalived)" >&2; exit 1; }
command -v tshark >/dev/null || { echo "vrrp-failover: tshark not found (apt-get install tshark)" >&2; exit 1; }

case $PROFILE in
    release) flag=--release; dir=release ;;
    dev) flag=; dir=debug ;;
    *) flag="--profile $PROFILE"; dir=$PROFILE ;;
esac
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
echo "vrrp-failover: building keepalived-rs and the benchmark ($PROFILE)..." >&2
# shellcheck disable=SC2086
(cd "$ROOT" && cargo build --quiet $flag -p parent --bin keepalived-rs &&
    cargo build --quiet $flag -p tests --bin vrrp-failover-bench)

# The benchmark's full report goes to standard error as it runs; standard
# output gets its summary as one Markdown section (bench/run-all.sh).
OUT=$(mktemp /tmp/vrrp-failover.XXXXXX)
trap 'rm -f "$OUT"' EXIT
set +e
KEEPALIVED_RS_BIN="$TARGET/$dir/keepalived-rs" "$TARGET/$dir/vrrp-failover-bench" \
    --repeat "$REPEAT" "$@" | tee "$OUT" >&2
rc=${PIPESTATUS[0]}
set -e
[ "$rc" = 0 ] || { echo "vrrp-failover: the benchmark exited $rc" >&2; exit "$rc"; }
grep -q '^== summary' "$OUT" || { echo "vrrp-failover: no summary in the output" >&2; exit 1; }
echo "## VRRP failover: keepalived pairs and keepalived-rs pairs"
echo
echo "Two nodes on a bridge in network namespaces, $REPEAT trials per scenario and daemon."
sed -n 's/^== summary: //p' "$OUT"
echo
echo '```text'
sed -n '/^== summary/,/^$/p' "$OUT" | sed '1d;/^$/d'
echo '```'
echo
grep -E '^(goal|elapsed)' "$OUT" | sed 's/$/  /'

