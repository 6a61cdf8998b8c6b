#!/usr/bin/env bash
# How keepalived 2.2.7 starts a sync group of two instances (priorities 100
# and 150, advert_int 1) with `state MASTER` or `state BACKUP`: prints the
# time until both VIPs are installed and keepalived's transition lines.
# Runs in its own network namespace (kcap-s, two veth pairs), deleted after.
# usage (root): sync-start.sh MASTER|BACKUP
# Measured: MASTER 3.74 s, BACKUP 3.72 s; "(VI_1) Entering MASTER STATE",
# "VRRP_Group(G) Syncing instances to MASTER state", "(VI_2) Entering
# MASTER STATE".
set -u
A=kcap-s
W=$(mktemp -d /tmp/ksync.XXXX)
ip netns add $A; ip -n $A link set lo up
ip -n $A link add eth0 type veth peer name e0p; ip -n $A link add eth1 type veth peer name e1p; ip -n $A link set e0p up; ip -n $A link set e1p up
ip -n $A addr add 10.0.0.5/24 dev eth0; ip -n $A addr add 10.0.1.5/24 dev eth1
ip -n $A link set eth0 up; ip -n $A link set eth1 up
STATE=$1
cat > $W/k.conf <<CONF
vrrp_sync_group G {
  group {
    VI_1
    VI_2
  }
}
vrrp_instance VI_1 {
  state $STATE
  interface eth0
  virtual_router_id 51
  priority 100
  advert_int 1
  virtual_ipaddress {
    10.0.0.100/24
  }
}
vrrp_instance VI_2 {
  state $STATE
  interface eth1
  virtual_router_id 52
  priority 150
  advert_int 1
  virtual_ipaddress {
    10.0.1.100/24
  }
}
CONF
start=$(date +%s.%N)
ip netns exec $A keepalived -n -l -P -G -f $W/k.conf -p $W/p -r $W/r > $W/log 2>&1 &
K=$!
for i in $(seq 200); do
  if ip -n $A addr show dev eth0 2>/dev/null | grep -q 10.0.0.100 && ip -n $A addr show dev eth1 | grep -q 10.0.1.100; then
    echo "$STATE: both VIPs after $(echo "$(date +%s.%N) - $start" | bc) s"; break; fi
  sleep 0.02
done
kill $K; wait $K 2>/dev/null
grep -E "Entering|Group" $W/log
ip netns del $A; rm -rf $W
