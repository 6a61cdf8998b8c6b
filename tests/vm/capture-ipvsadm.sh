#!/usr/bin/env bash
# Record what ipvsadm sends for the IPVS commands the worker implements and
# what the kernel answers, as test data for the worker's netlink codec:
# boots the guest (ipvs-vm.sh) with strace, runs capture-ipvsadm.guest.sh
# and keeps, per command, the "=== ipvsadm ARGS" header and strace's hex
# dumps of each sendmsg/recvmsg (a "send"/"recv"/"peek" line before each).
# usage: tests/vm/capture-ipvsadm.sh [OUT] (default ipvs-worker/testdata/ipvsadm.strace)
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
OUT=${1:-$HERE/../../ipvs-worker/testdata/ipvsadm.strace}
LOG=$(mktemp)
trap 'rm -f "$LOG"' EXIT
"$HERE/ipvs-vm.sh" --bin "$(command -v strace || echo /usr/bin/strace)" \
  --script "$HERE/capture-ipvsadm.guest.sh" > "$LOG"
mkdir -p "$(dirname "$OUT")"
# Keep the command headers and the hex dumps of sendmsg/recvmsg; drop the
# MSG_PEEK reads (libnl peeks at each message before reading it).
filter() {
  awk '/^=== ipvsadm /{print; next}
       /^sendmsg\(/{keep=1; print "send"; next}
       /^recvmsg\(/{ if (index($0, "MSG_PEEK")) keep=0; else {keep=1; print "recv"}; next}
       /^ \| [0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f]  /{ if (keep) print substr($0, 11, 48); next}'
}
{
  echo "# ipvsadm $(dpkg-query -W -f='${Version}' ipvsadm 2>/dev/null || true), guest kernel $(sed -n 's/^GUEST: kernel \([^ ]*\).*/\1/p' "$LOG" | head -1)"
  filter < "$LOG"
} > "$OUT"
echo "wrote $OUT ($(grep -c '^===' "$OUT") commands)"
