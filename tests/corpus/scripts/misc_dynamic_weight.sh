#!/bin/sh
# MISC_CHECK with misc_dynamic: exit 1 = down, exit N (2..255) = up with
# weight N-2, derived from the server's reported load.
load=$(curl --silent --max-time 3 "http://$1:8080/load" 2>/dev/null) || exit 1
case "$load" in
    ''|*[!0-9]*) exit 1 ;;
esac
w=$((100 - load))
[ "$w" -lt 1 ] && w=1
exit $((w + 2))
