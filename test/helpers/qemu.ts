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
  const r = spawnSync('python3', [join(SAMPLES_DIR, 'qmp-save.py'), 'load', '-M', machine, '-c', cpu, '-i', file, '--timeout', '60'], { encoding: 'utf8' });
  const result = r.status === 0 ? 'accept' : r.status === 1 ? 'reject' : 'error';
  return { result, output: `${r.stdout}${r.stderr}` };
}

/** The host QEMU's version line, or null when it is not installed. */
export function qemuVersion(): string | null {
  const r = spawnSync('qemu-system-aarch64', ['--version'], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.split('\n')[0]! : null;
}
