#!/usr/bin/env python3
"""make-isolated.py — load the isolated KVM cases in real KVM and record them.

  node samples/kvm/isolated.mjs streams        (first: the case streams, into CACHE/isolated/)
  samples/kvm/make-isolated.py run [--force]   boot each destination combination of
                                               samples/kvm/isolated-cases.json and load its cases
  samples/kvm/make-isolated.py collect         write samples/truth/kvm-isolated.json

The cases and why each exists are in isolated-cases.json; the rows have the format of
samples/truth/kvm-table.json (phase "isolated"; `variant` is the case's edit, `variantSha256`
the SHA-256 of the stream QEMU loaded). Runs are kept under
CACHE/runs/l0-<L0 version>/isolated/<K_U>/. Options as make-kvm.py (--cache, --trees, --l0).
"""
import argparse
import importlib.util
import json
import os
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
_spec = importlib.util.spec_from_file_location("makekvm", os.path.join(HERE, "make-kvm.py"))
mk = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(mk)
kit = mk.kit
CASES = os.path.join(HERE, "isolated-cases.json")


def do_run(o):
    cases = json.load(open(CASES))["cases"]
    for combo in sorted({c["dest"]["combo"] for c in cases}):
        mine = [c for c in cases if c["dest"]["combo"] == combo]
        with tempfile.TemporaryDirectory(prefix="vmstate-kvm-in-") as indir:
            steps = []
            for c in mine:
                src = os.path.join(o.cache, "isolated", c["file"])
                if mk.sha256_file(src) != c["sha256"]:
                    raise SystemExit("make-isolated: %s is not the case's stream (run isolated.mjs streams)" % src)
                os.link(src, os.path.join(indir, c["file"]))
                steps.append({"id": c["id"], "op": "load", "machine": c["dest"]["machine"], "cpu": "host",
                              "bios": mk.BIOS, "in": "in/" + c["file"], "cont": 2, "case": c["id"], "sha256": c["sha256"]})
            mk.boot(o, "isolated", combo, steps, indir)


def do_collect(o):
    cases = {c["id"]: c for c in json.load(open(CASES))["cases"]}
    rows = []
    for combo in sorted({c["dest"]["combo"] for c in cases.values()}):
        r = mk.results(o, "isolated", combo)
        if r is None:
            raise SystemExit("make-isolated: no run for %s yet" % combo)
        kd, ud = combo.split("_")
        for s in r["steps"]:
            c = cases[s["case"]]
            rows.append({
                "id": c["id"], "title": c["title"], "source": c["source"], "variant": c["edit"],
                "dest": {"qemu": mk.QEMU_LABEL[ud], "kernel": mk.KERNEL_LABEL[kd], "machine": s["machine"], "cpu": "host",
                         "uname": r["env"]["uname"], "l1": mk.label(combo)},
                "destSample": c["destSample"], "result": s["result"], "exitCode": s.get("exitCode"),
                "signal": s.get("signal"), "stderr": mk.clean(s.get("stderr", [])), "afterCont": s.get("afterCont"),
                "phase": "isolated", "variantSha256": c["sha256"],
            })
    rows.sort(key=lambda x: list(cases).index(x["id"]))
    table = {
        "description": "Isolated real KVM loads (samples/kvm/isolated-cases.json): each a committed KVM stream with one "
                       "edit, loaded as in samples/truth/kvm-table.json (same L0, L1 hosts, destination command line; "
                       "stderr without the program prefix and the machine-type deprecation warning).",
        "rows": rows,
    }
    p = os.path.join(ROOT, "samples", "truth", "kvm-isolated.json")
    with open(p + ".part", "w") as f:
        json.dump(table, f, indent=1)
        f.write("\n")
    os.replace(p + ".part", p)
    print("make-isolated: %d rows -> %s" % (len(rows), p), file=sys.stderr)


def main(argv):
    p = argparse.ArgumentParser(description="isolated real-KVM loads (see the module docstring)")
    p.add_argument("cmd", choices=("run", "collect"))
    p.add_argument("--cache", default=kit.DEFAULT_CACHE)
    p.add_argument("--trees", default=kit.DEFAULT_TREES)
    p.add_argument("--l0", default="sid", choices=("sid", "trixie", "host"))
    p.add_argument("--force", action="store_true")
    o = p.parse_args(argv)
    o.l0label = kit.short_version(kit.l0_version(o.l0, o.trees))
    try:
        {"run": do_run, "collect": do_collect}[o.cmd](o)
    except kit.KitError as e:
        print("make-isolated: %s" % e, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
