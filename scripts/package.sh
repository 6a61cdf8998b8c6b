#!/usr/bin/env bash
# Build the Debian package with cargo-deb and check it on this machine:
# dpkg -i installs it beside Debian's keepalived, the installed example
# passes `keepalived-rs -t` (in a throwaway network namespace that has the
# example's eth0), the man page renders, the unit verifies, then dpkg -r
# leaves only the conffiles and dpkg -P leaves nothing.
#   PROFILE=release|dev   cargo profile of the packaged binary (default
#                         dev in CI: the tests already built it; release
#                         for a package to ship)
#   KEEP=1                leave the package installed
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "package.sh: run as root (dpkg -i)" >&2; exit 1; }
export PATH="$HOME/.cargo/bin:$PATH"
PROFILE=${PROFILE:-dev}
PKG=keepalived-rs
fail() { echo "package.sh: FAIL: $*" >&2; exit 1; }

echo "== cargo build + cargo deb ($PROFILE)"
# Built by cargo itself (in CI the tests built it already: nothing to do),
# then packaged as is.
cargo build --locked --profile "$PROFILE" -p parent --bin keepalived-rs
out=$(cargo deb -p parent --no-build --profile "$PROFILE" --strip --fast 2>&1) || { echo "$out" >&2; fail "cargo deb"; }
deb=$(echo "$out" | tail -n 1)
[ -f "$deb" ] || fail "no .deb in: $out"
echo "built $deb ($(du -h "$deb" | cut -f1))"

dpkg -s "$PKG" >/dev/null 2>&1 && dpkg -P "$PKG" >/dev/null
# The postinst creates keepalived_script, which stays after a purge (Debian
# policy). On a test machine that did not have it, remove it again at the
# end, so the other tests see the machine as it was.
had_user=0
getent passwd keepalived_script >/dev/null && had_user=1
echo "== dpkg -i"
dpkg -i "$deb"
dpkg -L "$PKG" | sort > /tmp/krs-pkg-files
conffiles=$(dpkg-query -W -f='${Conffiles}\n' "$PKG" | awk 'NF {print $1}')
[ "$(echo "$conffiles" | sort | tr '\n' ' ')" = "/etc/default/keepalived-rs /etc/keepalived-rs/keepalived.conf " ] \
    || fail "conffiles: $conffiles"
for f in /usr/sbin/keepalived-rs /lib/systemd/system/keepalived-rs.service \
         /etc/keepalived-rs/keepalived.conf /etc/default/keepalived-rs; do
    [ -f "$f" ] || fail "$f not installed"
done
man=$(grep '/usr/share/man/man8/keepalived-rs.8' /tmp/krs-pkg-files | head -n 1)
[ -n "$man" ] || fail "no man page installed"
getent passwd keepalived_script >/dev/null || fail "postinst did not create keepalived_script"
# Debian's keepalived owns none of our files (both installed side by side).
if dpkg -s keepalived >/dev/null 2>&1; then
    ! dpkg -S /usr/sbin/keepalived-rs 2>/dev/null | grep -qv "^$PKG:" || fail "file clash"
fi

echo "== man -l $man"
LC_ALL=C MANWIDTH=80 man -l "$man" 2>/tmp/krs-man-err > /tmp/krs-man-out || fail "man -l $man failed"
grep -q '^KEEPALIVED-RS(8)' /tmp/krs-man-out && grep -q 'SIGRTMIN+2' /tmp/krs-man-out \
    || fail "man page does not render: $(head -n 5 /tmp/krs-man-out)"
[ ! -s /tmp/krs-man-err ] || fail "man: $(cat /tmp/krs-man-err)"

echo "== keepalived-rs -t on the installed example"
NS=krs-pkg-$$
ip netns add "$NS"
trap 'ip netns del "$NS" 2>/dev/null || true' EXIT
ip -n "$NS" link add eth0 type dummy 2>/dev/null ||
    ip -n "$NS" link add eth0 type veth peer name eth0p # no dummy driver
ip -n "$NS" link set eth0 up
ip netns exec "$NS" /usr/sbin/keepalived-rs -t -f /etc/keepalived-rs/keepalived.conf \
    || fail "keepalived-rs -t on the installed example exited $?"
/usr/sbin/keepalived-rs --version 2>&1 | grep -q "keepalived-rs v" || fail "--version"

if command -v systemd-analyze >/dev/null; then
    echo "== systemd-analyze verify"
    systemd-analyze verify /lib/systemd/system/keepalived-rs.service 2>&1 | tee /tmp/krs-verify
    [ ! -s /tmp/krs-verify ] || fail "systemd-analyze verify complained"
fi

if [ "${KEEP:-0}" = 1 ]; then
    echo "package.sh: $PKG left installed (KEEP=1)"
    exit 0
fi

echo "== dpkg -r: only the conffiles stay"
dpkg -r "$PKG"
while read -r f; do
    [ -e "$f" ] && [ ! -d "$f" ] || continue
    echo "$conffiles" | grep -qx "$f" || fail "$f left after dpkg -r"
done < /tmp/krs-pkg-files
for c in $conffiles; do [ -f "$c" ] || fail "conffile $c removed by dpkg -r"; done

echo "== dpkg -P: nothing stays"
dpkg -P "$PKG"
while read -r f; do
    [ -e "$f" ] && [ ! -d "$f" ] && fail "$f left after dpkg -P"
done < /tmp/krs-pkg-files
[ ! -e /etc/keepalived-rs ] || fail "/etc/keepalived-rs left after purge"
if dpkg -s "$PKG" >/dev/null 2>&1; then fail "$PKG still known to dpkg"; fi
getent passwd keepalived_script >/dev/null || fail "purge removed keepalived_script"
if [ "$had_user" = 0 ]; then
    userdel keepalived_script
    getent group keepalived_script >/dev/null && groupdel keepalived_script
fi
echo "package.sh: install, -t, remove and purge OK"
