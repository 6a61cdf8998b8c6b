#!/usr/bin/env bash
# Install what keepalived-rs's build and tests need on Debian 12 (bookworm)
# or later. Idempotent: only missing packages are installed.
set -euo pipefail
[ "$(id -u)" = 0 ] || { echo "deps.sh: run as root (sudo)" >&2; exit 1; }

PKGS=(
  build-essential pkg-config ca-certificates curl git
  iproute2 procps psmisc
  keepalived   # the reference implementation and VRRP peer in the tests
  tshark       # decodes what we send
  nftables     # nft lists the strict-mode drop rules (tests/vrrp_extras.rs)
  haproxy      # the seed setup's load balancer (tests/vrrp_cluster.rs)
  python3 openssl dnsmasq-base  # real servers for the health checkers' tests
  python3-aiosmtpd  # the SMTP server receiving the alerts (tests/smtp_alert.rs)
  util-linux   # chrt: tests/chaos.rs paces its 10 ms pinger at real-time priority
  python3-prometheus-client  # checks the /metrics exposition format (tests/ops.rs)
)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  echo "deps.sh: installing ${missing[*]}"
  apt-get update -qq
  # tshark asks whether non-root may capture: keep the default (no).
  echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# Debian's keepalived package enables its service; the tests start their own.
if command -v systemctl >/dev/null && systemctl is-active -q keepalived 2>/dev/null; then
  systemctl disable --now keepalived >/dev/null 2>&1 || true
fi

# Rust: the workspace needs Rust 1.85 or later (edition 2024); Debian's own
# cargo is older, so use rustup's toolchain when no recent cargo is present.
if ! command -v cargo >/dev/null; then
  [ -x "$HOME/.cargo/bin/cargo" ] || curl -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal -c clippy,rustfmt
fi

# cargo-deb builds the Debian package (scripts/package.sh, run by
# scripts/test.sh); installed once into ~/.cargo/bin and reused.
export PATH="$HOME/.cargo/bin:$PATH"
if ! command -v cargo-deb >/dev/null; then
  echo "deps.sh: installing cargo-deb"
  cargo install --locked --quiet cargo-deb --version 3.8.0
fi
