#!/usr/bin/env bash
# make-golden.sh — regenerate test/golden/<version>/<sample>.{state,desc}.json
# from samples/qemu-<version>/<sample>.mig with QEMU's scripts/analyze-migration.py.
#
# The analyser is NOT part of this repo. Get it from a Debian QEMU source
# package outside the repo, e.g. (inside a Debian sid tree with a deb-src line):
#   apt-get source --download-only qemu=1:10.2.2+ds-1 && dpkg-source -x qemu_10.2.2+ds-1.dsc
# and point ANALYZER at it (default below is where it was unpacked for the
# committed goldens). See test/golden/ANALYSER.md.
#
# For every sample:  python3 "$ANALYZER" -d state -f FILE  > <sample>.state.json
#                    python3 "$ANALYZER" -d desc  -f FILE  > <sample>.desc.json
# Files are the analyser's exact stdout. When the analyser fails, no file is
# written for that mode and the failure is printed (record it in ANALYSER.md).
set -uo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
ANALYZER="${ANALYZER:-/work/qemu-src/10.2.2/qemu-10.2.2+ds/scripts/analyze-migration.py}"
PY="${PYTHON:-python3}"

[ -f "$ANALYZER" ] || { echo "analyser not found: $ANALYZER (set ANALYZER=...)" >&2; exit 2; }
tmp="$(mktemp)"; err="$(mktemp)"
trap 'rm -f "$tmp" "$err"' EXIT

for f in "$REPO"/samples/qemu-*/*.mig; do
    ver="$(basename "$(dirname "$f")")"; ver="${ver#qemu-}"
    name="$(basename "$f" .mig)"
    mkdir -p "$HERE/$ver"
    for mode in state desc; do
        out="$HERE/$ver/$name.$mode.json"
        if "$PY" "$ANALYZER" -d "$mode" -f "$f" >"$tmp" 2>"$err"; then
            cat "$tmp" >"$out"
            echo "ok     $ver/$name.$mode.json ($(wc -c <"$out") bytes)"
        else
            rm -f "$out"
            # the analyser re-raises with the whole vmdesc JSON; show only the real error
            msg="$(grep -E '^[A-Za-z]*(Exception|Error): ' "$err" | grep -v "Full JSON dump" | head -n1)"
            echo "FAILED $ver/$name.$mode: $msg"
        fi
    done
done
