#!/usr/bin/env bash
# Install what is needed, build keepalived-rs, and run it in the foreground
# on examples/keepalived.conf inside a throwaway network namespace (so
# nothing reaches your real network). Ctrl-C stops it; the namespace goes.
# In another terminal:  sudo ./target/release/keepalived-rs ctl \
#                         --control-socket /run/keepalived-rs-demo/control.sock status
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "demo.sh: run as root (sudo): it creates a network namespace" >&2; exit 1; }
./scripts/deps.sh
export PATH="$HOME/.cargo/bin:$PATH"
cargo build --release -p parent
NS=krs-demo
ip netns del "$NS" 2>/dev/null || true
ip netns add "$NS"
trap 'ip netns del "$NS" 2>/dev/null || true' EXIT
ip -n "$NS" link set lo up
ip -n "$NS" link add eth0 type dummy
ip -n "$NS" addr add 10.199.0.2/24 dev eth0
ip -n "$NS" link set eth0 up
./target/release/keepalived-rs -t -f examples/keepalived.conf || true
echo "== running keepalived-rs in namespace $NS (Ctrl-C to stop)"
ip netns exec "$NS" ./target/release/keepalived-rs -n -l -D \
    -f examples/keepalived.conf \
    -p /run/keepalived-rs-demo.pid -r /run/keepalived-rs-demo_vrrp.pid \
    -c /run/keepalived-rs-demo_checkers.pid \
    --control-socket /run/keepalived-rs-demo/control.sock
