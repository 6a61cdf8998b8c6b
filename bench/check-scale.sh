#!/usr/bin/env bash
# Benchmark: the check worker at scale, side by side with Debian's
# keepalived -C. 10,000 TCP_CHECK real servers and 2,000 HTTP_GET real
# servers, all at delay_loop 1 s, against one loopback listener process
# (check-worker/examples/bench_listener.rs, a mio loop on 12,000 ports:
# TCP ports 127.0.0.1:20000+ accept and close, HTTP ports 127.0.0.2:30000+
# answer 200 with a 6-byte body). Measured over DURATION seconds after a
# WARM-up: CPU seconds per minute (utime+stime from /proc/PID/stat, and
# each apart: user space, and the kernel's work on the process's behalf) and
# peak RSS (VmHWM) of the process that runs the checks (keepalived-rs's
# check worker; keepalived's healthchecker child), and probes per second
# seen by the listener (to show the checks really run at that rate).
#
# Two places:
# - the host, in a network namespace of its own: keepalived-rs only
#   (keepalived -C exits without IPVS, which the host kernel lacks);
#   absolute figures;
# - the IPVS guest (tests/vm/ipvs-vm.sh: Debian's kernel under QEMU TCG,
#   one vCPU): keepalived then keepalived-rs, same configuration, same
#   listener; TCG inflates CPU time, so only the ratio counts there.
#
# usage: bench/check-scale.sh [--host-only|--vm-only]
# env: NTCP (10000) NHTTP (2000) WARM (20) DURATION (60)
#      VM_NTCP (250) VM_NHTTP (50) VM_WARM (30) VM_DURATION (60) VM_MEM (1024)
#
# Under TCG the guest cannot run 12,000 checks a second (keepalived peaks
# at about 300 probes/s there, its CPU saturated), so the guest runs a
# smaller configuration of the same shape that both daemons sustain, and
# the comparison is CPU per probe; the host run is the full scale.
# Results: one Markdown section on stdout; progress on stderr. Exits
# non-zero when it could not measure. Needs root.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
NTCP=${NTCP:-10000}
NHTTP=${NHTTP:-2000}
WARM=${WARM:-20}
DURATION=${DURATION:-60}
VM_WARM=${VM_WARM:-30}
VM_NTCP=${VM_NTCP:-250}
VM_NHTTP=${VM_NHTTP:-50}
VM_DURATION=${VM_DURATION:-60}
MODE=${1:-both}
say() { echo "[check-scale] $*" >&2; }
[ "$(id -u)" = 0 ] || { say "must run as root (network namespace, IPVS guest)"; exit 2; }

TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
say "building keepalived-rs and bench_listener (release)"
(cd "$ROOT" && cargo build --quiet --release -p parent --bin keepalived-rs &&
  cargo build --quiet --release -p check-worker --example bench_listener) >&2
KRS=$TARGET/release/keepalived-rs
LISTENER=$TARGET/release/examples/bench_listener

WORK=$(mktemp -d /tmp/check-scale.XXXXXX)
NS=check-scale-$$
cleanup() {
  ip netns del "$NS" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

# The configuration: 100 real servers per virtual server.
gen_conf() { # NTCP NHTTP
  local i vs port NTCP=$1 NHTTP=$2
  echo "global_defs {"
  echo "    router_id check_scale"
  echo "}"
  for ((vs = 0; vs * 100 < NTCP; vs++)); do
    echo "virtual_server 10.10.$((vs / 250)).$((vs % 250 + 1)) 80 {"
    echo "    delay_loop 1"
    echo "    lb_algo rr"
    echo "    lb_kind NAT"
    echo "    protocol TCP"
    for ((i = vs * 100; i < (vs + 1) * 100 && i < NTCP; i++)); do
      port=$((20000 + i))
      echo "    real_server 127.0.0.1 $port {"
      echo "        TCP_CHECK {"
      echo "            connect_timeout 3"
      echo "        }"
      echo "    }"
    done
    echo "}"
  done
  for ((vs = 0; vs * 100 < NHTTP; vs++)); do
    echo "virtual_server 10.20.$((vs / 250)).$((vs % 250 + 1)) 80 {"
    echo "    delay_loop 1"
    echo "    lb_algo rr"
    echo "    lb_kind NAT"
    echo "    protocol TCP"
    for ((i = vs * 100; i < (vs + 1) * 100 && i < NHTTP; i++)); do
      port=$((30000 + i))
      echo "    real_server 127.0.0.2 $port {"
      echo "        HTTP_GET {"
      echo "            url {"
      echo "                path /health"
      echo "                status_code 200"
      echo "            }"
      echo "            connect_timeout 3"
      echo "        }"
      echo "    }"
    done
    echo "}"
  done
}
CONF=$WORK/check-scale.conf
gen_conf "$NTCP" "$NHTTP" > "$CONF"
chmod 755 "$WORK"
chmod 644 "$CONF"
say "configuration: $NTCP TCP_CHECK + $NHTTP HTTP_GET real servers, delay_loop 1 s ($(wc -l < "$CONF") lines)"

field() { sed -n "s/.*\\b$2=\\([^ ]*\\).*/\\1/p" <<< "$1"; }
HOST_RS=""
if [ "$MODE" != --vm-only ]; then
  ip netns add "$NS"
  ip -n "$NS" link set lo up
  say "host run: keepalived-rs in netns $NS (warm-up ${WARM}s, measured ${DURATION}s)"
  out=$(RUN_DIR=$WORK/host ip netns exec "$NS" sh "$HERE/check-scale.run.sh" "$CONF" "$LISTENER" \
    "$NTCP" "$NHTTP" "$WARM" "$DURATION" "rs:$KRS") || { say "host run failed"; exit 1; }
  HOST_RS=$(grep '^RESULT name=keepalived-rs' <<< "$out" || true)
  say "host: $HOST_RS"
  [ -n "$HOST_RS" ] || { say "host run printed no result"; exit 1; }
  ip netns del "$NS"
fi

VM_KA="" VM_RS=""
if [ "$MODE" != --host-only ]; then
  [ -x /usr/sbin/keepalived ] || DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends keepalived >/dev/null
  cat > "$WORK/guest.sh" <<EOF
#!/bin/sh
mkdir -p /run /var/run /etc/keepalived /var/lib /tmp
RUN_DIR=/tmp/check-scale sh /opt/bench/check-scale.run.sh /opt/bench/check-scale.conf \
  /opt/bin/bench_listener $VM_NTCP $VM_NHTTP $VM_WARM $VM_DURATION ka:/opt/bin/keepalived rs:/opt/bin/keepalived-rs
EOF
  mkdir -p "$WORK/vmfiles"
  cp "$HERE/check-scale.run.sh" "$WORK/vmfiles/"
  gen_conf "$VM_NTCP" "$VM_NHTTP" > "$WORK/vmfiles/check-scale.conf"
  say "IPVS guest run: $VM_NTCP TCP_CHECK + $VM_NHTTP HTTP_GET, keepalived -C then keepalived-rs -C (warm-up ${VM_WARM}s, measured ${VM_DURATION}s each)"
  VM_MEM=${VM_MEM:-1024} VM_TIMEOUT=${VM_TIMEOUT:-900} "$ROOT/tests/vm/ipvs-vm.sh" \
    --bin "$KRS" --bin "$LISTENER" --bin /usr/sbin/keepalived \
    --copy "$WORK/vmfiles=/opt/bench" --script "$WORK/guest.sh" > "$WORK/console.log" 2>&1 || {
    say "the IPVS guest run failed:"; tail -40 "$WORK/console.log" >&2; exit 1; }
  grep -E "check-scale|RESULT|IPVS-VM" "$WORK/console.log" >&2 || true
  VM_KA=$(grep '^RESULT name=keepalived ' "$WORK/console.log" || true)
  VM_RS=$(grep '^RESULT name=keepalived-rs' "$WORK/console.log" || true)
  [ -n "$VM_KA" ] && [ -n "$VM_RS" ] || { say "the guest printed no results"; tail -40 "$WORK/console.log" >&2; exit 1; }
fi

# CPU seconds per minute to µs per probe.
per_probe() { awk -v c="$1" -v p="$2" 'BEGIN { if (p > 0) printf "%.1f", c / 60 * 1000000 / p; else print "-" }'; }
row() { # LABEL RESULT
  local kb cpu pps
  kb=$(field "$2" rss_peak_kb) cpu=$(field "$2" cpu_s_per_min) pps=$(field "$2" probes_per_s)
  echo "| $1 | $cpu | $(field "$2" user_s_per_min) | $(field "$2" sys_s_per_min) | $(awk -v k="${kb:-0}" 'BEGIN { printf "%.1f", k / 1024 }') | $pps | $(per_probe "$cpu" "$pps") | $(per_probe "$(field "$2" user_s_per_min)" "$pps") | $(per_probe "$(field "$2" sys_s_per_min)" "$pps") | $(field "$2" parent_cpu_s_per_min) |"
}
echo "## Health checks at scale (bench/check-scale.sh)"
echo
echo "Real servers at delay_loop 1 s against one loopback listener process (TCP ports accept and close; HTTP ports answer 200 with a 6-byte body)."
echo "CPU = utime+stime of the process running the checks (keepalived-rs: its check worker; keepalived: its healthchecker child) per minute, over ${DURATION} s (guest: ${VM_DURATION} s) after a warm-up, then user (utime) and system (stime) apart; RSS = its VmHWM; probes/s = connections the listener accepted per second; µs/probe = CPU per probe (total, user, system); parent = the daemon's parent process."
echo "On loopback the system time includes the TCP work of both ends (the listener's side of a handshake runs in the connecting process's softirq): the same packets cost the same kernel work whichever daemon sends them."
echo "Host: $NTCP TCP_CHECK + $NHTTP HTTP_GET, keepalived-rs only (keepalived -C needs IPVS). IPVS guest (Debian's kernel, QEMU TCG, 1 vCPU): $VM_NTCP TCP_CHECK + $VM_NHTTP HTTP_GET, the scale both daemons sustain under TCG; compare CPU per probe there, not absolute figures."
echo
echo "| run | CPU s/min | user s/min | sys s/min | peak RSS MiB | probes/s | CPU µs/probe | user µs/probe | sys µs/probe | parent CPU s/min |"
echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
[ -n "$HOST_RS" ] && row "host, keepalived-rs" "$HOST_RS"
if [ -n "$VM_KA" ]; then
  row "IPVS guest, keepalived 2.2.7 -C" "$VM_KA"
  row "IPVS guest, keepalived-rs -C" "$VM_RS"
  echo
  awk -v a="$(field "$VM_KA" cpu_s_per_min)" -v b="$(field "$VM_RS" cpu_s_per_min)" \
      -v pa="$(field "$VM_KA" probes_per_s)" -v pb="$(field "$VM_RS" probes_per_s)" \
    'BEGIN { if (b > 0 && pa > 0 && pb > 0) printf "CPU per probe in the guest, keepalived / keepalived-rs: %.1fx (goal: at least 3x); CPU per minute: %.1fx.\n", (a / pa) / (b / pb), a / b }'
  # The bound: a daemon with no user-space work at all would still pay the
  # kernel's work for the same packets, at least the smaller of the two
  # measured system times per probe.
  awk -v a="$(field "$VM_KA" cpu_s_per_min)" -v sa="$(field "$VM_KA" sys_s_per_min)" \
      -v sb="$(field "$VM_RS" sys_s_per_min)" \
      -v pa="$(field "$VM_KA" probes_per_s)" -v pb="$(field "$VM_RS" probes_per_s)" \
    'BEGIN { if (pa > 0 && pb > 0) { ka = a / pa; ksa = sa / pa; ksb = sb / pb; k = ksa < ksb ? ksa : ksb;
      if (k > 0) printf "System time per probe: keepalived %.0f µs, keepalived-rs %.0f µs (keepalived: %.0f%% of its CPU per probe). With no user-space work at all, a daemon sending the same packets would still spend at least %.0f µs per probe: the best possible ratio against keepalived is %.1fx.\n", ksa * 1e6 / 60, ksb * 1e6 / 60, 100 * ksa / ka, k * 1e6 / 60, ka / k } }'
fi
