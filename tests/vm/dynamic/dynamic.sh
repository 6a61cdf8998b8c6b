# Sourced by ipvs-scenarios.guest.sh (uses its prepare, settle, stop, views,
# worker_pid): what changes while the daemons run.
#
# health.conf, under keepalived and then keepalived-rs, both started with -I
# (--dont-release-ipvs): real servers checked for real (busybox httpd on
# 127.0.0.1:8001-8003); the table after start (health up), after the 8001
# listener stops (health down: removed, inhibited, quorum lost -> sorry
# server), after it is back (health up2), the quorum scripts' calls
# (health quorum), and the table each leaves at stop (health stopped).
# keepalived-rs only, in between: the check worker killed with SIGKILL
# while 8001 is down (every sample until the new worker's results arrive
# must equal "down"; "up2" then comes from the new worker), the IPVS worker
# killed after a foreign service was added (lvs_flush is not repeated: the
# service stays), and the chaos loop: CHAOS_ROUNDS times a random worker
# (ipvs or check) gets SIGKILL or SIGSTOP (the parent's watchdog ends a
# stopped one) at a random moment, and every sample of the table taken
# until its successor runs must equal the table before the chaos.
#
# syncd.conf: lvs_sync_daemon driven by VRRP instance VI_1 on a dummy
# interface: `ipvsadm -L --daemon` once the instance is MASTER, once it is
# in FAULT (interface down), and after the daemon stopped.

CHAOS_ROUNDS=${CHAOS_ROUNDS:-50}
mkdir -p /tmp/www
echo ok > /tmp/www/index.html
chmod 1777 /tmp
listen() { # PORT: a TCP listener on 127.0.0.1:PORT; its pid in /tmp/httpd.PORT
  httpd -f -p "127.0.0.1:$1" -h /tmp/www &
  echo $! > "/tmp/httpd.$1"
}
unlisten() { # PORT
  kill "$(cat "/tmp/httpd.$1")" 2>/dev/null
  wait "$(cat "/tmp/httpd.$1")" 2>/dev/null
}
# The kernel's count of TCP connections closed by a reset where an
# orderly close was possible (zero-linger closes among them).
abort_on_data() {
  awk '$1 == "TcpExt:" { if (!h) { split($0, k); h = 1 } else { for (i = 2; i <= NF; i++) if (k[i] == "TCPAbortOnData") print $i } }' /proc/net/netstat
}
# Wait until `ipvsadm -Ln` differs from file $1 (at most 20 s), then settle.
wait_change() {
  n=0
  while [ $n -lt 100 ]; do
    ipvsadm -Ln > /tmp/chg.txt
    cmp -s /tmp/chg.txt "$1" || break
    sleep 0.2; n=$((n + 1))
  done
  settle
}
# Sample the table every 0.1 s for $2 tenths; count samples differing from
# file $1 into $bad (the first difference is kept in /tmp/bad.txt).
sample() {
  k=0
  while [ $k -lt "$2" ]; do
    ipvsadm -Ln > /tmp/smp.txt
    samples=$((samples + 1))
    if ! cmp -s /tmp/smp.txt "$1"; then
      bad=$((bad + 1))
      [ -s /tmp/bad.txt ] || cp /tmp/smp.txt /tmp/bad.txt
    fi
    sleep 0.1; k=$((k + 1))
  done
}
# Wait until worker ROLE runs with a pid other than $2 (at most 30 s: a
# worker that dies before it settled is restarted after a backoff).
new_worker() {
  n=0
  while [ $n -lt 300 ]; do
    p=$(worker_pid "$1") && [ "$p" != "$2" ] && { echo "$p"; return 0; }
    sleep 0.1; n=$((n + 1))
  done
  echo none; return 1
}

for who in ka rs; do
  prepare
  rm -f /tmp/quorum.log
  listen 8001; listen 8002; listen 8003
  : > /tmp/empty.txt
  ipvsadm -Ln > /tmp/pre.txt
  aborts0=$(abort_on_data)
  if [ $who = ka ]; then
    keepalived -n -l -D -G -C -I -f /opt/dynamic/health.conf -p /run/ka.pid -c /run/ka-c.pid > /tmp/health-ka.log 2>&1 &
  else
    keepalived-rs -n -l -C -I -f /opt/dynamic/health.conf --control-socket /run/rs.sock -p /run/rs.pid -c /run/rs-c.pid > /tmp/health-rs.log 2>&1 &
  fi
  d=$!
  wait_change /tmp/pre.txt
  sleep 2; settle
  echo "=== health $who up"; ipvsadm -Ln
  ipvsadm -Ln > /tmp/up.txt
  # How the checker closes its connections: TIME_WAIT sockets on the
  # checker's side (remote port 8001-8003: it sent the first FIN) and the
  # kernel's count of aborts (a zero-linger close resets: TCPAbortOnData).
  echo "=== health $who wire"
  awk 'NR > 1 && $4 == "06" && $3 ~ /:1F4[123]$/ { n++ } END { print "client_time_wait=" n + 0 }' /proc/net/tcp
  echo "abort_on_data=$(($(abort_on_data) - aborts0))"
  unlisten 8001
  wait_change /tmp/up.txt
  echo "=== health $who down"; ipvsadm -Ln
  ipvsadm -Ln > /tmp/down.txt
  if [ $who = rs ]; then
    # The check worker dies while 8001 is down: the table stays "down"
    # throughout; its successor resumes from the health the parent kept.
    samples=0; bad=0; : > /tmp/bad.txt
    old=$(worker_pid check)
    kill -KILL "$old"
    sample /tmp/down.txt 10
    new=$(new_worker check "$old")
    sample /tmp/down.txt 20
    echo "GUEST: check worker $old killed, new $new; samples=$samples differing=$bad"
    echo "=== health rs check-kill"; echo "samples=$samples differing=$bad new=$new"; cat /tmp/bad.txt
  fi
  listen 8001
  wait_change /tmp/down.txt
  echo "=== health $who up2"; ipvsadm -Ln
  # Per virtual server (the two start-up scripts run at the same moment).
  echo "=== health $who quorum"
  grep ' 10.1.0.1$' /tmp/quorum.log; grep ' 10.1.0.2$' /tmp/quorum.log
  if [ $who = rs ]; then
    ipvsadm -Ln > /tmp/want.txt
    # The restarted IPVS worker does not repeat lvs_flush: a service added
    # by hand since the start stays (the one of prepare was flushed).
    ipvsadm -A -t 10.9.9.8:80 -s rr
    old=$(worker_pid ipvs)
    kill -KILL "$old"
    new=$(new_worker ipvs "$old")
    sleep 6
    echo "GUEST: ipvs worker $old killed, new $new"
    echo "=== health rs resumed"; ipvsadm -Ln
    ipvsadm -D -t 10.9.9.8:80
    # Chaos: kill or stop a random worker at a random moment, many times.
    samples=0; bad=0; : > /tmp/bad.txt
    i=0; kills=0; stops=0; lost=0
    while [ $i -lt "$CHAOS_ROUNDS" ]; do
      i=$((i + 1))
      role=$(shuf -n1 -e ipvs check)
      sig=$(shuf -n1 -e KILL STOP)
      usleep "$(shuf -i 0-400000 -n1)"
      old=$(worker_pid "$role") || { lost=$((lost + 1)); continue; }
      kill -"$sig" "$old"
      if [ "$sig" = KILL ]; then kills=$((kills + 1)); else stops=$((stops + 1)); fi
      before=$bad
      sample /tmp/want.txt 3
      new=$(new_worker "$role" "$old") || lost=$((lost + 1))
      # Until the parent says it is ready (at most 10 s).
      n=0
      while [ $n -lt 100 ] && ! grep -q "(pid $new) ready" /tmp/health-rs.log; do
        sleep 0.1; n=$((n + 1))
      done
      sample /tmp/want.txt 3
      echo "GUEST: CHAOS $i $role SIG$sig $old -> $new differing=$((bad - before))"
    done
    sample /tmp/want.txt 20
    echo "GUEST: chaos rounds=$CHAOS_ROUNDS kills=$kills stops=$stops samples=$samples differing=$bad lost=$lost"
    echo "=== health rs chaos"
    echo "rounds=$CHAOS_ROUNDS kills=$kills stops=$stops samples=$samples differing=$bad lost=$lost"
    cat /tmp/bad.txt
    echo "=== health rs chaos-status"; keepalived-rs ctl --control-socket /run/rs.sock --json status
    echo
  fi
  stop $d
  echo "=== health $who stopped"; ipvsadm -Ln
  unlisten 8001; unlisten 8002; unlisten 8003
  echo "=== health $who log"; cat "/tmp/health-$who.log"
done

# lvs_sync_daemon, driven by VRRP.
ip link add dum0 type dummy 2>/dev/null || echo "GUEST: no dummy interface"
ip link set dum0 multicast on
ip link set dum0 up
ip addr add 10.200.0.1/24 dev dum0
wait_daemon() { # WORD: until `ipvsadm -L --daemon` has WORD (at most 20 s)
  n=0
  while [ $n -lt 100 ]; do
    ipvsadm -L --daemon | grep -q "$1" && return 0
    sleep 0.2; n=$((n + 1))
  done
  echo "GUEST: no $1 sync daemon after 20 s"
}
for who in ka rs; do
  ipvsadm -C
  ipvsadm --stop-daemon master 2>/dev/null
  ipvsadm --stop-daemon backup 2>/dev/null
  ip link set dum0 up
  if [ $who = ka ]; then
    keepalived -n -l -D -G -f /opt/dynamic/syncd.conf -p /run/ka.pid -c /run/ka-c.pid -r /run/ka-v.pid > /tmp/syncd-ka.log 2>&1 &
  else
    keepalived-rs -n -l -f /opt/dynamic/syncd.conf --control-socket /run/rs.sock -p /run/rs.pid -c /run/rs-c.pid -r /run/rs-v.pid > /tmp/syncd-rs.log 2>&1 &
  fi
  d=$!
  wait_daemon master
  sleep 1
  echo "=== syncd $who master"; ipvsadm -L --daemon
  if [ $who = rs ]; then
    old=$(worker_pid ipvs)
    kill -KILL "$old"
    new=$(new_worker ipvs "$old")
    sleep 2
    echo "=== syncd rs master-after-kill"; ipvsadm -L --daemon
  fi
  ip link set dum0 down
  n=0
  while [ $n -lt 100 ] && ipvsadm -L --daemon | grep -q master; do sleep 0.2; n=$((n + 1)); done
  sleep 1
  echo "=== syncd $who fault"; ipvsadm -L --daemon
  stop $d
  echo "=== syncd $who stopped"; ipvsadm -L --daemon
  echo "=== syncd $who log"; cat "/tmp/syncd-$who.log"
done
