/**
 * Byte sources layered over another one while an input is opened: counting what is read (for a
 * progress display), seeing a seekable input from an offset on, and replaying a pipe's first
 * chunks after they were looked at.
 * @module
 */
import type { ByteSource } from '../wire/source.js';

/** A source with everything a seekable file offers. */
export type SeekableSource = ByteSource & { size: number; skip(n: number): Promise<void>; readAt(p: number, l: number): Promise<Buffer> };

/** True when `s` can be read at any offset and skipped over. */
export function isSeekable(s: ByteSource): s is SeekableSource {
  return s.size !== undefined && !!s.skip && !!s.readAt;
}

/** Counts the bytes consumed from a source (reads and skips), for an observer. */
export class CountingSource implements ByteSource {
  private position = 0;
  readonly size?: number;
  skip?: (n: number) => Promise<void>;
  readAt?: (position: number, length: number) => Promise<Buffer>;
  release?: (chunk: Buffer) => void;
  fstat?: ByteSource['fstat'];
  readonly fileFd?: number;
  constructor(
    private readonly base: ByteSource,
    private readonly hooks: { advance(position: number): void; closed(): void },
  ) {
    if (base.size !== undefined) this.size = base.size;
    if (base.fileFd !== undefined) this.fileFd = base.fileFd;
    if (base.fstat) this.fstat = () => base.fstat!();
    if (base.release) this.release = (c) => base.release!(c);
    if (base.skip) {
      this.skip = async (n) => {
        await base.skip!(n);
        this.position += n;
        hooks.advance(this.position);
      };
    }
    if (base.readAt) this.readAt = (p, l) => base.readAt!(p, l);
  }
  async read(): Promise<Buffer | null> {
    const c = await this.base.read();
    if (c) {
      this.position += c.length;
      this.hooks.advance(this.position);
    }
    return c;
  }
  async close(): Promise<void> {
    this.hooks.closed();
    await this.base.close();
  }
}

/** A seekable source seen from `start` on: offsets, size and reads relative to `start`. */
export class OffsetSource implements ByteSource {
  readonly size: number;
  constructor(
    private readonly base: SeekableSource,
    private readonly start: number,
  ) {
    this.size = Math.max(0, base.size - start);
    if (base.release) this.release = (c) => base.release!(c);
    if (base.fstat) this.fstat = () => base.fstat!();
    if (base.fileFd !== undefined) this.fileFd = base.fileFd;
  }
  release?: (chunk: Buffer) => void;
  fstat?: ByteSource['fstat'];
  /** The whole file's descriptor (the stream starts at `start` in it). */
  readonly fileFd?: number;
  read(): Promise<Buffer | null> {
    return this.base.read();
  }
  skip(n: number): Promise<void> {
    return this.base.skip(n);
  }
  readAt(position: number, length: number): Promise<Buffer> {
    return this.base.readAt(this.start + position, length);
  }
  close(): Promise<void> {
    return this.base.close();
  }
}

/** Chunks already read from a pipe, served again before the rest of it. */
export class PrependSource implements ByteSource {
  release?: (chunk: Buffer) => void;
  fstat?: ByteSource['fstat'];
  constructor(
    private readonly head: Buffer[],
    private readonly base: ByteSource,
  ) {
    // Held chunks are the base's own (or copies it ignores): they go back to it like the rest.
    if (base.release) this.release = (c) => base.release!(c);
    if (base.fstat) this.fstat = () => base.fstat!();
  }
  async read(): Promise<Buffer | null> {
    for (;;) {
      const c = this.head.shift();
      if (!c) return this.base.read();
      if (c.length) return c;
    }
  }
  close(): Promise<void> {
    return this.base.close();
  }
}

/** Reads from a pipe until `n` bytes are held (or it ends); returns what is held, joined. */
export async function fillTo(src: ByteSource, held: Buffer[], n: number): Promise<Buffer> {
  let have = held.reduce((k, b) => k + b.length, 0);
  while (have < n) {
    const c = await src.read();
    if (!c) break;
    held.push(c);
    have += c.length;
  }
  return Buffer.concat(held);
}
