/** decodeStream as a library user calls it: its inputs, and one maxVmdesc cap wherever the vmdesc is read. */
import { describe, expect, it } from 'vitest';
import { decodeStream, LimitError } from '../src/index.js';
import { IterableSource } from '../src/wire/source.js';

/** A stream with no sections and a vmdesc of about `size` bytes of JSON. */
function streamWithVmdesc(size: number): Buffer {
  // Padded with spaces (a vmdesc holds names, not megabyte strings: those are refused on their own).
  const head = '{"page_size": 4096, "devices": []';
  const json = Buffer.from(head + ' '.repeat(size - head.length - 1) + '}');
  const item = Buffer.alloc(5);
  item[0] = 0x06;
  item.writeUInt32BE(json.length, 1);
  return Buffer.concat([Buffer.from('QEVM'), Buffer.from([0, 0, 0, 3, 0x00]), item, json]);
}

async function* chunks(b: Buffer): AsyncGenerator<Buffer> {
  for (let i = 0; i < b.length; i += 1 << 20) yield b.subarray(i, i + (1 << 20));
}

describe('maxVmdesc', () => {
  // Larger than the default cap (64 MiB): it decodes once the cap is raised, from a file and from a pipe.
  const big = streamWithVmdesc(65 << 20);

  it('a raised cap lets a larger vmdesc through, file and pipe alike', { timeout: 120_000 }, async () => {
    for (const input of [big, new IterableSource(chunks(big))]) {
      const s = await decodeStream(input, { limits: { maxVmdesc: 128 << 20, maxBuffer: 128 << 20 } });
      expect(s.vmdesc?.length).toBe(big.length - 14);
    }
  });

  it('the default cap refuses it, naming the option', { timeout: 120_000 }, async () => {
    for (const input of [big, new IterableSource(chunks(big))]) {
      const e = await decodeStream(input).catch((x: unknown) => x);
      expect(e).toBeInstanceOf(LimitError);
      expect((e as LimitError).message).toBe(`vmdesc length ${big.length - 14} exceeds the cap ${64 << 20} (maxVmdesc) (at byte 10, in vmdesc)`);
    }
  });
});

describe('decodeStream inputs', () => {
  it('a Node stream is read as an async iterable (not taken for a byte source)', async () => {
    const { createReadStream } = await import('node:fs');
    const path = 'samples/qemu-7.2/virt-7.2_max.mig';
    const [a, b] = [await decodeStream(createReadStream(path)), await decodeStream(path)];
    expect(a.cpus.map((c) => c.ids)).toEqual(b.cpus.map((c) => c.ids));
    expect(a.size).toBe(b.size);
  });
});

describe('a missing input', () => {
  it('is a typed error, as for a path that cannot be opened', async () => {
    const e = await decodeStream(undefined as unknown as string).catch((x: unknown) => x);
    expect(e).toMatchObject({ name: 'UsageError', code: 'IO' });
  });
});
