/** Runs the built CLI (`dist/cli/main.js`) as a user would. */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

export const CLI = join(import.meta.dirname, '..', '..', 'dist', 'cli', 'main.js');

/** Result of one CLI run. */
export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
  out: Buffer;
}

/** Runs `vmstate ...args`, optionally feeding `input` on stdin. */
export function vmstate(args: string[], input?: Buffer | string): CliRun {
  const r = spawnSync(process.execPath, [CLI, ...args], { input, maxBuffer: 1 << 30, env: { ...process.env, NO_COLOR: '1' } });
  return { code: r.status ?? -1, stdout: r.stdout.toString('utf8'), stderr: r.stderr.toString('utf8'), out: r.stdout };
}
