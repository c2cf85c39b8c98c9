/**
 * Pull reader over a {@link ByteSource} with one absolute offset.
 *
 * Chunks are queued as they arrive; small structured reads (`u8`, `be32`,
 * `take`) are served from the queue, copying only when a read straddles two
 * chunks. Large spans (guest RAM pages) are consumed with {@link pass}, which
 * never copies: consumed bytes go to the optional tap as slices of the input
 * chunks, in order, so a rewrite copies everything it does not edit.
 *
 * A consumed chunk goes back to the source for reuse ({@link ByteSource.release})
 * unless a slice of it may still be referenced: one handed out by `peek`/`take`,
 * or one given to the tap that the tap has not confirmed as written.
 */
import { TruncatedError, type ErrorPlace } from '../errors.js';
import type { ByteSource } from './source.js';

/** Receives consumed input bytes in order (zero-copy slices). */
export interface Tap {
  write(chunk: Buffer): void;
  /** Resolves when the receiver can take more; called before each source read. */
  drain(): Promise<void>;
  /** Calls `fn` once nothing written so far is referenced by the receiver any more (optional; may never call it). */
  onWritten?(fn: () => void): void;
  /** From here on the bytes given no longer follow the input: some were dropped (optional). */
  changed?(): void;
  /**
   * True when the receiver can take a gap ({@link skip}): it holds the input's own bytes already
   * (a clone of the input file), so input bytes that are not read need not reach it.
   */
  readonly skips?: boolean;
  /** The next `n` input bytes are not read; the receiver keeps its own copy of them (only when {@link skips}). */
  skip?(n: number): Promise<void>;
}

/** Reader over one stream. All offsets are absolute input offsets. */
export class StreamReader {
  /** Absolute offset of the next unread byte. */
  offset = 0;
  /** Label of the part being read, used in error messages. */
  section = 'header';
  private chunks: Buffer[] = [];
  /** Read position inside chunks[0]. */
  private pos = 0;
  /** Position inside chunks[0] up to which the tap has been fed. */
  private fed = 0;
  private buffered = 0;
  private ended = false;
  private tap: Tap | null = null;
  /** A slice of chunks[0] was handed out by peek/take: the chunk must not be reused. */
  private headPinned = false;
  /** The tap that was given slices of chunks[0], if any. */
  private headTap: Tap | null = null;

  constructor(readonly source: ByteSource) {}

  /** Where the reader is, for errors. */
  place(offset = this.offset): ErrorPlace {
    return { offset, section: this.section };
  }

  /** Bytes available without reading the source. */
  get available(): number {
    return this.buffered;
  }

  /** Sends consumed bytes to `tap` from now on (`null` stops). */
  setTap(tap: Tap | null): void {
    this.feedTap();
    this.tap = tap;
  }

  /** Pulls one more chunk; false at the end of the input. */
  private async pull(): Promise<boolean> {
    if (this.ended) return false;
    if (this.tap) {
      this.feedTap();
      await this.tap.drain();
    }
    let c: Buffer | null;
    do c = await this.source.read();
    while (c && c.length === 0);
    if (!c) {
      this.ended = true;
      return false;
    }
    this.chunks.push(c);
    this.buffered += c.length;
    return true;
  }

  /** Makes at least `n` bytes available; false if the input ends first. */
  async ensure(n: number): Promise<boolean> {
    while (this.buffered < n) if (!(await this.pull())) return false;
    return true;
  }

  /** Like {@link ensure} but a short input is a {@link TruncatedError}. */
  async need(n: number): Promise<void> {
    if (this.buffered >= n) return;
    if (!(await this.ensure(n))) throw new TruncatedError(n - this.buffered, this.place(this.offset + this.buffered));
  }

  /** True when every byte has been consumed and the source is exhausted. */
  async atEnd(): Promise<boolean> {
    return !(await this.ensure(1));
  }

  /** Byte at `i` past the read position (must be available). */
  peekU8(i = 0): number {
    let p = this.pos + i;
    for (const c of this.chunks) {
      if (p < c.length) return c[p]!;
      p -= c.length;
    }
    throw new TruncatedError(i + 1 - this.buffered, this.place(this.offset + this.buffered));
  }

  /** The next `n` available bytes as one contiguous buffer, not consumed (copies only if they straddle chunks). */
  peek(n: number): Buffer {
    if (n > this.buffered) throw new TruncatedError(n - this.buffered, this.place(this.offset + this.buffered));
    const first = this.chunks[0];
    if (first && first.length - this.pos >= n) {
      this.headPinned = true;
      return first.subarray(this.pos, this.pos + n);
    }
    const out = Buffer.allocUnsafe(n);
    let done = 0;
    let p = this.pos;
    for (const c of this.chunks) {
      const k = Math.min(c.length - p, n - done);
      c.copy(out, done, p, p + k);
      done += k;
      p = 0;
      if (done === n) break;
    }
    return out;
  }

  /** Consumes `n` available bytes (fed to the tap, if any). */
  private advance(n: number): void {
    this.offset += n;
    this.buffered -= n;
    while (n > 0) {
      const c = this.chunks[0]!;
      const k = Math.min(c.length - this.pos, n);
      this.pos += k;
      n -= k;
      if (this.pos === c.length) this.shiftHead();
    }
  }

  /** Consumes `n` bytes that lie inside chunks[0] (`c`); the fast path of the small reads. */
  private step(c: Buffer, n: number): void {
    this.pos += n;
    this.offset += n;
    this.buffered -= n;
    if (this.pos === c.length) this.shiftHead();
  }

  /** Retires the fully consumed chunks[0]: its unfed rest goes to the tap, its memory back to the source. */
  private shiftHead(): void {
    const c = this.chunks.shift()!;
    if (this.tap && this.fed < c.length) {
      this.tap.write(this.fed === 0 ? c : c.subarray(this.fed));
      this.noteTap(this.tap);
    }
    const tap = this.headTap;
    const pinned = this.headPinned;
    this.pos = 0;
    this.fed = 0;
    this.headTap = null;
    this.headPinned = false;
    const src = this.source;
    if (pinned || !src.release) return;
    if (!tap) src.release(c);
    else tap.onWritten?.(() => src.release!(c));
  }

  /** Feeds the tap everything consumed so far. */
  private feedTap(): void {
    const c = this.chunks[0];
    if (this.tap && c && this.fed < this.pos) {
      this.tap.write(c.subarray(this.fed, this.pos));
      this.noteTap(this.tap);
    }
    this.fed = this.pos;
  }

  /** Notes that `tap` holds slices of chunks[0]; slices held by two taps keep the chunk from reuse. */
  private noteTap(tap: Tap): void {
    if (this.headTap !== null && this.headTap !== tap) this.headPinned = true;
    this.headTap = tap;
  }

  /** Consumes and returns `n` bytes (must be available). */
  take(n: number): Buffer {
    const b = this.peek(n);
    this.advance(n);
    return b;
  }

  /** Reads `n` bytes, pulling from the source as needed. */
  async read(n: number): Promise<Buffer> {
    await this.need(n);
    return this.take(n);
  }

  // The fixed-size reads (bytes must be available) read straight from the current chunk when
  // it holds them: no slice, no allocation. Only a read straddling two chunks copies.
  u8(): number {
    const c = this.chunks[0];
    if (c !== undefined && this.pos < c.length) {
      const v = c[this.pos]!;
      this.step(c, 1);
      return v;
    }
    const v = this.peekU8();
    this.advance(1);
    return v;
  }
  be16(): number {
    const c = this.chunks[0];
    if (c !== undefined && c.length - this.pos >= 2) {
      const v = c.readUInt16BE(this.pos);
      this.step(c, 2);
      return v;
    }
    return this.take(2).readUInt16BE(0);
  }
  be32(): number {
    const c = this.chunks[0];
    if (c !== undefined && c.length - this.pos >= 4) {
      const v = c.readUInt32BE(this.pos);
      this.step(c, 4);
      return v;
    }
    return this.take(4).readUInt32BE(0);
  }
  be64(): bigint {
    const c = this.chunks[0];
    if (c !== undefined && c.length - this.pos >= 8) {
      const v = c.readBigUInt64BE(this.pos);
      this.step(c, 8);
      return v;
    }
    return this.take(8).readBigUInt64BE(0);
  }

  /**
   * The chunk the next unread byte is in (undefined when nothing is buffered), for a parser
   * that walks many small records in place: it reads `chunk[chunkPos..chunk.length)` and then
   * consumes what it parsed with {@link consumeInChunk}. Reading it does not pin the chunk,
   * so nothing read from it may be kept beyond that call.
   */
  get chunk(): Buffer | undefined {
    return this.chunks[0];
  }
  /** Position of the next unread byte inside {@link chunk}. */
  get chunkPos(): number {
    return this.pos;
  }
  /** Consumes `n` bytes that lie inside {@link chunk} (like {@link pass}: they go to the tap). */
  consumeInChunk(n: number): void {
    const c = this.chunks[0];
    if (c === undefined || n < 0 || n > c.length - this.pos) {
      throw new RangeError(`consumeInChunk(${n}): only ${c ? c.length - this.pos : 0} bytes in the current chunk`);
    }
    this.step(c, n);
  }

  /**
   * Consumes `n` bytes like {@link pass}, synchronously, when all of them are available
   * already; returns false (consuming nothing) when they are not.
   */
  passBuffered(n: number): boolean {
    if (n > this.buffered) return false;
    const c = this.chunks[0];
    if (c !== undefined && c.length - this.pos >= n) this.step(c, n);
    else this.advance(n);
    return true;
  }

  /** Consumes `n` bytes without holding them: they go to the tap, or are skipped (seeking when possible). */
  async pass(n: number): Promise<void> {
    while (n > 0) {
      if (this.buffered === 0) {
        if (!this.tap && this.source.skip && this.source.size !== undefined) {
          const left = this.source.size - this.offset;
          if (left < n) throw new TruncatedError(n - left, this.place(this.source.size));
          await this.source.skip(n);
          this.offset += n;
          return;
        }
        if (!(await this.pull())) throw new TruncatedError(n, this.place());
      }
      const k = Math.min(n, this.buffered);
      this.advance(k);
      n -= k;
    }
  }

  /**
   * Whether {@link skip} can move past bytes without reading them: the source is seekable and
   * the tap, if any, takes gaps.
   */
  get canSkip(): boolean {
    const src = this.source;
    return src.skip !== undefined && src.size !== undefined && (this.tap === null || !!this.tap.skips);
  }

  /**
   * Consumes `n` bytes that no one needs to see (a mapped-ram page area, the RAM of a stream read
   * tail-first): without reading them where {@link canSkip} allows (the tap is told of the gap),
   * else read through like {@link pass}. Returns whether the bytes past the buffered ones were
   * skipped unread.
   */
  async skip(n: number): Promise<boolean> {
    if (n <= this.buffered || !this.canSkip) {
      await this.pass(n);
      return false;
    }
    const size = this.source.size!;
    if (this.offset + n > size) throw new TruncatedError(this.offset + n - size, this.place(size));
    // What is buffered is consumed as usual (and fed to the tap); the rest is never read.
    const held = this.buffered;
    this.advance(held);
    this.feedTap();
    const rest = n - held;
    await this.tap?.skip!(rest);
    await this.source.skip!(rest);
    this.offset += rest;
    return true;
  }

  /** Consumes `n` bytes that must not reach the tap (they are being replaced). */
  async drop(n: number): Promise<void> {
    await this.need(n);
    this.feedTap();
    const tap = this.tap;
    tap?.changed?.();
    this.tap = null;
    this.advance(n);
    this.fed = this.pos;
    this.tap = tap;
  }

  /** Reads a str8 (u8 length + bytes) as latin1 text. */
  async str8(): Promise<string> {
    if (this.buffered < 1) await this.need(1);
    const n = this.peekU8();
    if (this.buffered < 1 + n) await this.need(1 + n);
    this.u8();
    const c = this.chunks[0];
    if (c !== undefined && c.length - this.pos >= n) {
      const s = c.toString('latin1', this.pos, this.pos + n);
      this.step(c, n);
      return s;
    }
    return this.take(n).toString('latin1');
  }
}
