#!/usr/bin/env bash
# Run a shell script inside a throw-away QEMU guest whose kernel has IPVS.
#
# The development and CI hosts run kernels without IP_VS, so the IPVS worker
# is exercised in a guest: Debian's stock kernel (linux-image-amd64, which
# ships ip_vs and every scheduler as modules) booted with a busybox
# initramfs, no disk and no network card. The guest loads the IPVS modules,
# runs the given script with /bin/sh, prints its exit code and powers off.
#
# usage: tests/vm/ipvs-vm.sh --script FILE [options]
#   --script FILE   the guest script (PATH has /opt/bin; ip_vs is loaded)
#   --bin PATH      copy an executable to /opt/bin/NAME, with the shared
#                   libraries ldd lists (repeatable)
#   --copy SRC=DST  copy a file or directory into the guest at DST
#                   (repeatable)
#   --no-preload    do not load the modules at boot: the guest's modprobe
#                   (busybox, /proc/sys/kernel/modprobe) loads them on
#                   demand, as the kernel asks for ip_vs, its schedulers
#                   and the dummy link type
# env: VM_MEM (MiB, default 384), VM_TIMEOUT (seconds, default 300),
#      VM_CACHE (default tests/.cache/vm)
#
# Standard output: the guest's console. The last line is
#   IPVS-VM: boot_to_result=S total=S guest_rc=N
# The exit code is the guest script's (99 when it printed no result).
#
# Host requirements are installed with apt-get when missing: qemu-system-x86,
# busybox-static, ipvsadm, cpio, binutils. The kernel package is fetched once with
# `apt-get download` and kept in the cache folder.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
CACHE=${VM_CACHE:-$ROOT/tests/.cache/vm}
SCRIPT=""
BINS=()
COPIES=()
PRELOAD=1
while [ $# -gt 0 ]; do
  case $1 in
    --script) SCRIPT=$2; shift 2 ;;
    --bin) BINS+=("$2"); shift 2 ;;
    --copy) COPIES+=("$2"); shift 2 ;;
    --no-preload) PRELOAD=0; shift ;;
    -h|--help) sed -n '2,30p' "$0"; exit 0 ;;
    *) echo "ipvs-vm: unknown argument $1" >&2; exit 2 ;;
  esac
done
[ -n "$SCRIPT" ] || { echo "ipvs-vm: --script is required" >&2; exit 2; }
[ "$(id -u)" = 0 ] || { echo "ipvs-vm: must run as root (apt-get, module closure)" >&2; exit 2; }
mkdir -p "$CACHE"
T0=$(date +%s.%N)
say() { echo "[ipvs-vm] $*" >&2; }

# Host tools.
missing=()
command -v qemu-system-x86_64 >/dev/null || missing+=(qemu-system-x86)
[ -x /bin/busybox ] && /bin/busybox --list 2>/dev/null | grep -qx modprobe || missing+=(busybox-static)
command -v ipvsadm >/dev/null || missing+=(ipvsadm)
command -v cpio >/dev/null || missing+=(cpio)
command -v strings >/dev/null || missing+=(binutils)
if [ ${#missing[@]} -gt 0 ]; then
  say "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null 2>&1 || {
    apt-get update >/dev/null 2>&1
    apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null
  }
fi
if ldd /bin/busybox >/dev/null 2>&1; then
  echo "ipvs-vm: /bin/busybox is not static (install busybox-static)" >&2; exit 1
fi

# The kernel: whatever linux-image-amd64 depends on, fetched once.
kpkg() { apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/{print $2; exit}'; }
KPKG=$(kpkg)
if [ -z "$KPKG" ]; then apt-get update >/dev/null 2>&1; KPKG=$(kpkg); fi
[ -n "$KPKG" ] || { echo "ipvs-vm: cannot resolve linux-image-amd64" >&2; exit 1; }
KV=${KPKG#linux-image-}
DEB=$(ls "$CACHE/${KPKG}"_*.deb 2>/dev/null | head -1 || true)
if [ -z "$DEB" ]; then
  say "fetching $KPKG"
  (cd "$CACHE" && apt-get download "$KPKG" >/dev/null 2>&1)
  DEB=$(ls "$CACHE/${KPKG}"_*.deb | head -1)
fi
KDIR=$CACHE/kernel-$KV
if [ ! -f "$KDIR/.complete-2" ]; then
  say "unpacking $(basename "$DEB")"
  rm -rf "$KDIR"; mkdir -p "$KDIR"
  dpkg-deb --fsys-tarfile "$DEB" | tar -x -C "$KDIR" --wildcards \
    "./boot/vmlinuz-$KV" "./lib/modules/$KV/modules.*" \
    "./lib/modules/$KV/kernel/net/*" "./lib/modules/$KV/kernel/lib/*" \
    "./lib/modules/$KV/kernel/crypto/*" "./lib/modules/$KV/kernel/drivers/net/dummy.ko"
  touch "$KDIR/.complete-2"
fi
MODS_DIR=$KDIR/lib/modules/$KV

# The initramfs.
STAGE=$(mktemp -d "$CACHE/stage.XXXXXX")
# The guest's / (mktemp made it 0700: scripts run as nobody could not
# reach /opt).
chmod 755 "$STAGE"
trap 'rm -rf "$STAGE"' EXIT
mkdir -p "$STAGE"/{bin,sbin,etc,proc,sys,dev,run,tmp,opt/bin,lib/modules/"$KV"}
cp /bin/busybox "$STAGE/bin/busybox"
install_exe() { # SRC DST: the executable and the libraries it loads
  install -D -m755 "$1" "$STAGE$2"
  # Debug information only slows the guest's unpacking of the initramfs.
  if command -v strip >/dev/null; then strip --strip-debug "$STAGE$2" 2>/dev/null || true; fi
  local lib
  for lib in $(ldd "$1" 2>/dev/null | grep -oE '/[^ ]+' || true); do
    [ -e "$STAGE$lib" ] || install -D -m755 "$(readlink -f "$lib")" "$STAGE$lib"
  done
}
install_exe "$(command -v ipvsadm)" /sbin/ipvsadm
for b in "${BINS[@]}"; do install_exe "$b" "/opt/bin/$(basename "$b")"; done
for c in "${COPIES[@]}"; do
  src=${c%%=*}; dst=${c#*=}
  mkdir -p "$STAGE$(dirname "$dst")"
  cp -a "$src" "$STAGE$dst"
done
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' > "$STAGE/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' > "$STAGE/etc/group"
install -m755 "$SCRIPT" "$STAGE/opt/guest.sh"

# Modules and their dependencies, from each module's "depends=" field.
declare -A KO SEEN
while IFS= read -r f; do n=$(basename "$f" .ko); KO[${n//-/_}]=$f; done \
  < <(find "$MODS_DIR/kernel" -name '*.ko')
add_module() {
  local m=${1//-/_}
  [ -n "${SEEN[$m]:-}" ] && return
  SEEN[$m]=1
  local f=${KO[$m]:-}
  [ -n "$f" ] || { echo "ipvs-vm: no module $m in $KPKG" >&2; exit 1; }
  local d
  for d in $(strings "$f" | sed -n 's/^depends=//p' | head -1 | tr , ' '); do add_module "$d"; done
  install -D -m644 "$f" "$STAGE/lib/modules/$KV/${f#"$MODS_DIR"/}"
}
MODULES=(crc32c_generic ip_vs ip_vs_rr ip_vs_wrr ip_vs_lc ip_vs_wlc ip_vs_lblc ip_vs_lblcr
         ip_vs_dh ip_vs_sh ip_vs_sed ip_vs_nq ip_vs_fo ip_vs_ovf ip_vs_mh dummy)
for m in "${MODULES[@]}"; do add_module "$m"; done
cp "$MODS_DIR"/modules.builtin "$MODS_DIR"/modules.order "$STAGE/lib/modules/$KV/" 2>/dev/null || true
/bin/busybox depmod -b "$STAGE" "$KV"

cat > "$STAGE/init" <<INIT
#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/opt/bin:/bin:/sbin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
mount -t tmpfs run /run
echo /bin/modprobe > /proc/sys/kernel/modprobe
ip link set lo up
if [ $PRELOAD = 1 ]; then
  for m in ${MODULES[*]}; do modprobe \$m || echo "GUEST: modprobe \$m failed"; done
fi
echo "GUEST: kernel \$(uname -r) ready at \$(cut -d' ' -f1 /proc/uptime)s"
echo "GUEST-BEGIN"
/bin/sh /opt/guest.sh
echo "GUEST-END rc=\$? uptime=\$(cut -d' ' -f1 /proc/uptime)s"
poweroff -f
INIT
chmod 755 "$STAGE/init"
INITRD=$CACHE/initrd.gz
(cd "$STAGE" && find . | cpio -o -H newc --quiet | gzip -1 > "$INITRD")

# Boot under TCG: no KVM assumed (nested hosts often lack a usable one).
T1=$(date +%s.%N)
say "initramfs $(du -k "$INITRD" | cut -f1) KiB; booting $KV"
LOG=$CACHE/console.log
set +e
timeout "${VM_TIMEOUT:-300}" qemu-system-x86_64 -accel tcg -cpu max -m "${VM_MEM:-384}" -smp 1 \
  -nographic -no-reboot -nic none -no-user-config \
  -kernel "$KDIR/boot/vmlinuz-$KV" -initrd "$INITRD" \
  -append "console=ttyS0 quiet loglevel=3 panic=-1" </dev/null 2>&1 |
  tr -d '\r' | sed -u -e 's/\x1b\[[0-9;?]*[a-zA-Z]//g' -e 's/\x1bc//g' | tee "$LOG"
set -e
T2=$(date +%s.%N)
rc=$(sed -n 's/^GUEST-END rc=\([0-9]*\).*/\1/p' "$LOG" | tail -1)
awk -v a="$T0" -v b="$T1" -v c="$T2" -v rc="${rc:-none}" \
  'BEGIN { printf "IPVS-VM: boot_to_result=%.2fs total=%.2fs guest_rc=%s\n", c-b, c-a, rc }'
exit "${rc:-99}"
