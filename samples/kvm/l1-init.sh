#!/bin/sh
# /init of the L1 initramfs (busybox sh). Mounts the basics, loads the virtio modules, unpacks
# the job from the scratch disk with serial "job" (a tar with kit/ and job/), runs
# kit/l1-job.py on it and writes the results tar onto the disk with serial "results", then powers
# off. Nothing here depends on the job: the manifest says what to do.
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
/usr/bin/busybox mount -t proc proc /proc
# busybox's applets where the userspace has no program of that name (existing files are kept)
/usr/bin/busybox --install -s
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
mount -t tmpfs tmpfs /tmp
mount -t tmpfs tmpfs /work
for m in $(cat /kit-modules/order); do insmod "/kit-modules/$m.ko" || echo "l1: insmod $m failed"; done
# the disks are told apart by their virtio serial (transport order is not probe order)
disk() { for b in /sys/block/vd*; do [ "$(cat "$b/serial" 2>/dev/null)" = "$1" ] && echo "/dev/${b##*/}"; done; }
n=0
while { [ -z "$(disk job)" ] || [ -z "$(disk results)" ]; } && [ $n -lt 100 ]; do sleep 0.1; n=$((n + 1)); done
JOB=$(disk job); RESULTS=$(disk results)
echo "l1: kernel $(uname -r), /dev/kvm $( [ -c /dev/kvm ] && echo present || echo MISSING ), uptime $(cut -d' ' -f1 /proc/uptime)s"
rc=0
if [ -n "$JOB" ] && tar -xf "$JOB" -C /work; then
    mkdir -p /work/out
    python3 /work/kit/l1-job.py /work/job /work/out || rc=$?
else
    rc=98
fi
echo "$rc" > /work/out/rc 2>/dev/null || { mkdir -p /work/out; echo "$rc" > /work/out/rc; }
dmesg > /work/out/dmesg.txt 2>/dev/null
tar -cf /tmp/out.tar -C /work/out .
dd if=/tmp/out.tar of="$RESULTS" bs=1M conv=fsync 2>/dev/null
sync
echo "l1: done rc=$rc uptime $(cut -d' ' -f1 /proc/uptime)s"
poweroff -f
