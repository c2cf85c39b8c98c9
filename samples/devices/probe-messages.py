#!/usr/bin/env python3
"""What QEMU prints when a device section or subsection does not fit: real loads of small,
named edits of the device samples (and of unedited samples into destinations that lack a device
or a vCPU), into QEMU 7.2, 10.0 and 11.1. Writes samples/truth/device-probes.json.

    probe-messages.py run [--samples DIR] [--trees DIR] [--only SUBSTR]
    probe-messages.py make ROW_ID OUT [--samples DIR]     write one row's stream
    probe-messages.py pack [--samples DIR]                pack the saved destinations

Probes whose destination differs from every sample's configuration (one vCPU fewer, another
device set) save that destination's stream first (paused, never run): --samples DIR/probes/,
committed as samples/devices/probe-dests.tar.xz (unpack with tar -xJf into --samples DIR).

Each probe starts from a device sample saved by the destination's own QEMU (so only the edit can
fail) and changes as few bytes as possible, keeping every length: a subsection renamed by its
last character (unknown to the destination), a version number raised or lowered. Every edit is
recorded as byte patches (offset, old and new hex) with the SHA-256 of the result, so the test
suite rebuilds the stream without this script. The same change is made in the stream's vmdesc
(QEMU never reads it on load; readers that check the two against each other do).

Probes without an edit load an unmodified sample into a destination that differs: no devices
(its sections are unknown there), one vCPU fewer, devices the stream lacks. Register probes
(QEMU 11.1 only) remove one register from the destination's own stream (edit.variant, made with
samples/truth/variants.mjs): whether its value slot, raw-written through the register's write
function, reads back.

--samples: where the archives are unpacked (make-device-samples.py unpack --to DIR), default
samples/devices. Needs root (chroot) for 10.0 and 11.1. Stdlib only.
"""

import argparse
import hashlib
import importlib.util
import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
SAMPLES = os.path.dirname(HERE)
OUT = os.path.join(SAMPLES, "truth", "device-probes.json")
DESTS = os.path.join(HERE, "probe-dests.tar.xz")

_spec = importlib.util.spec_from_file_location("mds", os.path.join(HERE, "make-device-samples.py"))
mds = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(mds)

VERSIONS = ["7.2", "10.0", "11.1"]


def rename(old, new):
    """Every subsection record named `old` (0x05, length, name) renamed to `new` (same length)."""
    assert len(old) == len(new)
    return {"kind": "rename", "from": old, "to": new}


def version(record, new):
    return {"kind": "version", "record": record, "to": new}


def missing(name, reg_id, versions):
    """One register removed from every vCPU of the stream (samples/truth/variants.mjs), on the
    QEMU versions that have it: the destination raw-writes it from a value slot it never filled."""
    return {"kind": "remove-register", "name": name, "id": reg_id, "versions": versions}


# Registers whose write function only masks (src/match/write-masks.ts), and GCSPR (its write
# clears bits [2:0]): missing from an 11.1 stream of a guest with EL2, each on its own.
MISSING = [("MECID_P1_EL2", "0x603000000013e542"), ("MECID_A0_EL2", "0x603000000013e541"),
           ("VMECID_P_EL2", "0x603000000013e548"), ("MECID_RL_A_EL3", "0x603000000013f551"),
           ("SCTLR2_EL1", "0x603000000013c083"), ("SCTLR2_EL3", "0x603000000013f083"),
           ("TCR2_EL2", "0x603000000013e103"), ("GCSPR_EL1", "0x603000000013c129"),
           ("GCSPR_EL0", "0x603000000013d929")]


# id, base config, edit (or None), destination change (or None), what it shows
PROBES = [
    ("subsection-unknown", "max-gicv3-its", rename("pl011/clock", "pl011/clocq"), None,
     "a device-level subsection the destination does not know"),
    ("subsection-unknown-nested", "max-gicv3-its", rename("arm_gicv3_cpu/sre_el1", "arm_gicv3_cpu/sre_elq"), None,
     "an unknown subsection of a struct inside a device (each element of arm_gicv3's field cpu)"),
    ("subsection-unknown-cpu", "max-gicv3-its", rename("cpu/irq-line-state", "cpu/irq-line-statq"), None,
     "an unknown cpu subsection"),
    ("subsection-version-new", "max-gicv3-its", version(("sub", "pl011/clock"), 2), None,
     "a subsection version above the destination's"),
    ("section-version-new", "max-gicv3-its", version(("section", "pl011"), 3), None,
     "a section version above the destination's"),
    ("section-version-old", "max-gicv3-its", version(("section", "pl011"), 1), None,
     "a section version below the destination's minimum"),
    ("section-unknown", "a57-virtio-mmio", None, {"as": "a57-gicv2"},
     "a stream with virtio devices (and a user network) into the same guest without them"),
    ("section-unknown-vmsd", "a57-virtio-mmio", None,
     {"devices": ["-netdev", "user,id=n0", "-device", "virtio-net-device,netdev=n0"]},
     "the same into a destination with the network only: its first virtio transport holds virtio-net, the stream's virtio-rng"),
    ("section-only-on-destination", "a57-gicv2", None, {"as": "a57-virtio-mmio"},
     "a stream without devices into the same guest with virtio devices"),
    ("instance-unknown", "a57-gicv2", None, {"smp": 1},
     "a stream of two vCPUs into a destination with one"),
    ("instance-unknown-gicv3", "max-gicv3-its", None, {"smp": 1},
     "a stream of two vCPUs with a GICv3 into a destination with one"),
] + [("missing-" + name.lower().replace("_", "-"), "max-el2", missing(name, rid, ["11.1"]), None,
      "the destination's own stream without %s (its value slot is raw-written through its write function)" % name)
     for name, rid in MISSING]


def find_all(buf, pat):
    out, at = [], buf.find(pat)
    while at >= 0:
        out.append(at)
        at = buf.find(pat, at + 1)
    return out


def vmdesc_start(buf):
    # the vmdesc item: 0x06, be32 length, JSON to the end of the file
    for p in range(len(buf) - 7, 0, -1):
        if buf[p] == 0x06 and int.from_bytes(buf[p + 1:p + 5], "big") == len(buf) - p - 5 and buf[p + 5:p + 7] == b'{"':
            return p
    raise SystemExit("no vmdesc")


def patches_for(buf, edit):
    """Byte patches [(offset, old bytes, new bytes)] that make the edit, in the stream and in its
    vmdesc (kept consistent, so that a reader that checks one against the other reads it)."""
    vd = vmdesc_start(buf)
    if edit["kind"] == "rename":
        old = edit["from"].encode()
        rec = bytes([0x05, len(old)]) + old
        hits = [h for h in find_all(buf, rec) if h < vd]
        desc = find_all(buf[vd:], b'"vmsd_name": "%s"' % old)
        if not hits or len(desc) != len(hits):
            raise SystemExit("subsection %s: %d records, %d in the vmdesc" % (edit["from"], len(hits), len(desc)))
        new = edit["to"].encode()
        return [(h + 2, old, new) for h in hits] + [(vd + d + 14, old, new) for d in desc]
    kind, name = edit["record"]
    n = name.encode()
    to = int(edit["to"])
    if kind == "sub":
        hits = [h for h in find_all(buf, bytes([0x05, len(n)]) + n) if h < vd]
        at = [h + 2 + len(n) for h in hits]
        desc = find_all(buf[vd:], b'{"vmsd_name": "%s", "version": ' % n)
        dlen = len(b'{"vmsd_name": "%s", "version": ' % n)
    else:
        # 0x04, section id, length, idstr, instance 0, version
        hits = [h for h in find_all(buf, bytes([len(n)]) + n + b"\0\0\0\0") if 5 <= h < vd and buf[h - 5] == 0x04]
        at = [h + 1 + len(n) + 4 for h in hits]
        key = b'"name": "%s", "instance_id": 0, "vmsd_name": "%s", "version": ' % (n, n)
        desc = find_all(buf[vd:], key)
        dlen = len(key)
    if len(at) != 1 or len(desc) != 1:
        raise SystemExit("%s %s: %d matches, %d in the vmdesc" % (kind, name, len(at), len(desc)))
    old = buf[at[0]:at[0] + 4]
    dold = buf[vd + desc[0] + dlen:vd + desc[0] + dlen + 1]
    if len(str(to)) != 1 or not dold.isdigit():
        raise SystemExit("%s %s: only one-digit versions are patched in place" % (kind, name))
    return [(at[0], old, to.to_bytes(4, "big")), (vd + desc[0] + dlen, dold, str(to).encode())]


def remove_registers(src, ids, out):
    """Writes src without the registers ids (samples/truth/variants.mjs) to out."""
    script = ("import { applyVariant } from %s; await applyVariant(process.argv[1], JSON.parse(process.argv[2]), process.argv[3]);"
              % json.dumps(os.path.join(SAMPLES, "truth", "variants.mjs")))
    subprocess.run(["node", "--input-type=module", "-e", script, src, json.dumps([{"op": "remove", "ids": ids}]), out], check=True)


def apply(buf, patches):
    b = bytearray(buf)
    for off, old, new in patches:
        if b[off:off + len(old)] != old:
            raise SystemExit("patch at %d does not match" % off)
        b[off:off + len(new)] = new
    return bytes(b)


def base_sample(q, config):
    return "devices/qemu-%s/virt-7.2_%s.mig" % (q, config)


def dest_sample_of(q, pid):
    """Where a destination saved for a probe lives (in samples/devices/probe-dests.tar.xz)."""
    return "devices/probes/qemu-%s/%s.dest.mig" % (q, pid)


def rows(env, samples_dir):
    out = []
    for q in VERSIONS:
        for pid, config, edit, dchange, what in PROBES:
            if edit and q not in edit.get("versions", VERSIONS):
                continue
            src = base_sample(q, config)
            with open(os.path.join(samples_dir, src[len("devices/"):]), "rb") as f:
                buf = f.read()
            row = {"id": "probe/%s/%s" % (q, pid), "kind": "probe", "config": config, "title": what,
                   "source": src, "sourceQemu": q, "sourceMachineType": "virt-7.2"}
            dconfig = (dchange or {}).get("as", config)
            c = env.configs[dconfig]
            devices = c["devices"]
            dest = {"qemu": q, "machine": env.m_option("virt-7.2", dconfig), "machineType": "virt-7.2",
                    "cpu": c["cpu"], "mem": c["mem"], "smp": c["smp"], "args": env.guest_args(dconfig),
                    "incoming": "exec", "capabilities": [], "parameters": []}
            dest_sample = base_sample(q, dconfig)
            if dchange and "as" not in dchange:
                # a destination no sample stands for: saved by the probe (never run)
                dest_sample = dest_sample_of(q, pid)
                if "smp" in dchange:
                    dest["smp"] = dchange["smp"]
                if "devices" in dchange:
                    dest["args"] = dest["args"][:2] + dchange["devices"]
                    devices = None
            row["dest"] = dest
            row["destSample"] = dest_sample
            row["destConfig"] = dconfig
            row["blanks"] = env.cfg["blanks"].get(devices, []) if devices else []
            if edit and edit["kind"] == "remove-register":
                variant = [{"op": "remove", "ids": [edit["id"]]}]
                with tempfile.TemporaryDirectory() as tmp:
                    remove_registers(os.path.join(samples_dir, src[len("devices/"):]), [edit["id"]], os.path.join(tmp, "out.mig"))
                    with open(os.path.join(tmp, "out.mig"), "rb") as f:
                        digest = hashlib.sha256(f.read()).hexdigest()
                row["edit"] = {"what": edit, "variant": variant, "sha256": digest}
            elif edit:
                p = patches_for(buf, edit)
                row["edit"] = {"what": edit, "patches": [{"offset": o, "from": a.hex(), "to": b.hex()} for o, a, b in p],
                               "sha256": hashlib.sha256(apply(buf, p)).hexdigest()}
            out.append(row)
    return out


def save_dest(env, row, samples_dir):
    """Saves the stream of a probe's destination (paused, never run) under samples_dir."""
    d = row["dest"]
    path = os.path.join(samples_dir, row["destSample"][len("devices/"):])
    if os.path.exists(path):
        return
    os.makedirs(os.path.dirname(path), exist_ok=True)
    argv = ["python3", mds.QMP_SAVE, "save"]
    if env.chroot(d["qemu"]):
        argv += ["--chroot", env.chroot(d["qemu"])]
    argv += ["-M", d["machine"], "-c", d["cpu"], "-m", str(d["mem"]), "--smp", str(d["smp"]), "-o", path]
    for b in row["blanks"]:
        argv += ["--blank", b]
    for f in env.staged(row["destConfig"]):
        argv += ["--stage", f]
    argv += ["--"] + d["args"]
    import subprocess
    subprocess.run(argv, check=True, capture_output=True)
    mds.log("saved %s" % path)


def materialize(row, samples_dir, out_path):
    with open(os.path.join(samples_dir, row["source"][len("devices/"):]), "rb") as f:
        buf = f.read()
    if "edit" in row and "variant" in row["edit"]:
        remove_registers(os.path.join(samples_dir, row["source"][len("devices/"):]), row["edit"]["variant"][0]["ids"], out_path)
        with open(out_path, "rb") as f:
            buf = f.read()
        if hashlib.sha256(buf).hexdigest() != row["edit"]["sha256"]:
            raise SystemExit("%s: the edited stream differs from the table" % row["id"])
        return
    if "edit" in row:
        buf = apply(buf, [(p["offset"], bytes.fromhex(p["from"]), bytes.fromhex(p["to"])) for p in row["edit"]["patches"]])
        if hashlib.sha256(buf).hexdigest() != row["edit"]["sha256"]:
            raise SystemExit("%s: the edited stream differs from the table" % row["id"])
    with open(out_path, "wb") as f:
        f.write(buf)


def load(env, row, path):
    d = row["dest"]
    argv = ["python3", mds.QMP_SAVE, "load", "--json", "--timeout", "120"]
    if env.chroot(d["qemu"]):
        argv += ["--chroot", env.chroot(d["qemu"])]
    argv += ["-M", d["machine"], "-c", d["cpu"], "-m", str(d["mem"]), "--smp", str(d["smp"]), "-i", path]
    for b in row["blanks"]:
        argv += ["--blank", b]
    for f in env.staged(row["config"]):
        argv += ["--stage", f]
    argv += ["--"] + d["args"]
    import subprocess
    r = subprocess.run(argv, capture_output=True, text=True)
    res = json.loads(r.stdout)
    stderr = mds.clean_stderr(res.get("stderr", []))
    result = mds.classify(res, stderr)
    if result == "error":
        raise SystemExit("%s: harness error: %s %s" % (row["id"], res.get("reason"), stderr))
    return {"result": result, "exitCode": res.get("exit_code"), "signal": res.get("signal"), "stderr": stderr}


def cmd_run(env, opts):
    table = []
    scratch = tempfile.mkdtemp(prefix="vmstate-probe-")
    try:
        for row in rows(env, opts.samples):
            if opts.only and opts.only not in row["id"]:
                continue
            if row["destSample"].startswith("devices/probes/"):
                save_dest(env, row, opts.samples)
            path = os.path.join(scratch, "probe.mig")
            materialize(row, opts.samples, path)
            row.update(load(env, row, path))
            os.unlink(path)
            mds.log("%-7s %s: %s" % (row["result"], row["id"], " / ".join(row["stderr"])))
            table.append(row)
    finally:
        import shutil
        shutil.rmtree(scratch, ignore_errors=True)
    if opts.only:
        json.dump(table, sys.stdout, indent=2)
        print()
        return
    mds.write_json(OUT, {
        "description": "Real QEMU loads of small edits of the device samples (see samples/devices/probe-messages.py): what QEMU prints for an unknown subsection (device level, nested in a struct, cpu), a subsection or section version above or below the destination's, a section or instance the destination lacks, a section only the destination has, and a register missing from the destination's own stream (QEMU 11.1, raw-written from a value slot it never filled). Row shape as in devices-table.json; edit.patches rebuild the stream from the sample (offset, old and new bytes as hex), edit.variant with samples/truth/variants.mjs, and edit.sha256 is the result's; destSample is the sample the destination would save (null when the destination differs from the source's configuration); blanks are the scratch files the destination was given.",
        "qemu": {q: env.version_line(q) for q in VERSIONS},
        "destination": "-S -nodefaults -display none, TCG, plus dest.*",
        "rows": table,
    })
    mds.log("wrote %s: %d rows" % (os.path.relpath(OUT, os.path.dirname(SAMPLES)), len(table)))


def main(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("command", choices=["run", "make", "pack"])
    p.add_argument("args", nargs="*")
    p.add_argument("--samples", default=HERE)
    p.add_argument("--trees", default=os.environ.get("QEMU_TREES", "/work/qemu-trees"))
    p.add_argument("--only", default=None)
    p.add_argument("--jobs", type=int, default=1)
    opts = p.parse_args(argv)
    env = mds.Env(opts)
    if opts.command == "pack":
        # the saved destinations, solid xz (one U-Boot image per QEMU version inside)
        import subprocess
        files = sorted(os.path.relpath(os.path.join(d, f), opts.samples)
                       for d, _, fs in os.walk(os.path.join(opts.samples, "probes")) for f in fs)
        subprocess.run(["tar", "--sort=name", "--owner=0", "--group=0", "--mtime=@0", "-cf", "-", "-C", opts.samples]
                       + files, check=True, stdout=open(DESTS + ".tmp", "wb"))
        subprocess.run(["xz", "-9e", "-T1", "-f", DESTS + ".tmp"], check=True)
        os.replace(DESTS + ".tmp.xz", DESTS)
        mds.log("wrote %s" % DESTS)
        return 0
    if opts.command == "make":
        rid, out = opts.args
        row = next(r for r in mds.load_json(OUT)["rows"] if r["id"] == rid)
        materialize(row, opts.samples, out)
        return 0
    return cmd_run(env, opts) or 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
