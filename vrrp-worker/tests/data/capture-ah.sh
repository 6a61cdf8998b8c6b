#!/bin/sh
# Capture the AH-authenticated VRRPv2 adverts Debian's keepalived 2.2.7 sends
# (auth_type AH, auth_pass secret12), multicast and unicast, into
# keepalived-2.2.7-ah.txt (the unit tests' known-good vectors).
#
# Run as root. Two namespaces joined by a veth pair, 10.211.0.0/24: keepalived
# in ahcap1 (10.211.0.1, VRID 51, priority 120, VIP 10.211.0.100) becomes
# MASTER alone; tshark in ahcap2 records IP protocol 51 until keepalived has
# stopped (its priority-0 advert included). No traffic leaves the namespaces.
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
W=$(mktemp -d)
OUT="$HERE/keepalived-2.2.7-ah.txt"
cleanup() {
    ip netns del ahcap1 2>/dev/null || true
    ip netns del ahcap2 2>/dev/null || true
    rm -rf "$W"
}
trap cleanup EXIT
cleanup
W=$(mktemp -d)
ip netns add ahcap1
ip netns add ahcap2
ip link add eth0 netns ahcap1 type veth peer name eth0 netns ahcap2
ip -n ahcap1 addr add 10.211.0.1/24 dev eth0
ip -n ahcap2 addr add 10.211.0.2/24 dev eth0
for n in ahcap1 ahcap2; do ip -n $n link set lo up; ip -n $n link set eth0 up; done

conf() { # $1: extra lines
    cat <<CONF
vrrp_instance VI_AH {
    state BACKUP
    interface eth0
    virtual_router_id 51
    priority 120
    advert_int 1
    authentication {
        auth_type AH
        auth_pass secret12
    }
$1
    virtual_ipaddress {
        10.211.0.100/24
    }
}
CONF
}

run() { # $1: tag, $2: extra config
    conf "$2" >"$W/$1.conf"
    ip netns exec ahcap2 tshark -q -i eth0 -f "ip proto 51" -w "$W/$1.pcapng" 2>"$W/$1.tshark" &
    tpid=$!
    until grep -q "Capturing on" "$W/$1.tshark" 2>/dev/null; do sleep 0.1; done
    ip netns exec ahcap1 /usr/sbin/keepalived -n -l -D --vrrp -f "$W/$1.conf" \
        -p "$W/$1.pid" -r "$W/$1.vpid" >"$W/$1.log" 2>&1 &
    kpid=$!
    sleep 7
    kill -TERM $kpid
    wait $kpid || true
    sleep 0.5
    kill -INT $tpid
    wait $tpid || true
    # One line per frame: tag, the IP datagram in hex.
    tshark -r "$W/$1.pcapng" -x 2>/dev/null | awk -v tag="$1" '
        /^$/ { if (p != "") print tag, substr(p, 29); p = ""; next }
        { for (i = 2; i <= 17; i++) if ($i ~ /^[0-9a-f][0-9a-f]$/) p = p $i }
        END { if (p != "") print tag, substr(p, 29) }'
}

{
    echo "# AH adverts sent by Debian's keepalived 2.2.7, captured by capture-ah.sh: one line each,"
    echo "# mc (multicast to 224.0.0.18) or uc (unicast_src_ip 10.211.0.1, unicast_peer 10.211.0.2),"
    echo "# then the IPv4 datagram in hex. VRID 51, priority 120 (0 at stop), advert_int 1, auth_type AH,"
    echo "# auth_pass secret12, VIP 10.211.0.100, source 10.211.0.1."
    run mc ""
    run uc "    unicast_src_ip 10.211.0.1
    unicast_peer {
        10.211.0.2
    }"
} >"$OUT"
cat "$OUT"
