#!/usr/bin/env python3
"""Rewrites of the mapped-ram samples and the libvirt sparse image, loaded into real QEMU.

Two kinds of rows, each rewrite made twice: by default (the input file cloned, its tail written)
and with --full-walk (every byte read and written); the two outputs must be identical. Sizes and
allocated bytes of input and output are recorded: holes must be kept.

* `strip`: every mapped-ram sample, and the libvirt sparse image, with one register removed
  (`--strip TPIDR_EL0`, re-checked against a stream saved by the same QEMU), loaded into that
  QEMU with `migrate-incoming file:` and the capabilities and parameters it was saved with (the
  accepted loads of samples/truth/devices-table.json); the libvirt image's stream at its offset
  in the image (`file:PATH,offset=N`), with the command line libvirt ran for the domain
  (acpi=off, the RAM as a memory backend).
* `suggested`: every mapped-ram load of devices-table.json that QEMU refused for a cpu reason
  (not the capability rows: no rewrite changes a capability), with the suggested rewrite
  (`--strip-unknown --adopt-dest-values id-regs --strip-unknown-subsections`); when vmstate
  refuses it, with --force, loaded all the same into the refused row's destination.

Writes samples/truth/mapped-ram-rewrites.json. Needs the built tool (npm run build), the samples
unpacked (`make-device-samples.py unpack --to DIR`, then --samples DIR), the trixie and sid
trees, root (chroot). About 1 minute.

  samples/devices/make-mapped-ram-rewrites.py --samples /var/tmp/devices [--trees /work/qemu-trees]
"""

import argparse
import importlib.util
import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
SAMPLES = os.path.dirname(HERE)
OUT = os.path.join(SAMPLES, "truth", "mapped-ram-rewrites.json")

spec = importlib.util.spec_from_file_location("mds", os.path.join(HERE, "make-device-samples.py"))
mds = importlib.util.module_from_spec(spec)
spec.loader.exec_module(mds)

# One register fewer: a rewrite every destination of its own QEMU loads.
STRIP = ["--strip", "TPIDR_EL0"]

# The libvirt image's stream into QEMU 11.1, with the command line libvirt ran for the domain
# (its .json: acpi=off, the RAM as a memory backend) and its stream offset in the image.
LIBVIRT = "devices/qemu-11.1/libvirt-12.8.0_virt-7.2_max-gicv3.sparse.save"
LIBVIRT_DEST = {
    "qemu": "11.1", "machine": "virt-7.2,gic-version=3,acpi=off,memory-backend=mach-virt.ram", "machineType": "virt-7.2",
    "cpu": "max", "mem": 64, "smp": 2,
    "args": ["-object", "memory-backend-ram,id=mach-virt.ram,size=67108864", "-bios", "/usr/lib/u-boot/qemu_arm64/u-boot.bin"],
    "incoming": "file", "capabilities": ["mapped-ram"], "parameters": [],
}


def capabilities_of(row):
    """The capabilities a mapped-ram sample was saved with (its name says whether multifd was on)."""
    return ["mapped-ram", "multifd"] if "multifd" in row["source"] else ["mapped-ram"]


def allocated(path):
    return os.stat(path).st_blocks * 512


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--samples", required=True, help="where the device samples are unpacked (qemu-*/ under it)")
    ap.add_argument("--trees", default=os.environ.get("QEMU_TREES", "/work/qemu-trees"))
    opts = ap.parse_args()
    opts.jobs = 1
    env = mds.Env(opts)
    local = lambda rel: os.path.join(opts.samples, rel[len("devices/"):])
    table = mds.load_json(mds.TABLE)
    cases = []
    for row in table["rows"]:
        if row["kind"] != "load" or "mapped-ram" not in row["source"]:
            continue
        own = row["dest"]["qemu"] == row["sourceQemu"] and row["result"] == "accept" and row["dest"]["capabilities"] == capabilities_of(row)
        if own:
            cases.append({"kind": "strip", "id": row["id"] + "/strip", "of": row["id"], "config": row["config"], "source": row["source"], "destSample": row["destSample"], "dest": row["dest"], "offset": 0, "args": STRIP})
        elif row["result"] == "reject" and not any("Capability" in l for l in row["stderr"]):
            cases.append({"kind": "suggested", "id": row["id"] + "/rewrite", "of": row["id"], "config": row["config"], "source": row["source"], "destSample": row["destSample"], "dest": row["dest"], "offset": 0, "args": mds.REWRITE_ARGS})
    cases.append({
        "kind": "strip", "id": "11.1/libvirt-sparse/from-11.1/strip", "of": None, "config": "max-gicv3-its", "source": LIBVIRT,
        "destSample": "devices/qemu-11.1/virt-7.2_max-gicv3-its.mig", "dest": LIBVIRT_DEST, "offset": None, "args": STRIP,
        # the re-check's destination: the libvirt guest (acpi=off) has devices the plain sample lacks
        "checkDest": LIBVIRT,
        "destNote": "the re-check's destination is the image itself: its libvirt guest (acpi=off) has pl061 and gpio-key, "
                    "which the plain QEMU stream of destSample lacks; --dest does not change the bytes written (same SHA-256)",
    })
    rows = []
    with tempfile.TemporaryDirectory(prefix="vmstate-mapped-ram-") as scratch:
        for c in cases:
            src, dest = local(c["source"]), local(c.get("checkDest", c["destSample"]))
            q = c["dest"]["qemu"]
            rid = c["id"]
            outs, forced, refusal = {}, False, None
            for how, extra in (("clone", []), ("fullWalk", ["--full-walk"])):
                out = os.path.join(scratch, "%s.%s.out" % (rid.replace("/", "_"), how))
                args = [src, "-o", out, "--dest", dest, "--loader", mds.LOADER[q]] + c["args"] + extra
                r = mds.cli(["rewrite"] + args)
                if r.returncode == 1 and c["kind"] == "suggested":
                    # Refused (the destination would still reject it): what --force writes is loaded.
                    refusal = r.stderr.strip().split("\n")[-1].replace(out, "OUT")
                    r = mds.cli(["rewrite"] + args + ["--force"])
                    forced = True
                if r.returncode not in (0, 1) or not os.path.exists(out):
                    raise SystemExit("%s: rewrite %s exit %s: %s" % (rid, how, r.returncode, r.stderr.strip()))
                outs[how] = out
            if mds.sha256(outs["clone"]) != mds.sha256(outs["fullWalk"]):
                raise SystemExit("%s: the cloned and the fully walked rewrite differ" % rid)
            out = outs["clone"]
            offset = c["offset"]
            if offset is None:
                offset = json.loads(mds.cli(["inspect", out, "--json"]).stdout)["container"]["streamOffset"]
            row = {"id": rid, "config": c["config"], "dest": c["dest"]}
            outcome = load_at(env, row, out, offset) if offset else mds.real_load(env, row, out)
            rows.append({
                "id": rid,
                "kind": c["kind"],
                "of": c["of"],
                "source": c["source"],
                "destSample": c["destSample"],
                "dest": dict(c["dest"], offset=offset),
                "argv": ["vmstate", "rewrite", c["source"], "-o", "OUT", "--dest", c.get("checkDest", c["destSample"]), "--loader", mds.LOADER[q]] + c["args"] + (["--force"] if forced else []),
                "refused": refusal,
                "sha256": mds.sha256(out),
                "sameWithFullWalk": True,
                "bytes": os.path.getsize(out),
                "allocatedBytes": allocated(out),
                "allocatedBytesFullWalk": allocated(outs["fullWalk"]),
                "sourceBytes": os.path.getsize(src),
                "sourceAllocatedBytes": allocated(src),
                **({"destNote": c["destNote"]} if "destNote" in c else {}),
                **outcome,
            })
            mds.log("%s: %s%s" % (rid, outcome["result"], " (refused by vmstate, forced)" if forced else ""))
    mds.write_json(OUT, {
        "description": "Rewrites of mapped-ram streams and of a libvirt sparse image (`vmstate rewrite` cloning the input, and with --full-walk: the same bytes), loaded into real QEMU with migrate-incoming file: and the destination's capabilities. Made by samples/devices/make-mapped-ram-rewrites.py.",
        "qemu": {q: env.version_line(q) for q in ("10.0", "11.1")},
        "rows": rows,
    })


def load_at(env, row, path, offset, timeout=120):
    """mds.real_load with the stream `offset` bytes into the file (`file:PATH,offset=N`)."""
    d = row["dest"]
    argv = ["python3", mds.QMP_SAVE, "load", "--json", "--timeout", str(timeout)]
    if env.chroot(d["qemu"]):
        argv += ["--chroot", env.chroot(d["qemu"])]
    argv += ["-M", d["machine"], "-c", d["cpu"], "-m", str(d["mem"]), "--smp", str(d["smp"]), "-i", path, "--file", "--offset", str(offset)]
    for c in d["capabilities"]:
        argv += ["--capability", c]
    for p in d["parameters"]:
        argv += ["--parameter", p]
    argv += ["--"] + d["args"]
    r = subprocess.run(argv, capture_output=True, text=True)
    res = json.loads(r.stdout)
    stderr = mds.clean_stderr(res.get("stderr", []))
    result = mds.classify(res, stderr)
    if result == "error":
        raise RuntimeError("%s: harness error: %s %s" % (row["id"], res.get("reason"), stderr))
    return {"result": result, "exitCode": res.get("exit_code"), "signal": res.get("signal"), "stderr": stderr}


if __name__ == "__main__":
    sys.exit(main())
