#!/usr/bin/env bash
# What keepalived 2.2.7 sends when a MASTER goes to FAULT (a tracked
# interface goes down): captured in a second namespace. Namespaces kcap-fa
# and kcap-fb (veth pairs only), deleted after. usage (root): fault-adverts.sh
# Measured: adverts at priority 255 every second, then two priority-0
# adverts 13 µs apart ("Netlink reports eth1 down", "Entering FAULT STATE").
set -u
A=kcap-fa B=kcap-fb
W=$(mktemp -d /tmp/kfault.XXXX)
ip netns add $A; ip netns add $B
ip -n $A link add eth0 type veth peer name eth0 netns $B
ip -n $A link add eth1 type veth peer name e1p
for n in $A $B; do ip -n $n link set lo up; done
ip -n $A addr add 10.200.0.1/24 dev eth0; ip -n $B addr add 10.200.0.2/24 dev eth0
ip -n $A link set eth0 up; ip -n $B link set eth0 up; ip -n $A link set eth1 up; ip -n $A link set e1p up
cat > $W/k.conf <<CONF
vrrp_instance VI_1 {
  state MASTER
  interface eth0
  virtual_router_id 51
  priority 255
  advert_int 1
  track_interface {
    eth1
  }
  virtual_ipaddress {
    10.200.0.100/24
  }
}
CONF
ip netns exec $B tshark -q -i eth0 -f 'ip proto 112' -w $W/c.pcap 2>/dev/null &
T=$!
sleep 1
ip netns exec $A keepalived -n -l -P -G -f $W/k.conf -p $W/p -r $W/r > $W/log 2>&1 &
K=$!
sleep 2.5
ip -n $A link set e1p down
sleep 1.5
kill $K; wait $K 2>/dev/null; sleep 0.3; kill $T; wait $T 2>/dev/null
tshark -r $W/c.pcap -T fields -e frame.time_relative -e vrrp.prio 2>/dev/null
grep -E "Entering|Kernel|down|DOWN" $W/log
ip netns del $A; ip netns del $B; rm -rf $W
