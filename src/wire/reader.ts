/**
 * Pull reader over a {@link ByteSource} with one absolute offset.
 *
 * Chunks are queued as they arrive; small structured reads (`u8`, `be32`,
 * `take`) are served from the queue, copying only when a read straddles two
 * chunks. Large spans (guest RAM pages) are consumed with {@link pass}, which
 * never copies: consumed bytes go to the optional tap as slices of the input
 * chunks, in order, so a rewrite copies everything it does not edit.
 */
import { LimitError, TruncatedError, VmstateError, type ErrorPlace } from './errors.js';
import type { ByteSource } from './source.js';

/** Receives consumed input bytes in order (zero-copy slices). */
export interface Tap {
  write(chunk: Buffer): void;
  /** Resolves when the receiver can take more; called before each source read. */
  drain(): Promise<void>;
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
    const c = await this.source.read();
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
    if (first && first.length - this.pos >= n) return first.subarray(this.pos, this.pos + n);
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
      if (this.pos === c.length) {
        if (this.tap && this.fed < c.length) this.tap.write(this.fed === 0 ? c : c.subarray(this.fed));
        this.chunks.shift();
        this.pos = 0;
        this.fed = 0;
      }
    }
  }

  /** Feeds the tap everything consumed so far. */
  private feedTap(): void {
    const c = this.chunks[0];
    if (this.tap && c && this.fed < this.pos) this.tap.write(c.subarray(this.fed, this.pos));
    this.fed = this.pos;
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

  u8(): number {
    const v = this.peekU8();
    this.advance(1);
    return v;
  }
  be16(): number {
    return this.take(2).readUInt16BE(0);
  }
  be32(): number {
    return this.take(4).readUInt32BE(0);
  }
  be64(): bigint {
    return this.take(8).readBigUInt64BE(0);
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

  /** Consumes `n` bytes that must not reach the tap (they are being replaced). */
  async drop(n: number): Promise<void> {
    await this.need(n);
    this.feedTap();
    const tap = this.tap;
    this.tap = null;
    this.advance(n);
    this.fed = this.pos;
    this.tap = tap;
  }

  /** Reads a str8 (u8 length + bytes) as latin1 text. */
  async str8(): Promise<string> {
    await this.need(1);
    const n = this.peekU8();
    await this.need(1 + n);
    this.advance(1);
    return this.take(n).toString('latin1');
  }

  /** Buffers up to `cap` bytes ahead (or to the end of input) and returns how many are available. */
  async fill(atLeast: number, cap: number, capName: string): Promise<number> {
    if (atLeast > cap) throw new LimitError('buffered device state', atLeast, cap, capName, this.place());
    await this.ensure(atLeast);
    return this.buffered;
  }
}

/** Asserts a condition about the input, raising a typed error at the reader's place. */
export function check(cond: boolean, r: { place(o?: number): ErrorPlace }, code: VmstateError['code'], msg: string, offset?: number): asserts cond {
  if (!cond) throw new VmstateError(code, msg, r.place(offset));
}
