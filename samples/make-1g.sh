#!/usr/bin/env bash
# make-1g.sh — produce a large (~1.08 GB, 1078569403 bytes with the defaults) QEMU 7.2 aarch64 migration stream for
# benchmarks. NOT for committing: write it outside the repo (e.g. /tmp).
#
# How: generate a 1 GiB pseudo-random file (deterministic for a given --seed;
# Python stdlib), then save a paused TCG guest with
#   qemu-system-aarch64 -M virt -cpu max -m 2048 -smp 2 -S -nodefaults -display none \
#     -device loader,file=<random file>,addr=0x48000000,force-raw=on
# through samples/qmp-save.py (migrate "exec:cat > OUT"). The loader copies the
# file into guest RAM at reset (RAM starts at 0x40000000 on virt, so
# 0x48000000..0x88000000 lies inside the 2 GiB), so the stream carries ~262144
# non-zero 4 KiB PAGE records in addition to the usual sections. Migration
# bandwidth is raised (migrate-set-parameters max-bandwidth) because QEMU's
# default limit (32 MiB/s in 7.2) would make the save take ~40 s.
#
# Usage: samples/make-1g.sh OUT.mig [--seed N] [--size-mib N] [--cpu CPU]
#                           [--chroot DIR] [--timeout SECONDS]
#   --seed N       PRNG seed for the payload (default 1)
#   --size-mib N   payload size in MiB (default 1024; at most 16384). The guest gets -m 2048, or
#                  the payload plus 1 GiB (rounded up to a GiB) when that is more
#   --cpu CPU      -cpu value (default max)
#   --mem-mib N    guest RAM in MiB (default: as above; at least the payload plus 128 MiB)
#   --mapped-ram   save with `migrate file:` and the mapped-ram capability (QEMU >= 9.0, so
#                  with --chroot): the pages lie at their offsets in the file, which has holes
#                  where guest RAM is zero (a guest larger than its payload gives a sparse file)
#   --chroot DIR   use the QEMU of a chroot tree instead of the host's 7.2
#                  (-M virt then means that QEMU's own machine type)
# The temporary payload file is always deleted; OUT is written atomically.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

OUT=""; SEED=1; SIZE_MIB=1024; CPU=max; CHROOT=""; TIMEOUT=900; MEM_OPT=""; MAPPED=0
while [ $# -gt 0 ]; do
    case "$1" in
        --seed) shift; SEED="$1" ;;
        --size-mib) shift; SIZE_MIB="$1" ;;
        --cpu) shift; CPU="$1" ;;
        --chroot) shift; CHROOT="$1" ;;
        --timeout) shift; TIMEOUT="$1" ;;
        --mem-mib) shift; MEM_OPT="$1" ;;
        --mapped-ram) MAPPED=1 ;;
        -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d'; exit 0 ;;
        -*) echo "unknown option: $1" >&2; exit 2 ;;
        *) [ -z "$OUT" ] || { echo "only one output path" >&2; exit 2; }; OUT="$1" ;;
    esac
    shift
done
[ -n "$OUT" ] || { echo "usage: $0 OUT.mig [options]  (see --help)" >&2; exit 2; }
[ "$SIZE_MIB" -ge 1 ] && [ "$SIZE_MIB" -le 16384 ] || { echo "--size-mib must be 1..16384" >&2; exit 2; }
# The payload sits at 0x48000000, 128 MiB into guest RAM (which starts at 0x40000000 on virt).
MEM_MIB=2048
if [ $((SIZE_MIB + 128)) -gt 1920 ]; then MEM_MIB=$(( (SIZE_MIB + 1024 + 1023) / 1024 * 1024 )); fi
if [ -n "$MEM_OPT" ]; then
    [ "$MEM_OPT" -ge $((SIZE_MIB + 128)) ] || { echo "--mem-mib must hold the payload and 128 MiB below it" >&2; exit 2; }
    MEM_MIB="$MEM_OPT"
fi
save_opt=()
if [ "$MAPPED" = 1 ]; then
    [ -n "$CHROOT" ] || { echo "--mapped-ram needs a QEMU >= 9.0 (--chroot)" >&2; exit 2; }
    save_opt=(--file --capability mapped-ram)
fi

# The payload must be readable by QEMU: inside the chroot when --chroot is used.
if [ -n "$CHROOT" ]; then
    workdir="$(mktemp -d "$CHROOT/tmp/vmstate-1g-XXXXXX")"
    inner="/${workdir#"$CHROOT"/}"
    chroot_opt=(--chroot "$CHROOT")
else
    workdir="$(mktemp -d "${TMPDIR:-/tmp}/vmstate-1g-XXXXXX")"
    inner="$workdir"
    chroot_opt=()
fi
trap 'rm -rf "$workdir"' EXIT INT TERM

payload="$workdir/payload.bin"
echo "generating ${SIZE_MIB} MiB payload (seed $SEED) ..." >&2
python3 - "$payload" "$SEED" "$SIZE_MIB" <<'EOF'
import random, sys
path, seed, mib = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rng = random.Random(seed)
with open(path, "wb") as f:
    for _ in range(mib // 16):
        f.write(rng.randbytes(16 << 20))
    rest = (mib % 16) << 20
    if rest:
        f.write(rng.randbytes(rest))
EOF
chmod 644 "$payload"

echo "saving stream to $OUT ..." >&2
python3 "$HERE/qmp-save.py" save "${chroot_opt[@]}" "${save_opt[@]}" -M virt -c "$CPU" -m "$MEM_MIB" --smp 2 \
    --max-bandwidth 107374182400 --timeout "$TIMEOUT" -o "$OUT" \
    -- -device "loader,file=$inner/payload.bin,addr=0x48000000,force-raw=on"
ls -l "$OUT" >&2
