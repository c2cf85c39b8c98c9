/**
 * `vmstate profile --host`: the destination profile of the machine it runs on. Starts the local
 * QEMU paused (`-S`) with the accelerator, machine type and CPU a fleet's guests use, saves its
 * state over QMP (`migrate` to `exec:cat > FILE`, polled with `query-migrate`), quits it, and
 * profiles the saved stream together with what the stream cannot say: QEMU's version line, the
 * accelerator, machine type and CPU as given, and the kernel release (`uname -r`).
 *
 * Node only: QMP is newline-delimited JSON over a UNIX socket. The scratch directory (socket and
 * stream) is private (0700) and always removed; QEMU is killed if anything fails or times out.
 * @module
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createConnection, type Socket } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import { release, tmpdir } from 'node:os';
import { join } from 'node:path';
import { UsageError } from '../errors.js';
import type { Accel } from '../regs/index.js';
import { decodeStream } from '../stream/decode.js';
import { profileOf, type HostFacts, type Profile } from './profile.js';

/** Options of {@link profileHost}. */
export interface HostProfileOptions {
  /** The QEMU binary (default `qemu-system-aarch64`, looked up in PATH). */
  qemu?: string;
  /** The accelerator to run (default `kvm` when /dev/kvm can be opened, else `tcg`). */
  accel?: Accel;
  /** `-M` (default `virt,gic-version=max`: the best GIC the accelerator offers). */
  machine?: string;
  /** `-cpu` (default `host` under KVM, `max` under TCG). */
  cpu?: string;
  /** `-smp`, as the guests have it (default 1): one register list per vCPU, and TCG's L2CTLR states the count. */
  smp?: number;
  /** Overall time limit in milliseconds (default 120 000). */
  timeoutMs?: number;
}

/** The defaults for an accelerator. */
export const HOST_DEFAULTS = { machine: 'virt,gic-version=max', cpu: { kvm: 'host', tcg: 'max' } } as const;

const failure = (message: string, data: Record<string, unknown> = {}): UsageError =>
  new UsageError(message.replace(/\s*\n\s*/g, ' / '), { reason: 'host-qemu', ...data }, 'IO');

/** The first line of `qemu --version`. */
export function qemuVersionLine(qemu: string): string {
  const r = spawnSync(qemu, ['--version'], { encoding: 'utf8', timeout: 30_000 });
  if (r.error) throw failure(`cannot run ${qemu}: ${(r.error as NodeJS.ErrnoException).code ?? r.error.message}`, { qemu });
  const line = r.stdout.split('\n')[0] ?? '';
  if (r.status !== 0 || !/^QEMU emulator version \d/.test(line)) throw failure(`${qemu} --version did not print a QEMU version (exit ${r.status}): ${(r.stderr || line).trim()}`, { qemu });
  return line;
}

/** Whether this machine offers KVM to this process. */
export function kvmAvailable(): boolean {
  const r = spawnSync('sh', ['-c', 'test -r /dev/kvm && test -w /dev/kvm'], { timeout: 5000 });
  return r.status === 0;
}

/** A QMP session: one command at a time, events skipped. */
class Qmp {
  private buffer = '';
  private readonly waiting: ((msg: Record<string, unknown>) => void)[] = [];
  private readonly pending: Record<string, unknown>[] = [];
  private closed: Error | null = null;

  constructor(private readonly sock: Socket) {
    sock.setEncoding('utf8');
    sock.on('data', (d: string) => {
      this.buffer += d;
      let nl: number;
      while ((nl = this.buffer.indexOf('\n')) >= 0) {
        const line = this.buffer.slice(0, nl).trim();
        this.buffer = this.buffer.slice(nl + 1);
        if (!line) continue;
        const msg = JSON.parse(line) as Record<string, unknown>;
        if ('event' in msg) continue;
        const w = this.waiting.shift();
        if (w) w(msg);
        else this.pending.push(msg);
      }
    });
    const end = (e?: Error) => {
      this.closed = e ?? new Error('QMP connection closed');
      for (const w of this.waiting.splice(0)) w({ error: { desc: this.closed.message } });
    };
    sock.on('error', end);
    sock.on('close', () => end());
  }

  /** The next message that is not an event. */
  next(): Promise<Record<string, unknown>> {
    const m = this.pending.shift();
    if (m) return Promise.resolve(m);
    if (this.closed) return Promise.resolve({ error: { desc: this.closed.message } });
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  /** Runs one command; its `return`, or a failure naming QMP's error. */
  async run(execute: string, args?: Record<string, unknown>): Promise<unknown> {
    this.sock.write(JSON.stringify(args ? { execute, arguments: args } : { execute }) + '\n');
    const r = await this.next();
    if ('error' in r) throw failure(`QMP ${execute} failed: ${(r.error as { desc?: string }).desc ?? JSON.stringify(r.error)}`);
    return r.return;
  }

  close(): void {
    this.sock.destroy();
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Connects to QEMU's QMP socket once QEMU has created it (or fails with what QEMU printed). */
async function connect(path: string, qemu: ChildProcess, stderr: () => string, deadline: number): Promise<Socket> {
  for (;;) {
    if (qemu.exitCode !== null || qemu.signalCode !== null) {
      throw failure(`QEMU exited before QMP was ready (${qemu.exitCode !== null ? `status ${qemu.exitCode}` : qemu.signalCode}): ${stderr().trim() || 'no message'}`);
    }
    const sock = await new Promise<Socket | null>((resolve) => {
      const s = createConnection(path);
      s.once('connect', () => resolve(s));
      s.once('error', () => resolve(null));
    });
    if (sock) return sock;
    if (Date.now() > deadline) throw failure(`QEMU did not open its QMP socket in time: ${stderr().trim()}`);
    await sleep(50);
  }
}

/**
 * Profiles this machine as a destination: runs its QEMU paused, saves the state and profiles it,
 * recording QEMU's version, the accelerator, machine type, CPU and the kernel release.
 * @throws UsageError (`IO`) when QEMU cannot be run, refuses the configuration or the save fails;
 *   the message carries QEMU's own lines.
 */
export async function profileHost(options: HostProfileOptions = {}): Promise<Profile> {
  const qemuBin = options.qemu ?? 'qemu-system-aarch64';
  const version = qemuVersionLine(qemuBin);
  const accel: Accel = options.accel ?? (kvmAvailable() ? 'kvm' : 'tcg');
  const machine = options.machine ?? HOST_DEFAULTS.machine;
  const cpu = options.cpu ?? HOST_DEFAULTS.cpu[accel];
  const smp = options.smp ?? 1;
  const deadline = Date.now() + (options.timeoutMs ?? 120_000);
  const dir = await mkdtemp(join(tmpdir(), 'vmstate-host-'));
  const sockPath = join(dir, 'qmp.sock');
  const statePath = join(dir, 'state.mig');
  let qemu: ChildProcess | null = null;
  let qmp: Qmp | null = null;
  let errText = '';
  try {
    const args = ['-M', machine, '-cpu', cpu, '-accel', accel, '-m', '64', '-smp', String(smp), '-S', '-nodefaults', '-display', 'none', '-qmp', `unix:${sockPath},server=on,wait=off`];
    qemu = spawn(qemuBin, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    qemu.stderr!.setEncoding('utf8');
    qemu.stderr!.on('data', (d: string) => (errText += d));
    qemu.on('error', (e) => (errText += `\n${e.message}`));
    try {
      qmp = new Qmp(await connect(sockPath, qemu, () => errText, deadline));
      const greeting = await qmp.next();
      if (!('QMP' in greeting)) throw failure(`QEMU did not greet over QMP: ${JSON.stringify(greeting)}`);
      await qmp.run('qmp_capabilities');
      // The path is ours (mkdtemp): no quoting needed beyond the shell's single quotes.
      await qmp.run('migrate', { uri: `exec:cat > '${statePath}'` });
      for (;;) {
        const st = (await qmp.run('query-migrate')) as { status?: string; 'error-desc'?: string };
        if (st.status === 'completed') break;
        if (st.status === 'failed' || st.status === 'cancelled') throw failure(`QEMU's save ${st.status}: ${st['error-desc'] ?? errText.trim()}`);
        if (Date.now() > deadline) throw failure('QEMU did not finish saving its state in time');
        await sleep(50);
      }
    } catch (e) {
      // QEMU refusing the configuration closes QMP: what it printed says why.
      await exited(qemu, 2000, false);
      if (qemu.exitCode !== null && qemu.exitCode !== 0) {
        throw failure(`QEMU exited with status ${qemu.exitCode}: ${errText.trim() || 'no message'}`, { qemu: qemuBin });
      }
      throw e;
    }
    await qmp.run('quit').catch(() => undefined);
    await exited(qemu, 10_000);
    const s = await decodeStream(statePath);
    const host: HostFacts = { qemu: version, accel, machine, cpu, smp, kernel: release() };
    return profileOf(s, { source: `${qemuBin} -M ${machine} -cpu ${cpu} -accel ${accel} -smp ${smp}`, host });
  } finally {
    qmp?.close();
    if (qemu && qemu.exitCode === null && qemu.signalCode === null) {
      qemu.kill('SIGKILL');
      await exited(qemu, 5000);
    }
    await rm(dir, { recursive: true, force: true });
  }
}

/** Waits up to `ms` for `p` to exit, then kills it (unless `kill` is false). */
function exited(p: ChildProcess, ms: number, kill = true): Promise<void> {
  if (p.exitCode !== null || p.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const t = setTimeout(() => {
      if (kill) p.kill('SIGKILL');
      resolve();
    }, ms);
    p.once('exit', () => {
      clearTimeout(t);
      resolve();
    });
  });
}
