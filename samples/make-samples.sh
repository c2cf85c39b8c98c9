#!/usr/bin/env bash
# make-samples.sh — (re)generate the committed sample migration streams.
#
# What it does
#   Saves idle, paused (-S) aarch64 TCG guests with `-m 64 -smp 2 -nodefaults`
#   through QMP `migrate "exec:cat > FILE"` (driver: samples/qmp-save.py) for a
#   fixed list of (QEMU version, -M, -cpu) combinations, into
#     samples/qemu-<major.minor>/<machine type in stream>_<cpu slug>.mig
#   then prints the facts table used in samples/README.md (sample-facts.py).
#
# QEMU binaries used
#   7.2   host qemu-system-aarch64 (Debian bookworm 1:7.2+dfsg-7+deb12u18)
#   10.0  chroot $TREES/trixie qemu-system-aarch64 (Debian trixie)
#   11.1  chroot $TREES/sid    qemu-system-aarch64 (Debian sid)
#   The chroot trees are Debian debootstraps with qemu-system-arm installed,
#   e.g.  debootstrap trixie /work/qemu-trees/trixie http://deb.debian.org/debian
#         chroot /work/qemu-trees/trixie apt-get install -y qemu-system-arm
#   Each binary's `--version` must match the expected major.minor; otherwise
#   that version is skipped with a message (streams are never faked).
#
# Idempotent: an existing .mig is kept (streams contain clock/timer values, so
# a re-save is not byte-identical); use --force to regenerate. Output is
# written via a temp file and renamed, so an interrupted run leaves no
# partial samples.
#
# Usage: samples/make-samples.sh [--force] [--only 7.2|10.0|11.1]... [--trees DIR]
#   --trees DIR  directory holding the trixie/ and sid/ trees
#                (default: $QEMU_TREES or /work/qemu-trees)
# Needs: bash, python3 (stdlib), root for chroot.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
TREES="${QEMU_TREES:-/work/qemu-trees}"
FORCE=0
ONLY=()

while [ $# -gt 0 ]; do
    case "$1" in
        --force) FORCE=1 ;;
        --only) shift; ONLY+=("$1") ;;
        --trees) shift; TREES="$1" ;;
        -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d'; exit 0 ;;
        *) echo "unknown argument: $1" >&2; exit 2 ;;
    esac
    shift
done

# version | chroot tree ("-" = host) | -M | -cpu
SAMPLES=(
    "7.2|-|virt|max"
    "7.2|-|virt|cortex-a57"
    "7.2|-|virt|cortex-a15"
    "7.2|-|virt|max,pauth=off"
    "7.2|-|virt|cortex-a53"
    "7.2|-|virt|cortex-a72"
    "10.0|trixie|virt-7.2|cortex-a57"
    "10.0|trixie|virt-7.2|max"
    "10.0|trixie|virt-7.2|cortex-a15"
    "10.0|trixie|virt|max"
    "11.1|sid|virt-7.2|cortex-a57"
    "11.1|sid|virt-7.2|max"
    "11.1|sid|virt-7.2|cortex-a15"
    "11.1|sid|virt|max"
)

wanted() {
    [ ${#ONLY[@]} -eq 0 ] && return 0
    local v
    for v in "${ONLY[@]}"; do [ "$v" = "$1" ] && return 0; done
    return 1
}

qemu_cmd() { # tree -> command prefix
    if [ "$1" = "-" ]; then echo "qemu-system-aarch64"; else echo "chroot $TREES/$1 qemu-system-aarch64"; fi
}

declare -A CHECKED=()
check_version() { # version tree -> 0 if usable
    local key="$1|$2" out
    if [ -n "${CHECKED[$key]:-}" ]; then [ "${CHECKED[$key]}" = ok ]; return; fi
    if [ "$2" != "-" ] && [ ! -x "$TREES/$2/usr/bin/qemu-system-aarch64" ]; then
        echo "SKIP QEMU $1: $TREES/$2/usr/bin/qemu-system-aarch64 not found" >&2
        CHECKED[$key]=bad; return 1
    fi
    out="$($(qemu_cmd "$2") --version 2>&1 | head -n1)" || true
    if [[ "$out" != "QEMU emulator version $1."* ]]; then
        echo "SKIP QEMU $1: binary reports '$out'" >&2
        CHECKED[$key]=bad; return 1
    fi
    echo "using $out ($(qemu_cmd "$2"))" >&2
    CHECKED[$key]=ok
}

machine_type() { # tree machine -> machine type name stored in the stream (virt -> virt-X.Y)
    local alias
    alias="$($(qemu_cmd "$1") -M help 2>/dev/null | sed -n "s/^$2 .*(alias of \\([^)]*\\)).*/\\1/p" | head -n1)"
    echo "${alias:-$2}"
}

rc=0
for spec in "${SAMPLES[@]}"; do
    IFS='|' read -r ver tree machine cpu <<<"$spec"
    wanted "$ver" || continue
    check_version "$ver" "$tree" || { rc=1; continue; }
    mtype="$(machine_type "$tree" "$machine")"
    [ -n "$mtype" ] || { echo "cannot resolve machine type for -M $machine on $ver" >&2; rc=1; continue; }
    slug="$(echo "$cpu" | sed 's/,/-/g; s/=/-/g')"
    out="$HERE/qemu-$ver/${mtype}_${slug}.mig"
    if [ -f "$out" ] && [ "$FORCE" -eq 0 ]; then
        echo "keep   $out" >&2
        continue
    fi
    mkdir -p "$HERE/qemu-$ver"
    chroot_opt=()
    [ "$tree" != "-" ] && chroot_opt=(--chroot "$TREES/$tree")
    echo "save   $out  (-M $machine -cpu $cpu)" >&2
    if ! python3 "$HERE/qmp-save.py" save "${chroot_opt[@]}" -M "$machine" -c "$cpu" \
            -m 64 --smp 2 -o "$out"; then
        echo "FAILED $out" >&2; rc=1
    fi
done

python3 "$HERE/sample-facts.py" "$HERE"/qemu-*/*.mig || rc=1
exit $rc
