#!/usr/bin/env bash
# IPVS programming benchmark: the time Debian's keepalived and keepalived-rs
# take to program 10,000 real servers across 100 virtual servers (checker
# mode, -C, no health checks: every real server starts up), side by side in
# one boot of the IPVS guest (tests/vm/ipvs-vm.sh: Debian's kernel under
# QEMU TCG, one vCPU), ROUNDS rounds alternating the daemons; plus the
# time each takes to remove the table at SIGTERM, and the daemon's memory
# (sum of VmRSS of its processes) once the table is complete.
#
# Time to program: from the daemon's start to the moment the kernel holds
# all 100 services and 10,000 destinations (polled every 0.5 s: the last
# virtual server with ipvsadm, then all of /proc/net/ip_vs). Time to
# stop: SIGTERM until the process has exited, with what it left behind.
#
# usage: bench/ipvs-program.sh [ROUNDS]     (as root; default 3 rounds)
# env: KEEPALIVED_RS  a static keepalived-rs to use instead of building one
#      VS, RS         virtual servers and real servers per virtual server
#                     (default 100 and 100)
# Prints one Markdown section on stdout; progress and the console on
# stderr. Exits non-zero when it could not measure.
set -euo pipefail
ROUNDS=${1:-3}
VS=${VS:-100}
RS=${RS:-100}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
[ "$(id -u)" = 0 ] || { echo "ipvs-program: run as root" >&2; exit 1; }
BIN=${KEEPALIVED_RS:-}
if [ -z "$BIN" ]; then
  TARGET=${VM_TARGET_DIR:-$ROOT/tests/.cache/vm-target}
  echo "ipvs-program: building a static keepalived-rs in $TARGET" >&2
  (cd "$ROOT" && RUSTFLAGS='-C target-feature=+crt-static' CARGO_TARGET_DIR="$TARGET" \
    cargo build --quiet --release -p parent --bin keepalived-rs \
      --target x86_64-unknown-linux-gnu) >&2
  BIN=$TARGET/x86_64-unknown-linux-gnu/release/keepalived-rs
fi
# The guest runs it as keepalived-rs (ipvs-vm.sh keeps the file's name).
if [ "$(basename "$BIN")" != keepalived-rs ]; then
  mkdir -p "$(dirname "$0")/../tests/.cache/bench-bin"
  cp "$BIN" "$(dirname "$0")/../tests/.cache/bench-bin/keepalived-rs"
  BIN=$(cd "$(dirname "$0")/../tests/.cache/bench-bin" && pwd)/keepalived-rs
fi
if [ ! -x /usr/sbin/keepalived ]; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends keepalived >/dev/null
fi
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
conf=$WORK/bench.conf
{
  echo "global_defs {"
  echo "    router_id bench"
  echo "}"
  for v in $(seq 1 "$VS"); do
    echo "virtual_server 10.10.$((v / 250)).$((v % 250 + 1)) 80 {"
    echo "    lb_algo wrr"
    echo "    lb_kind DR"
    echo "    protocol TCP"
    for r in $(seq 1 "$RS"); do
      echo "    real_server 172.16.$((v % 250)).$r 80 {"
      echo "        weight $((r % 5 + 1))"
      echo "    }"
    done
    echo "}"
  done
} > "$conf"
last_vs="10.10.$((VS / 250)).$((VS % 250 + 1)):80"
guest=$WORK/guest.sh
cat > "$guest" <<GUEST
#!/bin/sh
mkdir -p /run /var/run /etc/keepalived /var/lib
# A syslog sink: without /dev/log, keepalived's syslog() falls back to the
# serial console (LOG_CONS), which would make its every log line cost ms.
syslogd -C128 2>/dev/null || syslogd -O /tmp/messages
want=\$(( $VS * $RS ))
now() { cut -d' ' -f1 /proc/uptime; }
complete() {
  [ "\$(ipvsadm -Ln -t $last_vs 2>/dev/null | grep -c Route)" -ge $RS ] || return 1
  [ "\$(grep -c '^  -> [0-9A-F]' /proc/net/ip_vs)" -ge "\$want" ]
}
rss() { # comm name: sum of VmRSS (kB) of the processes so named
  t=0
  for p in /proc/[0-9]*; do
    [ "\$(cat \$p/comm 2>/dev/null)" = "\$1" ] || continue
    r=\$(sed -n 's/^VmRSS:[^0-9]*\([0-9]*\) kB/\1/p' \$p/status 2>/dev/null)
    t=\$((t + \${r:-0}))
  done
  echo \$t
}
ipvsadm -A -t 10.254.0.1:80 -s rr; ipvsadm -C
i=0
while [ \$i -lt $ROUNDS ]; do
  i=\$((i + 1))
  for who in ka rs; do
    ipvsadm -C
    sync; sleep 1
    t0=\$(now)
    if [ \$who = ka ]; then
      keepalived -n -l -D -C -f /opt/bench.conf -p /run/ka.pid -c /run/ka-c.pid > /tmp/\$who.log 2>&1 &
      comm=keepalived
    else
      keepalived-rs -n -l -C -f /opt/bench.conf -p /run/rs.pid -c /run/rs-c.pid > /tmp/\$who.log 2>&1 &
      comm=keepalived-rs
    fi
    d=\$!
    n=0
    # Polled every 0.5 s, the cheap test first (one service's
    # destinations over netlink): reading all of /proc/net/ip_vs or
    # running ipvsadm every 0.1 s took a good part of the one emulated
    # CPU away from the daemon being timed.
    until complete; do
      sleep 0.5; n=\$((n + 1))
      [ \$n -lt 240 ] || { echo "BENCH-FAIL \$who table incomplete"; tail -20 /tmp/\$who.log; break; }
    done
    t1=\$(now)
    mem=\$(rss \$comm)
    t2=\$(now)
    kill -TERM \$d
    wait \$d
    t3=\$(now)
    # keepalived's parent may exit before its checker child: wait for the
    # child (at most 30 s), so that it cannot undo the next daemon's work.
    n=0
    while pidof \$comm >/dev/null && [ \$n -lt 300 ]; do sleep 0.1; n=\$((n + 1)); done
    for p in \$(pidof \$comm); do kill -KILL \$p; done
    # What the daemon left behind.
    left=\$(grep -c '^  -> [0-9A-F]' /proc/net/ip_vs)
    echo "BENCH \$who round=\$i program=\$(echo "\$t1 \$t0" | awk '{printf "%.2f", \$1 - \$2}') remove=\$(echo "\$t3 \$t2" | awk '{printf "%.2f", \$1 - \$2}') rss_kb=\$mem left=\$left"
  done
done
GUEST
console=$WORK/console.txt
echo "ipvs-program: booting the guest ($ROUNDS rounds, $VS x $RS)" >&2
VM_TIMEOUT=${VM_TIMEOUT:-1800} "$ROOT/tests/vm/ipvs-vm.sh" --bin "$BIN" --bin /usr/sbin/keepalived \
  --copy "$conf=/opt/bench.conf" --script "$guest" > "$console" || true
grep -E '^(BENCH|GUEST|IPVS-VM)' "$console" >&2 || true
if ! grep -q '^BENCH rs' "$console" || ! grep -q '^BENCH ka' "$console" || grep -q '^BENCH-FAIL' "$console"; then
  echo "ipvs-program: no complete measurement; console:" >&2
  tail -50 "$console" >&2
  exit 1
fi
stat() { # WHO FIELD: "median (min-max)" over the rounds
  grep "^BENCH $1 " "$console" | tr ' ' '\n' | sed -n "s/^$2=//p" | sort -n |
    awk '{v[NR]=$1} END {m=(NR%2)?v[(NR+1)/2]:(v[NR/2]+v[NR/2+1])/2; printf "%s (%s-%s)", m, v[1], v[NR]}'
}
kv=$(sed -n 's/.*GUEST: kernel \([^ ]*\) ready.*/\1/p' "$console" | head -1)
cat <<MD
## IPVS: programming $((VS * RS)) real servers across $VS virtual servers

| | keepalived-rs | keepalived $(/usr/sbin/keepalived --version 2>&1 | head -1 | awk '{print $2}') |
| --- | --- | --- |
| time to program the table (s) | $(stat rs program) | $(stat ka program) |
| time from SIGTERM to the daemon's exit (s) | $(stat rs remove) | $(stat ka remove) |
| real servers left in the kernel at exit | $(stat rs left) | $(stat ka left) |
| memory with the table programmed (VmRSS of all processes, kB) | $(stat rs rss_kb) | $(stat ka rss_kb) |

Median (min-max) of $ROUNDS rounds in one boot of the IPVS guest (Debian kernel $kv under QEMU TCG, one vCPU, so absolute times are far above real hardware; the two daemons alternate in each round). Checker mode (-C), no health checks; programming is timed from the daemon's start until the kernel holds every service and destination (polled every 0.5 s, so within 0.5 s), stopping from SIGTERM until the process has exited (keepalived-rs removes its services before it exits; keepalived's parent exits after at most 5 s; the real servers left are counted once all its processes have ended). A syslogd runs in the guest (without one keepalived's syslog would fall back to the serial console). bench/ipvs-program.sh.
MD
