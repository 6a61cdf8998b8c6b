#!/bin/sh
# Guest script (see ipvs-scenarios.sh): for each configuration in
# /opt/scenarios, let Debian's keepalived -C program IPVS, record the
# table, stop it; then the same with keepalived-rs -C. Then, with the
# first configuration, the IPVS worker is killed with SIGKILL and a real
# server is deleted by hand, and the table is recorded again. Last, the
# example ipvs-drive plays the parent to an IPVS worker (block "drive").
#
# Output blocks: "=== SCENARIO WHO VIEW" followed by the view's text, WHO
# being ka (keepalived) or rs (keepalived-rs), VIEW one of ln, persistent,
# sort, thresholds, tun, timeout, stopped, or the rs-only views below.
# Each daemon starts with a foreign service in the table (10.99.0.1:80),
# which only lvs_flush / lvs_flush_on_stop may remove.
mkdir -p /run /var/run /etc/keepalived /var/lib /tmp
views() { # SCENARIO WHO
  echo "=== $1 $2 ln"; ipvsadm -Ln
  echo "=== $1 $2 persistent"; ipvsadm -Ln --persistent-conn
  echo "=== $1 $2 sort"; ipvsadm -Ln --sort
  echo "=== $1 $2 thresholds"; ipvsadm -Ln --thresholds
  echo "=== $1 $2 tun"; ipvsadm -Ln --tun-info
  echo "=== $1 $2 timeout"; ipvsadm -L --timeout
}
# Before each daemon: an empty table but for a service of someone else's,
# and the kernel's default timeouts.
prepare() {
  ipvsadm -C
  ipvsadm --set 900 120 300
  ipvsadm -A -t 10.99.0.1:80 -s rr
  ipvsadm -a -t 10.99.0.1:80 -r 10.99.0.2:80 -g
}
uptime_s() { cut -d' ' -f1 /proc/uptime; }
# Wait until the table has not changed for one second (at most 15 s).
settle() {
  prev=""; n=0
  sleep 1
  while [ $n -lt 30 ]; do
    cur=$(ipvsadm -Ln --sort)
    if [ -n "$cur" ] && [ "$cur" = "$prev" ]; then return 0; fi
    prev=$cur; n=$((n + 1)); sleep 0.5
  done
  echo "GUEST: table did not settle"
}
stop() { # PID
  kill -TERM "$1" 2>/dev/null
  n=0
  while kill -0 "$1" 2>/dev/null && [ $n -lt 50 ]; do sleep 0.2; n=$((n + 1)); done
  kill -KILL "$1" 2>/dev/null
  wait "$1" 2>/dev/null
}
worker_pid() { # ROLE (ipvs, check, vrrp)
  # One grep over every cmdline; "[r]" keeps it from matching its own.
  w=$(grep -ls -e "--worke[r]=$1" /proc/[0-9]*/cmdline | head -1)
  [ -n "$w" ] || return 1
  w=${w#/proc/}; echo "${w%/cmdline}"
}
ipvs_worker_pid() { worker_pid ipvs; }
# Poll until `ipvsadm -Ln` equals file $1 (at most $2 tenths of a second).
wait_equal() {
  n=0
  while [ $n -lt "$2" ]; do
    ipvsadm -Ln > /tmp/now.txt
    cmp -s /tmp/now.txt "$1" && { echo "$n"; return 0; }
    sleep 0.1; n=$((n + 1))
  done
  echo "$n"; return 1
}

# Nothing is loaded at boot (ipvs-vm.sh --no-preload): keepalived-rs
# starts first and the kernel loads ip_vs when the IPVS worker resolves
# the generic netlink family "IPVS" (ip_vs declares its alias), then the
# schedulers the services name. Nothing here may touch IPVS before
# (ipvsadm would load the module itself).
echo "=== autoload before"; grep -E '^ip_vs|^dummy' /proc/modules | cut -d' ' -f1 | sort
keepalived-rs -n -l -C -f /opt/scenarios/basic.conf --control-socket /run/rs.sock -p /run/rs.pid -c /run/rs-c.pid > /tmp/autoload.log 2>&1 &
rs=$!
n=0
while [ $n -lt 100 ] && ! grep -q 'request(s) applied' /tmp/autoload.log; do sleep 0.2; n=$((n + 1)); done
echo "GUEST: autoload after $n fifths"
echo "=== autoload after"; grep -E '^ip_vs' /proc/modules | cut -d' ' -f1 | sort
echo "=== autoload table"; ipvsadm -Ln
stop $rs
echo "=== autoload log"; cat /tmp/autoload.log

first=""
for conf in /opt/scenarios/*.conf; do
  name=$(basename "$conf" .conf)
  [ -n "$first" ] || first=$name
  prepare
  echo "=== $name pre"; ipvsadm -Ln
  t0=$(uptime_s)
  keepalived -n -l -D -G -C -f "$conf" -p /run/ka.pid -c /run/ka-c.pid > "/tmp/$name-ka.log" 2>&1 &
  ka=$!
  settle
  echo "GUEST: $name keepalived settled $t0 -> $(uptime_s)"
  views "$name" ka
  stop $ka
  echo "=== $name ka stopped"; ipvsadm -Ln
  echo "=== $name ka log"; cut -d: -f4- "/tmp/$name-ka.log"

  prepare
  t0=$(uptime_s)
  keepalived-rs -n -l -C -f "$conf" --control-socket /run/rs.sock -p /run/rs.pid -c /run/rs-c.pid > "/tmp/$name-rs.log" 2>&1 &
  rs=$!
  settle
  echo "GUEST: $name keepalived-rs settled $t0 -> $(uptime_s)"
  views "$name" rs
  if [ "$name" = "$first" ]; then
    ipvsadm -Ln > /tmp/want.txt
    old=$(ipvs_worker_pid)
    kill -KILL "$old"
    echo "=== $name rs killed"; ipvsadm -Ln
    n=0
    while [ $n -lt 100 ]; do
      new=$(ipvs_worker_pid) && [ "$new" != "$old" ] && break
      sleep 0.1; n=$((n + 1))
    done
    echo "GUEST: ipvs worker $old killed, new worker ${new:-none} after $n tenths"
    sleep 1
    echo "=== $name rs restarted"; ipvsadm -Ln
    # Delete a real server by hand and change another's weight: the
    # periodic reconcile puts both back.
    ipvsadm -d -t 10.0.0.1:80 -r 192.168.1.11:8080
    ipvsadm -e -t 10.0.0.2:80 -r 192.168.1.20:80 -g -w 1
    ipvsadm -a -t 10.0.0.2:80 -r 192.168.1.29:80 -g -w 1
    ipvsadm -A -t 10.9.9.9:80 -s rr
    echo "=== $name rs tampered"; ipvsadm -Ln
    ipvsadm -D -t 10.9.9.9:80
    tenths=$(wait_equal /tmp/want.txt 150)
    echo "GUEST: repaired after $tenths tenths"
    echo "=== $name rs repaired"; ipvsadm -Ln
    # A foreign service is left alone.
    ipvsadm -A -t 10.9.9.9:80 -s rr
    sleep 6
    echo "=== $name rs foreign"; ipvsadm -Ln
    ipvsadm -D -t 10.9.9.9:80
    echo "=== $name rs status"; keepalived-rs ctl --control-socket /run/rs.sock --json status
    echo
  fi
  stop $rs
  echo "=== $name rs stopped"; ipvsadm -Ln
  echo "=== $name rs log"; cat "/tmp/$name-rs.log"
done
. /opt/dynamic/dynamic.sh

# The worker driven directly (ipvs-worker/examples/ipvs-drive.rs): health
# changes, quorum and sorry server, reload, repair, shutdown.
echo "=== drive"
ipvsadm -C
ipvs-drive
echo "ipvs-drive rc=$?"
echo "=== end"
