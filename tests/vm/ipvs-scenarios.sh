#!/usr/bin/env bash
# Compare the IPVS table keepalived-rs programs with Debian's keepalived's,
# configuration by configuration (tests/vm/scenarios/*.conf), in one boot
# of the IPVS guest (ipvs-vm.sh). Prints the guest's console (blocks
# described in ipvs-scenarios.guest.sh); tests/tests/ipvs_vm.rs reads it.
#
# usage: tests/vm/ipvs-scenarios.sh
# env: KEEPALIVED_RS  a static keepalived-rs to use instead of building one
#                     (then IPVS_DRIVE, default beside it in examples/, is
#                     the static ipvs-worker example ipvs-drive)
#      VM_TARGET_DIR  cargo target folder of the static build
#                     (default tests/.cache/vm-target)
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
BIN=${KEEPALIVED_RS:-}
if [ -z "$BIN" ]; then
  TARGET=${VM_TARGET_DIR:-$ROOT/tests/.cache/vm-target}
  echo "[ipvs-scenarios] building a static keepalived-rs in $TARGET" >&2
  (cd "$ROOT" && RUSTFLAGS='-C target-feature=+crt-static' CARGO_TARGET_DIR="$TARGET" \
    cargo build --quiet --release -p parent -p ipvs-worker --bin keepalived-rs \
      --example ipvs-drive --target x86_64-unknown-linux-gnu) >&2
  BIN=$TARGET/x86_64-unknown-linux-gnu/release/keepalived-rs
  DRIVE=$TARGET/x86_64-unknown-linux-gnu/release/examples/ipvs-drive
fi
DRIVE=${DRIVE:-${IPVS_DRIVE:-$(dirname "$BIN")/examples/ipvs-drive}}
if ldd "$BIN" 2>/dev/null | grep -q '=>'; then
  echo "ipvs-scenarios: $BIN is not static" >&2; exit 1
fi
if [ ! -x /usr/sbin/keepalived ]; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends keepalived >/dev/null
fi
# The chaos loop alone takes minutes of guest time on a loaded host.
export VM_TIMEOUT=${VM_TIMEOUT:-1200}
exec "$HERE/ipvs-vm.sh" --bin "$BIN" --bin "$DRIVE" --bin /usr/sbin/keepalived \
  --copy "$HERE/scenarios=/opt/scenarios" --copy "$HERE/dynamic=/opt/dynamic" \
  --copy "$HERE/dynamic/quorum.sh=/opt/quorum.sh" --no-preload --script "$HERE/ipvs-scenarios.guest.sh"
