/** Real QEMU as the judge: load a stream into a destination with `-incoming` (samples/qmp-save.py). */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { SAMPLES_DIR } from './samples.js';

/** Result of one real load. */
export interface LoadResult {
  result: 'accept' | 'reject' | 'error';
  output: string;
}

/** Loads `file` into the host QEMU (7.2 in CI) with `-M virt -cpu cpu -m 64 -smp 2`. */
export function qemuLoad(file: string, cpu: string, machine = 'virt'): LoadResult {
  requireQemu();
  const r = spawnSync('python3', [join(SAMPLES_DIR, 'qmp-save.py'), 'load', '-M', machine, '-c', cpu, '-i', file, '--timeout', '60'], { encoding: 'utf8' });
  const result = r.status === 0 ? 'accept' : r.status === 1 ? 'reject' : 'error';
  return { result, output: `${r.stdout}${r.stderr}` };
}

/** The host QEMU's version line, or null when it is not installed. */
export function qemuVersion(env: NodeJS.ProcessEnv = process.env): string | null {
  const r = spawnSync('qemu-system-aarch64', ['--version'], { encoding: 'utf8', env });
  return r.status === 0 ? r.stdout.split('\n')[0]! : null;
}

/** What a test that needs the host QEMU says when it is not there. */
export const QEMU_MISSING = 'qemu-system-aarch64 not found: install QEMU 7.2 (apt-get install qemu-system-arm) or run .ci/run';

/**
 * The host QEMU's version line; throws with {@link QEMU_MISSING} when it is not installed, and
 * names the version found when it is not 7.2 (the version the expected outcomes are from).
 */
export function requireQemu(env: NodeJS.ProcessEnv = process.env): string {
  const v = qemuVersion(env);
  if (v === null) throw new Error(QEMU_MISSING);
  if (!/QEMU emulator version 7\.2\b/.test(v)) throw new Error(`found ${v}; these tests expect QEMU 7.2 (Debian bookworm's qemu-system-arm) or run .ci/run`);
  return v;
}
