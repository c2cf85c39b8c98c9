#!/usr/bin/env python3
"""Measure, per vCPU, what the destinations of samples/truth/devices-table.json and
truth-table.json hold in their cpreg value slots before a load (TCG).

A register the incoming stream lacks is raw-written from its value slot, which nothing filled on
a destination (see scripts/measure-cpreg-slots.py, whose reader this uses). Which memory each
vCPU's slot array lands in depends on the command line and differs between vCPUs: on QEMU 10.0.13
with `-cpu max` and `secure=on` one vCPU's array is fresh (zero) and the other holds the text of
the gdbstub's register XML. So every destination of the device table is started exactly as its
loads were (samples/qmp-save.py's command line, firmware, devices, scratch files; the incoming
stream a FIFO nobody writes) and each vCPU's slots are read. The arrays are taken in heap
order as vCPU 0, 1, …: where one vCPU's slots held data and the other's did not, QEMU failed on
the vCPU this order names (rows 10.0/max-secure/…/rewrite+add-const, 11.1/a15-secure/from-7.2/
rewrite+add-const: instance 0x1).

Per vCPU a slot is its value when every run agreed, `w` when every run saw a value of 2^32 or
more (pointers, text), `?` otherwise. Destinations with the same QEMU, register list and vCPU
count are merged the same way (the check cannot tell their command lines apart). Writes
src/match/vcpu-slots.json and src/match/vcpu-slots.generated.ts.

    scripts/measure-vcpu-slots.py [--samples DIR] [--trees DIR] [--repeat N] [--only SUBSTR]

--samples: where the device archives are unpacked (default samples/devices). Needs root.
"""

import argparse
import importlib.util
import json
import os
import sys
import types

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
JSON_PATH = os.path.join(REPO, "src/match/vcpu-slots.json")
TS_PATH = os.path.join(REPO, "src/match/vcpu-slots.generated.ts")


def load(name, path):
    spec = importlib.util.spec_from_file_location(name, path)
    m = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(m)
    return m


slots = load("measure_cpreg_slots", os.path.join(REPO, "scripts/measure-cpreg-slots.py"))
qmp = load("qmp_save", os.path.join(REPO, "samples/qmp-save.py"))
mds = load("make_device_samples", os.path.join(REPO, "samples/devices/make-device-samples.py"))


TRUTH = os.path.join(REPO, "samples/truth/truth-table.json")


def destinations(env, only):
    """The distinct destinations of the device table's loads and of the TCG truth table (whose
    destinations samples/truth/make-truth.mjs starts with qmp-save.py's -m 64 -smp 2), with the
    sample each one saved."""
    seen = {}
    rows = [r for r in mds.load_json(mds.TABLE)["rows"] if r["kind"] == "load" and r["destSample"] and r["dest"]["incoming"] == "exec"]
    for r in mds.load_json(TRUTH)["rows"]:
        rows.append(dict(r, config=None, dest=dict(r["dest"], mem=64, smp=2, args=[])))
    for r in rows:
        d = r["dest"]
        if only and only not in r["id"]:
            continue
        key = json.dumps([d["qemu"], d["machine"], d["cpu"], d["mem"], d["smp"], d["args"]])
        seen.setdefault(key, (r, d))
    return list(seen.values())


def sample_path(rel, samples_dir):
    return os.path.join(samples_dir, rel[len("devices/"):]) if rel.startswith("devices/") else os.path.join(REPO, "samples", rel)


def measure(env, row, dest, samples_dir, repeat, wait):
    ids = slots.stream_ids(sample_path(row["destSample"], samples_dir))
    config = row["config"]
    opts = types.SimpleNamespace(machine=dest["machine"], cpu=dest["cpu"], mem=dest["mem"], smp=dest["smp"],
                                 chroot=env.chroot(dest["qemu"]), qemu="qemu-system-aarch64",
                                 blank=env.blanks(config) if config else [], stage=env.staged(config) if config else [])
    per_vcpu = None
    for _ in range(repeat):
        q = qmp.Qemu(opts, dest["args"])
        try:
            fifo = q.scratch_file("incoming.mig")
            os.mkfifo(fifo)
            argv = ["qemu-system-aarch64", "-M", opts.machine, "-cpu", opts.cpu, "-m", str(opts.mem), "-smp", str(opts.smp),
                    "-S", "-nodefaults", "-display", "none",
                    "-qmp", "unix:%s,server=on,wait=off" % q.inner(q.scratch_file("qmp.sock")),
                    "-incoming", "exec:cat %s" % q.inner(fifo)] + q.extra
            if opts.chroot:
                argv = ["chroot", opts.chroot] + argv
            # guest RAM (64 MiB and more) and the TCG code buffer hold no slot array
            images = slots.read_slots(argv, ids, wait, largest=48 << 20)
        finally:
            q.cleanup()
        if len(images) != dest["smp"]:
            raise SystemExit("%s: found %d value arrays for %d vCPUs" % (row["id"], len(images), dest["smp"]))
        cells = [["w" if v >> 32 else v for v in img] for img in images]
        per_vcpu = cells if per_vcpu is None else [slots.merge_cells(a, b) for a, b in zip(per_vcpu, cells)]
    return ids, per_vcpu


def cell_text(c):
    return c if c in ("w", "?") else "%x" % c


def write_ts(entries):
    out = [
        "// Generated by scripts/measure-vcpu-slots.py from src/match/vcpu-slots.json. Do not edit.",
        "//",
        "// Per vCPU, what a destination QEMU's cpreg value slots hold before an incoming load (TCG),",
        "// for the destinations of samples/truth/devices-table.json: per slot the value (hex) when",
        "// every run agreed, `w` when every run saw a value of 2^32 or more, `?` otherwise.",
        "",
        "/** One measured destination register list, per vCPU. */",
        "export interface VcpuSlotImage {",
        "  /** `qemu-system-aarch64 --version`, first line. */",
        "  qemu: string;",
        "  /** The destination command lines measured (with samples/qmp-save.py's options). */",
        "  runs: readonly string[];",
        "  count: number;",
        "  /** SHA-256 of the ids, each as `0x` + 16 lowercase hex digits and a newline. */",
        "  digest: string;",
        "  /** Per vCPU (0, 1, …), the slots separated by commas. */",
        "  vcpus: readonly string[];",
        "}",
        "",
        "export const VCPU_SLOT_IMAGES: readonly VcpuSlotImage[] = [",
    ]
    for e in entries:
        out += ["  {", "    qemu: %s," % json.dumps(e["qemu"]), "    runs: ["]
        out += ["      %s," % json.dumps(r) for r in e["runs"]]
        out += ["    ],", "    count: %d," % e["count"], "    digest: %s," % json.dumps(e["digest"]), "    vcpus: ["]
        out += ["      %s," % json.dumps(v) for v in e["vcpus"]]
        out += ["    ],", "  },"]
    out.append("];")
    with open(TS_PATH, "w") as f:
        f.write("\n".join(out) + "\n")


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--samples", default=os.path.join(REPO, "samples/devices"))
    ap.add_argument("--trees", default=os.environ.get("QEMU_TREES", "/work/qemu-trees"))
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--wait", type=float, default=3.0)
    ap.add_argument("--only", default=None)
    a = ap.parse_args(argv)
    env = mds.Env(types.SimpleNamespace(trees=a.trees, jobs=1))
    merged = {}
    for row, dest in destinations(env, a.only):
        ids, per_vcpu = measure(env, row, dest, a.samples, a.repeat, a.wait)
        version = env.version_line(dest["qemu"])
        key = (version, slots.digest(ids), dest["smp"])
        run = " ".join(["-M", dest["machine"], "-cpu", dest["cpu"], "-m", str(dest["mem"]), "-smp", str(dest["smp"])] + dest["args"])
        e = merged.setdefault(key, {"qemu": version, "runs": [], "count": len(ids), "digest": key[1], "cells": None})
        e["runs"].append(run)
        e["cells"] = per_vcpu if e["cells"] is None else [slots.merge_cells(x, y) for x, y in zip(e["cells"], per_vcpu)]
        stale = ["vCPU %d: %d of %d slots not 0" % (k, sum(1 for c in v if c != 0), len(v)) for k, v in enumerate(per_vcpu)]
        print("%s %s %s: %s" % (dest["qemu"], dest["machine"], dest["cpu"], "; ".join(stale)), file=sys.stderr, flush=True)
    entries = sorted(({"qemu": e["qemu"], "runs": sorted(e["runs"]), "count": e["count"], "digest": e["digest"],
                       "vcpus": [",".join(cell_text(c) for c in v) for v in e["cells"]]} for e in merged.values()),
                     key=lambda e: (e["qemu"], e["digest"], len(e["vcpus"])))
    if a.only:
        json.dump(entries, sys.stdout, indent=1)
        return 0
    with open(JSON_PATH, "w") as f:
        json.dump(entries, f, indent=1)
        f.write("\n")
    write_ts(entries)
    print("wrote %s (%d images)" % (os.path.relpath(JSON_PATH, REPO), len(entries)), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
