#!/usr/bin/env bash
# Capture real keepalived adverts for the packet codec's test vectors.
#
# Two network namespaces joined by a veth pair (kcap-a, kcap-b; nothing
# is added to the root namespace). keepalived runs in kcap-a with four
# instances on one interface: VRRPv2 + PASS over IPv4, VRRPv3 over IPv4,
# VRRPv3 over IPv6, VRRPv2 over IPv6. tshark captures in kcap-b; halfway
# keepalived is stopped with SIGTERM, so the capture holds priority-0
# adverts too. Prints one line per advert: the IP source, destination,
# TTL / hop limit and the VRRP message in hex (for IPv4 the whole datagram
# as a raw socket delivers it).
#
# usage (root): capture.sh [SECONDS]   (default 6)
set -euo pipefail
SECS=${1:-6}
A=kcap-a B=kcap-b
W=$(mktemp -d /tmp/kcap.XXXX)
cleanup() {
  [ -n "${KPID:-}" ] && kill "$KPID" 2>/dev/null || true
  [ -n "${TPID:-}" ] && kill "$TPID" 2>/dev/null || true
  sleep 0.3
  ip netns del $A 2>/dev/null || true
  ip netns del $B 2>/dev/null || true
  rm -rf "$W"
}
trap cleanup EXIT
ip netns add $A; ip netns add $B
ip -n $A link add eth0 type veth peer name eth0 netns $B
for n in $A $B; do
  ip netns exec $n sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0
  ip -n $n link set lo up
done
ip -n $A link set eth0 address 02:00:0a:c8:00:01
ip -n $B link set eth0 address 02:00:0a:c8:00:02
ip -n $A addr add 10.200.0.1/24 dev eth0
ip -n $B addr add 10.200.0.2/24 dev eth0
ip -n $A addr add fe80::1/64 dev eth0 nodad
ip -n $B addr add fe80::2/64 dev eth0 nodad
ip -n $A link set eth0 up; ip -n $B link set eth0 up
cat > "$W/k.conf" <<'CONF'
global_defs {
  router_id kcap
}
vrrp_instance V2PASS {
  state BACKUP
  interface eth0
  virtual_router_id 51
  priority 120
  advert_int 1
  authentication {
    auth_type PASS
    auth_pass secret
  }
  virtual_ipaddress {
    10.200.0.100/24
    10.200.0.101/24
  }
}
vrrp_instance V3V4 {
  state BACKUP
  interface eth0
  virtual_router_id 52
  priority 150
  advert_int 0.5
  version 3
  virtual_ipaddress {
    10.200.0.102/24
  }
}
vrrp_instance V3V6 {
  state BACKUP
  interface eth0
  virtual_router_id 53
  priority 100
  advert_int 1
  version 3
  virtual_ipaddress {
    fd00::100/64
    fd00::101/64
  }
}
vrrp_instance V2V6 {
  state BACKUP
  interface eth0
  virtual_router_id 54
  priority 90
  advert_int 1
  version 2
  virtual_ipaddress {
    fd00::200/64
  }
}
CONF
ip netns exec $B tshark -q -i eth0 -f 'ip proto 112 or ip6 proto 112' -w "$W/c.pcap" 2>/dev/null &
TPID=$!
sleep 1
ip netns exec $A keepalived -n -l -P -G -f "$W/k.conf" -p "$W/k.pid" -r "$W/v.pid" >"$W/k.log" 2>&1 &
KPID=$!
sleep "$SECS"
kill -TERM "$KPID"; wait "$KPID" 2>/dev/null || true; KPID=
sleep 0.5
kill "$TPID"; wait "$TPID" 2>/dev/null || true; TPID=
python3 - "$W/c.pcap" <<'PY'
import struct, sys, ipaddress
d = open(sys.argv[1], 'rb').read()
magic = struct.unpack('<I', d[:4])[0]
if magic in (0xa1b2c3d4, 0xa1b23c4d):
    off = 24
    linktype = struct.unpack('<I', d[20:24])[0]
    while off + 16 <= len(d):
        _, _, incl, _ = struct.unpack('<IIII', d[off:off+16]); off += 16
        pkt = d[off:off+incl]; off += incl
        eth = pkt[14:] if linktype == 1 else pkt
        et = struct.unpack('!H', pkt[12:14])[0] if linktype == 1 else None
        if et == 0x0800:
            src = ipaddress.ip_address(eth[12:16]); dst = ipaddress.ip_address(eth[16:20])
            print('v4', src, dst, eth[8], eth.hex())
        elif et == 0x86dd:
            src = ipaddress.ip_address(eth[8:24]); dst = ipaddress.ip_address(eth[24:40])
            print('v6', src, dst, eth[7], eth[40:].hex())
else:
    # pcapng
    off = 0
    linktype = 1
    while off + 12 <= len(d):
        btype, blen = struct.unpack('<II', d[off:off+8])
        body = d[off+8:off+blen-4]
        if btype == 1:
            linktype = struct.unpack('<H', body[:2])[0]
        elif btype == 6:
            caplen = struct.unpack('<I', body[12:16])[0]
            pkt = body[20:20+caplen]
            et = struct.unpack('!H', pkt[12:14])[0]
            eth = pkt[14:]
            if et == 0x0800:
                src = ipaddress.ip_address(eth[12:16]); dst = ipaddress.ip_address(eth[16:20])
                print('v4', src, dst, eth[8], eth.hex())
            elif et == 0x86dd:
                src = ipaddress.ip_address(eth[8:24]); dst = ipaddress.ip_address(eth[24:40])
                print('v6', src, dst, eth[7], eth[40:].hex())
        off += blen
PY
echo "== keepalived log"; cat "$W/k.log"
