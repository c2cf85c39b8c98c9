#!/usr/bin/env python3
"""l1-job.py JOBDIR OUTDIR — run a job manifest inside the L1 guest (KVM host) of the nested kit.

JOBDIR/manifest.json:
  {"defaults": {"mem": 64, "smp": 1, "accel": "kvm", "timeout": 180},
   "steps": [
     {"id": "...", "op": "save", "machine": "virt-7.2,gic-version=3", "cpu": "host",
      "bios": "/usr/lib/u-boot/qemu_arm64/u-boot.bin", "run": 3, "out": "NAME.mig", "args": []},
     {"id": "...", "op": "load", "machine": "...", "cpu": "host", "bios": "...",
      "in": "in/FILE.mig" | "out:NAME.mig", "cont": 2, "args": []},
     {"id": "...", "op": "exec", "argv": ["..."], "timeout": 60, "collect": ["/path", ...]}]}

save: start QEMU paused (-S), `cont`, run `run` seconds, `stop` (run 0: never started), then
      migrate to exec:cat > OUTDIR/streams/NAME and quit. Records query-kvm, status, stderr,
      size, sha256.
load: start QEMU with -incoming "exec:cat FILE" and poll query-migrate. The result is
      accept  -- status `completed` and QEMU still alive a second later,
      reject  -- QEMU reported the failure (query-migrate `failed`, or it exited after a
                 load-failure message, e.g. 11.1's `Failed to put registers after init`),
      crash   -- QEMU died from a signal while loading,
      error   -- not a verdict about the stream (QEMU did not start, timeout).
      With "cont": N an accepted guest is also resumed for N seconds and its run state recorded.
exec: run a command (e.g. `vmstate profile --host`), record exit code and output; files listed
      in "collect" are copied into OUTDIR/files/.

OUTDIR/results.json (rewritten after every step) holds the environment (uname -r, QEMU
--version, /dev/kvm, the CPU features) and one record per step, with QEMU's stderr verbatim.
"""
import hashlib
import importlib.util
import json
import os
import shlex
import shutil
import socket
import subprocess
import sys
import time
from types import SimpleNamespace

HERE = os.path.dirname(os.path.abspath(__file__))
_spec = importlib.util.spec_from_file_location("qmpsave", os.path.join(HERE, "qmp-save.py"))
qmpsave = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(qmpsave)
HarnessError = qmpsave.HarnessError

QEMU = "qemu-system-aarch64"
# lines that mean QEMU refused the incoming stream (as opposed to failing to start)
LOAD_MARKERS = ("load of migration failed", "Failed to put registers", "error while loading state",
                "Failed to load", "post load hook failed", "Machine type received",
                "incoming stream", "Invalid value")


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def sh(argv, timeout=30):
    try:
        p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=timeout)
        return p.stdout.decode("utf-8", "replace")
    except (OSError, subprocess.TimeoutExpired) as e:
        return "(%s)" % e


def environment():
    feats = ""
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("Features"):
                feats = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    dmesg = [l for l in sh(["dmesg"]).splitlines() if "kvm" in l.lower()]
    return {
        "uname": os.uname().release,
        "unameVersion": os.uname().version,
        "cmdline": open("/proc/cmdline").read().strip(),
        "qemuVersion": sh([QEMU, "--version"]).splitlines()[0:1],
        "devKvm": os.path.exists("/dev/kvm"),
        "cpuFeatures": feats,
        "kvmDmesg": dmesg,
    }


def qemu_for(step, defaults):
    opts = SimpleNamespace(machine=step["machine"], cpu=step.get("cpu", "host"),
                           mem=str(step.get("mem", defaults.get("mem", 64))),
                           smp=str(step.get("smp", defaults.get("smp", 1))),
                           chroot=None, qemu=QEMU)
    extra = ["-accel", step.get("accel", defaults.get("accel", "kvm"))]
    if step.get("bios"):
        extra += ["-bios", step["bios"]]
    extra += list(step.get("args", []))
    q = qmpsave.Qemu(opts, extra)
    return q


def do_save(step, defaults, outdir):
    deadline = time.monotonic() + step.get("timeout", defaults.get("timeout", 180))
    rec = {"result": "error", "stderr": []}
    q = qemu_for(step, defaults)
    qmp = None
    try:
        sock = q.start([])
        rec["argv"] = q.argv
        qmp = q.connect(sock, deadline)
        if qmp is None:
            raise HarnessError("QEMU exited (rc=%s) before QMP was reachable" % q.proc.returncode)
        rec["queryKvm"] = qmp.cmd("query-kvm")
        run = float(step.get("run", 0))
        if run > 0:
            qmp.cmd("cont")
            time.sleep(run)
            rec["statusBeforeStop"] = qmp.cmd("query-status").get("status")
            qmp.cmd("stop")
        rec["status"] = qmp.cmd("query-status").get("status")
        tmp = q.scratch_file("stream.mig")
        qmp.cmd("migrate", {"uri": "exec:cat > %s" % shlex.quote(tmp)})
        while True:
            info = qmp.cmd("query-migrate")
            st = info.get("status")
            if st == "completed":
                break
            if st in ("failed", "cancelled"):
                raise HarnessError("migration %s: %s" % (st, info.get("error-desc", "")))
            if time.monotonic() > deadline:
                raise HarnessError("timeout: migration status %r" % st)
            time.sleep(0.1)
        try:
            qmp.cmd("quit")
        except (ConnectionError, OSError):
            pass
        qmp.close()
        qmp = None
        if q.wait(deadline - time.monotonic() + 10) is None:
            raise HarnessError("QEMU did not exit after quit")
        with open(tmp, "rb") as f:
            if f.read(4) != b"QEVM":
                raise HarnessError("output does not start with QEVM")
        dest = os.path.join(outdir, "streams", step["out"])
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        shutil.move(tmp, dest)
        rec.update(result="ok", file="streams/" + step["out"], size=os.path.getsize(dest),
                   sha256=sha256(dest))
    except (HarnessError, OSError, socket.timeout) as e:
        rec["reason"] = str(e)
    finally:
        if qmp:
            qmp.close()
        q.kill()
        rec["stderr"] = q.stderr_lines()
        q.cleanup()
    return rec


def do_load(step, defaults, jobdir, outdir):
    deadline = time.monotonic() + step.get("timeout", defaults.get("timeout", 180))
    src = step["in"]
    path = os.path.join(outdir, "streams", src[4:]) if src.startswith("out:") else os.path.join(jobdir, src)
    rec = {"result": "error", "exitCode": None, "signal": None, "status": None, "stderr": []}
    if not os.path.isfile(path):
        rec["reason"] = "no such stream: %s" % src
        return rec
    rec["sha256"] = sha256(path)
    q = qemu_for(step, defaults)
    qmp = None
    connected = False
    try:
        sock = q.start(["-incoming", "exec:cat %s" % shlex.quote(path)])
        rec["argv"] = q.argv
        try:
            qmp = q.connect(sock, deadline)
        except HarnessError:
            if q.proc.poll() is None:
                raise
        connected = qmp is not None
        completed = False
        while q.proc.poll() is None:
            if qmp is not None:
                try:
                    info = qmp.cmd("query-migrate")
                    rec["status"] = info.get("status")
                    if rec["status"] == "completed":
                        completed = True
                        break
                    if rec["status"] == "failed":
                        rec["result"] = "reject"
                        rec["reason"] = info.get("error-desc", "")
                        break
                except (ConnectionError, OSError, socket.timeout):
                    qmp.close()
                    qmp = None
                    q.wait(5)
                    continue
            if time.monotonic() > deadline:
                rec["reason"] = "timeout, QEMU killed"
                break
            time.sleep(0.05)
        if completed:
            # 11.1 and later put the registers after the stream is read: give a failure time to show
            if q.wait(1.0) is None:
                rec["result"] = "accept"
                rec["vmStatus"] = qmp.cmd("query-status").get("status")
                cont = float(step.get("cont", 0))
                if cont > 0:
                    try:
                        qmp.cmd("cont")
                        time.sleep(cont)
                        rec["afterCont"] = qmp.cmd("query-status").get("status")
                    except (ConnectionError, OSError, socket.timeout, HarnessError) as e:
                        rec["afterCont"] = "QEMU died after cont (%s)" % e
                try:
                    qmp.cmd("quit")
                except (ConnectionError, OSError, socket.timeout, HarnessError):
                    pass
                q.wait(10)
        rc = q.proc.poll()
        if rc is None and rec["result"] != "accept":
            q.kill()
            rc = q.proc.poll()
        if rc is not None and rc < 0:
            rec["signal"] = -rc
        elif rc is not None:
            rec["exitCode"] = rc
        if rec["result"] == "error" and "reason" not in rec:
            lines = q.stderr_lines()
            if rc is not None and rc < 0 and not rec.get("afterCont"):
                rec["result"] = "crash"
            elif rc is not None and (connected or any(m in l for l in lines for m in LOAD_MARKERS)):
                rec["result"] = "reject"
            else:
                rec["reason"] = "QEMU exited with status %s without a load-failure message" % rc
    except (HarnessError, OSError, socket.timeout) as e:
        rec["result"] = "error"
        rec["reason"] = str(e)
    finally:
        if qmp:
            qmp.close()
        q.kill()
        rec["stderr"] = q.stderr_lines()
        q.cleanup()
    return rec


def do_exec(step, outdir):
    rec = {}
    try:
        p = subprocess.run(step["argv"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=step.get("timeout", 120), cwd=step.get("cwd"))
        rec.update(result="ok" if p.returncode == 0 else "failed", exitCode=p.returncode,
                   stdout=p.stdout.decode("utf-8", "replace"), stderr=p.stderr.decode("utf-8", "replace"))
    except (OSError, subprocess.TimeoutExpired) as e:
        rec.update(result="error", reason=str(e))
    for f in step.get("collect", []):
        if os.path.isfile(f):
            d = os.path.join(outdir, "files")
            os.makedirs(d, exist_ok=True)
            shutil.copy(f, os.path.join(d, os.path.basename(f)))
    return rec


def main(jobdir, outdir):
    manifest = json.load(open(os.path.join(jobdir, "manifest.json")))
    defaults = manifest.get("defaults", {})
    results = {"env": environment(), "steps": []}
    path = os.path.join(outdir, "results.json")

    def flush():
        with open(path + ".part", "w") as f:
            json.dump(results, f, indent=1)
        os.replace(path + ".part", path)

    flush()
    print("l1-job: %s, %s, %d steps" % (results["env"]["uname"], results["env"]["qemuVersion"],
                                         len(manifest["steps"])), flush=True)
    for step in manifest["steps"]:
        t0 = time.monotonic()
        op = step["op"]
        if op == "save":
            rec = do_save(step, defaults, outdir)
        elif op == "load":
            rec = do_load(step, defaults, jobdir, outdir)
        elif op == "exec":
            rec = do_exec(step, outdir)
        else:
            rec = {"result": "error", "reason": "unknown op %r" % op}
        rec = dict(step, **rec)
        rec["elapsed"] = round(time.monotonic() - t0, 2)
        results["steps"].append(rec)
        flush()
        print("l1-job: %-60s %-7s %5.1fs %s" % (step.get("id", op), rec["result"], rec["elapsed"],
                                               (rec["stderr"][-1] if rec.get("stderr") else "")[:160]),
              flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
