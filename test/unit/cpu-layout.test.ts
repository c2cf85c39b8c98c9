/** The cpu section layout's offsets come from its field descriptions, and match the real streams. */
import { describe, expect, it } from 'vitest';
import { COUNT_OFFSET, CPU_SECTION_VERSION, TAIL_SIZE } from '../../src/cpu/layout.js';
import { decodeStream } from '../../src/stream/decode.js';
import { sampleBytes, samplePaths } from '../helpers/samples.js';

describe('cpu section layout (version 22)', () => {
  it('has the count 568 bytes into the body and a 65-byte tail (spec §5)', () => {
    expect(CPU_SECTION_VERSION).toBe(22);
    expect(COUNT_OFFSET).toBe(568);
    expect(TAIL_SIZE).toBe(65);
  });

  it.each(samplePaths().map((s) => [s.name, s.path] as const))('%s: the count field is where the layout says', async (_name, path) => {
    const data = sampleBytes(path);
    const s = await decodeStream(data);
    for (const c of s.cpus) {
      // Section header: type, be32 id, str8 "cpu", be32 instance, be32 version = 17 bytes.
      expect(c.countOffset).toBe(c.offset + 17 + COUNT_OFFSET);
      expect(data.readInt32BE(c.countOffset)).toBe(c.count);
      expect(c.arraysEnd).toBe(c.countOffset + 4 + 16 * c.count);
    }
  });
});
