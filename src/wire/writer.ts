/**
 * Writer with the reader's vocabulary: bytes are queued as given (zero-copy)
 * and flushed in vectored writes (to an asynchronous sink, one batch written in
 * the background while the next is queued). Output to a file goes to a temporary
 * file beside the target that is renamed only on success, so a failed run
 * never leaves a partial output behind.
 */
import { open, rename, unlink, type FileHandle } from 'node:fs/promises';
import { writevSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { Writable } from 'node:stream';
import type { Tap } from './reader.js';
import { ioError } from '../errors.js';

/** Where written bytes end up. */
export interface ByteSink {
  /** Writes the buffers in order. */
  writev(bufs: Buffer[]): Promise<void>;
  /** Completes the output (`ok`) or discards it. */
  close(ok: boolean): Promise<void>;
  /**
   * True when {@link writev} settles only after the sink has let go of the buffers (written or
   * copied them), so their memory may then be reused. Absent: the writer never offers them for reuse.
   */
  readonly releasesBuffers?: boolean;
  /**
   * Told the output offset from which the bytes written differ from the input's, once, before
   * they are written. Until then every byte is the input's own, at the same offset: a sink
   * that holds a copy of the input already (`CopyFileSink`) need not write them.
   */
  changedAt?(offset: number): void;
}

/**
 * Queued bytes at which a write starts (in the background for an asynchronous sink: at most
 * one batch is being written while the next is queued). About one input chunk, so that bytes
 * leave while they are still in the CPU cache.
 */
const FLUSH_AT = 128 << 10;
const MAX_IOV = 512;

/** Queues output bytes and flushes them to a {@link ByteSink}; usable as a reader {@link Tap}. */
export class StreamWriter implements Tap {
  /** Bytes written so far (the output offset). */
  offset = 0;
  private queue: Buffer[] = [];
  private queued = 0;
  /** Run once the queued bytes are written (see {@link onWritten}). */
  private callbacks: (() => void)[] = [];
  /** The batch being written; never rejects (a failure is kept in `failed`). */
  private pending: Promise<void> = Promise.resolve();
  private failed: unknown = null;
  /** The sink was told where the output stops following the input. */
  private changeTold = false;

  constructor(private readonly sink: ByteSink) {}

  /** Output no longer follows the input from the current offset on (bytes dropped or new). */
  changed(): void {
    if (this.changeTold) return;
    this.changeTold = true;
    this.sink.changedAt?.(this.offset);
  }

  /** Writes bytes of its own, not the input's (an edit). */
  insert(chunk: Buffer): void {
    this.changed();
    this.write(chunk);
  }

  write(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.queue.push(chunk);
    this.queued += chunk.length;
    this.offset += chunk.length;
  }

  be32(v: number): void {
    const b = Buffer.allocUnsafe(4);
    b.writeUInt32BE(v >>> 0);
    this.write(b);
  }

  /**
   * Calls `fn` once every byte written so far has reached the sink and the sink no longer
   * refers to it, so the memory behind it may be reused. Never calls it when the sink cannot
   * promise that, or when the output fails or is aborted.
   */
  onWritten(fn: () => void): void {
    if (this.sink.releasesBuffers) this.callbacks.push(fn);
  }

  /**
   * When the queue is large, starts writing it in the background; first waits for the batch
   * before it (so memory stays bounded at about two batches).
   */
  async drain(): Promise<void> {
    if (this.queued < FLUSH_AT) return;
    await this.pending;
    if (this.failed) throw this.failed;
    this.pending = this.writeQueue();
  }

  /** Writes everything queued. */
  async flush(): Promise<void> {
    await this.pending;
    if (this.failed) throw this.failed;
    this.pending = this.writeQueue();
    await this.pending;
    if (this.failed) throw this.failed;
  }

  /** Takes the queue and writes it; a failure is recorded, not thrown. */
  private async writeQueue(): Promise<void> {
    const q = this.queue;
    const done = this.callbacks;
    this.queue = [];
    this.queued = 0;
    this.callbacks = [];
    try {
      for (let i = 0; i < q.length; i += MAX_IOV) {
        await this.sink.writev(q.length <= MAX_IOV ? q : q.slice(i, i + MAX_IOV));
      }
    } catch (e) {
      this.failed ??= e;
      return;
    }
    for (const f of done) f();
  }

  /** Flushes and commits the output. */
  async end(): Promise<void> {
    await this.flush();
    await this.sink.close(true);
  }

  /** Discards the output (removes a partial file). */
  async abort(): Promise<void> {
    this.queue = [];
    this.queued = 0;
    this.callbacks = [];
    await this.pending;
    await this.sink.close(false);
  }
}

/**
 * Writes every byte of `bufs` to `fd`, at `position` (null: at the file offset), with blocking
 * vectored writes; a short write (rare but legal) goes on from the first byte not written.
 */
export function writeAllSync(fd: number, bufs: Buffer[], position: number | null = null): void {
  let rest = bufs;
  for (;;) {
    let n = position === null ? writevSync(fd, rest) : writevSync(fd, rest, position);
    if (position !== null) position += n;
    let i = 0;
    while (i < rest.length && n >= rest[i]!.length) n -= rest[i++]!.length;
    if (i === rest.length) return;
    rest = [rest[i]!.subarray(n), ...rest.slice(i + 1)];
  }
}

/** A fresh name beside `target` for the file that becomes it on success. */
export function tempPathFor(target: string): string {
  return join(dirname(target), `.${basename(target)}.vmstate-${process.pid}-${Date.now()}.tmp`);
}

/** A file written through a temporary sibling and renamed into place on success. */
export class FileSink implements ByteSink {
  readonly releasesBuffers = true;
  private constructor(
    private readonly fh: FileHandle,
    private readonly tmp: string,
    private readonly target: string,
  ) {}

  static async create(target: string): Promise<FileSink> {
    const tmp = tempPathFor(target);
    let fh: FileHandle;
    try {
      fh = await open(tmp, 'wx');
    } catch (e) {
      throw ioError(`cannot write ${target}`, e);
    }
    return new FileSink(fh, tmp, target);
  }

  /**
   * A blocking vectored write: into the page cache it takes microseconds, and the bytes are
   * written while the chunk that carried them is still in the CPU cache (a write on a pool
   * thread made a file-to-file copy use about twice the CPU time).
   */
  async writev(bufs: Buffer[]): Promise<void> {
    try {
      writeAllSync(this.fh.fd, bufs);
    } catch (e) {
      throw ioError(`cannot write ${this.target}`, e);
    }
  }

  async close(ok: boolean): Promise<void> {
    await this.fh.close().catch(() => {});
    if (ok) {
      try {
        await rename(this.tmp, this.target);
        return;
      } catch (e) {
        await unlink(this.tmp).catch(() => {});
        throw ioError(`cannot write ${this.target}`, e);
      }
    }
    await unlink(this.tmp).catch(() => {});
  }
}

/** A writable stream such as `process.stdout`, honouring backpressure. */
export class WritableSink implements ByteSink {
  readonly releasesBuffers = true;
  constructor(private readonly out: Writable) {}
  /** Settles when the stream has processed the last buffer (and so every one before it). */
  async writev(bufs: Buffer[]): Promise<void> {
    if (bufs.length === 0) return;
    await new Promise<void>((res, rej) => {
      const last = bufs.length - 1;
      for (let i = 0; i < last; i++) this.out.write(bufs[i]!);
      this.out.write(bufs[last]!, (e) => (e ? rej(ioError('cannot write the output', e)) : res()));
    });
  }
  async close(): Promise<void> {}
}

/** Collects output in memory (tests, small outputs). */
export class MemorySink implements ByteSink {
  readonly releasesBuffers = true;
  readonly parts: Buffer[] = [];
  committed = false;
  async writev(bufs: Buffer[]): Promise<void> {
    for (const b of bufs) this.parts.push(Buffer.from(b));
  }
  async close(ok: boolean): Promise<void> {
    this.committed = ok;
  }
  /** Everything written, joined. */
  bytes(): Buffer {
    return Buffer.concat(this.parts);
  }
}
