#!/usr/bin/env python3
"""Save or load a QEMU (aarch64, TCG) migration stream through QMP.

Stdlib only (Python >= 3.8). Two sub-commands:

  save  Start a paused source QEMU
          qemu-system-aarch64 -M <machine> -cpu <cpu> -m <mem> -smp <smp> -S \
              -nodefaults -display none -qmp unix:<sock>,server=on,wait=off
        send qmp_capabilities, then `migrate` with uri "exec:cat > FILE", poll
        query-migrate until "completed" (error on "failed" or timeout), then
        `quit`.  The stream is written to a scratch file and atomically renamed
        to --out only when the migration completed and the file starts with
        "QEVM".  Exit 0 on success, 2 on any failure.

  load  Start a paused destination QEMU with the same -M/-cpu/-m/-smp, -S and
          -incoming "exec:cat FILE"
        and wait until the incoming migration completes or fails (QEMU exits on
        a failed incoming migration; with QMP we also watch query-migrate).
        Prints one verdict line on stdout, followed by QEMU's stderr lines:
          accept   incoming migration completed (query-migrate: completed)
          reject   QEMU reported a failed load: it exited after printing
                   "load of migration failed: ...", was killed by a signal
                   while loading (e.g. an assertion -> SIGABRT), or
                   query-migrate said "failed"
          error    not a verdict about the stream: timeout (QEMU killed),
                   QEMU exited without "load of migration failed" (bad -cpu,
                   bad -M, ...), binary missing, input file missing
        Exit status: 0 accept, 1 reject, 2 error.  --json prints one JSON
        object instead ({"verdict", "exit_code", "signal", "status",
        "stderr": [lines], "reason"}).

Running guests, devices, file: migration (both sub-commands unless noted):
  --run S        (save) `cont` the guest, let it run S seconds, `stop` it, then
                 migrate: the stream holds the state of a guest that ran
  --console FILE (save) add `-serial file:...` and copy the guest's console
                 output to FILE (proof that the firmware ran)
  --blank NAME=SIZE
                 create a blank (sparse) file NAME of SIZE bytes (K/M suffix
                 allowed) in the scratch directory, e.g. a disk image; the
                 string @SCRATCH@ in the extra QEMU arguments is replaced by the
                 scratch directory as QEMU sees it (inside the chroot)
  --stage FILE   (repeatable) copy a host file into the scratch directory, where
                 QEMU finds it as @SCRATCH@/<its base name> (e.g. one firmware
                 build used by every QEMU version)
  --file         migrate through `file:PATH` instead of `exec:cat`: save runs
                 `migrate {"uri": "file:..."}`, load starts QEMU with
                 `-incoming defer` and runs `migrate-incoming {"uri": "file:..."}`
  --offset N     (load, with --file) the stream starts N bytes into the file
                 (`file:PATH,offset=N`), e.g. after a libvirt save image's header
  --capability NAME
                 (repeatable) migrate-set-capabilities NAME=true before the
                 migration (e.g. mapped-ram, multifd); a load must use the same
  --parameter NAME=VALUE
                 (repeatable) migrate-set-parameters NAME=VALUE (integers and
                 true/false are sent as JSON numbers/booleans), e.g.
                 multifd-channels=2, direct-io=false

Common options:
  --chroot DIR   run QEMU as `chroot DIR qemu-system-aarch64 ...` (e.g. a
                 debootstrapped Debian tree with a newer QEMU).  Scratch files
                 (QMP socket, stream file) then live under DIR/tmp and are
                 referred to by their in-chroot path.  Needs root.
  --qemu BIN     QEMU binary (default qemu-system-aarch64, looked up inside the
                 chroot when --chroot is given)
  --timeout S    overall timeout in seconds (default 120); on expiry QEMU (and
                 its process group, incl. the exec: `cat`) is killed
  -- ARGS...     extra QEMU arguments appended verbatim (e.g. -device loader,...)

Examples:
  samples/qmp-save.py save -M virt -c max -o /tmp/max.mig
  samples/qmp-save.py save --chroot /work/qemu-trees/sid -M virt-7.2 -c max -o x.mig
  samples/qmp-save.py load -M virt -c max -i samples/qemu-7.2/virt-7.2_max.mig
  samples/qmp-save.py load --json --chroot /work/qemu-trees/sid -M virt-7.2 -c max -i x.mig

Scratch directories are always removed (also on errors/timeouts/Ctrl-C).
"""

import argparse
import json
import os
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time


# every QEMU version seen (7.2, 10.0, 11.1) prints this before exiting on a failed load
LOAD_FAILED = "load of migration failed"


class HarnessError(Exception):
    pass


class QMP:
    """Minimal line-oriented QMP client over a unix socket."""

    def __init__(self, path, deadline):
        self.deadline = deadline
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(max(0.1, deadline - time.monotonic()))
        self.sock.connect(path)
        self.buf = b""
        greeting = self._read_msg()
        if "QMP" not in greeting:
            raise HarnessError("unexpected QMP greeting: %r" % (greeting,))

    def _read_msg(self):
        while b"\n" not in self.buf:
            remaining = self.deadline - time.monotonic()
            if remaining <= 0:
                raise socket.timeout("QMP read timed out")
            self.sock.settimeout(remaining)
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("QMP connection closed")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        line = line.strip()
        if not line:
            return self._read_msg()
        return json.loads(line.decode("utf-8", "replace"))

    def cmd(self, name, args=None):
        msg = {"execute": name}
        if args is not None:
            msg["arguments"] = args
        self.sock.sendall(json.dumps(msg).encode() + b"\n")
        while True:
            resp = self._read_msg()
            if "event" in resp:
                continue
            if "error" in resp:
                raise HarnessError("QMP %s failed: %s" % (name, resp["error"].get("desc", resp["error"])))
            if "return" in resp:
                return resp["return"]

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


class Qemu:
    """One QEMU process in its own session, with scratch dir, socket, logs."""

    def __init__(self, opts, extra):
        self.opts = opts
        self.extra = extra
        self.chroot = os.path.abspath(opts.chroot) if opts.chroot else None
        base = os.path.join(self.chroot, "tmp") if self.chroot else None
        if base:
            os.makedirs(base, exist_ok=True)
        self.scratch = tempfile.mkdtemp(prefix="vmstate-qmp-", dir=base)
        os.chmod(self.scratch, 0o755)
        self.proc = None
        self.errf = None
        for spec in getattr(opts, "blank", None) or []:
            name, size = parse_blank(spec)
            with open(self.scratch_file(name), "wb") as f:
                f.truncate(size)
            os.chmod(self.scratch_file(name), 0o644)
        for src in getattr(opts, "stage", None) or []:
            dst = self.scratch_file(os.path.basename(src))
            shutil.copyfile(src, dst)
            os.chmod(dst, 0o644)
        self.extra = [a.replace("@SCRATCH@", self.inner(self.scratch)) for a in extra]

    def inner(self, host_path):
        """Path of a scratch file as QEMU sees it."""
        if self.chroot:
            return "/" + os.path.relpath(host_path, self.chroot)
        return host_path

    def scratch_file(self, name):
        return os.path.join(self.scratch, name)

    def start(self, more_args):
        o = self.opts
        sock = self.scratch_file("qmp.sock")
        argv = [o.qemu, "-M", o.machine, "-cpu", o.cpu, "-m", str(o.mem), "-smp", str(o.smp),
                "-S", "-nodefaults", "-display", "none",
                "-qmp", "unix:%s,server=on,wait=off" % self.inner(sock)] + more_args + self.extra
        if self.chroot:
            argv = ["chroot", self.chroot] + argv
        self.argv = argv
        self.errf = open(self.scratch_file("stderr.log"), "w+b")
        try:
            self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=self.errf,
                                         stderr=self.errf, start_new_session=True)
        except OSError as e:
            raise HarnessError("cannot start %s: %s" % (argv[0], e))
        return sock

    def connect(self, sock, deadline):
        """Connect to QMP; returns None if QEMU exited before the socket worked."""
        while True:
            if self.proc.poll() is not None:
                return None
            if os.path.exists(sock):
                try:
                    q = QMP(sock, deadline)
                    q.cmd("qmp_capabilities")
                    return q
                except (ConnectionError, FileNotFoundError, ConnectionRefusedError):
                    if self.proc.poll() is not None:
                        return None
                except socket.timeout:
                    raise HarnessError("timeout while connecting to QMP")
            if time.monotonic() > deadline:
                raise HarnessError("timeout waiting for QMP socket")
            time.sleep(0.05)

    def wait(self, timeout):
        try:
            return self.proc.wait(timeout=max(0.0, timeout))
        except subprocess.TimeoutExpired:
            return None

    def kill(self):
        if self.proc and self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
        elif self.proc:
            # QEMU is gone; make sure no stray member of its group (exec: cat) survives
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass

    def stderr_lines(self):
        if not self.errf:
            return []
        self.errf.flush()
        self.errf.seek(0)
        return [l for l in self.errf.read().decode("utf-8", "replace").splitlines() if l.strip()]

    def cleanup(self):
        self.kill()
        if self.errf:
            self.errf.close()
        shutil.rmtree(self.scratch, ignore_errors=True)


def parse_blank(spec):
    """NAME=SIZE (SIZE in bytes, or with a K/M/G suffix) -> (name, bytes)."""
    name, sep, size = spec.partition("=")
    if not sep or not name or "/" in name:
        raise HarnessError("bad --blank %r (want NAME=SIZE)" % spec)
    mult = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}.get(size[-1:].upper(), 1)
    digits = size[:-1] if mult > 1 else size
    if not digits.isdigit():
        raise HarnessError("bad --blank size %r" % size)
    return name, int(digits) * mult


def parse_parameter(spec):
    """NAME=VALUE -> (name, JSON value): integers and true/false keep their type."""
    name, sep, value = spec.partition("=")
    if not sep or not name:
        raise HarnessError("bad --parameter %r (want NAME=VALUE)" % spec)
    if value in ("true", "false"):
        return name, value == "true"
    if value.lstrip("-").isdigit():
        return name, int(value)
    return name, value


def set_migration_options(qmp, opts):
    """Capabilities and parameters, in QEMU's order: capabilities first."""
    caps = getattr(opts, "capability", None) or []
    if caps:
        qmp.cmd("migrate-set-capabilities",
                {"capabilities": [{"capability": c, "state": True} for c in caps]})
    params = dict(parse_parameter(p) for p in (getattr(opts, "parameter", None) or []))
    if params:
        qmp.cmd("migrate-set-parameters", params)


def move_out(src, dst):
    """Rename src to dst; across file systems copy with holes kept (mapped-ram files are sparse)."""
    try:
        os.rename(src, dst)
    except OSError:
        subprocess.run(["cp", "--sparse=always", src, dst], check=True)
        os.unlink(src)


def do_save(opts, extra):
    deadline = time.monotonic() + opts.timeout
    out = os.path.abspath(opts.out)
    q = Qemu(opts, extra)
    qmp = None
    try:
        more = []
        console = q.scratch_file("console.log")
        if opts.console:
            more += ["-serial", "file:%s" % q.inner(console)]
        sock = q.start(more)
        qmp = q.connect(sock, deadline)
        if qmp is None:
            raise HarnessError("QEMU exited (rc=%s) before QMP was reachable" % q.proc.returncode)
        if opts.run:
            qmp.cmd("cont")
            time.sleep(opts.run)
            qmp.cmd("stop")
            st = qmp.cmd("query-status")
            if st.get("running") or st.get("status") != "paused":
                raise HarnessError("guest did not stop: %r" % (st,))
        if opts.max_bandwidth:
            qmp.cmd("migrate-set-parameters", {"max-bandwidth": int(opts.max_bandwidth)})
        set_migration_options(qmp, opts)
        tmp_stream = q.scratch_file("stream.mig")
        if opts.file:
            qmp.cmd("migrate", {"uri": "file:%s" % q.inner(tmp_stream)})
        else:
            qmp.cmd("migrate", {"uri": "exec:cat > %s" % shlex.quote(q.inner(tmp_stream))})
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
        with open(tmp_stream, "rb") as f:
            if f.read(4) != b"QEVM":
                raise HarnessError("output does not start with QEVM")
        os.makedirs(os.path.dirname(out) or ".", exist_ok=True)
        part = out + ".part"
        move_out(tmp_stream, part)
        os.chmod(part, 0o644)
        os.replace(part, out)
        if opts.console:
            shutil.copyfile(console, opts.console)
        for line in q.stderr_lines():
            print("qemu: " + line, file=sys.stderr)
        print("%s %d bytes" % (out, os.path.getsize(out)), file=sys.stderr)
        return 0
    except (HarnessError, OSError, socket.timeout) as e:
        print("qmp-save: save failed: %s" % e, file=sys.stderr)
        for line in q.stderr_lines():
            print("qemu: " + line, file=sys.stderr)
        return 2
    finally:
        if qmp:
            qmp.close()
        q.cleanup()


def do_load(opts, extra):
    deadline = time.monotonic() + opts.timeout
    src = os.path.abspath(opts.input)
    result = {"verdict": "error", "exit_code": None, "signal": None, "status": None,
              "stderr": [], "reason": ""}
    if not os.path.isfile(src):
        result["reason"] = "input file not found: %s" % src
        return finish(opts, result)
    q = Qemu(opts, extra)
    qmp = None
    try:
        if q.chroot:
            staged = q.scratch_file("incoming.mig")
            try:
                os.link(src, staged)
            except OSError:
                shutil.copyfile(src, staged)
            os.chmod(staged, 0o644)
            inpath = q.inner(staged)
        else:
            inpath = src
        if opts.file:
            sock = q.start(["-incoming", "defer"])
        else:
            sock = q.start(["-incoming", "exec:cat %s" % shlex.quote(inpath)])
        try:
            qmp = q.connect(sock, deadline)
        except HarnessError as e:
            if q.proc.poll() is None:
                raise
            qmp = None
        if opts.file:
            if qmp is None:
                raise HarnessError("QEMU exited (rc=%s) before QMP was reachable" % q.proc.returncode)
            set_migration_options(qmp, opts)
            uri = "file:%s" % inpath
            if opts.offset:
                uri += ",offset=%d" % opts.offset
            qmp.cmd("migrate-incoming", {"uri": uri})
        while True:
            rc = q.proc.poll()
            if rc is not None:
                break
            if qmp is not None:
                try:
                    info = qmp.cmd("query-migrate")
                    st = info.get("status")
                    result["status"] = st
                    if st == "completed":
                        result["verdict"] = "accept"
                        break
                    if st == "failed":
                        result["verdict"] = "reject"
                        if info.get("error-desc"):
                            result["reason"] = info["error-desc"]
                        break
                except (ConnectionError, OSError, socket.timeout):
                    # QEMU closed the monitor: it is exiting (failed load)
                    qmp.close()
                    qmp = None
                    q.wait(5)
                    continue
            if time.monotonic() > deadline:
                result["verdict"] = "error"
                result["reason"] = "timeout after %ss, QEMU killed" % opts.timeout
                break
            time.sleep(0.05)
        if result["verdict"] == "accept" and qmp is not None:
            try:
                qmp.cmd("quit")
            except (ConnectionError, OSError, socket.timeout, HarnessError):
                pass
            q.wait(10)
        elif q.proc.poll() is not None and result["verdict"] == "error" and not result["reason"]:
            result["verdict"] = "reject"
        rc = q.proc.poll()
        if result["verdict"] != "accept" and rc is None:
            q.kill()
            rc = q.proc.poll()
        if rc is not None:
            if rc < 0:
                result["signal"] = -rc
            else:
                result["exit_code"] = rc
        if result["verdict"] == "reject" and not result["reason"]:
            if rc is not None and rc < 0:
                result["reason"] = "QEMU killed by signal %d" % -rc
            elif any(LOAD_FAILED in l for l in q.stderr_lines()):
                result["reason"] = "QEMU exited with status %s during incoming migration" % rc
            else:
                # exited without QEMU's load-failure message: bad -cpu/-M, missing
                # binary in the chroot, ... -- not a verdict about the stream
                result["verdict"] = "error"
                result["reason"] = ("QEMU exited with status %s without reporting a failed "
                                    "incoming migration (startup error?)" % rc)
    except (HarnessError, OSError, socket.timeout) as e:
        result["verdict"] = "error"
        result["reason"] = str(e)
    finally:
        if qmp:
            qmp.close()
        q.kill()
        result["stderr"] = q.stderr_lines()
        q.cleanup()
    return finish(opts, result)


def finish(opts, result):
    if opts.json:
        print(json.dumps(result))
    else:
        print(result["verdict"])
        for line in result["stderr"]:
            print(line)
        if result["verdict"] != "accept" and result["reason"]:
            print("(%s)" % result["reason"])
    return {"accept": 0, "reject": 1}.get(result["verdict"], 2)


def main(argv):
    extra = []
    if "--" in argv:
        i = argv.index("--")
        argv, extra = argv[:i], argv[i + 1:]
    p = argparse.ArgumentParser(description="Save/load QEMU migration streams via QMP "
                                            "(see module docstring for details).")
    sub = p.add_subparsers(dest="mode", required=True)
    for name in ("save", "load"):
        s = sub.add_parser(name)
        s.add_argument("-M", "--machine", required=True)
        s.add_argument("-c", "--cpu", required=True)
        s.add_argument("-m", "--mem", default="64")
        s.add_argument("--smp", default="2")
        s.add_argument("--chroot", default=None)
        s.add_argument("--qemu", default="qemu-system-aarch64")
        s.add_argument("--timeout", type=float, default=120.0)
        s.add_argument("--blank", action="append", default=[], metavar="NAME=SIZE")
        s.add_argument("--stage", action="append", default=[], metavar="FILE")
        s.add_argument("--file", action="store_true", help="file: migration instead of exec:")
        s.add_argument("--capability", action="append", default=[], metavar="NAME")
        s.add_argument("--parameter", action="append", default=[], metavar="NAME=VALUE")
        if name == "save":
            s.add_argument("-o", "--out", required=True)
            s.add_argument("--max-bandwidth", default=None,
                           help="bytes/s for migrate-set-parameters (default: QEMU's default)")
            s.add_argument("--run", type=float, default=0.0, metavar="S",
                           help="cont, run S seconds, stop, then migrate")
            s.add_argument("--console", default=None, metavar="FILE",
                           help="copy the guest's serial console output to FILE")
        else:
            s.add_argument("-i", "--input", required=True)
            s.add_argument("--offset", type=int, default=0, help="with --file: the stream starts N bytes into the file")
            s.add_argument("--json", action="store_true")
    opts = p.parse_args(argv)
    if opts.chroot and not os.path.isdir(opts.chroot):
        print("qmp-save: no such chroot: %s" % opts.chroot, file=sys.stderr)
        return 2
    try:
        for spec in opts.blank:
            parse_blank(spec)
        for spec in opts.parameter:
            parse_parameter(spec)
        for src in opts.stage:
            if not os.path.isfile(src):
                raise HarnessError("--stage: no such file: %s" % src)
    except HarnessError as e:
        print("qmp-save: %s" % e, file=sys.stderr)
        return 2
    if opts.mode == "save":
        return do_save(opts, extra)
    return do_load(opts, extra)


def _on_term(signum, frame):
    raise SystemExit(128 + signum)


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, _on_term)
    signal.signal(signal.SIGHUP, _on_term)
    try:
        sys.exit(main(sys.argv[1:]))
    except KeyboardInterrupt:
        sys.exit(130)
