#!/usr/bin/env bash
# check-loads.sh — load sample streams into real QEMU destinations and print
# the verdicts recorded in samples/README.md ("Load outcomes").
#
# Each row: sample file | destination QEMU (7.2 = host, 10.0 = trixie tree,
# 11.1 = sid tree) | -M | -cpu. Loading is done by
#   samples/qmp-save.py load [--chroot TREE] -M M -c CPU -i FILE
# (destination: -m 64 -smp 2 -S -incoming "exec:cat FILE"), which prints
# accept/reject/error and QEMU's stderr. Nothing is written to the repo.
#
# Usage: samples/check-loads.sh [--trees DIR] [--full] [--match REGEX]
#   --full   print every QEMU stderr line (default: first 6 lines + a count)
#   --match  only the rows matching REGEX (grep -E on "file|qemu|machine|cpu")
#
# Exit status: 0 when every row gave a verdict (accept or reject), 1 when a row
# could not be run (an "error" row: QEMU or the tree missing, a timeout, a bad
# -cpu/-M), 2 on bad arguments.
set -uo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
TREES="${QEMU_TREES:-/work/qemu-trees}"
FULL=0
MATCH=""
while [ $# -gt 0 ]; do
    case "$1" in
        --trees) shift; TREES="$1" ;;
        --full) FULL=1 ;;
        --match) shift; MATCH="${1:?--match needs a regex}" ;;
        *) echo "unknown argument: $1" >&2; exit 2 ;;
    esac
    shift
done

S7=qemu-7.2; S10=qemu-10.0; S11=qemu-11.1
ROWS=(
    # same version, same cpu (expected: accept)
    "$S7/virt-7.2_max.mig|7.2|virt|max"
    "$S7/virt-7.2_cortex-a57.mig|7.2|virt|cortex-a57"
    "$S7/virt-7.2_cortex-a15.mig|7.2|virt|cortex-a15"
    "$S7/virt-7.2_max-pauth-off.mig|7.2|virt|max,pauth=off"
    "$S7/virt-7.2_cortex-a53.mig|7.2|virt|cortex-a53"
    "$S7/virt-7.2_cortex-a72.mig|7.2|virt|cortex-a72"
    "$S10/virt-7.2_cortex-a57.mig|10.0|virt-7.2|cortex-a57"
    "$S10/virt-7.2_max.mig|10.0|virt-7.2|max"
    "$S10/virt-7.2_cortex-a15.mig|10.0|virt-7.2|cortex-a15"
    "$S10/virt-10.0_max.mig|10.0|virt|max"
    "$S11/virt-7.2_cortex-a57.mig|11.1|virt-7.2|cortex-a57"
    "$S11/virt-7.2_max.mig|11.1|virt-7.2|max"
    "$S11/virt-7.2_cortex-a15.mig|11.1|virt-7.2|cortex-a15"
    "$S11/virt-11.1_max.mig|11.1|virt|max"
    # 7.2 cross-cpu
    "$S7/virt-7.2_max.mig|7.2|virt|max,pauth=off"
    "$S7/virt-7.2_cortex-a57.mig|7.2|virt|cortex-a72"
    # newer -> 7.2
    "$S10/virt-7.2_cortex-a57.mig|7.2|virt|cortex-a57"
    "$S10/virt-7.2_cortex-a15.mig|7.2|virt|cortex-a15"
    "$S10/virt-7.2_max.mig|7.2|virt|max"
    "$S10/virt-10.0_max.mig|7.2|virt|max"
    "$S11/virt-7.2_cortex-a57.mig|7.2|virt|cortex-a57"
    "$S11/virt-7.2_cortex-a15.mig|7.2|virt|cortex-a15"
    "$S11/virt-7.2_max.mig|7.2|virt|max"
    # 7.2 -> newer (virt-7.2)
    "$S7/virt-7.2_cortex-a57.mig|11.1|virt-7.2|cortex-a57"
    "$S7/virt-7.2_cortex-a15.mig|11.1|virt-7.2|cortex-a15"
    "$S7/virt-7.2_max.mig|11.1|virt-7.2|max"
    "$S7/virt-7.2_cortex-a57.mig|10.0|virt-7.2|cortex-a57"
    "$S7/virt-7.2_cortex-a15.mig|10.0|virt-7.2|cortex-a15"
    "$S7/virt-7.2_max.mig|10.0|virt-7.2|max"
    # 10.0 <-> 11.1 (virt-7.2)
    "$S10/virt-7.2_cortex-a57.mig|11.1|virt-7.2|cortex-a57"
    "$S10/virt-7.2_cortex-a15.mig|11.1|virt-7.2|cortex-a15"
    "$S10/virt-7.2_max.mig|11.1|virt-7.2|max"
    "$S11/virt-7.2_cortex-a57.mig|10.0|virt-7.2|cortex-a57"
    "$S11/virt-7.2_cortex-a15.mig|10.0|virt-7.2|cortex-a15"
    "$S11/virt-7.2_max.mig|10.0|virt-7.2|max"
)

ran=0
failed=0
for row in "${ROWS[@]}"; do
    if [ -n "$MATCH" ] && ! grep -Eq -- "$MATCH" <<<"$row"; then continue; fi
    ran=$((ran + 1))
    IFS='|' read -r file dst machine cpu <<<"$row"
    case "$dst" in
        7.2) chroot_opt=() ;;
        10.0) chroot_opt=(--chroot "$TREES/trixie") ;;
        11.1) chroot_opt=(--chroot "$TREES/sid") ;;
    esac
    out="$(python3 "$HERE/qmp-save.py" load "${chroot_opt[@]}" -M "$machine" -c "$cpu" \
           --timeout 60 -i "$HERE/$file")"
    rc=$?
    verdict="$(head -n1 <<<"$out")"
    echo "== $file -> QEMU $dst -M $machine -cpu $cpu: $verdict (rc=$rc)"
    [ "$rc" -eq 0 ] || [ "$rc" -eq 1 ] || failed=$((failed + 1))
    body="$(tail -n +2 <<<"$out" | grep -v "is deprecated")"
    if [ -n "$body" ]; then
        if [ "$FULL" -eq 1 ]; then
            sed 's/^/   /' <<<"$body"
        else
            n="$(wc -l <<<"$body")"
            head -n 6 <<<"$body" | sed 's/^/   /'
            [ "$n" -gt 6 ] && echo "   ... ($n lines; last: $(tail -n1 <<<"$body"))"
        fi
    fi
done

if [ "$ran" -eq 0 ]; then
    echo "check-loads: no row matches '$MATCH'" >&2
    exit 2
fi
if [ "$failed" -gt 0 ]; then
    echo "check-loads: $failed of $ran row(s) could not be run (see the error rows above)" >&2
    exit 1
fi
echo "check-loads: all $ran row(s) gave a verdict"
