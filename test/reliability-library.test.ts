/**
 * The library inside a host program: reading a FIFO or pipe never blocks the event loop (a
 * stalled writer stalls only the read), edits of cpreg lists are checked before anything is
 * written, and limits are checked before anything is read.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SAMPLES_DIR } from './helpers/samples.js';
import { mkfifo } from './helpers/reliability.js';
import { decodeStream as decodeFile } from '../src/stream/decode.js';
import { rewriteFile } from '../src/rewrite/rewrite-file.js';
import { UsageError, VmstateError } from '../src/errors.js';
import type { CpuEdit } from '../src/stream/decode.js';
import type { CpuSection } from '../src/stream/records.js';

const SAMPLE = join(SAMPLES_DIR, 'qemu-7.2', 'virt-7.2_max.mig');
const data = readFileSync(SAMPLE);
let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'vmstate-library-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('FIFOs do not freeze the host program', () => {
  it('decodeFile(fifo) with a writer that stalls 1.5 s: timers keep firing, the decode is whole', async () => {
    const fifo = join(dir, 'in.fifo');
    mkfifo(fifo);
    const half = data.length >> 1;
    // Another process writes half, stalls, then writes the rest.
    const writer = spawn('sh', ['-c', `{ head -c ${half} "$0"; sleep 1.5; tail -c +${half + 1} "$0"; } > "$1"`, SAMPLE, fifo], { stdio: 'ignore' });
    let ticks = 0;
    const timer = setInterval(() => ticks++, 50);
    const t0 = Date.now();
    try {
      const [fromFifo, fromFile] = await Promise.all([decodeFile(fifo), decodeFile(SAMPLE)]);
      const elapsed = Date.now() - t0;
      expect(elapsed).toBeGreaterThanOrEqual(1400);
      // A blocked event loop would give no ticks at all while the writer sleeps.
      expect(ticks).toBeGreaterThanOrEqual(Math.floor(1400 / 50 / 2));
      expect(fromFifo.size).toBe(data.length);
      expect(fromFifo.cpus.map((c) => c.ids)).toEqual(fromFile.cpus.map((c) => c.ids));
    } finally {
      clearInterval(timer);
      writer.kill();
    }
  });
});

describe('editCpu results are checked before anything is written', () => {
  const bad: [string, (c: CpuSection) => CpuEdit, RegExp][] = [
    ['an id beyond 64 bits (2^64 + 5)', (c) => ({ ids: [...c.ids.slice(0, -1), (1n << 64n) + 5n], values: c.values }), /id #\d+ 0x10000000000000005 is not a 64-bit unsigned bigint/],
    ['a negative id', (c) => ({ ids: [-1n, ...c.ids.slice(1)], values: c.values }), /id #0 -0x1 is not a 64-bit unsigned bigint/],
    ['a negative value', (c) => ({ ids: c.ids, values: [-1n, ...c.values.slice(1)] }), /value #0 -0x1 .* is not a 64-bit unsigned bigint/],
    ['a value beyond 64 bits', (c) => ({ ids: c.ids, values: [1n << 64n, ...c.values.slice(1)] }), /value #0 0x10000000000000000 .* is not a 64-bit unsigned bigint/],
    ['a repeated id', (c) => ({ ids: [c.ids[0]!, ...c.ids.slice(0, -1)], values: c.values }), /ascending without repeats, but #1 0x[0-9a-f]+ follows 0x[0-9a-f]+/],
    ['ids out of order', (c) => ({ ids: [c.ids[1]!, c.ids[0]!, ...c.ids.slice(2)], values: c.values }), /ascending without repeats, but #1/],
    ['fewer values than ids', (c) => ({ ids: c.ids, values: c.values.slice(1) }), /\d+ values for \d+ ids/],
    ['a number, not a bigint', (c) => ({ ids: [5 as unknown as bigint, ...c.ids.slice(1)], values: c.values }), /id #0 5 is not a 64-bit unsigned bigint/],
  ];
  for (const [what, edit, message] of bad) {
    it(`${what}: EditError (BAD_EDIT), no output`, async () => {
      const out = join(dir, 'edited.mig');
      const e = await rewriteFile(SAMPLE, out, { editCpu: edit }).catch((x: unknown) => x);
      expect(e).toBeInstanceOf(UsageError);
      expect((e as VmstateError).code).toBe('BAD_EDIT');
      expect((e as VmstateError).message).toMatch(/^edit of cpu 0: /);
      expect((e as VmstateError).message).toMatch(message);
      expect(readdirSync(dir).filter((f) => f.startsWith('edited') || f.includes('.tmp'))).toEqual([]);
    });
  }

  it('unorderedEdits lets a test stream repeat ids (QEMU\'s answer to one is the point), still 64-bit only', async () => {
    const out = join(dir, 'dup.mig');
    const dup = (c: CpuSection): CpuEdit => ({ ids: [c.ids[0]!, ...c.ids], values: [c.values[0]!, ...c.values] });
    await rewriteFile(SAMPLE, out, { editCpu: dup, unorderedEdits: true });
    const s = await decodeFile(out);
    expect(s.cpus[0]!.ids[0]).toBe(s.cpus[0]!.ids[1]);
    const e = await rewriteFile(SAMPLE, join(dir, 'dup2.mig'), { editCpu: (c) => ({ ids: [-1n, ...c.ids], values: [0n, ...c.values] }), unorderedEdits: true }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(UsageError);
  });
});

describe('limits are checked before anything is read or written', () => {
  for (const [key, value] of [['maxCpregs', NaN], ['maxVmdesc', Infinity], ['maxBuffer', -1], ['maxCpregs', 1.5], ['maxBuffer', -0.5], ['maxVmdesc', '10']] as const) {
    it(`${key}: ${String(value)} → UsageError naming it`, async () => {
      const limits = { [key]: value } as never;
      for (const call of [() => decodeFile(SAMPLE, { limits }), () => rewriteFile(SAMPLE, join(dir, 'limited.mig'), { limits })]) {
        const e = await call().catch((x: unknown) => x);
        expect(e).toBeInstanceOf(UsageError);
        expect((e as Error).message).toBe(`limit ${key} must be a whole number of at least 0, got ${typeof value === 'string' ? JSON.stringify(value) : String(value)}`);
      }
      expect(readdirSync(dir).filter((f) => f.startsWith('limited'))).toEqual([]);
    });
  }
});
