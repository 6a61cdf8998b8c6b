#!/bin/sh
# Guest script: record the generic netlink messages ipvsadm sends (and the
# kernel's replies) for the commands the IPVS worker's codec implements.
# Run: tests/vm/ipvs-vm.sh --bin /usr/bin/strace --script tests/vm/capture-ipvsadm.guest.sh
# The console then holds one block per command: "=== ipvsadm ARGS" followed
# by strace's hex dumps of every sendmsg/recvmsg on the netlink socket. The
# codec's tests keep that output as ipvs-worker/testdata/ipvsadm.strace.
cap() {
  echo "=== ipvsadm $*"
  strace -o /tmp/trace -xx -e trace=sendmsg,recvmsg,sendto,recvfrom -e write=all -e read=all ipvsadm "$@"
  echo "--- rc=$?"
  grep -v -e '^+++' -e '^---' /tmp/trace
}
cap -A -t 10.0.0.1:80 -s rr
cap -A -u [2001:db8::1]:53 -s wrr -p 300
cap -A -t 10.0.0.2:443 -s sh -b sh-fallback,sh-port -p 600 -M 255.255.255.0
cap -A -f 100 -s wlc
cap -A -f 200 -6 -s lc -p 60 -M 64
cap -A -u 10.0.0.4:53 -s mh -b mh-port -o
cap -A --sctp-service 10.0.0.5:9 -s fo
cap -E -t 10.0.0.1:80 -s wrr
cap -a -t 10.0.0.1:80 -r 192.168.1.10:8080 -m -w 3 -x 100 -y 10
cap -a -t 10.0.0.1:80 -r 192.168.1.11:80 -g -w 0
cap -a -t 10.0.0.1:80 -r 192.168.1.12 -i --tun-type gue --tun-port 6080 --tun-csum
cap -a -t 10.0.0.1:80 -r 192.168.1.13 -i --tun-type gre --tun-csum
cap -a -t 10.0.0.1:80 -r 192.168.1.14 -i
cap -a -u [2001:db8::1]:53 -r [2001:db8::10]:53 -m -w 2
cap -a -f 100 -r 192.168.1.20 -g
cap -e -t 10.0.0.1:80 -r 192.168.1.10:8080 -m -w 5
cap -d -t 10.0.0.1:80 -r 192.168.1.11:80
cap -D -u 10.0.0.4:53
cap -Ln
cap --set 900 120 300
cap -L --timeout
cap --start-daemon master --mcast-interface lo --syncid 5
cap --start-daemon backup --mcast-interface lo --syncid 7 --sync-maxlen 1400 --mcast-port 8849 --mcast-ttl 2 --mcast-group 239.1.2.3
cap -L --daemon
cap --stop-daemon master
cap --stop-daemon backup
cap -C
ipvsadm -Ln
