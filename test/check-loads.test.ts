/**
 * samples/check-loads.sh, the script that re-runs the recorded real-QEMU loads: its exit status
 * says whether every row gave a verdict.
 */
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { SAMPLES_DIR } from './helpers/samples.js';
import { requireQemu } from './helpers/qemu.js';

const script = join(SAMPLES_DIR, 'check-loads.sh');
const run = (...args: string[]) => {
  const r = spawnSync('bash', [script, ...args], { encoding: 'utf8', timeout: 120_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
};

describe('samples/check-loads.sh', () => {
  it('exits 0 when every row gave a verdict (one row, real QEMU 7.2)', () => {
    requireQemu();
    const r = run('--match', '^qemu-7\\.2/virt-7\\.2_cortex-a57\\.mig\\|7\\.2\\|virt\\|cortex-a57$');
    expect(r.out).toBe('== qemu-7.2/virt-7.2_cortex-a57.mig -> QEMU 7.2 -M virt -cpu cortex-a57: accept (rc=0)\ncheck-loads: all 1 row(s) gave a verdict\n');
    expect(r.code).toBe(0);
  });

  it('exits 1 when a row could not be run (a QEMU tree that is not there)', () => {
    const r = run('--trees', '/nonexistent', '--match', '^qemu-7\\.2/virt-7\\.2_cortex-a15\\.mig\\|10\\.0\\|');
    expect(r.out).toContain('(rc=2)');
    expect(r.err).toContain('check-loads: 1 of 1 row(s) could not be run');
    expect(r.code).toBe(1);
  });

  it('exits 2 when no row matches', () => {
    expect(run('--match', 'no-such-row').code).toBe(2);
  });
});
