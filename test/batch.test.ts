/** `vmstate check` over several streams: worker threads, one result per stream, in order. */
import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { vmstate } from './helpers/cli.js';
import { SAMPLES_DIR } from './helpers/samples.js';
import { batchExitCode } from '../src/cli/batch.js';
import { firstReasons, renderBatch, type BatchResult } from '../src/report/batch.js';
import { COLOR, stripAnsi } from '../src/report/format.js';

const s = (v: string, f: string) => join(SAMPLES_DIR, v, f);
const DEST = s('qemu-7.2', 'virt-7.2_cortex-a57.mig');
const FOUR = [s('qemu-7.2', 'virt-7.2_cortex-a57.mig'), s('qemu-10.0', 'virt-7.2_cortex-a57.mig'), s('qemu-11.1', 'virt-7.2_cortex-a57.mig'), s('qemu-7.2', 'virt-7.2_cortex-a72.mig')];
const dir = mkdtempSync(join(tmpdir(), 'vmstate-batch-'));

describe('check with four real streams against one destination', () => {
  it('JSON: an array of four reports, in the order given, each as the single-stream check gives it (without its next step)', () => {
    const r = vmstate(['check', ...FOUR, '--dest', DEST, '--json']);
    expect(r.code, r.stderr).toBe(1);
    const arr = JSON.parse(r.stdout) as { schema: string; stream: string; verdict: string }[];
    expect(arr).toHaveLength(4);
    expect(arr.map((x) => x.stream)).toEqual(FOUR);
    expect(arr.every((x) => x.schema === 'vmstate/check/1')).toBe(true);
    expect(arr[0]!.verdict).toBe('accept');
    for (const [k, stream] of FOUR.entries()) {
      const one = vmstate(['check', stream, '--dest', DEST, '--json']);
      // A single stream's report also carries the next step (null after an ACCEPT); a batch's do not.
      const { suggestion, ...rest } = JSON.parse(one.stdout);
      expect(rest, stream).toEqual(arr[k]);
      expect(suggestion === null, stream).toBe(arr[k]!.verdict === 'accept');
      expect('suggestion' in arr[k]!).toBe(false);
      expect(one.code).toBe(arr[k]!.verdict === 'reject' ? 1 : 0);
    }
  });

  it('text: one summary table (stream, verdict, first reasons), then the totals', () => {
    const r = vmstate(['check', ...FOUR, '--dest', DEST, '--jobs', '3']);
    expect(r.code, r.stderr).toBe(1);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^stream +verdict +reasons$/);
    expect(lines).toHaveLength(6);
    FOUR.forEach((f, k) => expect(lines[k + 1]!.startsWith(f)).toBe(true));
    expect(lines[1]).toMatch(/ ACCEPT$/);
    expect(lines[2]).toMatch(/ REJECT +the stream has \d+ registers; the destination accepts at most \d+/);
    expect(lines[5]).toMatch(/^4 streams: \d accept, \d reject, 0 error$/);
    // Columns line up: every verdict starts in the same column.
    const col = lines[0]!.indexOf('verdict');
    for (const l of lines.slice(1, 5)) expect(l.slice(col, col + 6)).toMatch(/^(ACCEPT|REJECT)$/);
    expect(r.stdout).not.toContain('\x1b[');
    // --quiet leaves out the totals.
    const q = vmstate(['check', ...FOUR, '--dest', DEST, '-q']);
    expect(q.stdout.trimEnd().split('\n')).toEqual(lines.slice(0, 5));
  });

  it('bad input in one stream: exit 2, the others still reported in place', () => {
    const bad = join(dir, 'bad.mig');
    writeFileSync(bad, Buffer.concat([Buffer.from('XEVM'), readFileSync(DEST).subarray(4)]));
    const streams = [FOUR[0]!, bad, FOUR[1]!, join(dir, 'missing.mig')];
    const r = vmstate(['check', ...streams, '--dest', DEST, '--json']);
    expect(r.code, r.stderr).toBe(2);
    const arr = JSON.parse(r.stdout);
    expect(arr.map((x: { verdict: string }) => x.verdict)).toEqual(['accept', 'error', 'reject', 'error']);
    expect(arr[1]).toEqual({
      schema: 'vmstate/check-error/1',
      stream: bad,
      verdict: 'error',
      error: { code: 'BAD_MAGIC', message: expect.stringMatching(/not a migration stream/), offset: 0, section: 'header' },
    });
    expect(arr[3].error.code).toBe('IO');
    const t = vmstate(['check', ...streams, '--dest', DEST]);
    expect(t.code).toBe(2);
    expect(t.stdout).toMatch(/bad\.mig +ERROR +not a migration stream/);
    expect(t.stdout).toMatch(/4 streams: 1 accept, 1 reject, 2 error/);
  });

  it('one stream keeps the single-object output; stdin only alone', () => {
    const r = vmstate(['check', FOUR[1]!, '--dest', DEST, '--json']);
    expect(Array.isArray(JSON.parse(r.stdout))).toBe(false);
    const pipe = vmstate(['check', '-', '--dest', DEST, '--json'], readFileSync(FOUR[0]!));
    expect(pipe.code, pipe.stderr).toBe(0);
    expect(JSON.parse(pipe.stdout).verdict).toBe('accept');
    const both = vmstate(['check', '-', FOUR[1]!, '--dest', DEST]);
    expect(both.code).toBe(2);
    expect(both.stderr).toMatch(/standard input \(-\) can only be checked alone/);
    expect(vmstate(['check', ...FOUR.slice(0, 2), '--dest', DEST, '--jobs', '0']).code).toBe(2);
  });
});

describe('batch helpers', () => {
  const report = (verdict: 'accept' | 'reject', messages: string[]): BatchResult => ({
    stream: `${verdict}.mig`,
    destination: { path: 'd', origin: 'stream', machineType: null },
    verdict,
    loader: 'legacy',
    accel: 'tcg',
    policies: [],
    anomalies: [],
    devices: [0, 1].map((instance) => ({
      name: 'cpu',
      instance,
      verdict,
      qemuError: null,
      anomalies: messages.map((message) => ({ kind: 'unexpected' as const, fatal: true, id: null, reg: null, name: message === 'x' ? 'TCR2_EL1' : null, message, qemuText: null })),
    })),
    outcome: verdict === 'reject' ? 'refuse' : 'load',
    qemuError: verdict === 'reject' ? 'Failed to load cpu:cpreg_vmstate_array_len' : null,
    qemuLines: verdict === 'reject' ? ['Failed to load cpu:cpreg_vmstate_array_len'] : [],
    warnings: [],
    notes: [],
  });
  const failure: BatchResult = { schema: 'vmstate/check-error/1', stream: 'e.mig', verdict: 'error', error: { code: 'IO', message: 'cannot open e.mig: ENOENT' } };

  it('first reasons: distinct fatal findings over all vCPUs, the count of the rest', () => {
    expect(firstReasons(report('reject', ['a', 'b', 'c', 'x']))).toBe('a; b (+2 more)');
    expect(firstReasons(report('reject', ['x']))).toBe('TCR2_EL1 x');
    expect(firstReasons(report('reject', []))).toBe('Failed to load cpu:cpreg_vmstate_array_len');
    expect(firstReasons(report('accept', []))).toBe('');
    expect(firstReasons(failure)).toBe('cannot open e.mig: ENOENT');
  });

  it('exit codes: 2 over 1 over 0', () => {
    expect(batchExitCode([report('accept', [])])).toBe(0);
    expect(batchExitCode([report('accept', []), report('reject', ['a'])])).toBe(1);
    expect(batchExitCode([report('reject', ['a']), failure])).toBe(2);
    expect(batchExitCode([{ ...failure, error: { code: 'INTERNAL', message: 'bug' } } as BatchResult])).toBe(3);
  });

  it('coloured verdicts keep the table aligned', () => {
    const rs = [report('accept', []), report('reject', ['a']), failure];
    const plain = renderBatch(rs);
    const colour = renderBatch(rs, { style: COLOR });
    expect(colour).toContain('\x1b[32mACCEPT\x1b[39m');
    expect(colour).toContain('\x1b[31mREJECT\x1b[39m');
    expect(stripAnsi(colour)).toBe(plain);
  });
});
