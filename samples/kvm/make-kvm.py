#!/usr/bin/env python3
"""make-kvm.py — the real-KVM sample set and load table, made with the nested kit (kit.py).

  samples/kvm/make-kvm.py saves  [--combo K_U]...   boot every kernel × QEMU userspace, save the
                                                    streams, load each back into its own host
  samples/kvm/make-kvm.py loads  [--combo K_U]...   boot every combination again and load the
                                                    other combinations' streams (the plan below)
  samples/kvm/make-kvm.py rewrites [--round N] [--combo K_U]...
                                                    load the streams rewritten by the tool
                                                    (evaluate.mjs rewrites / rewrites2 / suggested /
                                                    classes: the lists rewrite-cases.json (round 1),
                                                    rewrite-cases-N.json, streams in CACHE/rewrites or
                                                    CACHE/rewritesN) into their real destinations
  samples/kvm/make-kvm.py collect-round --round N   add the loads of round N's rewrites (rewrite-cases-N.json,
                                                    loaded by `rewrites --round N`) to samples/truth/kvm-table.json,
                                                    replacing that round's rows; needs only the committed l1.json files
  samples/kvm/make-kvm.py collect                   write the streams, l1.json files and
                                                    samples/truth/kvm-table.json into the repository
  samples/kvm/make-kvm.py row STREAM --kernel R --userspace R --machine M [--cpu host]
                                                    load one stream in one L1 and print the outcome
Common options: --cache DIR (default $KVM_CACHE or /work/kvm-cache), --trees DIR, --l0 sid|trixie|host
(default sid = QEMU 11.1), --force (redo a combination that already has results).

A combination K_U is a kernel release and a userspace release of Debian: bookworm (kernel 6.1,
QEMU 7.2), trixie (6.12, 10.0), sid (7.2, 11.1); e.g. `trixie_bookworm` = kernel 6.12 running
QEMU 7.2. Every combination's run is kept under CACHE/runs/l0-<L0 version>/<phase>/<K_U>/ (kit.py's
output: results.json, console.log, streams/), so an interrupted matrix resumes where it stopped.

Saves (per combination, L2 = `-accel kvm -cpu host -m 64 -smp 1`, firmware u-boot-qemu's
qemu_arm64 u-boot.bin; "ran": `cont`, 3 s, `stop`, then migrate):
  virt-7.2_host_gic3         -M virt-7.2,gic-version=3, ran
  virt-7.2_host_gichost      -M virt-7.2,gic-version=host, ran
  virt-N_host_gic3           -M virt,gic-version=3 (the QEMU's own machine type, N = 10.0 or 11.1;
                             on 7.2 `virt` is virt-7.2 itself), ran
  virt-7.2_host_gic3_paused  -M virt-7.2,gic-version=3, never ran
Loads: every stream into its own host (saves phase); then per destination combination
(loads phase): the virt-7.2_host_gic3 stream of every other combination (same QEMU on the other
kernels, and every other QEMU on every kernel), and the native stream of the same QEMU on the other
kernels. (gic-version=host is GICv3 under this L0; its streams are only loaded into their own host.) The destination runs with the source's -M (and gic-version), -cpu host
and the same firmware; an accepted guest is resumed for 2 s (`afterCont`).
"""
import argparse
import hashlib
import json
import lzma
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
import kit  # noqa: E402

RELEASES = ("bookworm", "trixie", "sid")
KERNEL_LABEL = {"bookworm": "6.1", "trixie": "6.12", "sid": "7.2"}
QEMU_LABEL = {"bookworm": "7.2", "trixie": "10.0", "sid": "11.1"}
BIOS = "/usr/lib/u-boot/qemu_arm64/u-boot.bin"
SAVES = [  # name, -M (virt = the version's own type), ran seconds
    ("virt-7.2_host_gic3", "virt-7.2,gic-version=3", 3),
    ("virt-7.2_host_gichost", "virt-7.2,gic-version=host", 3),
    ("native_host_gic3", "virt,gic-version=3", 3),
    ("virt-7.2_host_gic3_paused", "virt-7.2,gic-version=3", 0),
]
DEPRECATED = "is deprecated: machines more than"
PREFIX = "qemu-system-aarch64: "


def combos(selected):
    all_ = ["%s_%s" % (k, u) for k in RELEASES for u in RELEASES]
    for c in selected or []:
        if c not in all_:
            raise SystemExit("make-kvm: unknown combination %s (one of %s)" % (c, " ".join(all_)))
    return selected or all_


def label(combo):
    k, u = combo.split("_")
    return "k%s_q%s" % (KERNEL_LABEL[k], QEMU_LABEL[u])


def stream_name(name, u):
    return name.replace("native", "virt-" + QEMU_LABEL[u])


def saves_for(u):
    """The saves of userspace `u`: QEMU 7.2's own machine type is virt-7.2, so it has no native save."""
    return [s for s in SAVES if not (s[0].startswith("native") and QEMU_LABEL[u] == "7.2")]


def machine_of(name):
    """-M for a committed stream name (virt-X.Y_host_gicZ[_paused])."""
    mt, _, gic = name.split("_")[:3]
    return "%s,gic-version=%s" % (mt, gic[3:])


def run_dir(o, phase, combo):
    return os.path.join(o.cache, "runs", "l0-" + o.l0label, phase, combo)


def stream_path(o, combo, name):
    """The saved stream (uncompressed, in the run directory of the saves phase)."""
    return os.path.join(run_dir(o, "saves", combo), "streams", stream_name(name, combo.split("_")[1]) + ".mig")


def boot(o, phase, combo, steps, indir=None):
    out = run_dir(o, phase, combo)
    if os.path.isfile(os.path.join(out, "run.json")) and not o.force:
        print("make-kvm: %s %s already done (%s)" % (phase, combo, out), file=sys.stderr)
        return
    if os.path.exists(out):
        shutil.rmtree(out)
    k, u = combo.split("_")
    manifest = {"defaults": {"mem": 64, "smp": 1, "accel": "kvm", "timeout": 240}, "steps": steps}
    kit.run(k, u, manifest, indir, out, o.l0, o.cache, o.trees, timeout=3600)


def do_saves(o):
    for c in combos(o.combo):
        u = c.split("_")[1]
        steps = []
        for name, machine, ran in saves_for(u):
            n = stream_name(name, u)
            steps.append({"id": "save/%s" % n, "op": "save", "machine": machine, "cpu": "host", "bios": BIOS,
                          "run": ran, "out": n + ".mig"})
        for name, machine, ran in saves_for(u):
            n = stream_name(name, u)
            steps.append({"id": "load/%s/%s" % (c, n), "op": "load", "machine": machine, "cpu": "host",
                          "bios": BIOS, "in": "out:%s.mig" % n, "cont": 2, "source": [c, n]})
        boot(o, "saves", c, steps)


def load_plan(dest):
    """(source combination, stream name) pairs loaded into `dest` in the loads phase."""
    kd, ud = dest.split("_")
    plan = []
    for ks in RELEASES:
        for us in RELEASES:
            src = "%s_%s" % (ks, us)
            if src != dest:
                plan.append((src, "virt-7.2_host_gic3"))
    for ks in RELEASES:
        if ks != kd:
            src = "%s_%s" % (ks, ud)
            if QEMU_LABEL[ud] != "7.2":
                plan.append((src, stream_name("native_host_gic3", ud)))
    return plan


def do_loads(o):
    for c in combos(o.combo):
        with tempfile.TemporaryDirectory(prefix="vmstate-kvm-in-") as indir:
            steps = []
            for src, n in load_plan(c):
                p = stream_path(o, src, n)
                if not os.path.isfile(p):
                    raise SystemExit("make-kvm: %s has no saved stream %s (run the saves phase)" % (src, n))
                f = "%s__%s.mig" % (src, n)
                os.link(p, os.path.join(indir, f))
                steps.append({"id": "load/%s/%s" % (src, n), "op": "load", "machine": machine_of(n), "cpu": "host",
                              "bios": BIOS, "in": "in/" + f, "cont": 2, "source": [src, n]})
            boot(o, "loads", c, steps, indir)


def cases_file(o, rnd):
    return o.cases if rnd == 1 else o.cases.replace(".json", "-%d.json" % rnd)


def do_rewrites(o):
    cases = json.load(open(cases_file(o, o.round)))
    phase = "rewrites" if o.round == 1 else "rewrites%d" % o.round
    for c in combos(o.combo):
        mine = [x for x in cases["cases"] if x["dest"]["combo"] == c and x["file"]]
        if not mine:
            continue
        with tempfile.TemporaryDirectory(prefix="vmstate-kvm-in-") as indir:
            steps = []
            for x in mine:
                f = x["file"]
                os.link(os.path.join(o.cache, phase, f), os.path.join(indir, f))
                steps.append({"id": x["id"], "op": "load", "machine": x["dest"]["machine"], "cpu": "host",
                              "bios": BIOS, "in": "in/" + f, "cont": 2, "case": x["id"]})
            boot(o, phase, c, steps, indir)


def clean(lines):
    out = []
    for l in lines:
        if DEPRECATED in l:
            continue
        out.append(l[len(PREFIX):] if l.startswith(PREFIX) else l)
    return out


def do_row(o):
    with tempfile.TemporaryDirectory(prefix="vmstate-kvm-row-") as work:
        indir = os.path.join(work, "in")
        os.makedirs(indir)
        src = o.stream
        f = os.path.basename(src)
        if f.endswith(".xz"):
            f = f[:-3]
            with lzma.open(src) as a, open(os.path.join(indir, f), "wb") as b:
                shutil.copyfileobj(a, b)
        else:
            shutil.copyfile(src, os.path.join(indir, f))
        step = {"id": "row", "op": "load", "machine": o.machine, "cpu": o.cpu, "bios": BIOS, "in": "in/" + f,
                "cont": 2}
        manifest = {"defaults": {"mem": 64, "smp": 1, "accel": "kvm", "timeout": 240}, "steps": [step]}
        res = kit.run(o.kernel, o.userspace, manifest, indir, os.path.join(work, "out"), o.l0, o.cache, o.trees)
        s = res["steps"][0]
        print(json.dumps({"kernel": res["env"]["uname"], "qemu": res["env"]["qemuVersion"], "result": s["result"],
                          "exitCode": s.get("exitCode"), "signal": s.get("signal"), "afterCont": s.get("afterCont"),
                          "stderr": clean(s.get("stderr", []))}, indent=1))
    return 0


# --------------------------------------------------------------------------- collect
def sha256_file(p):
    h = hashlib.sha256()
    with open(p, "rb") as f:
        for b in iter(lambda: f.read(1 << 20), b""):
            h.update(b)
    return h.hexdigest()


def results(o, phase, combo):
    p = os.path.join(run_dir(o, phase, combo), "results.json")
    if not os.path.isfile(p):
        return None
    r = json.load(open(p))
    r["run"] = json.load(open(os.path.join(run_dir(o, phase, combo), "run.json")))
    return r


def row_of(o, phase, dest, step, envs, sample_of):
    src, n = step["source"]
    ks, us = src.split("_")
    kd, ud = dest.split("_")
    same = src == dest
    if same:
        title = "stream loaded back into its own host (same kernel, QEMU, -M)"
    elif us == ud:
        title = "kernel %s → %s, same QEMU %s" % (KERNEL_LABEL[ks], KERNEL_LABEL[kd], QEMU_LABEL[ud])
    else:
        title = "QEMU %s → %s, kernel %s → %s" % (QEMU_LABEL[us], QEMU_LABEL[ud], KERNEL_LABEL[ks], KERNEL_LABEL[kd])
    dest_name = n if us == ud else stream_name("virt-7.2_host_gic3", ud)
    return {
        "id": "%s/%s/%s" % (label(dest), label(src), n),
        "case": "%s/%s" % (label(src), n),
        "title": title,
        "source": sample_of(src, n),
        "variant": None,
        "dest": {"qemu": QEMU_LABEL[ud], "kernel": KERNEL_LABEL[kd], "machine": step["machine"], "cpu": "host",
                 "uname": envs[dest]["uname"], "l1": label(dest)},
        "destSample": sample_of(dest, dest_name),
        "result": step["result"],
        "exitCode": step.get("exitCode"),
        "signal": step.get("signal"),
        "stderr": clean(step.get("stderr", [])),
        "afterCont": step.get("afterCont"),
        "phase": phase,
    }


def do_collect(o):
    outroot = os.path.join(HERE, "l0-" + o.l0label)
    envs, table_rows = {}, []
    all_c = combos(None)

    def sample_of(combo, n):
        return "kvm/l0-%s/%s/%s.mig.xz" % (o.l0label, label(combo), n)

    for c in all_c:
        r = results(o, "saves", c)
        if r is None:
            print("make-kvm: no saves for %s yet" % c, file=sys.stderr)
            continue
        envs[c] = r["env"]
        d = os.path.join(outroot, label(c))
        os.makedirs(d, exist_ok=True)
        saves = []
        # a stream saved twice under one name (QEMU 7.2's `-M virt` is virt-7.2 itself, in runs made
        # before saves_for() existed): the file is the last save's, so the last record describes it
        save_steps = [s for s in r["steps"] if s["op"] == "save"]
        save_steps = [s for i, s in enumerate(save_steps) if s["out"] not in [t["out"] for t in save_steps[i + 1:]]]
        for s in save_steps:
            if s["result"] != "ok":
                raise SystemExit("make-kvm: save %s in %s failed: %s" % (s["id"], c, s.get("reason")))
            src = os.path.join(run_dir(o, "saves", c), s["file"])
            dst = os.path.join(d, os.path.basename(src) + ".xz")
            if not (os.path.isfile(dst) and lzma.open(dst).read() == open(src, "rb").read()):
                subprocess.run(["xz", "-9", "-e", "-T1", "-c", src], stdout=open(dst + ".part", "wb"), check=True)
                os.replace(dst + ".part", dst)
            saves.append({"stream": os.path.basename(dst), "machine": s["machine"], "cpu": s["cpu"], "bios": s["bios"],
                          "ran": s["run"], "bytes": s["size"], "sha256": s["sha256"],
                          "queryKvm": s.get("queryKvm"), "stderr": clean(s["stderr"]), "seconds": s["elapsed"]})
        env = dict(r["env"])
        meta = {"l0": r["run"]["l0Version"], "l0Argv": r["run"]["l0Argv"],
                "kernelPackages": open(os.path.join(o.cache, c.split("_")[0], "kernel", "packages.txt")).read().split("\n")[:-1],
                "uname": env["uname"], "unameVersion": env["unameVersion"], "qemuVersion": env["qemuVersion"][0],
                "cpuFeatures": env["cpuFeatures"], "kvmDmesg": env["kvmDmesg"],
                "bootAndJobSeconds": r["run"]["elapsedSeconds"], "saves": saves}
        with open(os.path.join(d, "l1.json"), "w") as f:
            json.dump(meta, f, indent=1)
            f.write("\n")
        for s in r["steps"]:
            if s["op"] == "load":
                table_rows.append(row_of(o, "saves", c, s, envs, sample_of))
    for phase in ("loads", "rewrites", "rewrites2"):
        for c in all_c:
            r = results(o, phase, c)
            if r is None or c not in envs:
                continue
            for s in r["steps"]:
                if phase == "loads":
                    table_rows.append(row_of(o, phase, c, s, envs, sample_of))
                else:
                    table_rows.append(rewrite_row(o, c, s, envs, 1 if phase == "rewrites" else 2))
    seen = set()
    table_rows = [x for x in table_rows if not (x["id"] in seen or seen.add(x["id"]))]
    table = {
        "description": "Real KVM load outcomes: streams saved by QEMU under KVM on one L1 host (kernel × QEMU) "
                       "loaded into QEMU under KVM on another, nested under a TCG L0. result: accept (incoming "
                       "migration completed and QEMU still alive), reject (QEMU reported the failure and exited), "
                       "crash (killed by a signal). stderr: QEMU's messages without the program prefix and without "
                       "the machine-type deprecation warning. afterCont: run state 2 s after `cont` of an accepted "
                       "guest.",
        "l0": "QEMU %s TCG, -M virt,virtualization=on,gic-version=3 -cpu max" % o.l0label,
        "l1": {label(c): {"uname": envs[c]["uname"], "qemu": envs[c]["qemuVersion"][0]} for c in all_c if c in envs},
        "destination": "-accel kvm -cpu host -m 64 -smp 1 -S -nodefaults -display none -bios u-boot.bin "
                       "(qemu_arm64) -incoming \"exec:cat FILE\"",
        "rows": table_rows,
    }
    p = os.path.join(ROOT, "samples", "truth", "kvm-table.json")
    with open(p + ".part", "w") as f:
        json.dump(table, f, indent=1)
        f.write("\n")
    os.replace(p + ".part", p)
    print("make-kvm: %d rows -> %s" % (len(table_rows), p), file=sys.stderr)


def do_collect_round(o):
    """Round N's loads into the committed table (uname from the committed l1.json files)."""
    phase = "rewrites%d" % o.round
    envs = {}
    for c in combos(None):
        p = os.path.join(HERE, "l0-" + o.l0label, label(c), "l1.json")
        if os.path.isfile(p):
            envs[c] = {"uname": json.load(open(p))["uname"]}
    new = []
    for c in combos(None):
        r = results(o, phase, c)
        if r is None:
            continue
        for s in r["steps"]:
            new.append(rewrite_row(o, c, s, envs, o.round))
    # cases with no command to load (the check offered none, or the rewrite refused) are rows too
    loaded = {x["id"] for x in new}
    for case in json.load(open(cases_file(o, o.round)))["cases"]:
        if case["id"] in loaded:
            continue
        kd, ud = case["dest"]["combo"].split("_")
        new.append({"id": case["id"], "case": case["case"], "title": case["title"], "source": case["source"],
                    "variant": case["variant"], "dest": {k: v for k, v in case["dest"].items() if k != "combo"},
                    "destSample": case["destSample"], "result": None, "exitCode": None, "signal": None, "stderr": [],
                    "afterCont": None, "phase": "rewrites", "round": o.round, "variantSha256": None})
    p = os.path.join(ROOT, "samples", "truth", "kvm-table.json")
    table = json.load(open(p))
    table["rows"] = [x for x in table["rows"] if not (x["phase"] == "rewrites" and x.get("round", 1) == o.round)] + new
    with open(p + ".part", "w") as f:
        json.dump(table, f, indent=1)
        f.write("\n")
    os.replace(p + ".part", p)
    print("make-kvm: %d round-%d rows -> %s" % (len(new), o.round, p), file=sys.stderr)


def rewrite_row(o, dest, step, envs, rnd):
    case = next(x for x in json.load(open(cases_file(o, rnd)))["cases"] if x["id"] == step["case"])
    kd, ud = dest.split("_")
    return {
        "id": case["id"],
        "case": case["case"],
        "title": case["title"],
        "source": case["source"],
        "variant": case["variant"],
        "dest": {"qemu": QEMU_LABEL[ud], "kernel": KERNEL_LABEL[kd], "machine": step["machine"], "cpu": "host",
                 "uname": envs[dest]["uname"], "l1": label(dest)},
        "destSample": case["destSample"],
        "result": step["result"],
        "exitCode": step.get("exitCode"),
        "signal": step.get("signal"),
        "stderr": clean(step.get("stderr", [])),
        "afterCont": step.get("afterCont"),
        "phase": "rewrites",
        "round": rnd,
        "variantSha256": step.get("sha256"),
    }


def main(argv):
    p = argparse.ArgumentParser(description="real-KVM samples and load table (see the module docstring)")
    sub = p.add_subparsers(dest="cmd", required=True)
    for name in ("saves", "loads", "rewrites", "collect", "collect-round", "row"):
        s = sub.add_parser(name)
        s.add_argument("--cache", default=kit.DEFAULT_CACHE)
        s.add_argument("--trees", default=kit.DEFAULT_TREES)
        s.add_argument("--l0", default="sid", choices=("sid", "trixie", "host"))
        s.add_argument("--force", action="store_true")
        if name in ("saves", "loads", "rewrites"):
            s.add_argument("--combo", action="append")
        if name in ("rewrites", "collect-round"):
            s.add_argument("--round", type=int, default=1, help="N: rewrite-cases.json (1) or rewrite-cases-N.json")
        if name in ("rewrites", "collect", "collect-round"):
            s.add_argument("cases", nargs="?",
                           default=os.path.join(HERE, "rewrite-cases.json"))
        if name == "row":
            s.add_argument("stream")
            s.add_argument("--kernel", required=True, choices=RELEASES)
            s.add_argument("--userspace", required=True, choices=RELEASES)
            s.add_argument("--machine", required=True)
            s.add_argument("--cpu", default="host")
    o = p.parse_args(argv)
    o.l0label = kit.short_version(kit.l0_version(o.l0, o.trees))
    try:
        {"saves": do_saves, "loads": do_loads, "rewrites": do_rewrites, "collect": do_collect,
         "collect-round": do_collect_round, "row": do_row}[o.cmd](o)
    except kit.KitError as e:
        print("make-kvm: %s" % e, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
