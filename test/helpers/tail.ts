/** Comparing a stream read tail-first with the same stream walked whole. */
import { expect } from 'vitest';
import type { DecodedStream } from '../../src/stream/decode.js';
import type { ByteSource } from '../../src/wire/source.js';
import { FileSource } from '../../src/wire/source.js';

/**
 * What a tail-first decode cannot know, taken out: RAM record counts (and mapped-ram page counts),
 * iterative item counts and byte totals, commands inside the skipped span, and how it was read.
 */
function comparable(s: DecodedStream, skipped: [number, number] | null): unknown {
  const inSpan = (o: number) => skipped !== null && o >= skipped[0] && o < skipped[1];
  return {
    ...s,
    walk: null,
    ram: s.ram && {
      ...s.ram,
      walked: null,
      records: null,
      payloadBytes: null,
      blocks: s.ram.blocks.map((b) => ({ ...b, records: null, mappedRam: b.mappedRam && { ...b.mappedRam, pagesPresent: null } })),
    },
    iterative: s.iterative.map((i) => ({ ...i, items: null, bytes: null })),
    commands: s.commands.filter((c) => !inSpan(c.offset)),
  };
}

/**
 * Asserts that `tail` was read tail-first and equals `whole` (a full walk of the same stream) in
 * everything but what the skipped span holds; returns the span.
 */
export function expectSameAsWhole(tail: DecodedStream, whole: DecodedStream, what: string): [number, number] {
  expect(tail.walk.mode, `${what}: ${JSON.stringify(tail.walk)}`).toBe('tail-first');
  expect(whole.walk.mode, what).toBe('full');
  const w = tail.walk as { from: number; to: number };
  const span: [number, number] = [w.from, w.to];
  expect(comparable(tail, span), what).toEqual(comparable(whole, span));
  // What the skipped span holds, the whole walk found there: RAM items (and commands) only.
  const ramItems = whole.iterative.find((i) => i.name === 'ram')!;
  expect(ramItems.items, what).toBeGreaterThan(1);
  for (const sct of whole.sections) expect(sct.offset >= w.to || sct.offset + sct.size <= w.from, `${what}: ${sct.name} in the span`).toBe(true);
  return span;
}

/** A file source that counts the bytes it reads (sequential chunks and positioned reads). */
export async function countingFileSource(path: string): Promise<ByteSource & { bytesRead(): number }> {
  const f = await FileSource.open(path);
  let n = 0;
  const src: ByteSource & { bytesRead(): number } = {
    size: f.size,
    bytesRead: () => n,
    async read() {
      const c = await f.read();
      if (c) n += c.length;
      return c;
    },
    async readAt(p: number, l: number) {
      const b = await f.readAt(p, l);
      n += b.length;
      return b;
    },
    skip: (k: number) => f.skip(k),
    release: (c: Buffer) => f.release(c),
    close: () => f.close(),
    fstat: () => f.fstat(),
  };
  return src;
}
