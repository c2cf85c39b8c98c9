#!/usr/bin/env python3
"""Real streams of aarch64 guests that ran, with devices, and their real loads.

Stdlib only (Python >= 3.9); QEMU is driven by samples/qmp-save.py. Sub-commands:

  save      Save every sample of samples/devices/configs.json that is not there yet
            (--force: all of them) into samples/devices/qemu-<v>/ (not committed: see
            pack). Each guest boots Debian firmware (U-Boot or EDK2), runs for
            runSeconds (`cont`, sleep, `stop`), then is migrated with
            `migrate exec:cat > FILE` (or `migrate file:` with mapped-ram). The
            console output is kept next to the stream (.console.txt). Writes
            samples/devices/manifest.json.
  pack      Pack samples/devices/qemu-<v>/ into samples/devices/uboot.tar.xz and
            edk2.tar.xz (the committed form: one solid xz archive per firmware,
            because every stream holds its firmware image and xz stores it once;
            mapped-ram files are stored sparse).
  unpack    Unpack the archives (default into samples/devices/, or --to DIR) and check
            every file against manifest.json.
  table     Load every sample into every QEMU version (and mapped-ram samples into
            10.0 and 11.1), then try `vmstate rewrite` on every failed load and load
            its output; writes samples/truth/devices-table.json.
  suggest   For every failed load of the table (exec:, with a destination sample), ask
            `vmstate check --json` for its next step and run the `vmstate rewrite` command it
            suggests, as printed, then load the output into the real destination; writes
            these rows (kind 'suggested') into samples/truth/devices-table.json, replacing
            the previous ones. Rows where check offers no command are recorded with its
            reason and result null.
  findings  Run `vmstate check` and `vmstate dump` over the table and QEMU's analyser
            over the samples; writes the generated parts of samples/devices/FINDINGS.md,
            check-baseline.json and analyser.json (--reuse-analyser: keep analyser.json),
            and the analyser's output for the mapped-ram samples as goldens
            (test/golden/mapped-ram/). --rows DIR: the rows' streams as the tests keep
            them (VMSTATE_KEEP_ROWS=DIR npx vitest run test/devices-truth.test.ts); a
            rewrite row's stream is otherwise rebuilt with today's tool, which no longer
            writes what the table's older tool wrote for some of them.
  facts     Write the sample and mapped-ram layout tables into samples/README.md.

Common options: --trees DIR (the trixie/ and sid/ trees, default $QEMU_TREES or
/work/qemu-trees), --jobs N (QEMUs at once, default 2), --only SUBSTR (rows or
samples whose id contains SUBSTR; table/findings then print instead of writing).
Needs root (chroot) for 10.0 and 11.1.
"""

import argparse
import concurrent.futures
import glob
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SAMPLES = os.path.dirname(HERE)
ROOT = os.path.dirname(SAMPLES)
QMP_SAVE = os.path.join(SAMPLES, "qmp-save.py")
CONFIGS = os.path.join(HERE, "configs.json")
MANIFEST = os.path.join(HERE, "manifest.json")
TABLE = os.path.join(SAMPLES, "truth", "devices-table.json")
FINDINGS = os.path.join(HERE, "FINDINGS.md")
ANALYSER_JSON = os.path.join(HERE, "analyser.json")
BASELINE = os.path.join(HERE, "check-baseline.json")
CLI = os.path.join(ROOT, "dist", "cli", "main.js")
sys.path.insert(0, HERE)
import streamedit  # noqa: E402  (this directory's stream editor)
VERSIONS = ["7.2", "10.0", "11.1"]
# 7.2/10.0 load the way QEMU 7.2...10.2 do; 11.1 has its own cpreg rules.
LOADER = {"7.2": "legacy", "10.0": "legacy", "11.1": "qemu-11.1"}
REWRITE_ARGS = ["--strip-unknown", "--adopt-dest-values", "id-regs", "--strip-unknown-subsections"]


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def load_json(path):
    with open(path) as f:
        return json.load(f)


def write_json(path, data):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(data, f, indent=2)
        f.write("\n")
    os.replace(tmp, path)


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


class Env:
    def __init__(self, opts):
        self.cfg = load_json(CONFIGS)
        self.trees = opts.trees
        self.jobs = max(1, opts.jobs)
        self.configs = {c["id"]: c for c in self.cfg["configs"]}
        self._versions = {}
        self._aliases = {}

    def chroot(self, q):
        tree = self.cfg["qemus"][q]["tree"]
        return os.path.join(self.trees, tree) if tree else None

    def qemu_argv(self, q):
        c = self.chroot(q)
        return (["chroot", c] if c else []) + ["qemu-system-aarch64"]

    def version_line(self, q):
        if q not in self._versions:
            out = subprocess.run(self.qemu_argv(q) + ["--version"], capture_output=True, text=True)
            line = out.stdout.split("\n")[0].strip()
            if not line.startswith(self.cfg["qemus"][q]["version"]):
                raise SystemExit("QEMU %s: %s reports %r" % (q, " ".join(self.qemu_argv(q)), line))
            self._versions[q] = line
        return self._versions[q]

    def machine_type(self, q, machine):
        """The machine type a -M name stores in the stream (virt -> virt-X.Y)."""
        key = (q, machine)
        if key not in self._aliases:
            out = subprocess.run(self.qemu_argv(q) + ["-M", "help"], capture_output=True, text=True).stdout
            m = re.search(r"^%s\s.*\(alias of ([^)]+)\)" % re.escape(machine), out, re.M)
            self._aliases[key] = m.group(1) if m else machine
        return self._aliases[key]

    def run_seconds(self, config):
        return self.configs[config].get("runSeconds", self.cfg["runSeconds"])

    def knows(self, q, mtype):
        """Whether QEMU q has machine type mtype."""
        if ("help", q) not in self._aliases:
            out = subprocess.run(self.qemu_argv(q) + ["-M", "help"], capture_output=True, text=True).stdout
            self._aliases[("help", q)] = {l.split()[0] for l in out.split("\n")[1:] if l.strip()}
        return mtype in self._aliases[("help", q)]

    def firmware(self, config):
        return self.cfg["firmware"][self.configs[config]["firmware"]]

    def staged(self, config):
        """Host files copied into the scratch directory (a firmware shared by every version)."""
        fw = self.firmware(config)
        return [os.path.join(self.trees, fw["from"]) + fw["path"]] if fw.get("from") else []

    def guest_args(self, config):
        """QEMU arguments after the common ones: firmware and devices."""
        c = self.configs[config]
        fw = self.firmware(config)
        args = ["-bios", "@SCRATCH@/" + os.path.basename(fw["path"]) if fw.get("from") else fw["path"]]
        if c["devices"]:
            args += self.cfg["devices"][c["devices"]]
        return args

    def blanks(self, config):
        d = self.configs[config]["devices"]
        return self.cfg["blanks"].get(d, []) if d else []

    def m_option(self, machine, config):
        opts = self.configs[config]["machineOpts"]
        return machine + ("," + opts if opts else "")

    def qmp_common(self, q, machine, config):
        """qmp-save.py options shared by save and load of one guest."""
        c = self.configs[config]
        argv = []
        if self.chroot(q):
            argv += ["--chroot", self.chroot(q)]
        argv += ["-M", self.m_option(machine, config), "-c", c["cpu"], "-m", str(c["mem"]),
                 "--smp", str(c["smp"])]
        for b in self.blanks(config):
            argv += ["--blank", b]
        for f in self.staged(config):
            argv += ["--stage", f]
        return argv


# ---------------------------------------------------------------------------------------------
# samples

def sample_list(env):
    """Every sample to save: dicts with qemu, machine (-M name), config, kind, name, path."""
    out = []
    for s in env.cfg["samples"]:
        ids = [c["id"] for c in env.cfg["configs"]] if s["configs"] == "*" else s["configs"]
        for cid in ids:
            out.append({"qemu": s["qemu"], "machine": s["machine"], "config": cid, "kind": "stream",
                        "capabilities": [], "parameters": []})
    for m in env.cfg["mappedRam"]:
        out.append({"qemu": m["qemu"], "machine": m["machine"], "config": m["config"], "kind": m["name"],
                    "capabilities": m["capabilities"], "parameters": m["parameters"]})
    for s in out:
        mtype = env.machine_type(s["qemu"], s["machine"])
        s["machineType"] = mtype
        suffix = "" if s["kind"] == "stream" else "." + s["kind"]
        s["name"] = "qemu-%s/%s_%s%s" % (s["qemu"], mtype, s["config"], suffix)
        s["file"] = "devices/%s.mig" % s["name"]
    return out


def save_one(env, s, force):
    path = os.path.join(SAMPLES, s["file"])
    console = path[:-len(".mig")] + ".console.txt"
    if os.path.exists(path) and not force:
        return None
    os.makedirs(os.path.dirname(path), exist_ok=True)
    run = env.run_seconds(s["config"])
    argv = ["python3", QMP_SAVE, "save"] + env.qmp_common(s["qemu"], s["machine"], s["config"])
    argv += ["--run", str(run), "--console", console, "--timeout", "300", "-o", path]
    if s["kind"] != "stream":
        argv.append("--file")
        for c in s["capabilities"]:
            argv += ["--capability", c]
        for p in s["parameters"]:
            argv += ["--parameter", p]
    argv += ["--"] + env.guest_args(s["config"])
    t0 = time.monotonic()
    r = subprocess.run(argv, capture_output=True, text=True)
    took = time.monotonic() - t0
    if r.returncode != 0:
        return "FAILED %s (%.1fs): %s" % (s["name"], took, r.stderr.strip())
    return "saved  %s (%.1fs, %d bytes)" % (s["name"], took, os.path.getsize(path))


def qemu_command(env, s):
    """The source QEMU command line of a sample, as documentation (scratch paths shown as @SCRATCH@)."""
    c = env.configs[s["config"]]
    argv = env.qemu_argv(s["qemu"]) + ["-M", env.m_option(s["machine"], s["config"]), "-cpu", c["cpu"],
                                       "-m", str(c["mem"]), "-smp", str(c["smp"]), "-S", "-nodefaults",
                                       "-display", "none", "-qmp", "unix:@SCRATCH@/qmp.sock,server=on,wait=off",
                                       "-serial", "file:@SCRATCH@/console.log"] + env.guest_args(s["config"])
    return argv


def migrate_command(s):
    if s["kind"] == "stream":
        return ['migrate {"uri": "exec:cat > @SCRATCH@/stream.mig"}']
    out = []
    out.append('migrate-set-capabilities {"capabilities": [%s]}' % ", ".join(
        '{"capability": "%s", "state": true}' % c for c in s["capabilities"]))
    if s["parameters"]:
        params = ", ".join('"%s": %s' % tuple(p.split("=", 1)) for p in s["parameters"])
        out.append("migrate-set-parameters {%s}" % params)
    out.append('migrate {"uri": "file:@SCRATCH@/stream.mig"}')
    return out


def cmd_save(env, opts):
    todo = [s for s in sample_list(env) if not opts.only or opts.only in s["name"]]
    for q in sorted({s["qemu"] for s in todo}):
        log("using %s" % env.version_line(q))
    with concurrent.futures.ThreadPoolExecutor(env.jobs) as ex:
        for msg in ex.map(lambda s: save_one(env, s, opts.force), todo):
            if msg:
                log(msg)
    write_manifest(env)


def console_summary(path):
    """The firmware banner and the last console line: evidence that the guest ran."""
    if not os.path.exists(path):
        return {"banner": None, "last": None, "bytes": 0}
    with open(path, "rb") as f:
        raw = f.read()
    text = re.sub(r"\x1b\[[0-9;]*[A-Za-z]", "", raw.decode("utf-8", "replace")).replace("\r", "\n")
    lines = [l.strip() for l in text.split("\n") if l.strip()]
    banner = next((l for l in lines if l.startswith("U-Boot ") or "UEFI firmware" in l), lines[0] if lines else None)
    return {"banner": banner, "last": lines[-1] if lines else None, "bytes": len(raw)}


def write_manifest(env):
    entries = []
    for s in sample_list(env):
        path = os.path.join(SAMPLES, s["file"])
        if not os.path.exists(path):
            continue
        st = os.stat(path)
        console = path[:-len(".mig")] + ".console.txt"
        entries.append({
            "file": s["file"],
            "qemu": s["qemu"],
            "qemuVersion": env.version_line(s["qemu"]),
            "machine": s["machine"],
            "machineType": s["machineType"],
            "config": s["config"],
            "kind": s["kind"],
            "archive": env.firmware(s["config"])["archive"],
            "bytes": st.st_size,
            "allocatedBytes": st.st_blocks * 512,
            "sha256": sha256(path),
            "command": qemu_command(env, s),
            "qmp": ["qmp_capabilities", "cont", "(sleep %s s)" % env.run_seconds(s["config"]), "stop"] + migrate_command(s),
            "console": console_summary(console),
        })
        if s["kind"] != "stream":
            entries[-1]["mappedRam"] = streamedit.mapped_ram_layout(path)
    for path in sorted(glob.glob(os.path.join(HERE, "qemu-*", "libvirt-*.sparse.save"))):
        st = os.stat(path)
        facts = load_json(path[:-len(".save")] + ".json")
        entries.append({
            "file": os.path.relpath(path, SAMPLES),
            "qemu": "11.1",
            "qemuVersion": env.version_line("11.1"),
            "machine": "virt-7.2",
            "machineType": "virt-7.2",
            "config": None,
            "kind": "libvirt-sparse",
            "archive": "uboot",
            "bytes": st.st_size,
            "allocatedBytes": st.st_blocks * 512,
            "sha256": sha256(path),
            "command": ["(libvirt %s: samples/devices/make-libvirt-sparse.sh; QEMU command line in %s)" % (
                facts["libvirt"], os.path.basename(path[:-len(".save")] + ".json"))],
            "qmp": ["(libvirt) virsh create; (sleep %s s); virsh save --image-format sparse" % facts["runSeconds"]],
            "console": console_summary(path[:-len(".save")] + ".console.txt"),
            "mappedRam": streamedit.mapped_ram_layout(path),
        })
    write_json(MANIFEST, {
        "description": "Every stream saved by samples/devices/make-device-samples.py save (and the libvirt image of make-libvirt-sparse.sh): where it is once unpacked (relative to samples/), the archive that holds it, the QEMU that saved it, the command line (scratch paths as @SCRATCH@), the QMP sequence, size, allocated size (mapped-ram files are sparse), SHA-256, the first and last lines the firmware printed, and for mapped-ram files their layout as read by samples/devices/streamedit.py (absolute file offsets: where the QEMU stream starts, the configuration item, the capabilities it lists, the RAM section, per RAM block the MappedRamHeader (version, page size, bitmap offset and length, pages offset) and how many bitmap bits are set, where the RAM section ends, the EOF byte and the vmdesc).",
        "samples": entries,
    })
    log("manifest: %d samples" % len(entries))


# ---------------------------------------------------------------------------------------------
# pack / unpack

def archives(env):
    """archive name -> files (relative to samples/devices/) of the manifest's samples in it."""
    out = {}
    for e in load_json(MANIFEST)["samples"]:
        rel = e["file"][len("devices/"):]
        stem = os.path.splitext(rel)[0]
        extra = [stem + ".json"] if e["kind"] == "libvirt-sparse" else []
        out.setdefault(e["archive"], []).extend([rel, stem + ".console.txt"] + extra)
    return out


def cmd_pack(env, opts):
    for name, files in sorted(archives(env).items()):
        for rel in files:
            if not os.path.exists(os.path.join(HERE, rel)):
                raise SystemExit("pack: %s is missing (run save, or unpack first)" % rel)
        out = os.path.join(HERE, name + ".tar.xz")
        part = os.path.join(HERE, ".%s.tar.part" % name)
        # deterministic member order, owners and times; sparse members keep their holes
        subprocess.run(["tar", "--sparse", "--sort=name", "--owner=0", "--group=0", "--numeric-owner",
                        "--mtime=@0", "--format=gnu", "-C", HERE, "-cf", part] + sorted(files), check=True)
        subprocess.run(["xz", "-9e", "-T1", "-f", part], check=True)
        os.replace(part + ".xz", out)
        log("packed %s: %d files, %d bytes" % (os.path.relpath(out, ROOT), len(files), os.path.getsize(out)))


def cmd_unpack(env, opts):
    dest = os.path.abspath(opts.to or HERE)
    os.makedirs(dest, exist_ok=True)
    for name in sorted(archives(env)):
        subprocess.run(["tar", "-xJf", os.path.join(HERE, name + ".tar.xz"), "-C", dest], check=True)
    bad = 0
    for e in load_json(MANIFEST)["samples"]:
        p = os.path.join(dest, e["file"][len("devices/"):])
        if sha256(p) != e["sha256"]:
            log("sha256 mismatch: %s" % p)
            bad += 1
    log("unpacked into %s, %d mismatches" % (dest, bad))
    return 1 if bad else 0


# ---------------------------------------------------------------------------------------------
# loads

def short(q, mtype):
    return q if mtype == "virt-7.2" else "%s-%s" % (q, mtype)


def load_rows(env):
    """Every real load: each stream into every version, mapped-ram into 10.0 and 11.1."""
    man = {e["file"]: e for e in load_json(MANIFEST)["samples"]}
    samples = [s for s in sample_list(env) if s["file"] in man]
    by_key = {(s["qemu"], s["machineType"], s["config"], s["kind"]): s for s in samples}
    rows = []
    for s in samples:
        mtype, cid = s["machineType"], s["config"]
        if s["kind"] == "stream":
            # the stream's machine type where the destination has it, else the destination's own virt
            dests = [(q, mtype if env.knows(q, mtype) else "virt") for q in VERSIONS]
            for q, m in dests:
                dm = env.machine_type(q, m)
                dest_sample = by_key.get((q, dm, cid, "stream"))
                rows.append(make_row(env, s, q, m, dm, dest_sample, [], []))
        else:
            # the destination's own sample saved with the capabilities it is started with (its
            # configuration lists them): what a user would hand check for that destination
            dest_of = lambda q, caps: by_key.get((q, mtype, cid, sample_kind(caps)))
            for q in ["10.0", "11.1"]:
                rows.append(make_row(env, s, q, s["machine"], mtype, dest_of(q, s["capabilities"]), s["capabilities"], s["parameters"]))
            # the same file with the capabilities a user may forget
            q = s["qemu"]
            if "multifd" in s["capabilities"]:
                rows.append(make_row(env, s, q, s["machine"], mtype, dest_of(q, ["mapped-ram"]), ["mapped-ram"], [], "caps-without-multifd"))
            else:
                rows.append(make_row(env, s, q, s["machine"], mtype, dest_of(q, []), [], [], "caps-none"))
    return rows


def sample_kind(caps):
    """The kind of sample a QEMU started with these capabilities saves."""
    if "mapped-ram" not in caps:
        return "stream"
    return "mapped-ram-multifd" if "multifd" in caps else "mapped-ram"


def make_row(env, s, q, machine, dmtype, dest_sample, caps, params, variant=None):
    c = env.configs[s["config"]]
    kind = "" if s["kind"] == "stream" else "." + s["kind"]
    rid = "%s/%s/from-%s%s" % (short(q, dmtype), s["config"], short(s["qemu"], s["machineType"]), kind)
    if variant:
        rid += "/" + variant
    title = "QEMU %s %s %s stream into QEMU %s -M %s" % (
        s["qemu"], s["machineType"], s["kind"], q, env.m_option(machine, s["config"]))
    if caps or s["kind"] != "stream":
        title += " (file:, capabilities: %s)" % (", ".join(caps) or "none")
    return {
        "id": rid,
        "kind": "load",
        "config": s["config"],
        "title": title,
        "source": s["file"],
        "sourceQemu": s["qemu"],
        "sourceMachineType": s["machineType"],
        "dest": {
            "qemu": q,
            "machine": env.m_option(machine, s["config"]),
            "machineType": dmtype,
            "cpu": c["cpu"],
            "mem": c["mem"],
            "smp": c["smp"],
            "args": env.guest_args(s["config"]),
            "incoming": "exec" if s["kind"] == "stream" else "file",
            "capabilities": caps,
            "parameters": params,
        },
        "destSample": dest_sample["file"] if dest_sample else None,
    }


def clean_stderr(lines):
    out = []
    for l in lines:
        l = re.sub(r"^\d{4}-\d\d-\d\dT[\d:.]+Z?\s+", "", l)
        l = re.sub(r"^(\S*/)?qemu-system-aarch64: ", "", l)
        l = re.sub(r"/tmp/vmstate-qmp-[A-Za-z0-9_]+/", "<scratch>/", l)
        if re.match(r"^warning: Machine type '[^']+' is deprecated", l):
            continue
        out.append(l)
    return out


def classify(r, stderr):
    if r["verdict"] == "accept":
        return "accept"
    if r["verdict"] != "reject":
        return "error"
    if r.get("signal") is not None:
        return "crash"
    if any(re.search(r"Assertion .* failed|failed to allocate|Aborted|core dumped", l) for l in stderr):
        return "crash"
    return "reject"


def real_load(env, row, path, timeout=120):
    """Load path into row's destination with qmp-save.py load; returns the outcome fields."""
    d = row["dest"]
    argv = ["python3", QMP_SAVE, "load", "--json", "--timeout", str(timeout)]
    if env.chroot(d["qemu"]):
        argv += ["--chroot", env.chroot(d["qemu"])]
    argv += ["-M", d["machine"], "-c", d["cpu"], "-m", str(d["mem"]), "--smp", str(d["smp"]), "-i", path]
    for b in env.blanks(row["config"]):
        argv += ["--blank", b]
    for f in env.staged(row["config"]):
        argv += ["--stage", f]
    if d["incoming"] == "file":
        argv.append("--file")
        for c in d["capabilities"]:
            argv += ["--capability", c]
        for p in d["parameters"]:
            argv += ["--parameter", p]
    argv += ["--"] + d["args"]
    r = subprocess.run(argv, capture_output=True, text=True)
    try:
        res = json.loads(r.stdout)
    except ValueError:
        res = {"verdict": "error", "signal": None, "exit_code": None, "stderr": [],
               "reason": "qmp-save.py exited %s: %s" % (r.returncode, r.stderr.strip())}
    stderr = clean_stderr(res.get("stderr", []))
    result = classify(res, stderr)
    if result == "error":
        raise RuntimeError("%s: harness error: %s %s" % (row["id"], res.get("reason"), stderr))
    return {"result": result, "exitCode": res.get("exit_code"), "signal": res.get("signal"), "stderr": stderr}


def cli(args, **kw):
    return subprocess.run(["node", CLI] + args, capture_output=True, text=True, **kw)


def rewrite_row(env, row, scratch):
    """Try the suggested rewrite on a failed load; returns the rewrite row (loaded when written)."""
    d = row["dest"]
    src = os.path.join(SAMPLES, row["source"])
    dest = os.path.join(SAMPLES, row["destSample"])
    out = os.path.join(scratch, row["id"].replace("/", "_") + ".rw.mig")
    args = [src, "-o", out, "--dest", dest, "--loader", LOADER[d["qemu"]]] + REWRITE_ARGS
    r = cli(["rewrite"] + args)
    rel = lambda a: os.path.relpath(a, SAMPLES) if a.startswith(SAMPLES) else a
    new = dict(row)
    new["id"] = row["id"] + "/rewrite"
    new["kind"] = "rewrite"
    new["rewrite"] = {
        "of": row["id"],
        "argv": ["vmstate", "rewrite"] + [rel(a) if a in (src, dest) else ("OUT" if a == out else a) for a in args],
        "exitCode": r.returncode,
        "message": (r.stdout + r.stderr).strip().split("\n")[-4:],
        "forced": False,
        "sha256": None,
    }
    if r.returncode != 0 or not os.path.exists(out):
        # refused: is the refusal right? load what --force writes
        r2 = cli(["rewrite"] + args + ["--force"])
        if r2.returncode != 0 or not os.path.exists(out):
            new.update({"result": None, "exitCode": None, "signal": None, "stderr": []})
            new["rewrite"]["forcedExitCode"] = r2.returncode
            new["rewrite"]["forcedMessage"] = (r2.stdout + r2.stderr).strip().split("\n")[-6:]
            return new
        new["rewrite"]["forced"] = True
    new["rewrite"]["sha256"] = sha256(out)
    new.update(real_load(env, row, out))
    return new


GENERATION = {"7.2": "7.2", "10.0": "10.x", "11.1": "11.1"}
ADD_CONST = os.path.join(HERE, "add-missing-const.mjs")


def add_const(src, dest_sample, q, out):
    """add-missing-const.mjs: the inserted registers (written to out when there are any)."""
    r = subprocess.run(["node", ADD_CONST, src, dest_sample, GENERATION[q], out], capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError("add-missing-const: %s" % r.stderr.strip())
    return json.loads(r.stdout)["inserted"]


def edit_rows(env, rw, scratch):
    """A written rewrite that QEMU still refused, edited by hand the way a fuller rewrite would:
    first every subsection the destination does not send removed (any device: streamedit.py),
    then, on top, the destination's missing constant registers inserted (add-missing-const.mjs).
    One row per step that changes something."""
    base = os.path.join(scratch, rw["id"][:-len("/rewrite")].replace("/", "_"))
    src = base + ".rw.mig"
    dest = os.path.join(SAMPLES, rw["destSample"])
    with open(src, "rb") as f:
        buf = f.read()
    with open(dest, "rb") as f:
        names = streamedit.not_sent_by(buf, f.read())
    rows, current, steps = [], src, []
    if names:
        new_bytes, removed = streamedit.strip(buf, names)
        current = base + ".strip.mig"
        with open(current, "wb") as f:
            f.write(new_bytes)
        steps.append({"step": "strip-subsections", "tool": "samples/devices/streamedit.py", "strip": names,
                      "removed": [[d, n, b] for d, n, b in removed]})
        rows.append((current, list(steps)))
    out = base + ".const.mig"
    inserted = add_const(current, dest, rw["dest"]["qemu"], out)
    if inserted:
        steps.append({"step": "add-const", "tool": "samples/devices/add-missing-const.mjs", "inserted": inserted})
        rows.append((out, list(steps)))
    result = []
    for path, st in rows:
        new = dict(rw)
        new["id"] = rw["id"] + "".join("+" + x["step"] for x in st)
        new["kind"] = "edit"
        new["edit"] = {"of": rw["id"], "steps": st, "sha256": sha256(path)}
        new.update(real_load(env, rw, path))
        result.append(new)
    for p in (base + ".strip.mig", out):
        if os.path.exists(p):
            os.unlink(p)
    return result


def cmd_table(env, opts):
    if not os.path.exists(CLI):
        subprocess.run(["npm", "run", "build"], cwd=ROOT, check=True, stdout=sys.stderr)
    rows = [r for r in load_rows(env) if not opts.only or opts.only in r["id"]]
    for q in VERSIONS:
        env.version_line(q)
    t0 = time.monotonic()

    def one(row):
        out = dict(row)
        out.update(real_load(env, row, os.path.join(SAMPLES, row["source"])))
        log("%-8s %s" % (out["result"], row["id"]))
        return out

    with concurrent.futures.ThreadPoolExecutor(env.jobs) as ex:
        loaded = list(ex.map(one, rows))
    log("%d loads in %.0fs" % (len(loaded), time.monotonic() - t0))
    rewrites = []
    if not opts.no_rewrites:
        scratch = tempfile.mkdtemp(prefix="vmstate-devrw-")
        try:
            failed = [r for r in loaded if r["result"] != "accept" and r["destSample"] and r["dest"]["incoming"] == "exec"]

            def rw(row):
                out = rewrite_row(env, row, scratch)
                log("%-8s %s%s" % (out["result"] or "refused", out["id"], " (forced)" if out["rewrite"]["forced"] else ""))
                return out

            with concurrent.futures.ThreadPoolExecutor(env.jobs) as ex:
                rewrites = list(ex.map(rw, failed))

            def ed(row):
                out = edit_rows(env, row, scratch)
                for e in out:
                    log("%-8s %s" % (e["result"], e["id"]))
                return out

            stuck = [r for r in rewrites if r["result"] not in (None, "accept")]
            with concurrent.futures.ThreadPoolExecutor(env.jobs) as ex:
                rewrites += [e for rows in ex.map(ed, stuck) for e in rows]
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
    all_rows = loaded + rewrites
    if opts.only:
        json.dump(all_rows, sys.stdout, indent=2)
        print()
        return
    write_json(TABLE, {
        "description": "Real QEMU loads of the streams in samples/devices/ (guests that ran, with devices; see samples/devices/manifest.json). Row shape as in truth-table.json: result accept (incoming migration completed), reject (QEMU reported a failed load and exited), crash (QEMU died from a signal or an assertion while loading); stderr: QEMU's messages without the program prefix and without the machine-type deprecation warning. dest gives everything the destination was started with: -M, -cpu, -m, -smp, firmware and devices (args), exec: or file: incoming and the migration capabilities/parameters set before migrate-incoming. kind 'rewrite' rows load the output of `vmstate rewrite` (rewrite.argv; the tool as built from this tree when the table was made) of the row named by rewrite.of; rewrite.forced marks outputs written with --force after the plain rewrite refused; result null means nothing was written even with --force.",
        "qemu": {q: env.version_line(q) for q in VERSIONS},
        "destination": "-S -nodefaults -display none, TCG, plus dest.*; the destination's firmware file is its own tree's at the same path",
        "rows": all_rows,
    })
    log("wrote %s: %d rows" % (os.path.relpath(TABLE, ROOT), len(all_rows)))


def suggest_row(env, row, scratch):
    """The next step `vmstate check` offers for a failed load, run as printed and loaded."""
    d = row["dest"]
    src = os.path.join(SAMPLES, row["source"])
    dest = os.path.join(SAMPLES, row["destSample"])
    chk = cli(["check", src, "--dest", dest, "--loader", LOADER[d["qemu"]], "--json"])
    sg = json.loads(chk.stdout).get("suggestion")
    rel = lambda a: os.path.relpath(a, SAMPLES) if a.startswith(SAMPLES) else a
    new = dict(row)
    new["id"] = row["id"] + "/suggested"
    new["kind"] = "suggested"
    new["suggestion"] = {"of": row["id"], "checkExitCode": chk.returncode, "argv": None,
                         "predictedVerdict": sg["predictedVerdict"] if sg else None,
                         "reason": sg["reason"] if sg else None, "effects": sg["effects"] if sg else [],
                         "exitCode": None, "message": [], "sha256": None}
    if not sg or not sg["argv"]:
        new.update({"result": None, "exitCode": None, "signal": None, "stderr": []})
        return new
    out = os.path.join(scratch, row["id"].replace("/", "_") + ".suggested.mig")
    argv = list(sg["argv"])
    printed_out = argv[argv.index("-o") + 1]
    argv[argv.index("-o") + 1] = out
    r = cli(argv[1:])
    new["suggestion"].update({
        "argv": [rel(a) if a in (src, dest) else ("OUT" if a == printed_out else a) for a in sg["argv"]],
        "exitCode": r.returncode,
        "message": (r.stdout + r.stderr).strip().split("\n")[-4:] if r.returncode else [],
    })
    if r.returncode != 0 or not os.path.exists(out):
        new.update({"result": None, "exitCode": None, "signal": None, "stderr": []})
        return new
    new["suggestion"]["sha256"] = sha256(out)
    new.update(real_load(env, row, out))
    os.unlink(out)
    return new


def cmd_suggest(env, opts):
    if not os.path.exists(CLI):
        subprocess.run(["npm", "run", "build"], cwd=ROOT, check=True, stdout=sys.stderr)
    table = load_json(TABLE)
    failed = [r for r in table["rows"] if r["kind"] == "load" and r["result"] != "accept" and r["destSample"]
              and r["dest"]["incoming"] == "exec" and (not opts.only or opts.only in r["id"])]
    scratch = tempfile.mkdtemp(prefix="vmstate-devsg-")
    t0 = time.monotonic()
    try:
        def one(row):
            out = suggest_row(env, row, scratch)
            log("%-8s %s %s" % (out["result"] or "none", out["id"], " ".join((out["suggestion"]["argv"] or [])[9:])))
            return out

        with concurrent.futures.ThreadPoolExecutor(env.jobs) as ex:
            rows = list(ex.map(one, failed))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    log("%d suggestions in %.0fs" % (len(rows), time.monotonic() - t0))
    if opts.only:
        json.dump(rows, sys.stdout, indent=2)
        print()
        return
    table["rows"] = [r for r in table["rows"] if r["kind"] != "suggested"] + rows
    if "kind 'suggested'" not in table["description"]:
        table["description"] += (" kind 'suggested' rows load the output of the `vmstate rewrite` command that `vmstate check`"
                                 " printed as its next step for the row named by suggestion.of (suggestion.argv as printed,"
                                 " OUT for the output; predictedVerdict is what check predicted for it); result null means"
                                 " check offered no command (suggestion.reason says why) or the rewrite wrote nothing.")
    write_json(TABLE, table)
    log("wrote %s: %d rows" % (os.path.relpath(TABLE, ROOT), len(table["rows"])))


# ---------------------------------------------------------------------------------------------
# findings

def collapse(lines):
    """Lines for a table cell: runs of 11.1's per-register messages shortened to a count and keys."""
    out = []
    pat = re.compile(r"^(warning: )?handle_cpreg_(missing_in_incoming_stream|only_in_incoming_stream): system register (0x[0-9a-f]+) .*")
    i = 0
    while i < len(lines):
        m = pat.match(lines[i])
        if not m:
            out.append(lines[i])
            i += 1
            continue
        j, keys = i, []
        while j < len(lines) and pat.match(lines[j]) and pat.match(lines[j]).group(2) == m.group(2):
            keys.append(pat.match(lines[j]).group(3))
            j += 1
        what = "missing (warning)" if m.group(2).startswith("missing") else "only in the stream"
        out.append("%d× %s: %s" % (len(keys), what, " ".join(keys)) if len(keys) > 1 else lines[i])
        i = j
    return out


def text_difference(predicted_lines, real):
    """How check's "QEMU would print" differs from QEMU's stderr, in a few words."""
    if predicted_lines == real:
        return None
    if sorted(predicted_lines) == sorted(real):
        k = next(i for i, (a, b) in enumerate(zip(predicted_lines, real)) if a != b)
        return "same lines, other order: QEMU's line %d is `%s`, check's is `%s`" % (k + 1, real[k], predicted_lines[k])
    only_q = [l for l in real if l not in predicted_lines]
    only_c = [l for l in predicted_lines if l not in real]
    parts = []
    if only_q:
        parts.append("QEMU only: " + " / ".join("`%s`" % l for l in collapse(only_q)))
    if only_c:
        parts.append("check only: " + " / ".join("`%s`" % l for l in collapse(only_c)))
    if not only_q and not only_c:
        parts.append("same lines, different repetitions")
    return "; ".join(parts)


def recorded_sha256(row):
    """The SHA-256 the tables recorded for the stream a (non-load) row loaded: a suggested
    rewrite's, a rewrite's, or an edit's (hand edits and probes)."""
    if row["kind"] == "suggested":
        return row["suggestion"]["sha256"]
    return row["rewrite"]["sha256"] if row["kind"] == "rewrite" else row["edit"]["sha256"]


def materialize(row, scratch, rows_dir=None):
    """The stream a row loaded: the sample, the row's stream in rows_dir (as the tests keep them:
    VMSTATE_KEEP_ROWS=DIR npx vitest run test/devices-truth.test.ts) when it is there with the
    recorded SHA-256, or the rewrite (and edit) rebuilt with today's tool and checked against
    it. Returns (path, temporary?)."""
    if row["kind"] == "load":
        return os.path.join(SAMPLES, row["source"]), False
    name = row["id"].replace("/", "_").replace("+", "_")
    if rows_dir:
        kept = os.path.join(rows_dir, name + ".mig")
        if os.path.exists(kept) and sha256(kept) == recorded_sha256(row):
            return kept, False
    base = os.path.join(scratch, name)  # one row at a time per name
    out = base + ".rw.mig"
    if row["kind"] == "suggested":
        args = [os.path.join(SAMPLES, a) if a.startswith("devices/") else (out if a == "OUT" else a)
                for a in row["suggestion"]["argv"][2:]]
        r = cli(["rewrite"] + args)
        if not os.path.exists(out) or sha256(out) != row["suggestion"]["sha256"]:
            raise RuntimeError("%s: suggested rewrite output differs from the table: %s" % (row["id"], r.stderr.strip()[-300:]))
        return out, True
    args = [os.path.join(SAMPLES, a) if a.startswith("devices/") else (out if a == "OUT" else a)
            for a in row["rewrite"]["argv"][2:]]
    if row["rewrite"]["forced"]:
        args.append("--force")
    r = cli(["rewrite"] + args)
    if not os.path.exists(out) or sha256(out) != row["rewrite"]["sha256"]:
        raise RuntimeError("%s: rewrite output differs from the table: %s" % (row["id"], r.stderr.strip()[-300:]))
    if row["kind"] == "rewrite":
        return out, True
    for st in row["edit"]["steps"]:
        nxt = base + "." + st["step"] + ".mig"
        if st["step"] == "strip-subsections":
            with open(out, "rb") as f:
                new_bytes, _ = streamedit.strip(f.read(), st["strip"])
            with open(nxt, "wb") as f:
                f.write(new_bytes)
        else:
            add_const(out, os.path.join(SAMPLES, row["destSample"]), row["dest"]["qemu"], nxt)
        os.unlink(out)
        out = nxt
    if sha256(out) != row["edit"]["sha256"]:
        raise RuntimeError("%s: edited stream differs from the table" % row["id"])
    return out, True


OUTCOME = {"accept": "load", "reject": "refuse", "crash": "crash"}


def check_row(env, row, scratch, rows_dir=None):
    """check --json on the stream a row loaded. With `depends`, the verdict counts as QEMU's when
    QEMU's outcome is one of the ways check names, and the lines are that way's."""
    d = row["dest"]
    if row["result"] is None:
        return None
    if not row["destSample"]:
        return {"id": row["id"], "error": "no destination sample"}
    try:
        src, temporary = materialize(row, scratch, rows_dir)
    except RuntimeError as e:
        return {"id": row["id"], "error": str(e)}
    r = cli(["check", src, "--dest", os.path.join(SAMPLES, row["destSample"]), "--loader", LOADER[d["qemu"]], "--json"])
    if temporary:
        os.unlink(src)
    try:
        doc = json.loads(r.stdout)
    except ValueError:
        return {"id": row["id"], "error": "check exit %d: %s" % (r.returncode, (r.stdout + r.stderr).strip()[-300:])}
    verdict = doc["verdict"]
    ways = doc.get("alternatives") or [{"outcome": doc["outcome"], "qemuLines": doc["qemuLines"]}]
    mine = [w for w in ways if w["outcome"] == OUTCOME[row["result"]]]
    lines = next((w["qemuLines"] for w in mine if w["qemuLines"] == row["stderr"]), mine[0]["qemuLines"] if mine else doc["qemuLines"])
    real = "accept" if row["result"] == "accept" else "reject"
    return {"id": row["id"], "kind": row["kind"], "real": row["result"], "predicted": verdict,
            "verdictOk": verdict == real or (verdict == "depends" and bool(mine)), "exitCode": r.returncode, "wouldPrint": lines,
            "textOk": lines == row["stderr"], "textDifference": text_difference(lines, row["stderr"])}


ANALYSER = os.environ.get("ANALYZER", "/work/qemu-src/upstream-0002b0db/analyze-migration.py")


def analyse(path):
    """QEMU's analyser -d state on path -> (ok, sha256 of stdout or error line, stdout)."""
    r = subprocess.run(["python3", ANALYSER, "-d", "state", "-f", path], capture_output=True)
    if r.returncode != 0:
        err = [l for l in r.stderr.decode("utf-8", "replace").split("\n") if re.match(r"^\w*(Exception|Error): ", l)]
        return False, (err[0] if err else "exit %d" % r.returncode)[:200], None
    return True, hashlib.sha256(r.stdout).hexdigest(), r.stdout


def cmd_findings(env, opts):
    table = load_json(TABLE)
    rows = [r for r in table["rows"] if not opts.only or opts.only in r["id"]]
    scratch = tempfile.mkdtemp(prefix="vmstate-devcheck-")
    try:
        with concurrent.futures.ThreadPoolExecutor(env.jobs) as ex:
            checks = [c for c in ex.map(lambda r: check_row(env, r, scratch, opts.rows), rows) if c]
        dumps = []
        man = [] if opts.reuse_analyser else load_json(MANIFEST)["samples"]
        if opts.reuse_analyser:
            dumps = load_json(ANALYSER_JSON)["samples"]
        golden_dir = os.path.join(ROOT, "test", "golden", "mapped-ram")
        for e in man:
            if opts.only and opts.only not in e["file"]:
                continue
            path = os.path.join(SAMPLES, e["file"])
            ok, digest, text = analyse(path)
            d = cli(["dump", path])
            mine = hashlib.sha256(d.stdout.encode()).hexdigest() if d.returncode == 0 else None
            dumps.append({"file": e["file"], "analyser": "ok" if ok else "fails", "analyserSha256": digest if ok else None,
                          "analyserError": None if ok else digest, "dumpExit": d.returncode,
                          "dumpSha256": mine, "dumpError": None if d.returncode == 0 else d.stderr.strip()[:300],
                          "equal": ok and mine == digest})
            if ok and e["kind"] != "stream" and not opts.only:
                g = os.path.join(golden_dir, e["file"][len("devices/"):-len(".mig")] + ".state.json")
                os.makedirs(os.path.dirname(g), exist_ok=True)
                with open(g, "wb") as f:
                    f.write(text)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    if opts.only:
        json.dump({"checks": checks, "dumps": dumps}, sys.stdout, indent=2)
        print()
        return
    commit = subprocess.run(["git", "-C", ROOT, "log", "-1", "--format=%H"], capture_output=True, text=True).stdout.strip()
    write_json(BASELINE, {
        "description": "vmstate check on every row of samples/truth/devices-table.json (the stream the row loaded, --dest the row's destSample, --loader legacy for 7.2/10.0, qemu-11.1 for 11.1), by the tool as built from the commit below: its verdict and exit code, its \"QEMU would print\" lines, whether they equal QEMU's stderr (the row's stderr) line for line, and how they differ. The reference point for improvements of check; FINDINGS.md is generated from it.",
        "toolCommit": commit,
        "rows": checks,
    })
    write_json(ANALYSER_JSON, {
        "description": "QEMU's scripts/analyze-migration.py -d state on every sample of manifest.json (analyser: see samples/README.md, 'Device samples'), and vmstate dump on the same file: sha256 of each stdout, or the error.",
        "samples": dumps,
    })
    write_findings(table, checks, dumps)


def md(s):
    return str(s).replace("|", "\\|").replace("\n", " / ")


def write_findings(table, checks, dumps):
    rows = {r["id"]: r for r in table["rows"]}
    ok = [c for c in checks if "error" not in c]
    verdict_bad = [c for c in ok if not c["verdictOk"]]
    text_bad = [c for c in ok if c["verdictOk"] and not c["textOk"] and c["real"] != "accept"]
    errors = [c for c in checks if "error" in c]
    out = []
    out.append("Generated by `samples/devices/make-device-samples.py findings` (data: `check-baseline.json`,"
               " `analyser.json`) from `samples/truth/devices-table.json`, with the tool built from this tree:"
               " `vmstate check STREAM --dest DEST_SAMPLE --loader L`, L = `legacy` for 7.2/10.0 destinations,"
               " `qemu-11.1` for 11.1. \"QEMU would print\" is compared line for line with QEMU's whole stderr"
               " (warnings included, the deprecation warning and the program prefix left out, as in the table)."
               " A `depends` verdict (QEMU may load or refuse, by what memory it never initialised holds) counts as"
               " QEMU's when QEMU's outcome is one of the ways check names, and its lines are that way's.")
    out.append("")
    out.append("| rows | checked | verdict = QEMU | verdict ≠ QEMU | check failed | real failures | \"QEMU would print\" = QEMU's lines |")
    out.append("|---|---|---|---|---|---|---|")
    for kind, label in (("load", "loads"), ("rewrite", "rewrite outputs"), ("edit", "edited rewrite outputs"),
                        ("suggested", "outputs of the suggested rewrite")):
        group = [c for c in checks if rows[c["id"]]["kind"] == kind]
        g_ok = [c for c in group if "error" not in c]
        fails = [c for c in g_ok if c["real"] != "accept"]
        right = [c for c in g_ok if c["verdictOk"]]
        depends = len([c for c in right if c["predicted"] == "depends"])
        out.append("| %s | %d | %s | %d | %d | %d | %d |" % (
            label, len(group), "%d (%d `depends`)" % (len(right), depends) if depends else str(len(right)),
            len([c for c in g_ok if not c["verdictOk"]]),
            len(group) - len(g_ok), len(fails), len([c for c in fails if c["textOk"]])))
    out.append("")
    out.append("### Verdict differs from real QEMU")
    out.append("")
    if any(c["id"].endswith("/caps-none") for c in verdict_bad):
        out.append("Rows ending in `caps-none` load a mapped-ram file into a QEMU started without the mapped-ram"
                   " capability: no destination stream or profile records capabilities, so check judges the state alone.")
        out.append("")
    out.append("| row | QEMU | check | QEMU printed | check: QEMU would print |")
    out.append("|---|---|---|---|---|")
    for c in verdict_bad:
        real = rows[c["id"]]["stderr"]
        out.append("| `%s` | %s | %s | %s | %s |" % (c["id"], c["real"], c["predicted"],
                                                 md(" / ".join(collapse(real)) or "—"),
                                                 md(" / ".join(collapse(c["wouldPrint"])) or "—")))
    out.append("")
    out.append("### Verdict right, \"QEMU would print\" differs")
    out.append("")
    out.append("| row | difference |")
    out.append("|---|---|")
    for c in text_bad:
        out.append("| `%s` | %s |" % (c["id"], c["textDifference"].replace("|", "\\|")))
    if errors:
        out.append("")
        out.append("### check could not run")
        out.append("")
        out.append("| row | error |")
        out.append("|---|---|")
        for c in errors:
            out.append("| `%s` | %s |" % (c["id"], md(c["error"])))
    out.append("")
    out.append("### `vmstate dump` against QEMU's analyser (`-d state`)")
    out.append("")
    eq = [d for d in dumps if d["equal"]]
    out.append("%d samples: byte-identical output on %d; the others:" % (len(dumps), len(eq)))
    out.append("")
    out.append("| sample | analyser | vmstate dump |")
    out.append("|---|---|---|")
    for d in dumps:
        if d["equal"]:
            continue
        a = "ok" if d["analyser"] == "ok" else "fails: `%s`" % md(d["analyserError"])
        v = "exit 0, output differs" if d["dumpExit"] == 0 and d["analyser"] == "ok" else \
            ("exit 0" if d["dumpExit"] == 0 else "exit %d: `%s`" % (d["dumpExit"], md(d["dumpError"])))
        out.append("| `%s` | %s | %s |" % (d["file"], a, v))
    gen = "\n".join(out)
    with open(FINDINGS) as f:
        text = f.read()
    a, b = text.index("<!-- generated:start -->"), text.index("<!-- generated:end -->")
    text = text[:a] + "<!-- generated:start -->\n" + gen + "\n" + text[b:]
    with open(FINDINGS, "w") as f:
        f.write(text)
    log("wrote %s" % os.path.relpath(FINDINGS, ROOT))


# ---------------------------------------------------------------------------------------------
# facts for samples/README.md

README = os.path.join(SAMPLES, "README.md")


def vmdesc_facts(path):
    """cpreg count of cpu 0, vCPU count, cpu 0's subsections, other devices' subsections, devices."""
    with open(path, "rb") as f:
        f.seek(0, 2)
        size = f.tell()
        f.seek(max(0, size - (10 << 20)))
        tail = f.read()
    desc = streamedit.find_vmdesc(tail)[1]
    subs = streamedit.desc_subsections(tail)
    cpus = [d for d in desc["devices"] if d["name"] == "cpu"]
    count = next((f.get("array_len", 1) for f in cpus[0]["fields"] if f["name"] == "cpreg_vmstate_indexes"), 0)
    other = sorted({n for dev, names in subs.items() if not dev.startswith("cpu[") for n in names})
    devices = [d["name"] for d in desc["devices"] if d["name"] not in ("cpu", "cpu_common")]
    return count, len(cpus), sorted(subs["cpu[0]"]), other, devices


def cmd_facts(env, opts):
    man = load_json(MANIFEST)["samples"]
    facts = [(e, vmdesc_facts(os.path.join(SAMPLES, e["file"]))) for e in man if e["kind"] == "stream"]
    common = set.intersection(*(set(f[4]) for _, f in facts))
    out = ["Every stream has the sections %s and, per vCPU, `cpu_common` and `cpu`; the last column lists"
           " the others." % ", ".join("`%s`" % d for d in sorted(common)), "",
           "| sample | bytes | vCPUs | cpregs | cpu subsections | other subsections | other sections |",
           "|---|---|---|---|---|---|---|"]
    for e, (count, ncpu, cpu_subs, other, devices) in facts:
        out.append("| `%s` | %d | %d | %d | %s | %s | %s |" % (
            e["file"][len("devices/"):], e["bytes"], ncpu, count,
            ", ".join(n.replace("cpu/", "") for n in cpu_subs), ", ".join(other),
            ", ".join(d for d in devices if d not in common)))
    out.append("")
    out.append("Mapped-ram streams (all offsets are absolute file offsets, as QEMU writes them; a libvirt image's"
               " stream starts after libvirt's header and XML):")
    out.append("")
    out.append("| sample | stream at | capabilities | RAM section (id @ offset) | block | used_length | header @ | bitmap @ (bytes) | pages @ | pages present | RAM section ends | EOF @ | vmdesc @ (bytes) | file bytes |")
    out.append("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for e in man:
        if e["kind"] == "stream":
            continue
        lay = e["mappedRam"]
        for i, b in enumerate(lay["blocks"]):
            head = ("`%s`" % e["file"][len("devices/"):], str(lay["streamOffset"]), ", ".join(lay["capabilities"]),
                    "%d @ %d" % (lay["ramSectionId"], lay["ramSectionOffset"])) if i == 0 else ("", "", "", "")
            tail = (str(lay["ramEndOffset"]), str(lay["eofOffset"]), "%d (%d)" % (lay["vmdescOffset"], lay["vmdescBytes"]),
                    str(lay["fileBytes"])) if i == 0 else ("", "", "", "")
            out.append("| %s | %s | %s | %s | `%s` | %#x | %d | %d (%d) | %#x | %d | %s | %s | %s | %s |" % (
                head + (b["block"], b["usedLength"], b["headerOffset"], b["bitmapOffset"], b["bitmapBytes"],
                        b["pagesOffset"], b["pagesPresent"]) + tail))
    text = "\n".join(out)
    with open(README) as f:
        readme = f.read()
    a, b = readme.index("<!-- devices-facts:start -->"), readme.index("<!-- devices-facts:end -->")
    with open(README, "w") as f:
        f.write(readme[:a] + "<!-- devices-facts:start -->\n" + text + "\n" + readme[b:])
    log("wrote the facts tables into %s" % os.path.relpath(README, ROOT))


# ---------------------------------------------------------------------------------------------

def main(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("command", choices=["save", "pack", "unpack", "table", "suggest", "findings", "facts"])
    p.add_argument("--trees", default=os.environ.get("QEMU_TREES", "/work/qemu-trees"))
    p.add_argument("--jobs", type=int, default=2)
    p.add_argument("--only", default=None)
    p.add_argument("--force", action="store_true", help="save: re-save existing samples")
    p.add_argument("--to", default=None, help="unpack: target directory")
    p.add_argument("--no-rewrites", action="store_true", help="table: plain loads only")
    p.add_argument("--rows", default=None,
                   help="findings: take each row's stream from DIR where it is there with the recorded SHA-256 "
                        "(VMSTATE_KEEP_ROWS=DIR npx vitest run test/devices-truth.test.ts keeps them)")
    p.add_argument("--reuse-analyser", action="store_true",
                   help="findings: take the analyser/dump comparison from analyser.json instead of re-running it")
    opts = p.parse_args(argv)
    env = Env(opts)
    return {"save": cmd_save, "pack": cmd_pack, "unpack": cmd_unpack, "table": cmd_table, "suggest": cmd_suggest,
            "findings": cmd_findings, "facts": cmd_facts}[opts.command](env, opts) or 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
