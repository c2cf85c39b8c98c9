#!/usr/bin/env python3
"""Load one stream of samples/truth/devices-table.json (or device-probes.json) into its real destination again and
again, and record every outcome in samples/truth/repeat-loads.json.

A table row is one load. Where a TCG destination raw-writes a register the stream lacks from a
value slot it never filled, the outcome depends on what that memory holds, and that can differ
between starts of the same QEMU with the same command line. This records how often each way
happened, with QEMU's lines, so the tests can hold `vmstate check` to all of them.

    samples/devices/repeat-loads.py ROW_ID FILE [--times N] [--busy N] [--trees DIR]

FILE is the stream the row loaded (its SHA-256 must be the row's): a `load` row's sample (from
`make-device-samples.py unpack`), a `suggested` row's printed command run with `--force`, or
any row's stream as rebuilt by the tests (`VMSTATE_KEEP_ROWS=DIR npx vitest run
test/devices-truth.test.ts` keeps them in DIR, named after the row). About 10 s per load.
--busy N keeps N processes spinning on the CPUs while QEMU starts, as on a loaded host: which
memory a vCPU's slot array lands in is decided by a race between QEMU's threads (on two CPUs,
QEMU 10.0.13 `-cpu max,secure=on` put vCPU 1's array in fresh memory in none of 10 idle starts
and in 4 of 12 busy ones). Needs root (chroot) for 10.0 and 11.1.
"""

import argparse
import collections
import importlib.util
import json
import os
import subprocess
import sys
import types

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(os.path.dirname(HERE), "truth", "repeat-loads.json")

_spec = importlib.util.spec_from_file_location("make_device_samples", os.path.join(HERE, "make-device-samples.py"))
mds = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(mds)


def row_sha256(row):
    """The SHA-256 of the stream a row loaded."""
    if row["kind"] == "load":
        man = {e["file"]: e for e in mds.load_json(mds.MANIFEST)["samples"]}
        return man[row["source"]]["sha256"]
    return mds.recorded_sha256(row)


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("row")
    ap.add_argument("file")
    ap.add_argument("--times", type=int, default=8)
    ap.add_argument("--busy", type=int, default=0)
    ap.add_argument("--trees", default=os.environ.get("QEMU_TREES", "/work/qemu-trees"))
    a = ap.parse_args(argv)
    env = mds.Env(types.SimpleNamespace(trees=a.trees, jobs=1))
    probes = os.path.join(os.path.dirname(HERE), "truth", "device-probes.json")
    rows = {r["id"]: r for r in mds.load_json(mds.TABLE)["rows"] + mds.load_json(probes)["rows"]}
    row = rows.get(a.row)
    if row is None or row["result"] is None:
        raise SystemExit("%s: no loaded row of that id" % a.row)
    want = row_sha256(row)
    if mds.sha256(a.file) != want:
        raise SystemExit("%s: %s is not the stream the row loaded (SHA-256 %s)" % (a.row, a.file, want))
    ways = collections.OrderedDict()
    spinners = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(a.busy)]
    try:
        for i in range(a.times):
            res = mds.real_load(env, row, a.file)
            key = json.dumps([res["result"], res["stderr"]])
            ways[key] = ways.get(key, 0) + 1
            print("%s: load %d: %s" % (a.row, i + 1, res["result"]), file=sys.stderr, flush=True)
    finally:
        for p in spinners:
            p.kill()
            p.wait()
    record = {
        "id": a.row,
        "sha256": want,
        "qemu": env.version_line(row["dest"]["qemu"]),
        "times": a.times,
        "busy": a.busy,
        "cpus": os.cpu_count(),
        "ways": [{"result": json.loads(k)[0], "stderr": json.loads(k)[1], "count": n} for k, n in ways.items()],
    }
    data = mds.load_json(OUT) if os.path.exists(OUT) else {
        "description": "The same stream of samples/truth/devices-table.json loaded into its real destination "
                       "several times (samples/devices/repeat-loads.py): each way the loads ended, with QEMU's "
                       "lines and how often, idle and with --busy spinning processes.",
        "rows": [],
    }
    same = lambda r: (r["id"], r["busy"]) == (a.row, a.busy)
    data["rows"] = sorted([r for r in data["rows"] if not same(r)] + [record], key=lambda r: (r["id"], r["busy"]))
    mds.write_json(OUT, data)
    print("%s: %s" % (a.row, ", ".join("%s %d" % (w["result"], w["count"]) for w in record["ways"])), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
