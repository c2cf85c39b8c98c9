/**
 * The holes a file output leaves (`dataRuns`): exactly the whole, aligned 4 KiB units of zeros,
 * wherever the buffers given split them; every other byte written where it belongs.
 */
import { describe, expect, it } from 'vitest';
import { dataRuns } from '../../src/wire/writer.js';

/** The file the runs make, `size` bytes from offset `pos` (zeros where nothing is written). */
function apply(runs: { at: number; parts: Buffer[] }[], pos: number, size: number): Buffer {
  const out = Buffer.alloc(size);
  for (const r of runs) Buffer.concat(r.parts).copy(out, r.at - pos);
  return out;
}

/** Splits `b` at the given cut points. */
function cut(b: Buffer, points: number[]): Buffer[] {
  const out: Buffer[] = [];
  let at = 0;
  for (const p of [...points, b.length]) {
    out.push(b.subarray(at, p));
    at = p;
  }
  return out;
}

describe('dataRuns', () => {
  const U = 4096;
  // Units: data, zero, zero, data (one non-zero byte at its end), zero, and a partial last unit.
  const content = Buffer.alloc(5 * U + 100);
  content.fill(7, 0, U);
  content[4 * U - 1] = 1;
  content.fill(9, 5 * U, 5 * U + 50);

  for (const points of [[], [1], [U], [U + 1, 2 * U + 7, 3 * U - 1], [100, 200, 300, 4 * U - 1, 5 * U + 1]]) {
    it(`leaves holes only for whole zero units, buffers cut at ${JSON.stringify(points)}`, () => {
      const runs = dataRuns(cut(content, points), 8 * U);
      expect(apply(runs, 8 * U, content.length).equals(content)).toBe(true);
      // What is written: unit 0, unit 3, the partial unit 5 (holes: units 1, 2, 4).
      const written = runs.flatMap((r) => {
        const n = r.parts.reduce((k, p) => k + p.length, 0);
        return [[r.at - 8 * U, r.at - 8 * U + n]];
      });
      expect(written).toEqual([[0, U], [3 * U, 4 * U], [5 * U, 5 * U + 100]]);
    });
  }

  it('dense data is one run per stretch of buffers, however many', () => {
    const bufs = Array.from({ length: 64 }, (_, i) => Buffer.alloc(1000, i + 1));
    const runs = dataRuns(bufs, 0);
    expect(runs.length).toBe(1);
    expect(Buffer.concat(runs[0]!.parts).equals(Buffer.concat(bufs))).toBe(true);
  });
});
