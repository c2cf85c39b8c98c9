/**
 * Byte sources: where a reader pulls its chunks from. A file is seekable (its
 * tail can be read first, and spans can be skipped without reading them); a
 * pipe or any async iterable of chunks is read strictly in order.
 */
import { open, type FileHandle } from 'node:fs/promises';
import { closeSync, fstatSync, openSync, readSync, statSync } from 'node:fs';
import { isatty } from 'node:tty';
import { ioError, UsageError } from '../errors.js';
import { fileState, type FileState } from './file-state.js';
import { blockingReadsAllowed } from './blocking.js';

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
  /**
   * Hands back a chunk returned by {@link read} once nothing refers to it any more, so that
   * its memory is reused for a later read. Optional: a source without it lets chunks be
   * garbage-collected, and a caller that cannot tell simply never calls it.
   */
  release?(chunk: Buffer): void;
  /** Release the underlying handle. */
  close(): Promise<void>;
  /**
   * State of the file or pipe read (`fstat` of the open descriptor: which file it is, and its
   * size and times, to tell whether it changed while it was read). Absent for in-memory sources.
   */
  fstat?(): Promise<FileState>;
  /** The open descriptor of the regular file read, for the kernel to copy it (files only). */
  readonly fileFd?: number;
}

export { allowBlockingReads } from './blocking.js';

/**
 * Default chunk size. Large enough that per-chunk costs vanish, small enough that a chunk
 * and the few queued behind it stay in the CPU cache between being read and being written
 * out (1 MiB chunks made a file-to-file copy 2-3 times slower than 128 KiB ones).
 */
export const DEFAULT_CHUNK = 128 << 10;

/**
 * Chunk size for pipes: Linux's default pipe capacity. A larger chunk is filled by several
 * reads, each waiting for the writer to refill the pipe; piping 1 GiB into a rewrite took
 * 1.75 s with 128 KiB chunks and 1.24 s with 64 KiB ones (means of 5 runs; bench/README.md).
 */
export const PIPE_CHUNK = 64 << 10;

/**
 * Bytes read first, and first after a skip: the head of a stream, or what follows a skipped span
 * (a mapped-ram block header; the device state of a stream read tail-first), is usually far less
 * than a chunk, and what comes after it may be skipped too.
 */
const AFTER_SKIP = 16 << 10;

/** Bytes read with blocking reads between two turns given to the event loop. */
const YIELD_EVERY = 16 << 20;

/** Lets timers and I/O callbacks run. */
function turn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Released chunk buffers a source keeps for reuse, at most. */
const MAX_FREE_CHUNKS = 32;

/**
 * Chunk buffers of one size, lent out by a source and taken back through
 * {@link ByteSource.release}: a long stream is read into a few buffers that stay
 * mapped (no page faults, no garbage) instead of a fresh allocation per read.
 * One pool per source: it also paces the source's blocking reads ({@link hand}).
 */
class ChunkPool {
  private readonly free: Buffer[] = [];
  /** Memory of the chunks lent and not released yet (weak: an unreleased chunk is simply collected). */
  private readonly lent = new WeakSet<ArrayBufferLike>();
  /** Bytes handed out since the event loop last had a turn. */
  private unyielded = 0;
  constructor(readonly size: number) {}
  /** A buffer of its own (not a slice of Node's shared pool), so it can be lent and reused. */
  get(): Buffer {
    return this.free.pop() ?? Buffer.allocUnsafeSlow(this.size);
  }
  /** Takes back a buffer from {@link get} that was not lent. */
  put(buf: Buffer): void {
    if (this.free.length < MAX_FREE_CHUNKS) this.free.push(buf);
  }
  /** The first `n` bytes of `buf` (from {@link get}) as a chunk to lend. */
  private lend(buf: Buffer, n: number): Buffer {
    this.lent.add(buf.buffer);
    return n === buf.length ? buf : buf.subarray(0, n);
  }
  /**
   * Hands out the `n` bytes just read into `buf` (from {@link get}) as a chunk, or null (and
   * takes `buf` back) when nothing was read; gives the event loop a turn every few MiB, as
   * the reads before it blocked.
   */
  async hand(buf: Buffer, n: number): Promise<Buffer | null> {
    if (n === 0) {
      this.put(buf);
      return null;
    }
    if ((this.unyielded += n) >= YIELD_EVERY) {
      this.unyielded = 0;
      await turn();
    }
    return this.lend(buf, n);
  }
  /** Takes back a lent chunk; anything else (or a second release) is ignored. */
  release(chunk: Buffer): void {
    const ab = chunk.buffer;
    if (chunk.byteOffset !== 0 || !this.lent.delete(ab)) return;
    this.put(Buffer.from(ab, 0, this.size));
  }
}

/**
 * A regular file, read sequentially in chunks into reused buffers; seekable. Every call is a
 * blocking one on the calling thread (open, reads, positioned reads): from the page cache one
 * takes microseconds, less than a trip through the thread pool (which a file read this way never
 * starts), and the event loop still gets a turn every few MiB.
 */
export class FileSource implements ByteSource {
  private position: number;
  private readonly pool: ChunkPool;
  /**
   * The next read is the first, or follows a skip: read only a little (what is read then is a
   * stream's head or a block header, usually, and the rest of the input may never be read).
   */
  private skipped = true;
  private closed = false;
  private constructor(
    private readonly fd: number,
    readonly size: number,
    private readonly chunk: number,
    start: number,
  ) {
    this.position = start;
    this.pool = new ChunkPool(chunk);
  }

  /** Opens `path`; `start` is the stream's first byte (e.g. after a wrapper header). */
  static async open(path: string, chunk = DEFAULT_CHUNK, start = 0): Promise<FileSource> {
    let fd: number;
    try {
      fd = openSync(path, 'r');
    } catch (e) {
      throw ioError(`cannot open ${path}`, e);
    }
    const st = fstatSync(fd);
    if (!st.isFile()) {
      closeSync(fd);
      throw new UsageError(`${path} is not a regular file`, {}, 'IO');
    }
    return new FileSource(fd, st.size, chunk, start);
  }

  get fileFd(): number {
    return this.fd;
  }

  async read(): Promise<Buffer | null> {
    if (this.position >= this.size) return null;
    const want = Math.min(this.skipped ? AFTER_SKIP : this.chunk, this.size - this.position);
    this.skipped = false;
    const buf = this.pool.get();
    let bytesRead: number;
    try {
      bytesRead = readSync(this.fd, buf, 0, want, this.position);
    } catch (e) {
      this.pool.put(buf);
      throw ioError('cannot read the input', e);
    }
    this.position += bytesRead;
    return this.pool.hand(buf, bytesRead);
  }

  release(chunk: Buffer): void {
    this.pool.release(chunk);
  }

  async skip(n: number): Promise<void> {
    this.position += n;
    if (n > 0) this.skipped = true;
  }

  async readAt(position: number, length: number): Promise<Buffer> {
    // Only the bytes read are returned, so the buffer need not be zeroed first.
    const buf = Buffer.allocUnsafe(length);
    let done = 0;
    try {
      while (done < length) {
        const n = readSync(this.fd, buf, done, length - done, position + done);
        if (n === 0) break;
        done += n;
      }
    } catch (e) {
      throw ioError('cannot read the input', e);
    }
    return buf.subarray(0, done);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    closeSync(this.fd);
  }

  async fstat(): Promise<FileState> {
    return fileState(fstatSync(this.fd, { bigint: true }));
  }
}

/** Any async iterable of chunks (a pipe, `process.stdin`, a test generator). */
export class IterableSource implements ByteSource {
  private readonly it: AsyncIterator<Uint8Array>;
  readonly fstat?: () => Promise<FileState>;
  /**
   * `from`: the descriptor the chunks come from, if any: its state (`fstat`) and what releases
   * it once iteration is over (`close`).
   */
  constructor(
    iterable: AsyncIterable<Uint8Array>,
    private readonly from: { fstat?: () => Promise<FileState>; close?: () => Promise<void> } = {},
  ) {
    this.it = iterable[Symbol.asyncIterator]();
    if (from.fstat) this.fstat = from.fstat;
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
    await this.from.close?.();
  }
}

/**
 * A pipe, FIFO, socket or other descriptor read strictly in order, with blocking reads that
 * fill a whole chunk (reused, like {@link FileSource}'s) before it is handed on. Reading on
 * the calling thread costs one system call per pipe-full instead of a trip through the event
 * loop per pipe-full, which is what makes a pipe about as fast as a file. A descriptor in
 * non-blocking mode (a read fails with EAGAIN) is handed over to `fallback`, if given, from
 * then on; no byte is lost as nothing was read.
 */
export class FdSource implements ByteSource {
  private readonly pool: ChunkPool;
  private ended = false;
  private other: ByteSource | null = null;

  constructor(
    private readonly fd: number,
    chunk = PIPE_CHUNK,
    private readonly fallback?: () => ByteSource,
    private readonly onClose?: () => Promise<void>,
  ) {
    this.pool = new ChunkPool(chunk);
  }

  async read(): Promise<Buffer | null> {
    if (this.other) return this.other.read();
    if (this.ended) return null;
    const buf = this.pool.get();
    let n = 0;
    while (n < buf.length) {
      let k: number;
      try {
        k = readSync(this.fd, buf, n, buf.length - n, null);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if ((code === 'EAGAIN' || code === 'EWOULDBLOCK') && this.fallback) {
          if (n > 0) break;
          this.pool.put(buf);
          this.other = this.fallback();
          return this.other.read();
        }
        this.pool.put(buf);
        throw ioError('cannot read the input', e);
      }
      if (k === 0) {
        this.ended = true;
        break;
      }
      n += k;
    }
    return this.pool.hand(buf, n);
  }

  release(chunk: Buffer): void {
    this.pool.release(chunk);
  }

  async close(): Promise<void> {
    await this.other?.close();
    await this.onClose?.();
  }

  async fstat(): Promise<FileState> {
    return fileState(fstatSync(this.fd, { bigint: true }));
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

/**
 * Opens a path as a source; `-` means standard input. Regular files are seekable and read in
 * `chunk`s; anything else is read in order in `pipeChunk`s, on the thread pool unless
 * {@link allowBlockingReads} was called.
 */
export async function openSource(path: string, chunk = DEFAULT_CHUNK, pipeChunk = PIPE_CHUNK): Promise<ByteSource> {
  if (path === '-') return stdinSource(pipeChunk);
  let st;
  try {
    // Blocking: a stat never waits on a writer (opening a FIFO does, and is done on the pool below).
    st = statSync(path);
  } catch (e) {
    throw ioError(`cannot open ${path}`, e);
  }
  // A FIFO (e.g. `<(cat f)`) or device is read like a pipe, in order. Opening a FIFO waits for
  // its writer, on the thread pool.
  if (!st.isFile()) {
    let fh: FileHandle;
    try {
      fh = await open(path, 'r');
    } catch (e) {
      throw ioError(`cannot open ${path}`, e);
    }
    const fstat = async () => fileState(await fh.stat({ bigint: true }));
    if (!blockingReadsAllowed()) {
      return new IterableSource(fh.createReadStream({ highWaterMark: pipeChunk, autoClose: false }), { fstat, close: () => fh.close() });
    }
    return new FdSource(fh.fd, pipeChunk, undefined, () => fh.close());
  }
  return FileSource.open(path, chunk);
}

/**
 * Standard input, read in order like any pipe: through the `process.stdin` stream, or, where
 * {@link allowBlockingReads} allows it, with blocking reads of whole chunks ({@link FdSource})
 * unless it is a terminal or in non-blocking mode.
 */
export function stdinSource(chunk = PIPE_CHUNK): ByteSource {
  const fstat = async () => fileState(fstatSync(0, { bigint: true }));
  const stream = (): ByteSource => new IterableSource(process.stdin, { fstat });
  let direct: boolean;
  try {
    direct = blockingReadsAllowed() && !isatty(0) && !fstatSync(0).isDirectory();
  } catch {
    direct = false;
  }
  return direct ? new FdSource(0, chunk, stream) : stream();
}
