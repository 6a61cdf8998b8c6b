#!/bin/sh
# One measured run of bench/check-scale.sh (POSIX sh: also runs in the
# IPVS guest's busybox). Starts the loopback listener once, then each
# daemon in turn on the same configuration, and prints one line per run:
#
#   RESULT name=NAME cpu_s_per_min=X user_s_per_min=U sys_s_per_min=S rss_peak_kb=N probes_per_s=P parent_cpu_s_per_min=Y
#
# usage: check-scale.run.sh CONF LISTENER NTCP NHTTP WARM DURATION DAEMON...
#   DAEMON is rs:PATH (keepalived-rs; its check worker is measured) or
#   ka:PATH (keepalived; its healthchecker child is measured).
# Progress goes to stderr.
set -u
CONF=$1 LISTENER=$2 NTCP=$3 NHTTP=$4 WARM=$5 DUR=$6
shift 6
RUN=${RUN_DIR:-/tmp/check-scale}
mkdir -p "$RUN"
say() { echo "[check-scale] $*" >&2; }
HZ=100 # USER_HZ: the unit of /proc/PID/stat's times on Linux

# utime+stime of PID, in ticks.
ticks() {
  s=$(cat "/proc/$1/stat" 2>/dev/null) || { echo 0; return; }
  s=${s##*) }
  # shellcheck disable=SC2086
  set -- $s
  echo $(( ${12} + ${13} ))
}
# utime of PID (user space), in ticks; stime is ticks - utime.
uticks() {
  s=$(cat "/proc/$1/stat" 2>/dev/null) || { echo 0; return; }
  s=${s##*) }
  # shellcheck disable=SC2086
  set -- $s
  echo "${12}"
}
hwm() { sed -n 's/^VmHWM:[[:space:]]*\([0-9]*\) kB/\1/p' "/proc/$1/status" 2>/dev/null; }
served() { sed -n 's/^served //p' "$RUN/listener.log" | tail -1; }
# The pid of the process whose command line contains $1 (children of $2).
find_pid() {
  for d in /proc/[0-9]*; do
    p=${d#/proc/}
    [ "$(sed -n 's/^PPid:[[:space:]]*//p' "$d/status" 2>/dev/null)" = "$2" ] || continue
    tr '\0' ' ' < "$d/cmdline" 2>/dev/null | grep -q -- "$1" && { echo "$p"; return; }
  done
}

ulimit -n 200000 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
TCP_TO=$((20000 + NTCP - 1))
HTTP_TO=$((30000 + NHTTP - 1))

"$LISTENER" --tcp "127.0.0.1:20000-$TCP_TO" --http "127.0.0.2:30000-$HTTP_TO" \
  > "$RUN/listener.out" 2> "$RUN/listener.log" &
LPID=$!
i=0
until grep -q listening "$RUN/listener.out" 2>/dev/null; do
  i=$((i + 1)); [ $i -gt 600 ] && { say "listener did not start"; cat "$RUN/listener.log" >&2; exit 1; }
  sleep 0.1
done
say "listener: $(cat "$RUN/listener.out")"

rc=0
for d in "$@"; do
  kind=${d%%:*} bin=${d#*:}
  case $kind in
    rs) name=keepalived-rs
        "$bin" -n -l -G -C -f "$CONF" -p "$RUN/k.pid" -r "$RUN/v.pid" -c "$RUN/c.pid" \
          --control-socket "$RUN/ctl.sock" > "$RUN/$name.log" 2>&1 &
        ;;
    ka) name=keepalived
        "$bin" -n -l -C -f "$CONF" -p "$RUN/k.pid" -r "$RUN/v.pid" -c "$RUN/c.pid" \
          > "$RUN/$name.log" 2>&1 &
        ;;
    *) say "unknown daemon $d"; exit 2 ;;
  esac
  DPID=$!
  say "$name started (pid $DPID); warming up ${WARM}s"
  sleep "$WARM"
  case $kind in
    rs) CPID=$(find_pid "--worker=check" "$DPID") ;;
    ka) CPID=$(cat "$RUN/c.pid" 2>/dev/null) ;;
  esac
  if [ -z "$CPID" ] || [ ! -d "/proc/$CPID" ]; then
    say "$name: no checker process"; tail -30 "$RUN/$name.log" >&2; rc=1
    kill "$DPID" 2>/dev/null; wait "$DPID" 2>/dev/null; continue
  fi
  c0=$(ticks "$CPID") u0=$(uticks "$CPID") p0=$(ticks "$DPID") s0=$(served)
  sleep "$DUR"
  c1=$(ticks "$CPID") u1=$(uticks "$CPID") p1=$(ticks "$DPID") s1=$(served)
  if [ ! -d "/proc/$CPID" ]; then
    say "$name: the checker process $CPID went away during the measurement"
    grep -iE "hung|killed|restart|SIGSYS|panick" "$RUN/$name.log" | head -10 >&2
    rc=1
  fi
  peak=$(hwm "$CPID")
  up=""
  if [ "$kind" = rs ]; then
    up=$("$bin" ctl --control-socket "$RUN/ctl.sock" --json status 2>/dev/null | grep -o '"up": *true' | wc -l)
    up=" real_servers_up=$up"
  fi
  kill "$DPID"
  i=0
  while kill -0 "$DPID" 2>/dev/null && [ $i -lt 300 ]; do sleep 0.1; i=$((i + 1)); done
  wait "$DPID" 2>/dev/null
  command -v ipvsadm >/dev/null && ipvsadm -C 2>/dev/null
  # Ticks to CPU seconds per minute of wall time, 3 decimals.
  per_min() { echo "$1 $2" | awk -v hz=$HZ -v d="$DUR" '{ printf "%.3f", ($2 - $1) / hz * 60 / d }'; }
  echo "RESULT name=$name cpu_s_per_min=$(per_min "$c0" "$c1")" \
       "user_s_per_min=$(per_min "$u0" "$u1") sys_s_per_min=$(per_min "$((c0 - u0))" "$((c1 - u1))") rss_peak_kb=$peak" \
       "probes_per_s=$(echo "$s0 $s1" | awk -v d="$DUR" '{ printf "%.0f", ($2 - $1) / d }')" \
       "parent_cpu_s_per_min=$(per_min "$p0" "$p1")$up"
  grep -ciE "fail|error|timeout|down|removing" "$RUN/$name.log" | sed "s/^/[check-scale] $name log lines mentioning failures: /" >&2
  grep -iE "fail|error|timeout|down|removing" "$RUN/$name.log" | sed 's/^[^ ]* //; s/[0-9]\{1,\}/N/g' | sort | uniq -c | sort -rn | head -5 >&2
done
kill "$LPID" 2>/dev/null
wait "$LPID" 2>/dev/null
exit $rc
