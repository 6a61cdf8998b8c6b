#!/usr/bin/env bash
# Run end-to-end tests with every keepalived-rs process under strace, then
# compare what each worker called after confinement with its seccomp
# allow-list (scripts/seccomp-audit.py). As root:
#   scripts/seccomp-audit.sh [TEST...]   (default: supervisor vrrp_e2e
#                                          check_e2e vrrp_badinput check_scripts)
# Timing-sensitive tests may fail under strace; the trace is what counts.
set -euo pipefail
cd "$(dirname "$0")/.."
tests=("$@")
[ ${#tests[@]} -gt 0 ] || tests=(supervisor vrrp_e2e check_e2e vrrp_badinput check_scripts)
out="$(mktemp -d /tmp/krs-seccomp-audit.XXXXXX)"
cargo build -q -p parent --bin keepalived-rs
bin="$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')/debug/keepalived-rs"
# -D: strace runs as a detached grandchild, so the daemon keeps the pid the
# tests signal.
printf '#!/bin/sh\nexec strace -D -f -ff -qq -o %s/t %s "$@"\n' "$out" "$bin" >"$out/wrap.sh"
chmod +x "$out/wrap.sh"
args=()
for t in "${tests[@]}"; do args+=(--test "$t"); done
KEEPALIVED_RS_BIN="$out/wrap.sh" cargo test --no-fail-fast -p tests "${args[@]}" >"$out/tests.log" 2>&1 || true
cargo run -q -p sandbox --example policy-names >"$out/policy-names.txt"
echo "traces and logs in $out"
python3 scripts/seccomp-audit.py "$out/policy-names.txt" "$out"
