#!/usr/bin/env bash
# Run every benchmark (bench/NAME.sh but this one; bench/NAME.PART.sh are
# parts of one) and write docs/BENCHMARKS.md:
# the machine they ran on, then each benchmark's Markdown section (each
# prints one on standard output: keepalived-rs beside Debian's keepalived;
# its progress goes to standard error, here to bench/logs/NAME.log).
# A benchmark that cannot measure (non-zero exit) gets a section saying so
# with the end of its log. Not part of scripts/test.sh.
#
# Usage: bench/run-all.sh [--skip NAME,...] [--only NAME,...] [--out FILE]   (as root)
#   NAME is a script name without .sh (e.g. vrrp-failover, ipvs-program).
#   --out  where to write (default docs/BENCHMARKS.md)
# Environment is passed on to the benchmarks (PROFILE, KEEPALIVED,
# CARGO_TARGET_DIR, ...).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
OUT=docs/BENCHMARKS.md
SKIP=""
ONLY=""
while [ $# -gt 0 ]; do
    case $1 in
        --skip) SKIP=$2; shift 2 ;;
        --only) ONLY=$2; shift 2 ;;
        --out) OUT=$2; shift 2 ;;
        -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
        *) echo "run-all: unknown argument $1" >&2; exit 1 ;;
    esac
done
[ "$(id -u)" = 0 ] || { echo "run-all: run as root (the benchmarks create network namespaces)" >&2; exit 1; }
export PATH="$HOME/.cargo/bin:$PATH"
in_list() { case ",$2," in *",$1,"*) return 0 ;; *) return 1 ;; esac; }

mkdir -p bench/logs "$(dirname "$OUT")"
load_start=$(cut -d' ' -f1-3 /proc/loadavg)
sections=$(mktemp)
trap 'rm -f "$sections"' EXIT
ran=()
skipped=()
failed=()
for script in bench/*.sh; do
    name=$(basename "$script" .sh)
    [ "$name" = run-all ] && continue
    # NAME.PART.sh is a part another benchmark runs (check-scale.run.sh).
    case $name in *.*) continue ;; esac
    if { [ -n "$ONLY" ] && ! in_list "$name" "$ONLY"; } || in_list "$name" "$SKIP"; then
        skipped+=("$name")
        continue
    fi
    log="bench/logs/$name.log"
    echo "run-all: $name (log: $log)" >&2
    t0=$(date +%s)
    set +e
    bash "$script" > "bench/logs/$name.md" 2> "$log"
    rc=$?
    set -e
    took=$(( $(date +%s) - t0 ))
    if [ "$rc" = 0 ] && grep -q '^## ' "bench/logs/$name.md"; then
        ran+=("$name (${took} s)")
        { sed -n '/^## /,$p' "bench/logs/$name.md"; echo; echo "_\`bench/$name.sh\`, ${took} s._"; echo; } >> "$sections"
    else
        failed+=("$name")
        {
            echo "## $name: not measured"
            echo
            echo "\`bench/$name.sh\` exited $rc after ${took} s without a result. End of its log:"
            echo
            echo '```text'
            tail -n 15 "$log"
            echo '```'
            echo
        } >> "$sections"
    fi
done

ka_version=$( (/usr/sbin/keepalived -v 2>&1 || true) | head -n 1)
rs_version=$(git describe --always --dirty 2>/dev/null || echo unknown)
{
    echo "# Benchmarks"
    echo
    echo "Written by \`bench/run-all.sh\` (do not edit by hand: run it again). Each"
    echo "section comes from one \`bench/*.sh\`, keepalived-rs beside Debian's"
    echo "keepalived on the same machine in the same run."
    echo
    echo "## Machine"
    echo
    echo "| | |"
    echo "|:---|:---|"
    echo "| date | $(date -u '+%Y-%m-%d %H:%M UTC') |"
    echo "| CPU | $(lscpu | sed -n 's/^Model name:[[:space:]]*//p' | head -n 1) |"
    echo "| cores | $(nproc) online ($(lscpu | sed -n 's/^CPU(s):[[:space:]]*//p' | head -n 1) CPUs) |"
    echo "| memory | $(awk '/^MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo) |"
    echo "| kernel | $(uname -sr) |"
    echo "| OS | $( (. /etc/os-release && echo "$PRETTY_NAME") 2>/dev/null || echo unknown) |"
    echo "| keepalived | $ka_version |"
    echo "| keepalived-rs | commit $rs_version |"
    echo "| load average (1, 5, 15 min) | $load_start at the start, $(cut -d' ' -f1-3 /proc/loadavg) at the end |"
    echo "| ran | ${ran[*]:-none} |"
    echo "| skipped | ${skipped[*]:-none} |"
    echo "| not measured | ${failed[*]:-none} |"
    echo
    cat "$sections"
} > "$OUT"
echo "run-all: wrote $OUT (ran: ${#ran[@]}, skipped: ${#skipped[@]}, not measured: ${#failed[@]})" >&2
