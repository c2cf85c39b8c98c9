#!/usr/bin/env python3
"""Print a markdown facts table for sample migration streams (stdlib only).

  sample-facts.py FILE...            table: size, machine type, cpreg count per
                                     `cpu` instance, `cpu` subsections
  sample-facts.py --diff A.mig B.mig cpreg ids only in A / only in B (cpu 0)
                                     and ids whose values differ

How facts are found (heuristics adequate for these idle-guest samples; the
project's own decoder is the real parser):
  * machine type: configuration item at offset 8: 07 <be32 len> <name>
  * `cpu` sections: byte pattern 04 <be32 sid> 03 'cpu' <be32 inst> 00 00 00 16;
    be32 signed cpreg_vmstate_array_len at +585 from the 0x04 byte; indexes
    and values follow (N x be64 each)
  * subsections: from the vmdesc JSON (trailing 0x06 <be32 len> JSON)
"""
import json
import os
import re
import struct
import sys

CPU_HDR = re.compile(rb"\x04(....)\x03cpu(....)\x00\x00\x00\x16", re.S)


def vmdesc(d):
    # search backwards for 00 06 <be32 n> '{' with n == remaining length
    p = len(d)
    while True:
        p = d.rfind(b"\x06", 0, p)
        if p < 1:
            return None
        if p + 5 <= len(d) and d[p - 1] == 0:
            n = struct.unpack(">I", d[p + 1:p + 5])[0]
            if n == len(d) - (p + 5) and d[p + 5:p + 6] == b"{":
                return json.loads(d[p + 5:])


def cpus(d):
    out = []
    for m in CPU_HDR.finditer(d):
        pos = m.start()
        inst = struct.unpack(">I", m.group(2))[0]
        n = struct.unpack(">i", d[pos + 585:pos + 589])[0]
        base = pos + 589
        idx = struct.unpack(">%dQ" % n, d[base:base + 8 * n]) if n > 0 else ()
        val = struct.unpack(">%dQ" % n, d[base + 8 * n:base + 16 * n]) if n > 0 else ()
        out.append({"offset": pos, "sid": struct.unpack(">I", m.group(1))[0], "inst": inst,
                    "count": n, "ids": idx, "values": val})
    return out


def facts(path):
    d = open(path, "rb").read()
    assert d[:8] == b"QEVM\x00\x00\x00\x03", path
    mt = None
    if d[8] == 7:
        ln = struct.unpack(">I", d[9:13])[0]
        mt = d[13:13 + ln].decode()
    desc = vmdesc(d)
    subs = []
    if desc:
        for dev in desc["devices"]:
            if dev["name"] == "cpu" and dev["instance_id"] == 0:
                subs = [s["vmsd_name"] for s in dev.get("subsections", [])]
    return {"path": path, "size": len(d), "machine": mt, "cpus": cpus(d), "subs": subs,
            "vmdesc_keys": list(desc.keys()) if desc else None}


def main(argv):
    if argv and argv[0] == "--diff":
        a, b = facts(argv[1]), facts(argv[2])
        ca, cb = a["cpus"][0], b["cpus"][0]
        ma, mb = dict(zip(ca["ids"], ca["values"])), dict(zip(cb["ids"], cb["values"]))
        print("A %s: %d ids; B %s: %d ids" % (argv[1], len(ma), argv[2], len(mb)))
        print("only in A (%d): %s" % (len(set(ma) - set(mb)), " ".join("0x%016x" % i for i in sorted(set(ma) - set(mb)))))
        print("only in B (%d): %s" % (len(set(mb) - set(ma)), " ".join("0x%016x" % i for i in sorted(set(mb) - set(ma)))))
        diff = [i for i in sorted(set(ma) & set(mb)) if ma[i] != mb[i]]
        print("values differ (%d): %s" % (len(diff), " ".join("0x%016x:0x%x->0x%x" % (i, ma[i], mb[i]) for i in diff)))
        return 0
    print("| file | bytes | machine type | cpreg count (cpu 0, cpu 1) | `cpu` subsections (cpu 0) |")
    print("|---|---|---|---|---|")
    for p in argv:
        f = facts(p)
        counts = ", ".join(str(c["count"]) for c in f["cpus"])
        print("| %s | %d | %s | %s | %s |" % (os.path.relpath(p), f["size"], f["machine"], counts,
                                             ", ".join(f["subs"])))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
