#!/usr/bin/env python3
"""Remove subsections of any device from a QEMU migration stream (hand edits for real loads).

    streamedit.py IN OUT NAME...     remove every subsection whose vmsd_name is NAME
    streamedit.py --list IN          print every subsection: device, name, offset, bytes, body hex

Stdlib only. An independent reader of the stream format (spec §2–§3, like QEMU's
scripts/analyze-migration.py, whose walk it follows): RAM records are skipped, every
device section is walked field by field along the stream's own vmdesc, and each
subsection's byte range is recorded. Removing a subsection deletes its bytes
(0x05, name, version, body) and its entries in the vmdesc, whose length is patched.
QEMU itself never reads the vmdesc on load; it is kept consistent for the analyser.

Only streams whose vmdesc describes the configuration section (QEMU >= 8.2) are
handled, and not mapped-ram streams: anything else is an error, never a guess.
"""

import collections
import os
import json
import sys

EOF_, START, PART, END, FULL, SUB, VMDESC, CONFIG, COMMAND, FOOTER = 0, 1, 2, 3, 4, 5, 6, 7, 8, 0x7E
RAM_ZERO, RAM_MEM_SIZE, RAM_PAGE, RAM_EOS, RAM_CONTINUE, RAM_MULTIFD_FLUSH = 0x02, 0x04, 0x08, 0x10, 0x20, 0x200


class EditError(Exception):
    pass


class Reader:
    def __init__(self, buf):
        self.buf = buf
        self.pos = 0

    def take(self, n):
        if self.pos + n > len(self.buf):
            raise EditError("truncated at %d" % self.pos)
        b = self.buf[self.pos:self.pos + n]
        self.pos += n
        return b

    def u8(self):
        return self.take(1)[0]

    def u16(self):
        return int.from_bytes(self.take(2), "big")

    def u32(self):
        return int.from_bytes(self.take(4), "big")

    def u64(self):
        return int.from_bytes(self.take(8), "big")

    def str8(self):
        return self.take(self.u8()).decode()


def find_vmdesc(buf):
    """(offset of the 0x06 byte, parsed vmdesc) the way the analyser finds it."""
    tail = buf[-(10 << 20):]
    base = len(buf) - len(tail)
    nul = tail.rfind(b"\0")
    brace = tail.find(b"{", nul)
    at = base + brace - 5
    if brace < 0 or buf[at] != VMDESC:
        raise EditError("no vmdesc found")
    n = int.from_bytes(buf[at + 1:at + 5], "big")
    text = buf[at + 5:at + 5 + n].decode()
    desc = json.loads(text, object_pairs_hook=collections.OrderedDict)
    if json.dumps(desc) != text:
        raise EditError("the vmdesc does not re-serialise byte for byte; refusing to patch it")
    return at, desc


def walk_struct(r, desc, where, subs):
    """Walk fields then subsections of a vmdesc struct; append (where, name, start, end) to subs."""
    for f in desc.get("fields", []):
        for _ in range(f.get("array_len", 1)):
            if f["type"] == "struct":
                walk_struct(r, f["struct"], where, subs)
            else:
                r.take(int(f["size"]))
    for s in desc.get("subsections", []):
        start = r.pos
        if r.u8() != SUB:
            raise EditError("%s: subsection %s not found at %d" % (where, s["vmsd_name"], start))
        name = r.str8()
        r.u32()
        if name != s["vmsd_name"]:
            raise EditError("%s: subsection %s where the vmdesc has %s" % (where, name, s["vmsd_name"]))
        walk_struct(r, s, where, subs)
        subs.append((where, name, start, r.pos))


def walk_ram(r, page_size, mapped_ram=None):
    """Skip RAM records up to EOS. With mapped_ram (a list), each block's MappedRamHeader is
    read, recorded there and the stream continues after the block's page area (QEMU seeks there)."""
    while True:
        addr = r.u64()
        flags = addr & (page_size - 1)
        if flags & RAM_MEM_SIZE:
            total = addr & ~(page_size - 1)
            while total > 0:
                name = r.str8()
                used = r.u64()
                total -= used
                if mapped_ram is not None:
                    at = r.pos
                    version, psize, bitmap, pages = r.u32(), r.u64(), r.u64(), r.u64()
                    nbits = used // psize
                    bm = r.buf[bitmap:bitmap + (nbits + 7) // 8]
                    mapped_ram.append({"block": name, "usedLength": used, "headerOffset": at, "version": version,
                                       "pageSize": psize, "bitmapOffset": bitmap, "bitmapBytes": len(bm),
                                       "pagesOffset": pages, "pagesPresent": sum(bin(b).count("1") for b in bm)})
                    r.pos = pages + used
        if flags & RAM_ZERO:
            if not flags & RAM_CONTINUE:
                r.str8()
            r.u8()
        elif flags & RAM_PAGE:
            if not flags & RAM_CONTINUE:
                r.str8()
            r.take(page_size)
        if flags & RAM_MULTIFD_FLUSH:
            continue
        if flags & RAM_EOS:
            return
        if flags & ~(RAM_MEM_SIZE | RAM_ZERO | RAM_PAGE | RAM_CONTINUE | RAM_EOS):
            raise EditError("RAM flags 0x%x at %d not handled" % (flags, r.pos - 8))


def subsections(buf, base=0, layout=None):
    """Every subsection of the stream: (device 'name[instance]', subsection name, start, end).
    The stream starts at base (a libvirt image's header comes first). A mapped-ram stream is
    walked only when layout (a dict) is given: it receives the stream's mapped-ram facts."""
    at, desc = find_vmdesc(buf)
    devices = {(d["name"], d["instance_id"]): d for d in desc["devices"]}
    r = Reader(buf)
    r.pos = base
    if r.take(4) != b"QEVM" or r.u32() != 3:
        raise EditError("not a version 3 QEMU stream")
    subs = []
    blocks = None
    while True:
        t = r.u8()
        if t == EOF_:
            break
        if t == CONFIG:
            if "configuration" not in desc:
                raise EditError("the vmdesc does not describe the configuration section (QEMU < 8.2)")
            caps = []
            start = r.pos
            walk_struct(r, desc["configuration"], "configuration", caps)
            cap = [c for c in caps if c[1] == "configuration/capabilities"]
            if cap:
                names = capability_names(buf[cap[0][2]:cap[0][3]])
                if layout is None:
                    raise EditError("streams with migration capabilities (%s) are not handled" % ", ".join(names))
                layout.update({"streamOffset": base, "configurationOffset": start - 1, "capabilities": names})
                if "mapped-ram" in names:
                    blocks = []
        elif t in (START, FULL):
            sid = r.u32()
            name = r.str8()
            inst = r.u32()
            r.u32()
            if name == "ram":
                if layout is not None:
                    layout.update({"ramSectionId": sid, "ramSectionOffset": r.pos - len(name) - 14})
                walk_ram(r, desc["page_size"], blocks)
                if layout is not None:
                    layout["ramEndOffset"] = r.pos
            else:
                dev = devices.get((name, inst))
                if dev is None:
                    raise EditError("section %s[%d] is not in the vmdesc" % (name, inst))
                walk_struct(r, dev, "%s[%d]" % (name, inst), subs)
            if r.u8() != FOOTER or r.u32() != sid:
                raise EditError("bad footer of %s at %d" % (name, r.pos))
        elif t in (PART, END):
            sid = r.u32()
            walk_ram(r, desc["page_size"])
            if r.u8() != FOOTER or r.u32() != sid:
                raise EditError("bad footer of section %d at %d" % (sid, r.pos))
        elif t == COMMAND:
            r.u16()
            r.take(r.u16())
        else:
            raise EditError("item type %d at %d not handled" % (t, r.pos - 1))
    if r.pos != at:
        raise EditError("EOF at %d but the vmdesc starts at %d" % (r.pos, at))
    if layout is not None:
        layout.update({"blocks": blocks or [], "eofOffset": at - 1, "vmdescOffset": at,
                       "vmdescBytes": int.from_bytes(buf[at + 1:at + 5], "big"), "fileBytes": len(buf)})
    return subs, at, desc


def capability_names(sub):
    """Capability names in a configuration/capabilities subsection (0x05, name, version, be32 count, str8...)."""
    n = sub[1]
    pos = 2 + n + 4
    count = int.from_bytes(sub[pos:pos + 4], "big")
    pos += 4
    names = []
    for _ in range(count):
        ln = sub[pos]
        names.append(sub[pos + 1:pos + 1 + ln].decode())
        pos += 1 + ln
    return names


LIBVIRT_MAGIC = b"LibvirtQemudSave"
LIBVIRT_HEADER = 92  # magic[16], version, data_len, was_running, format, cookieOffset, unused[14] (u32 each)


def stream_offset(path):
    """0 for a QEMU stream; for a libvirt save image, where its QEMU stream starts (header + data_len)."""
    with open(path, "rb") as f:
        head = f.read(LIBVIRT_HEADER)
    if head[:16] != LIBVIRT_MAGIC:
        return 0
    return LIBVIRT_HEADER + int.from_bytes(head[20:24], "little")


def mapped_ram_layout(path):
    """Facts about a mapped-ram stream, also inside a libvirt image (file offsets are absolute, as
    QEMU writes them)."""
    import mmap
    base = stream_offset(path)
    with open(path, "rb") as f:
        buf = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
        try:
            layout = {}
            subsections(buf, base, layout)
            return layout
        finally:
            buf.close()


def desc_subsections(buf):
    """device 'name[instance]' -> set of subsection names its vmdesc entry lists (any depth)."""
    out = {}

    def collect(node, acc):
        if isinstance(node, dict):
            for sub in node.get("subsections", []):
                acc.add(sub["vmsd_name"])
            for v in node.values():
                collect(v, acc)
        elif isinstance(node, list):
            for v in node:
                collect(v, acc)

    for d in find_vmdesc(buf)[1]["devices"]:
        acc = set()
        collect(d, acc)
        out["%s[%d]" % (d["name"], d["instance_id"])] = acc
    return out


def not_sent_by(src, dst):
    """Subsection names src carries for a device where dst's stream of that device has none of that name."""
    a, b = desc_subsections(src), desc_subsections(dst)
    return sorted({n for dev, names in a.items() if dev in b for n in names - b[dev]})


def drop_desc(node, names):
    """Remove subsection descriptions named in names from a vmdesc struct, recursively."""
    if isinstance(node, dict):
        if "subsections" in node:
            node["subsections"] = [s for s in node["subsections"] if s["vmsd_name"] not in names]
            if not node["subsections"]:
                del node["subsections"]
        for v in node.values():
            drop_desc(v, names)
    elif isinstance(node, list):
        for v in node:
            drop_desc(v, names)


def strip(buf, names):
    """buf without the named subsections; returns (new bytes, removed [(device, name, bytes)])."""
    subs, at, desc = subsections(buf)
    names = set(names)
    hits = [s for s in subs if s[1] in names]
    missing = names - {s[1] for s in hits}
    if missing:
        raise EditError("not in the stream: %s" % ", ".join(sorted(missing)))
    # a nested subsection inside a removed one goes with it
    ranges = sorted((s, e) for _, _, s, e in hits)
    out = bytearray()
    pos = 0
    for s, e in ranges:
        if s < pos:
            continue
        out += buf[pos:s]
        pos = e
    out += buf[pos:at]
    drop_desc(desc["devices"], names)
    text = json.dumps(desc).encode()
    out += bytes([VMDESC]) + len(text).to_bytes(4, "big") + text
    out += buf[at + 5 + int.from_bytes(buf[at + 1:at + 5], "big"):]
    return bytes(out), [(d, n, e - s) for d, n, s, e in hits]


def main(argv):
    if len(argv) == 2 and argv[0] == "--list":
        with open(argv[1], "rb") as f:
            buf = f.read()
        try:
            subs = subsections(buf)[0]
        except EditError as e:
            print("streamedit: %s" % e, file=sys.stderr)
            return 2
        for dev, name, s, e in subs:
            print("%-28s %-40s %10d %6d  %s" % (dev, name, s, e - s, buf[s:e][-32:].hex()))
        return 0
    if len(argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    src, dst, names = argv[0], argv[1], argv[2:]
    if src == dst:
        print("streamedit: OUT must not be IN", file=sys.stderr)
        return 2
    with open(src, "rb") as f:
        buf = f.read()
    try:
        new, removed = strip(buf, names)
        subsections(new)  # the result must walk cleanly too
    except EditError as e:
        print("streamedit: %s" % e, file=sys.stderr)
        return 2
    with open(dst + ".part", "wb") as f:
        f.write(new)
    os.replace(dst + ".part", dst)
    for dev, name, n in removed:
        print("removed %s from %s (%d bytes)" % (name, dev, n), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
