#!/usr/bin/env python3
"""Measure what a destination QEMU (TCG) holds in its cpreg value slots before a load.

QEMU's arm_init_cpreg_list() allocates cpu->cpreg_values with g_new() and never fills it on a
destination; cpu_post_load() copies only the registers present in the incoming stream, so a
register missing from the stream is raw-written (write_list_to_cpustate) from whatever that
memory held. This script starts the destination QEMU the way samples/qmp-save.py does for a load (-S
-nodefaults -display none -qmp unix:SCRATCH/qmp.sock,server=on,wait=off -incoming
"exec:cat SCRATCH/incoming.mig", SCRATCH a mkdtemp directory under the tree's /tmp), with
incoming.mig a FIFO nobody writes, so the load never starts. The heap layout, and so the slots,
depend on the command line: measure with the options the loads use. It then finds each
vCPU's sorted cpreg index array (the destination's own id list) in the process heap through
/proc/PID/mem, follows the pointer next to it in ARMCPU (cpreg_indexes, then cpreg_values, then
cpreg_array_len) and reads the value slots. It does this for several -smp/-m configurations and
merges every vCPU's slots over repeated runs (--repeat): a slot is recorded as its value when all runs agree, `w` when every
run saw a value of 2^32 or more (heap pointers, text, which vary with ASLR), `?` otherwise.

Needs root (reading another process's memory; --chroot). Usage:

  scripts/measure-cpreg-slots.py [--chroot TREE] -M MACHINE -c CPU -s DEST_STREAM [--json OUT]

DEST_STREAM is a stream saved by that same QEMU, -M and -cpu (its cpu 0 id list is the one
searched for); the ids are read with the built library (npm run build). With --update the
result is merged into the entry for that QEMU version and id list in src/match/cpreg-slots.json
(measurements of one list, under any -M, are one image), and
src/match/cpreg-slots.generated.ts is rewritten from it; without, the entry is printed.
"""

import argparse
import hashlib
import json
import os
import re
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
JSON_PATH = os.path.join(REPO, "src/match/cpreg-slots.json")
TS_PATH = os.path.join(REPO, "src/match/cpreg-slots.generated.ts")
CONFIGS = [["-m", "64", "-smp", "1"], ["-m", "64", "-smp", "2"], ["-m", "1024", "-smp", "4"]]


def stream_ids(path):
    """The ids of the stream's cpu 0 (read with the built library)."""
    js = (
        "import(process.argv[1]).then(async (m) => {"
        " const s = await m.decodeStream(process.argv[2]);"
        " console.log(JSON.stringify(s.cpus[0].ids.map((x) => x.toString())));"
        "})"
    )
    out = subprocess.check_output(["node", "-e", js, os.path.join(REPO, "dist/index.js"), path])
    return [int(x) for x in json.loads(out)]


def digest(ids):
    """SHA-256 of the ids as lowercase 0x-prefixed 16-digit hex, one per line (see cpreg-slots.ts)."""
    return hashlib.sha256("".join("0x%016x\n" % x for x in ids).encode()).hexdigest()


def read_slots(argv, ids, wait, largest=1 << 31):
    """Each vCPU's value slots (in heap order) of a QEMU started with argv; anonymous regions of
    `largest` bytes or more (guest RAM, the TCG code buffer) are not searched, [heap] always is."""
    p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                         start_new_session=True)
    try:
        time.sleep(wait)
        if p.poll() is not None:
            raise SystemExit("QEMU exited: %s" % p.stderr.read().decode(errors="replace"))
        maps = []
        with open("/proc/%d/maps" % p.pid) as f:
            for line in f:
                m = line.split()
                a, b = (int(x, 16) for x in m[0].split("-"))
                maps.append((a, b, m[1], m[5] if len(m) > 5 else ""))
        mem = open("/proc/%d/mem" % p.pid, "rb", 0)
        heap = {}
        for a, b, perms, name in maps:
            if "rw" in perms and (name == "[heap]" or (name == "" and b - a < largest)):
                try:
                    mem.seek(a)
                    heap[a] = mem.read(b - a)
                except OSError:
                    pass
        want = b"".join(struct.pack("<Q", x) for x in ids)
        arrays = [a + m.start() for a, d in heap.items() for m in re.finditer(re.escape(want), d)]
        images = []
        for addr in arrays:
            ptr = struct.pack("<Q", addr)
            for a, d in heap.items():
                for m in re.finditer(re.escape(ptr), d):
                    values_at, n = struct.unpack("<QQ", d[m.end():m.end() + 16])
                    if n & 0xFFFFFFFF != len(ids):
                        continue
                    mem.seek(values_at)
                    images.append(struct.unpack("<%dQ" % len(ids), mem.read(8 * len(ids))))
        return images
    finally:
        # QEMU and the `cat` it started (blocked opening the FIFO): the whole session
        try:
            os.killpg(p.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        p.wait()


def parse_cell(c):
    return c if c in ("w", "?") else int(c, 16)


def merge_cells(a, b):
    """Slot-wise merge of two images: equal cells stay, anything else becomes `?`."""
    return [x if x == y else "?" for x, y in zip(a, b)]


def write_ts(data):
    out = [
        "// Generated by scripts/measure-cpreg-slots.py from src/match/cpreg-slots.json. Do not edit.",
        "//",
        "// What a destination QEMU's cpreg value slots hold before an incoming load (TCG), per QEMU",
        "// build and destination id list: per slot, the value (hex) when every measured run agreed,",
        "// `w` when every run saw a value of 2^32 or more, `?` otherwise.",
        "",
        "/** One measured destination. */",
        "export interface SlotImage {",
        "  /** `qemu-system-aarch64 --version`, first line. */",
        "  qemu: string;",
        "  /** The destination options measured (with samples/qmp-save.py's -S -nodefaults -qmp -incoming). */",
        "  runs: readonly string[];",
        "  count: number;",
        "  /** SHA-256 of the ids, each as `0x` + 16 lowercase hex digits and a newline. */",
        "  digest: string;",
        "  slots: string;",
        "}",
        "",
        "export const SLOT_IMAGES: readonly SlotImage[] = [",
    ]
    for e in data:
        out.append("  {")
        out.append("    qemu: %s," % json.dumps(e["qemu"]))
        out.append("    runs: [")
        for r in e["runs"]:
            out.append("      %s," % json.dumps(r))
        out.append("    ],")
        out.append("    count: %d," % e["count"])
        out.append("    digest: %s," % json.dumps(e["digest"]))
        cells = e["slots"].split(",")
        out.append("    slots:")
        for i in range(0, len(cells), 16):
            chunk = ",".join(cells[i:i + 16]) + ("," if i + 16 < len(cells) else "")
            out.append("      %s%s" % (json.dumps(chunk), " +" if i + 16 < len(cells) else ","))
        out.append("  },")
    out.append("];")
    with open(TS_PATH, "w") as f:
        f.write("\n".join(out) + "\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--chroot")
    ap.add_argument("-M", dest="machine", required=True)
    ap.add_argument("-c", dest="cpu", required=True)
    ap.add_argument("-s", dest="stream", required=True)
    ap.add_argument("--wait", type=float, default=3.0)
    ap.add_argument("--repeat", type=int, default=3, help="runs per configuration (default 3)")
    ap.add_argument("--update", action="store_true", help="merge into src/match/cpreg-slots.json and regenerate the .ts")
    a = ap.parse_args()
    ids = stream_ids(a.stream)
    qemu = ["qemu-system-aarch64"]
    if a.chroot:
        qemu = ["chroot", a.chroot] + qemu
    version = subprocess.check_output(qemu + ["--version"]).decode().splitlines()[0]
    merged = None
    runs = []
    base = os.path.join(a.chroot, "tmp") if a.chroot else None
    for cfg in [c for c in CONFIGS for _ in range(a.repeat)]:
        scratch = tempfile.mkdtemp(dir=base)
        try:
            inner = "/" + os.path.relpath(scratch, a.chroot) if a.chroot else scratch
            os.mkfifo(os.path.join(scratch, "incoming.mig"))
            argv = qemu + ["-M", a.machine, "-cpu", a.cpu] + cfg + [
                "-S", "-nodefaults", "-display", "none",
                "-qmp", "unix:%s,server=on,wait=off" % os.path.join(inner, "qmp.sock"),
                "-incoming", "exec:cat %s" % os.path.join(inner, "incoming.mig")]
            images = read_slots(argv, ids, a.wait)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
        want = int(cfg[cfg.index("-smp") + 1])
        if len(images) != want:
            raise SystemExit("found %d value arrays for %d vCPUs (%s)" % (len(images), want, " ".join(cfg)))
        run = " ".join(["-M", a.machine, "-cpu", a.cpu] + cfg)
        if run not in runs:
            runs.append(run)
        for img in images:
            cells = ["w" if v >> 32 else v for v in img]
            if merged is None:
                merged = cells
                continue
            merged = merge_cells(merged, cells)
    entry = {
        "qemu": version,
        "runs": runs,
        "count": len(ids),
        "digest": digest(ids),
        "slots": ",".join(c if isinstance(c, str) else "%x" % c for c in merged),
    }
    zero = sum(1 for c in merged if c == 0)
    print("%s -M %s -cpu %s: %d slots, %d zero, %d wide, %d varying" % (
        version, a.machine, a.cpu, len(ids), zero, merged.count("w"), merged.count("?")), file=sys.stderr)
    if a.update:
        data = json.load(open(JSON_PATH)) if os.path.exists(JSON_PATH) else []
        for old in data:
            if (old["qemu"], old["digest"]) == (entry["qemu"], entry["digest"]):
                # the same id list measured before (another -M, or earlier runs): one image, merged
                cells = merge_cells([parse_cell(c) for c in old["slots"].split(",")], merged)
                entry["slots"] = ",".join(c if isinstance(c, str) else "%x" % c for c in cells)
                entry["runs"] = sorted(set(old["runs"]) | set(runs))
        data = [e for e in data if (e["qemu"], e["digest"]) != (entry["qemu"], entry["digest"])] + [entry]
        data.sort(key=lambda e: (e["qemu"], e["runs"][0]))
        with open(JSON_PATH, "w") as f:
            json.dump(data, f, indent=1)
            f.write("\n")
        write_ts(data)
    else:
        json.dump(entry, sys.stdout, indent=1)
        print()


if __name__ == "__main__":
    main()
