/**
 * Byte sources: where a reader pulls its chunks from. A file is seekable (its
 * tail can be read first, and spans can be skipped without reading them); a
 * pipe or any async iterable of chunks is read strictly in order.
 */
import { open, stat, type FileHandle } from 'node:fs/promises';
import { createReadStream } from 'node:fs';
import { VmstateError } from './errors.js';

/** A producer of consecutive chunks of one byte stream. */
export interface ByteSource {
  /** The next chunk (never empty), or `null` at the end of the input. */
  read(): Promise<Buffer | null>;
  /** Total size in bytes, when known up front (seekable files). */
  readonly size?: number;
  /** Skip `n` bytes without reading them (seekable sources only). */
  skip?(n: number): Promise<void>;
  /** Read `length` bytes at absolute `position` without moving the read position. */
  readAt?(position: number, length: number): Promise<Buffer>;
  /** Release the underlying handle. */
  close(): Promise<void>;
}

/** Default chunk size for file reads: large enough to stream RAM at disk speed. */
export const DEFAULT_CHUNK = 1 << 20;

/** A regular file, read sequentially in large chunks; seekable. */
export class FileSource implements ByteSource {
  private position: number;
  private constructor(
    private readonly fh: FileHandle,
    readonly size: number,
    private readonly chunk: number,
    start: number,
  ) {
    this.position = start;
  }

  /** Opens `path`; `start` is the stream's first byte (e.g. after a wrapper header). */
  static async open(path: string, chunk = DEFAULT_CHUNK, start = 0): Promise<FileSource> {
    let fh: FileHandle;
    try {
      fh = await open(path, 'r');
    } catch (e) {
      throw new VmstateError('IO', `cannot open ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
    const st = await fh.stat();
    if (!st.isFile()) {
      await fh.close();
      throw new VmstateError('IO', `${path} is not a regular file`);
    }
    return new FileSource(fh, st.size, chunk, start);
  }

  async read(): Promise<Buffer | null> {
    if (this.position >= this.size) return null;
    const want = Math.min(this.chunk, this.size - this.position);
    const buf = Buffer.allocUnsafe(want);
    const { bytesRead } = await this.fh.read(buf, 0, want, this.position);
    if (bytesRead === 0) return null;
    this.position += bytesRead;
    return bytesRead === want ? buf : buf.subarray(0, bytesRead);
  }

  async skip(n: number): Promise<void> {
    this.position += n;
  }

  async readAt(position: number, length: number): Promise<Buffer> {
    const buf = Buffer.alloc(length);
    let done = 0;
    while (done < length) {
      const { bytesRead } = await this.fh.read(buf, done, length - done, position + done);
      if (bytesRead === 0) break;
      done += bytesRead;
    }
    return buf.subarray(0, done);
  }

  async close(): Promise<void> {
    await this.fh.close();
  }
}

/** Any async iterable of chunks (a pipe, `process.stdin`, a test generator). */
export class IterableSource implements ByteSource {
  private readonly it: AsyncIterator<Uint8Array>;
  constructor(iterable: AsyncIterable<Uint8Array>) {
    this.it = iterable[Symbol.asyncIterator]();
  }
  async read(): Promise<Buffer | null> {
    for (;;) {
      const r = await this.it.next();
      if (r.done) return null;
      const v = r.value;
      if (v.length === 0) continue;
      return Buffer.isBuffer(v) ? v : Buffer.from(v.buffer, v.byteOffset, v.length);
    }
  }
  async close(): Promise<void> {
    await this.it.return?.();
  }
}

/** An in-memory stream cut into chunks of the given sizes (cycled); for tests and small inputs. */
export class BufferSource implements ByteSource {
  private pos = 0;
  private turn = 0;
  constructor(
    private readonly data: Uint8Array,
    private readonly chunkSizes: number[] = [DEFAULT_CHUNK],
    readonly seekable = false,
  ) {
    if (seekable) {
      (this as { size?: number }).size = data.length;
      this.skip = async (n: number) => {
        this.pos += n;
      };
      this.readAt = async (p: number, l: number) => Buffer.from(this.data.subarray(p, p + l));
    }
  }
  readonly size?: number;
  skip?: (n: number) => Promise<void>;
  readAt?: (position: number, length: number) => Promise<Buffer>;
  async read(): Promise<Buffer | null> {
    if (this.pos >= this.data.length) return null;
    const n = this.chunkSizes[this.turn++ % this.chunkSizes.length]!;
    const end = Math.min(this.data.length, this.pos + Math.max(1, n));
    const d = this.data;
    const out = Buffer.from(d.buffer, d.byteOffset + this.pos, end - this.pos);
    this.pos = end;
    return out;
  }
  async close(): Promise<void> {}
}

/** Opens a path as a source; `-` means standard input. Regular files are seekable. */
export async function openSource(path: string, chunk = DEFAULT_CHUNK): Promise<ByteSource> {
  if (path === '-') return stdinSource();
  let st;
  try {
    st = await stat(path);
  } catch (e) {
    throw new VmstateError('IO', `cannot open ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  // A FIFO (e.g. `<(cat f)`) or device is read like a pipe, in order.
  if (!st.isFile()) return new IterableSource(createReadStream(path, { highWaterMark: chunk }));
  return FileSource.open(path, chunk);
}

/** Standard input, read in order like any pipe. */
export function stdinSource(): ByteSource {
  return new IterableSource(process.stdin);
}
