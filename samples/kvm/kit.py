#!/usr/bin/env python3
"""kit.py — boot an L1 KVM host under a TCG L0 and run a job manifest inside it.

  samples/kvm/kit.py run --kernel REL --userspace REL --manifest JOB.json [--in DIR] --out DIR
                         [--l0 sid|trixie|host] [--cache DIR] [--trees DIR] [--timeout S] [--append ARGS]
  samples/kvm/kit.py initrd --kernel REL --userspace REL      (build/cache the initramfs only)
  samples/kvm/kit.py l0-version [--l0 sid]

REL is a Debian release fetched by fetch.sh (bookworm = kernel 6.1 / QEMU 7.2, trixie = 6.12 /
10.0, sid = 7.2 / 11.1). Any kernel can be combined with any userspace: the initramfs holds the
userspace of one release, the virtio modules of the kernel's release and l1-init.sh as /init.

How one run works:
  * the job disk (virtio serial "job") is a tar: kit/l1-job.py, kit/qmp-save.py, job/manifest.json
    and job/in/* (the files of --in DIR); the results disk (serial "results") starts empty;
  * L0 = `[chroot TREE] qemu-system-aarch64 -M virt,virtualization=on,gic-version=3 -cpu max
    -accel tcg -smp 2 -m 3072 -nic none -nographic -no-reboot -kernel vmlinuz -initrd initrd.cpio
    -append "console=ttyAMA0 rdinit=/init panic=-1 quiet" -drive … (2 virtio-blk-device)`;
    TCG emulates EL2 and the GICv3 virtualisation interface, so L1's kernel starts KVM (VHE);
  * L1 runs the manifest (l1-job.py) and writes a tar of OUTDIR onto /dev/vdb, then powers off;
  * the host unpacks it into --out: results.json, streams/, dmesg.txt, rc; plus console.log (L1's
    serial console) and run.json (the L0 command, versions, timings).
Scratch files live in a temporary directory (inside the L0 tree's /tmp when L0 runs in a chroot;
the initramfs and kernel are hard-linked there) and are always removed.
"""
import argparse
import hashlib
import io
import json
import os
import shutil
import signal
import subprocess
import sys
import tarfile
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
DEFAULT_CACHE = os.environ.get("KVM_CACHE", "/work/kvm-cache")
DEFAULT_TREES = os.environ.get("QEMU_TREES", "/work/qemu-trees")
RELEASES = ("bookworm", "trixie", "sid")
RESULTS_DISK = 512 << 20
# usr-merge: these top-level directories are links into /usr in L1
MERGED = ("bin", "sbin", "lib")


class KitError(Exception):
    pass


# ------------------------------------------------------------------------------ initramfs
def _newc(out, name, mode, data=b"", nlink=1, rdev=(0, 0), mtime=0):
    name_b = name.encode() + b"\0"
    hdr = "070701%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x" % (
        0, mode, 0, 0, nlink, mtime, len(data), 0, 0, rdev[0], rdev[1], len(name_b), 0)
    out.write(hdr.encode() + name_b)
    out.write(b"\0" * ((4 - (110 + len(name_b)) % 4) % 4))
    out.write(data)
    out.write(b"\0" * ((4 - len(data) % 4) % 4))


def initrd_path(cache, kernel, userspace):
    """The cached initramfs for a kernel release and a userspace release (built if missing)."""
    init = open(os.path.join(HERE, "l1-init.sh"), "rb").read()
    kdir = os.path.join(cache, kernel, "kernel")
    udir = os.path.join(cache, userspace, "root")
    for d, r in ((kdir, kernel), (udir, userspace)):
        if not os.path.isfile(os.path.join(cache, r, "complete")):
            raise KitError("%s is not fetched into %s (run samples/kvm/fetch.sh --release %s)" % (r, cache, r))
    tag = hashlib.sha256(init + open(os.path.join(kdir, "release"), "rb").read()
                         + open(os.path.join(cache, userspace, "versions.txt"), "rb").read()).hexdigest()[:12]
    path = os.path.join(cache, "initrd", "k-%s_u-%s_%s.cpio" % (kernel, userspace, tag))
    if os.path.isfile(path):
        return path
    os.makedirs(os.path.dirname(path), exist_ok=True)
    entries = {}  # path in L1 -> (kind, source)
    for dirpath, dirnames, filenames in os.walk(udir):
        rel = os.path.relpath(dirpath, udir)
        for n in dirnames + filenames:
            src = os.path.join(dirpath, n)
            p = n if rel == "." else os.path.join(rel, n)
            top = p.split("/", 1)
            if top[0] in MERGED:
                if len(top) == 1:
                    continue  # the directory itself becomes a link below
                p = "usr/" + p
            entries[p] = src
    for m in MERGED:
        entries.setdefault("usr/" + m, None)
    tmp = path + ".part"
    with open(tmp, "wb") as out:
        for p in sorted(entries):
            src = entries[p]
            if src is None:
                _newc(out, p, 0o040755, nlink=2)
                continue
            st = os.lstat(src)
            if os.path.islink(src):
                _newc(out, p, 0o120777, os.readlink(src).encode())
            elif os.path.isdir(src):
                _newc(out, p, 0o040000 | (st.st_mode & 0o7777), nlink=2)
            elif os.path.isfile(src):
                _newc(out, p, 0o100000 | (st.st_mode & 0o7777), open(src, "rb").read())
        for m in MERGED:
            _newc(out, m, 0o120777, ("usr/" + m).encode())
        if "usr/bin/sh" not in entries:
            _newc(out, "usr/bin/sh", 0o120777, b"busybox")
        for d in ("dev", "proc", "sys", "tmp", "run", "work", "kit-modules"):
            _newc(out, d, 0o040755, nlink=2)
        _newc(out, "dev/console", 0o020600, rdev=(5, 1))
        _newc(out, "init", 0o100755, init)
        order = open(os.path.join(kdir, "modules", "order")).read().split()
        _newc(out, "kit-modules/order", 0o100644, ("\n".join(order) + "\n").encode())
        for m in order:
            _newc(out, "kit-modules/%s.ko" % m, 0o100644, open(os.path.join(kdir, "modules", m + ".ko"), "rb").read())
        _newc(out, "TRAILER!!!", 0, nlink=1)
    os.replace(tmp, path)
    return path


# ------------------------------------------------------------------------------ L0
def l0_argv(l0, trees):
    if l0 == "host":
        return None, ["qemu-system-aarch64"]
    tree = os.path.join(trees, l0)
    if not os.path.isdir(tree):
        raise KitError("no L0 tree %s" % tree)
    return tree, ["chroot", tree, "qemu-system-aarch64"]


def l0_version(l0, trees):
    _, argv = l0_argv(l0, trees)
    out = subprocess.run(argv + ["--version"], stdout=subprocess.PIPE, check=True).stdout.decode()
    return out.splitlines()[0]


def short_version(line):
    """'QEMU emulator version 11.1.3 (Debian …)' -> '11.1'."""
    v = line.split("version", 1)[1].split()[0]
    return ".".join(v.split(".")[:2])


def job_tar(manifest, indir):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.USTAR_FORMAT) as t:
        for f in ("l1-job.py",):
            t.add(os.path.join(HERE, f), "kit/" + f)
        t.add(os.path.join(ROOT, "samples", "qmp-save.py"), "kit/qmp-save.py")
        data = json.dumps(manifest, indent=1).encode()
        ti = tarfile.TarInfo("job/manifest.json")
        ti.size = len(data)
        ti.mode = 0o644
        t.addfile(ti, io.BytesIO(data))
        if indir:
            for dirpath, _, files in os.walk(indir):
                for n in sorted(files):
                    src = os.path.join(dirpath, n)
                    t.add(src, "job/in/" + os.path.relpath(src, indir))
    data = buf.getvalue()
    return data + b"\0" * (-len(data) % (1 << 20))


def run(kernel, userspace, manifest, indir, outdir, l0="sid", cache=DEFAULT_CACHE, trees=DEFAULT_TREES,
        timeout=1800, append="", log=sys.stderr):
    """Boots one L1 and runs the manifest; returns the parsed results.json (also in outdir)."""
    initrd = initrd_path(cache, kernel, userspace)
    vmlinuz = os.path.join(cache, kernel, "kernel", "vmlinuz")
    tree, argv0 = l0_argv(l0, trees)
    base = os.path.join(tree, "tmp") if tree else None
    scratch = tempfile.mkdtemp(prefix="vmstate-kvm-", dir=base)
    inner = (lambda p: "/" + os.path.relpath(p, tree)) if tree else (lambda p: p)
    proc = None
    t0 = time.monotonic()
    try:
        for src, name in ((initrd, "initrd.cpio"), (vmlinuz, "vmlinuz")):
            dst = os.path.join(scratch, name)
            try:
                os.link(src, dst)
            except OSError:
                shutil.copyfile(src, dst)
        with open(os.path.join(scratch, "job.img"), "wb") as f:
            f.write(job_tar(manifest, indir))
        with open(os.path.join(scratch, "results.img"), "wb") as f:
            f.truncate(RESULTS_DISK)
        argv = argv0 + [
            "-M", "virt,virtualization=on,gic-version=3", "-cpu", "max", "-accel", "tcg",
            "-smp", "2", "-m", "3072", "-nic", "none", "-nographic", "-no-reboot",
            "-kernel", inner(os.path.join(scratch, "vmlinuz")),
            "-initrd", inner(os.path.join(scratch, "initrd.cpio")),
            "-append", ("console=ttyAMA0 rdinit=/init panic=-1 quiet " + append).strip(),
            "-drive", "file=%s,format=raw,if=none,id=d0,readonly=on" % inner(os.path.join(scratch, "job.img")),
            "-device", "virtio-blk-device,drive=d0,serial=job",
            "-drive", "file=%s,format=raw,if=none,id=d1" % inner(os.path.join(scratch, "results.img")),
            "-device", "virtio-blk-device,drive=d1,serial=results",
        ]
        os.makedirs(outdir, exist_ok=True)
        console = open(os.path.join(outdir, "console.log"), "wb")
        print("kit: L0 %s, kernel %s, userspace %s, %d steps" % (l0, kernel, userspace, len(manifest["steps"])),
              file=log, flush=True)
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=console, stderr=subprocess.STDOUT,
                                start_new_session=True)
        try:
            rc = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise KitError("L0 did not finish within %ss (console: %s)" % (timeout, console.name))
        finally:
            console.close()
        elapsed = time.monotonic() - t0
        with open(os.path.join(scratch, "results.img"), "rb") as f:
            head = f.read(512)
            if head.strip(b"\0") == b"":
                raise KitError("L1 wrote no results (L0 rc %s; console: %s)" % (rc, console.name))
            f.seek(0)
            with tarfile.open(fileobj=f, mode="r:") as t:
                for m in t.getmembers():
                    if not (m.isfile() or m.isdir()) or m.name.startswith("/") or ".." in m.name.split("/"):
                        continue
                    t.extract(m, outdir, set_attrs=False)
        res = json.load(open(os.path.join(outdir, "results.json")))
        meta = {"l0": l0, "l0Version": l0_version(l0, trees), "kernel": kernel, "userspace": userspace,
                "l0Argv": argv, "l0ExitCode": rc, "elapsedSeconds": round(elapsed, 1),
                "initrd": os.path.basename(initrd), "initrdBytes": os.path.getsize(initrd)}
        with open(os.path.join(outdir, "run.json"), "w") as f:
            json.dump(meta, f, indent=1)
        print("kit: done in %.0fs (%s, %s)" % (elapsed, res["env"]["uname"], res["env"]["qemuVersion"]),
              file=log, flush=True)
        return res
    finally:
        if proc and proc.poll() is None:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            proc.wait()
        shutil.rmtree(scratch, ignore_errors=True)


def main(argv):
    p = argparse.ArgumentParser(description="nested-KVM job runner (see the module docstring)")
    sub = p.add_subparsers(dest="cmd", required=True)
    for name in ("run", "initrd", "l0-version"):
        s = sub.add_parser(name)
        s.add_argument("--cache", default=DEFAULT_CACHE)
        s.add_argument("--trees", default=DEFAULT_TREES)
        s.add_argument("--l0", default="sid", choices=("sid", "trixie", "host"))
        if name != "l0-version":
            s.add_argument("--kernel", required=True, choices=RELEASES)
            s.add_argument("--userspace", required=True, choices=RELEASES)
        if name == "run":
            s.add_argument("--manifest", required=True)
            s.add_argument("--in", dest="indir")
            s.add_argument("--out", required=True)
            s.add_argument("--timeout", type=float, default=1800)
            s.add_argument("--append", default="", help="extra L1 kernel command-line arguments")
    o = p.parse_args(argv)
    try:
        if o.cmd == "l0-version":
            print(l0_version(o.l0, o.trees))
        elif o.cmd == "initrd":
            print(initrd_path(o.cache, o.kernel, o.userspace))
        else:
            if os.path.exists(o.out) and os.listdir(o.out):
                raise KitError("--out %s is not empty" % o.out)
            res = run(o.kernel, o.userspace, json.load(open(o.manifest)), o.indir, o.out, o.l0, o.cache,
                      o.trees, o.timeout, o.append)
            for s in res["steps"]:
                print("%-50s %s" % (s.get("id", s["op"]), s["result"]))
    except KitError as e:
        print("kit: %s" % e, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
