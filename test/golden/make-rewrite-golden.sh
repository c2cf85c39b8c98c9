#!/usr/bin/env bash
# make-rewrite-golden.sh — QEMU's analyser output on the rewritten streams that
# test/rewrite-e2e.test.ts produces (backward migration 10.0 → 7.2), saved as
# test/golden/rewrite/back-<cpu>.json = {sha256, command, analyser, state}.
# The test checks that its own rewrite output has this sha256, so the analyser
# is known to have parsed exactly those bytes. Needs a built tree (npm run build)
# and the analyser (ANALYZER=…/scripts/analyze-migration.py from a QEMU ≥ 8.2 source).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
ANALYZER="${ANALYZER:-/work/qemu-src/10.2.2/qemu-10.2.2+ds/scripts/analyze-migration.py}"
[ -f "$ANALYZER" ] || { echo "analyser not found: $ANALYZER (set ANALYZER=...)" >&2; exit 2; }
tmp="$(mktemp -d)"; trap 'rm -rf "$tmp"' EXIT
mkdir -p "$HERE/rewrite"
for cpu in cortex-a57 cortex-a15 max; do
  extra=(); [ "$cpu" = max ] && extra=(--strip-unknown-subsections)
  args=(rewrite "samples/qemu-10.0/virt-7.2_$cpu.mig" -o "$tmp/back-$cpu.mig" --dest "samples/qemu-7.2/virt-7.2_$cpu.mig" --strip-unknown --adopt-dest-values id-regs "${extra[@]}")
  (cd "$REPO" && node dist/cli/main.js "${args[@]}" >/dev/null)
  python3 "$ANALYZER" -d state -f "$tmp/back-$cpu.mig" > "$tmp/state.json"
  python3 - "$tmp/back-$cpu.mig" "$tmp/state.json" "$ANALYZER" "vmstate ${args[*]}" > "$HERE/rewrite/back-$cpu.json" <<'PY'
import hashlib, json, sys, collections
f, state, analyser, cmd = sys.argv[1:]
out = collections.OrderedDict(sha256=hashlib.sha256(open(f, 'rb').read()).hexdigest(), command=cmd.replace('/tmp', '$TMP'),
                              analyser=analyser.split('/')[-3] + ' scripts/analyze-migration.py -d state',
                              state=json.load(open(state), object_pairs_hook=collections.OrderedDict))
print(json.dumps(out, indent=1))
PY
  echo "wrote test/golden/rewrite/back-$cpu.json"
done
