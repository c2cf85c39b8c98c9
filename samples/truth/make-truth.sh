#!/usr/bin/env bash
# make-truth.sh — rebuild samples/truth/truth-table.json: build every variant listed in
# cases.json (samples/truth/variants.mjs) into a scratch directory, load each into its real
# destination QEMU (samples/qmp-save.py load; 7.2 = host, 10.0 = trixie tree, 11.1 = sid
# tree, --chroot needs root) and record accept / reject / crash with QEMU's messages.
#
# Usage: samples/truth/make-truth.sh [--jobs N] [--trees DIR] [--build] [--keep]
#                                    [--only SUBSTR] [--timeout S]
#   --jobs N    parallel QEMU loads (default 2)
#   --trees DIR where the trixie/ and sid/ trees are (default $QEMU_TREES or /work/qemu-trees)
#   --build     run `npm run build` first even if dist/ exists
#   --keep      keep the scratch directory (printed at the end)
#   --only S    run only the cases whose id contains S and print them; the table is not written
#   --summary   only regenerate the summary in README.md from the existing truth-table.json
# Re-runnable; nothing but truth-table.json is written inside the repository.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
JOBS=2; TREES="${QEMU_TREES:-/work/qemu-trees}"; BUILD=0; KEEP=0; ONLY=(); TIMEOUT=60
while [ $# -gt 0 ]; do
    case "$1" in
        --jobs) shift; JOBS="$1" ;;
        --trees) shift; TREES="$1" ;;
        --build) BUILD=1 ;;
        --keep) KEEP=1 ;;
        --only) shift; ONLY=(--only "$1") ;;
        --timeout) shift; TIMEOUT="$1" ;;
        --summary) exec node "$HERE/make-truth.mjs" --summary-only ;;
        -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
        *) echo "make-truth: unknown argument: $1" >&2; exit 2 ;;
    esac
    shift
done
if [ "$BUILD" -eq 1 ] || [ ! -f "$ROOT/dist/index.js" ]; then
    (cd "$ROOT" && npm run build >&2)
fi
SCRATCH="$(mktemp -d "${TMPDIR:-/tmp}/vmstate-truth.XXXXXX")"
cleanup() { if [ "$KEEP" -eq 1 ]; then echo "make-truth: variants kept in $SCRATCH" >&2; else rm -rf "$SCRATCH"; fi; }
trap cleanup EXIT
node "$HERE/make-truth.mjs" --scratch "$SCRATCH" --jobs "$JOBS" --trees "$TREES" --timeout "$TIMEOUT" "${ONLY[@]}"
