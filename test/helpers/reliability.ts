/** Tools for the reliability tests: special files made in a temp dir, the CLI run asynchronously. */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readdirSync, readlinkSync } from 'node:fs';
import { CLI } from './cli.js';

/** Whether the tests run as root (mknod, mount, chown need it). */
export const IS_ROOT = process.getuid?.() === 0;

/**
 * Runs `what` only where it can run: returns null when it can, else the reason it cannot, which
 * the caller prints and skips on.
 */
export function canMknod(dir: string): string | null {
  if (!IS_ROOT) return 'not root: mknod needs CAP_MKNOD';
  const r = spawnSync('mknod', [`${dir}/.probe`, 'c', '1', '3']);
  spawnSync('rm', ['-f', `${dir}/.probe`]);
  return r.status === 0 ? null : `mknod refused here: ${r.stderr.toString().trim()}`;
}

/** Makes a device node (`c` or `b`) with the given major/minor. */
export function mknod(path: string, type: 'c' | 'b', major: number, minor: number): void {
  const r = spawnSync('mknod', [path, type, String(major), String(minor)]);
  if (r.status !== 0) throw new Error(`mknod ${path}: ${r.stderr}`);
}

/** Makes a FIFO. */
export function mkfifo(path: string): void {
  const r = spawnSync('mkfifo', [path]);
  if (r.status !== 0) throw new Error(`mkfifo ${path}: ${r.stderr}`);
}

/** A running CLI with its output collected. */
export interface Running {
  child: ChildProcess;
  /** Exit code and signal once it ends. */
  done: Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: Buffer; stderr: string }>;
}

/** Starts `vmstate ...args` with a shell-like umask and the given stdio for stdin/stdout. */
export function start(args: string[], opts: { umask?: number; stdin?: 'pipe' | 'ignore' | number; stdout?: 'pipe' | 'ignore' | number; cwd?: string } = {}): Running {
  const umask = (opts.umask ?? 0o022).toString(8);
  const child = spawn('sh', ['-c', `umask ${umask}; exec "$0" "$@"`, process.execPath, CLI, ...args], {
    stdio: [opts.stdin ?? 'ignore', opts.stdout ?? 'pipe', 'pipe'],
    env: { ...process.env, NO_COLOR: '1' },
    cwd: opts.cwd,
  });
  const out: Buffer[] = [];
  let err = '';
  child.stdout?.on('data', (c: Buffer) => out.push(c));
  child.stderr?.on('data', (c: Buffer) => (err += c.toString()));
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: Buffer; stderr: string }>((resolve) => {
    child.on('close', (code, signal) => resolve({ code, signal, stdout: Buffer.concat(out), stderr: err }));
  });
  return { child, done };
}

/** Runs `vmstate ...args` to the end (see {@link start}). */
export async function run(args: string[], opts: Parameters<typeof start>[1] = {}) {
  return start(args, opts).done;
}

/** The files `pid` has open in `dir`, as `/proc/PID/fd` shows them (an unnamed one reads `dir/#INO (deleted)`). */
export function openFilesIn(pid: number, dir: string): string[] {
  const out: string[] = [];
  let fds: string[];
  try {
    fds = readdirSync(`/proc/${pid}/fd`);
  } catch {
    return out;
  }
  for (const fd of fds) {
    try {
      const l = readlinkSync(`/proc/${pid}/fd/${fd}`);
      if (l.startsWith(dir + '/')) out.push(`${fd}:${l}`);
    } catch {
      // Closed meanwhile.
    }
  }
  return out;
}

/** Polls `cond` every 20 ms until it holds (or throws after `ms`). */
export async function until(cond: () => boolean, ms = 20_000, what = 'condition'): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
