#!/usr/bin/env bash
# fetch.sh — download the arm64 Debian pieces of the nested-KVM kit into a cache outside the
# repository: per release (bookworm, trixie, sid) the kernel (image + modules) and the L1
# userspace closure (qemu-system-arm, busybox-static, libc6, python3, u-boot-qemu), unpacked.
#
# Usage: samples/kvm/fetch.sh [--cache DIR] [--release R]... [--with-node] [--force]
#   --cache DIR   cache directory (default $KVM_CACHE or /work/kvm-cache)
#   --release R   only this release (repeatable; default: bookworm trixie sid)
#   --with-node   add Debian's arm64 nodejs to the userspace closure (for `vmstate profile --host` in L1)
#   --force       re-resolve and re-unpack even if the release is already complete
#
# The host's apt/dpkg state is never touched: each release has a private apt root
# (CACHE/apt/R: its own sources.list, lists, archives and an empty dpkg status) and
# APT::Architecture=arm64, so no foreign architecture is added to the host. Debs are only
# downloaded and unpacked with `dpkg-deb -x` (no maintainer scripts).
# Result per release R:
#   CACHE/R/kernel/vmlinuz, CACHE/R/kernel/release (uname -r), CACHE/R/kernel/modules/*.ko
#   CACHE/R/root/   the unpacked userspace (merged /usr), CACHE/R/versions.txt (package versions)
set -euo pipefail
CACHE="${KVM_CACHE:-/work/kvm-cache}"; RELEASES=(); NODE=0; FORCE=0
while [ $# -gt 0 ]; do
    case "$1" in
        --cache) shift; CACHE="$1" ;;
        --release) shift; RELEASES+=("$1") ;;
        --with-node) NODE=1 ;;
        --force) FORCE=1 ;;
        -h|--help) sed -n '2,19p' "$0"; exit 0 ;;
        *) echo "fetch: unknown argument: $1" >&2; exit 2 ;;
    esac
    shift
done
[ ${#RELEASES[@]} -gt 0 ] || RELEASES=(bookworm trixie sid)
MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
SECURITY="${DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}"
# a keyring that knows bookworm, trixie and sid: the host's, or a newer one if given
KEYRING="${DEBIAN_KEYRING:-/usr/share/keyrings/debian-archive-keyring.gpg}"
# modules L1 needs from the kernel package (the scratch disk is virtio-mmio + virtio-blk)
MODULES=(virtio_mmio virtio_blk)
PKGS=(qemu-system-arm busybox-static libc6 python3 u-boot-qemu)
# unpacked but not needed in L1: dropped from the root to keep the initramfs small
PRUNE=(usr/share/doc usr/share/man usr/share/locale usr/share/info usr/share/lintian
       usr/lib/systemd usr/share/zoneinfo usr/lib/python3*/test usr/lib/python3*/idlelib
       usr/lib/python3*/tkinter usr/lib/python3*/ensurepip usr/lib/python3*/pydoc_data
       usr/lib/python3*/lib2to3)

for R in "${RELEASES[@]}"; do
    case "$R" in
        bookworm) KPAT='^linux-image-6\.1\.0-[0-9]+-arm64-unsigned$'; MPAT='' ;;
        trixie)   KPAT='^linux-image-6\.12\.[0-9]+\+deb13-arm64-unsigned$'; MPAT='' ;;
        sid)      KPAT='^linux-binary-[0-9.]+\+deb[0-9]+-arm64$'; MPAT='^linux-modules-[0-9.]+\+deb[0-9]+-arm64$' ;;
        *) echo "fetch: unknown release $R (bookworm, trixie, sid)" >&2; exit 2 ;;
    esac
    D="$CACHE/$R"; A="$D/apt"
    if [ "$FORCE" -eq 0 ] && [ -f "$D/complete" ] && { [ "$NODE" -eq 0 ] || [ -x "$D/root/usr/bin/node" ]; }; then
        echo "fetch: $R already complete ($D)"; continue
    fi
    rm -f "$D/complete"
    mkdir -p "$A/state/lists/partial" "$A/cache/archives/partial" "$A/empty" "$D/debs" "$D/kernel-debs"
    : > "$A/state/status"
    {
        echo "deb [arch=arm64 signed-by=$KEYRING] $MIRROR $R main"
        if [ "$R" != sid ]; then
            echo "deb [arch=arm64 signed-by=$KEYRING] $MIRROR $R-updates main"
            echo "deb [arch=arm64 signed-by=$KEYRING] $SECURITY $R-security main"
        fi
    } > "$A/sources.list"
    APTOPTS=(-q -o "Dir::Etc::SourceList=$A/sources.list" -o "Dir::Etc::SourceParts=$A/empty"
             -o "Dir::Etc::Preferences=$A/empty/preferences" -o "Dir::Etc::PreferencesParts=$A/empty"
             -o "Dir::State=$A/state" -o "Dir::State::status=$A/state/status" -o "Dir::Cache=$A/cache"
             -o APT::Architecture=arm64 -o APT::Architectures::=arm64 -o Debug::NoLocking=1
             -o APT::Install-Recommends=false -o APT::Install-Suggests=false)
    echo "fetch: $R: apt update (private root $A)"
    apt-get "${APTOPTS[@]}" update >/dev/null
    KPKG=$(apt-cache "${APTOPTS[@]}" pkgnames | grep -E "$KPAT" | sort -V | tail -1)
    [ -n "$KPKG" ] || { echo "fetch: $R: no kernel package matches $KPAT" >&2; exit 1; }
    KLIST=("$KPKG")
    if [ -n "$MPAT" ]; then
        MPKG=$(apt-cache "${APTOPTS[@]}" pkgnames | grep -E "$MPAT" | sort -V | tail -1)
        [ -n "$MPKG" ] || { echo "fetch: $R: no modules package matches $MPAT" >&2; exit 1; }
        KLIST+=("$MPKG")
    fi
    WANT=("${PKGS[@]}"); [ "$NODE" -eq 1 ] && WANT+=(nodejs)
    echo "fetch: $R: kernel ${KLIST[*]}; userspace ${WANT[*]}"
    # the userspace closure against an empty status: download only
    apt-get "${APTOPTS[@]}" -y --download-only install "${WANT[@]}" >/dev/null
    rm -f "$D/debs/"*.deb
    cp "$A/cache/archives/"*.deb "$D/debs/"
    # the kernel without its dependencies (initramfs-tools, ...)
    rm -f "$D/kernel-debs/"*.deb
    # (as root, apt's download sandbox user cannot write here: download unsandboxed)
    (cd "$D/kernel-debs" && apt-get "${APTOPTS[@]}" -o APT::Sandbox::User=root download "${KLIST[@]}" >/dev/null)
    # unpack the userspace
    rm -rf "$D/root"; mkdir -p "$D/root"
    for deb in "$D/debs/"*.deb; do dpkg-deb -x "$deb" "$D/root"; done
    for p in "${PRUNE[@]}"; do rm -rf "$D/root/"$p; done
    for deb in "$D/debs/"*.deb; do dpkg-deb -W --showformat='${Package} ${Version}\n' "$deb"; done | sort > "$D/versions.txt"
    # the kernel: vmlinuz and the modules L1 loads, decompressed
    K="$D/kernel"; rm -rf "$K" "$D/kernel-x"; mkdir -p "$K/modules" "$D/kernel-x"
    for deb in "$D/kernel-debs/"*.deb; do dpkg-deb -x "$deb" "$D/kernel-x"; done
    # /boot/vmlinuz-REL (bookworm, trixie) or /usr/lib/modules/REL/vmlinuz (sid's linux-binary-*)
    VML=$({ find "$D/kernel-x/boot" "$D/kernel-x/usr/lib/modules" -maxdepth 2 -name 'vmlinuz*' 2>/dev/null || true; } | head -1)
    [ -n "$VML" ] || { echo "fetch: $R: no vmlinuz in ${KLIST[*]}" >&2; exit 1; }
    cp "$VML" "$K/vmlinuz"
    case "$VML" in
        */boot/vmlinuz-*) KREL=$(basename "$VML"); KREL=${KREL#vmlinuz-} ;;
        *) KREL=$(basename "$(dirname "$VML")") ;;
    esac
    echo "$KREL" > "$K/release"
    for deb in "$D/kernel-debs/"*.deb; do dpkg-deb -W --showformat='${Package} ${Version}\n' "$deb"; done > "$K/packages.txt"
    MODDIR=""
    for c in "$D/kernel-x/lib/modules/$KREL" "$D/kernel-x/usr/lib/modules/$KREL"; do [ -d "$c" ] && MODDIR="$c"; done
    [ -n "$MODDIR" ] || { echo "fetch: $R: no modules directory for $KREL" >&2; exit 1; }
    : > "$K/modules/order"
    for m in "${MODULES[@]}"; do
        f=$(find "$MODDIR" -name "$m.ko*" | head -1)
        if [ -z "$f" ]; then
            # built into the kernel: nothing to load
            grep -q "/$m.ko" "$MODDIR/modules.builtin" && continue
            echo "fetch: $R: module $m not found" >&2; exit 1
        fi
        case "$f" in
            *.ko.xz) xz -dc "$f" > "$K/modules/$m.ko" ;;
            *.ko.zst) zstd -qdc "$f" > "$K/modules/$m.ko" ;;
            *.ko.gz) gzip -dc "$f" > "$K/modules/$m.ko" ;;
            *) cp "$f" "$K/modules/$m.ko" ;;
        esac
        echo "$m" >> "$K/modules/order"
    done
    rm -rf "$D/kernel-x"
    echo "fetch: $R: kernel $KREL, $(wc -l < "$D/versions.txt") userspace packages, root $(du -sh "$D/root" | cut -f1)"
    touch "$D/complete"
done
