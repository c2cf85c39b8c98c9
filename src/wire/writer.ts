/**
 * Writer with the reader's vocabulary: bytes are queued as given (zero-copy)
 * and flushed in large vectored writes. Output to a file goes to a temporary
 * file beside the target that is renamed only on success, so a failed run
 * never leaves a partial output behind.
 */
import { open, rename, unlink, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { Writable } from 'node:stream';
import type { Tap } from './reader.js';

/** Where written bytes end up. */
export interface ByteSink {
  /** Writes the buffers in order. */
  writev(bufs: Buffer[]): Promise<void>;
  /** Completes the output (`ok`) or discards it. */
  close(ok: boolean): Promise<void>;
}

const FLUSH_AT = 8 << 20;
const MAX_IOV = 512;

/** Queues output bytes and flushes them to a {@link ByteSink}; usable as a reader {@link Tap}. */
export class StreamWriter implements Tap {
  /** Bytes written so far (the output offset). */
  offset = 0;
  private queue: Buffer[] = [];
  private queued = 0;
  private pending: Promise<void> = Promise.resolve();
  private failed: unknown = null;

  constructor(private readonly sink: ByteSink) {}

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

  /** Starts writing the queue when it is large; waits for the previous flush first (bounded memory). */
  async drain(): Promise<void> {
    if (this.queued >= FLUSH_AT) await this.flush();
  }

  /** Writes everything queued. */
  async flush(): Promise<void> {
    await this.pending;
    if (this.failed) throw this.failed;
    const q = this.queue;
    this.queue = [];
    this.queued = 0;
    for (let i = 0; i < q.length; i += MAX_IOV) {
      await this.sink.writev(q.slice(i, i + MAX_IOV));
    }
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
    await this.pending.catch(() => {});
    await this.sink.close(false);
  }
}

/** A file written through a temporary sibling and renamed into place on success. */
export class FileSink implements ByteSink {
  private constructor(
    private readonly fh: FileHandle,
    private readonly tmp: string,
    private readonly target: string,
  ) {}

  static async create(target: string): Promise<FileSink> {
    const tmp = join(dirname(target), `.${basename(target)}.vmstate-${process.pid}-${Date.now()}.tmp`);
    const fh = await open(tmp, 'wx');
    return new FileSink(fh, tmp, target);
  }

  async writev(bufs: Buffer[]): Promise<void> {
    let total = 0;
    for (const b of bufs) total += b.length;
    let { bytesWritten } = await this.fh.writev(bufs);
    // Short vectored writes are rare but legal: finish the rest buffer by buffer.
    if (bytesWritten < total) {
      let skip = bytesWritten;
      for (const b of bufs) {
        if (skip >= b.length) {
          skip -= b.length;
          continue;
        }
        let rest = b.subarray(skip);
        skip = 0;
        while (rest.length > 0) {
          const r = await this.fh.write(rest);
          rest = rest.subarray(r.bytesWritten);
        }
      }
      bytesWritten = total;
    }
  }

  async close(ok: boolean): Promise<void> {
    await this.fh.close().catch(() => {});
    if (ok) await rename(this.tmp, this.target);
    else await unlink(this.tmp).catch(() => {});
  }
}

/** A writable stream such as `process.stdout`, honouring backpressure. */
export class WritableSink implements ByteSink {
  constructor(private readonly out: Writable) {}
  async writev(bufs: Buffer[]): Promise<void> {
    let ok = true;
    for (const b of bufs) ok = this.out.write(b);
    if (!ok) await new Promise<void>((res) => this.out.once('drain', res));
  }
  async close(): Promise<void> {}
}

/** Collects output in memory (tests, small outputs). */
export class MemorySink implements ByteSink {
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
