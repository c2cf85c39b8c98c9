#!/usr/bin/env bash
# make-libvirt-sparse.sh — a libvirt "sparse" save image (virsh save --image-format sparse) of a
# guest that ran, made by the real libvirtd and QEMU 11.1 of the sid tree, and restored once by
# libvirt to show that libvirt itself accepts it.
#
# Writes samples/devices/qemu-11.1/libvirt-<version>_virt-7.2_max-gicv3.sparse.save (sparse file),
# its .console.txt and a .json with what happened (libvirt version, the QEMU command line libvirt
# ran, the save and restore results). make-device-samples.py adds it to manifest.json and packs it.
#
# Needs: root, util-linux unshare, the sid tree with libvirt-daemon, libvirt-daemon-driver-qemu and
# libvirt-clients installed (flock /work/qemu-trees/sid.lock chroot /work/qemu-trees/sid apt-get
# install -y --no-install-recommends libvirt-daemon libvirt-daemon-driver-qemu libvirt-clients).
# Nothing in the tree is changed: libvirtd runs in a private mount namespace where /proc, /sys,
# /dev, /run and libvirt's state, log and cache directories are mounted (tmpfs for the latter) and a
# qemu.conf without mount namespaces or security drivers (a chroot has no systemd) is bind-mounted
# over the tree's; everything disappears with the namespace. Takes about 15 s.
#
# Usage: samples/devices/make-libvirt-sparse.sh [--trees DIR] [--run SECONDS]
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
TREES="${QEMU_TREES:-/work/qemu-trees}"
RUN=4
while [ $# -gt 0 ]; do
    case "$1" in
        --trees) shift; TREES="$1" ;;
        --run) shift; RUN="$1" ;;
        -h|--help) sed -n '2,19p' "$0"; exit 0 ;;
        *) echo "make-libvirt-sparse: unknown argument: $1" >&2; exit 2 ;;
    esac
    shift
done
T="$TREES/sid"
[ -x "$T/usr/sbin/libvirtd" ] || { echo "make-libvirt-sparse: no libvirtd in $T (see the header)" >&2; exit 2; }
VERSION="$(chroot "$T" virsh --version)"
NAME="vmstate-sparse"
OUTBASE="$HERE/qemu-11.1/libvirt-${VERSION}_virt-7.2_max-gicv3.sparse"
WORK="$(mktemp -d "$T/tmp/vmstate-libvirt.XXXXXX")"
IN="/${WORK#"$T"/}"   # the same directory as the chroot sees it
trap 'rm -rf "$WORK"' EXIT

cat >"$WORK/dom.xml" <<EOF
<domain type='qemu'>
  <name>$NAME</name>
  <memory unit='MiB'>64</memory>
  <vcpu>2</vcpu>
  <os>
    <type arch='aarch64' machine='virt-7.2'>hvm</type>
    <loader type='rom'>/usr/lib/u-boot/qemu_arm64/u-boot.bin</loader>
  </os>
  <features><gic version='3'/></features>
  <cpu mode='custom' match='exact' check='none'><model fallback='forbid'>max</model></cpu>
  <clock offset='utc'/>
  <devices>
    <emulator>/usr/bin/qemu-system-aarch64</emulator>
    <controller type='usb' model='none'/>
    <memballoon model='none'/>
    <serial type='file'><source path='$IN/console.log'/></serial>
  </devices>
</domain>
EOF
{ cat "$T/etc/libvirt/qemu.conf"; printf 'namespaces = [ ]\nsecurity_driver = "none"\nuser = "root"\ngroup = "root"\ndynamic_ownership = 0\n'; } >"$WORK/qemu.conf"
cat >"$WORK/inner.sh" <<EOF
set -u
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
V="virsh -q -c qemu:///system"
mkdir -p /var/lib/libvirt/qemu/save /var/lib/libvirt/qemu/ram /var/log/libvirt/qemu /var/cache/libvirt
virtlogd -d && libvirtd -d || exit 1
for i in \$(seq 50); do \$V version >/dev/null 2>&1 && break; sleep 0.2; done
\$V create $IN/dom.xml >/dev/null || exit 1
sleep $RUN
\$V save --image-format sparse $NAME $IN/image.save >/dev/null 2>$IN/save.err; echo \$? >$IN/save.rc
cp $IN/console.log $IN/console.saved   # a restore starts the file anew
grep -A200 '^LC_ALL=' /var/log/libvirt/qemu/$NAME.log | sed -n '/^LC_ALL=/,/-msg timestamp=on/p' >$IN/cmdline.txt
\$V restore --paused $IN/image.save >/dev/null 2>$IN/restore.err; echo \$? >$IN/restore.rc
\$V domstate $NAME >$IN/restore.state 2>&1
\$V destroy $NAME >/dev/null 2>&1
kill \$(cat /run/libvirtd.pid) \$(cat /run/virtlogd.pid) 2>/dev/null
sleep 1
exit 0
EOF

unshare -m --propagation private bash -c '
set -e
T="$1"; W="$2"
mount -t proc proc "$T/proc"
mount --rbind /sys "$T/sys"
mount --rbind /dev "$T/dev"
for d in run var/lib/libvirt var/log/libvirt var/cache/libvirt; do mkdir -p "$T/$d"; mount -t tmpfs tmpfs "$T/$d"; done
mount --bind "$W/qemu.conf" "$T/etc/libvirt/qemu.conf"
chroot "$T" bash "/${W#"$T"/}/inner.sh"
' _ "$T" "$WORK"

rc="$(cat "$WORK/save.rc")"
if [ "$rc" != 0 ] || [ ! -s "$WORK/image.save" ]; then
    echo "make-libvirt-sparse: virsh save failed: $(cat "$WORK/save.err")" >&2
    exit 1
fi
mkdir -p "$(dirname "$OUTBASE")"
cp --sparse=always "$WORK/image.save" "$OUTBASE.part" && chmod 0644 "$OUTBASE.part" && mv "$OUTBASE.part" "$OUTBASE.save"
cp "$WORK/console.saved" "$OUTBASE.console.txt" && chmod 0644 "$OUTBASE.console.txt"
python3 - "$WORK" "$OUTBASE.json" "$VERSION" "$RUN" <<'PY'
import json, sys
w, out, version, run = sys.argv[1:]
rd = lambda n: open("%s/%s" % (w, n)).read().strip()
json.dump({
    "description": "A libvirt sparse save image: libvirtd of the sid tree started the domain below, let it run, ran `virsh save --image-format sparse`, then `virsh restore --paused` of the same file.",
    "libvirt": version,
    "domainXml": rd("dom.xml").replace(w.split("/tmp/", 1)[-1], "@WORK@"),
    "runSeconds": float(run),
    "qemuCommandLine": rd("cmdline.txt").replace(w.split("/tmp/", 1)[-1], "@WORK@").split("\n"),
    "save": {"exitCode": int(rd("save.rc")), "stderr": rd("save.err")},
    "restore": {"exitCode": int(rd("restore.rc")), "stderr": rd("restore.err"), "domstate": rd("restore.state")},
}, open(out, "w"), indent=2)
open(out, "a").write("\n")
PY
echo "wrote $OUTBASE.save ($(stat -c %s "$OUTBASE.save") bytes, $(du -k "$OUTBASE.save" | cut -f1) KiB allocated); restore: $(cat "$WORK/restore.state")" >&2
