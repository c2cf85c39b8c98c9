/**
 * Writer with the reader's vocabulary: bytes are queued as given (zero-copy)
 * and flushed in vectored writes (to an asynchronous sink, one batch written in
 * the background while the next is queued). Output to a file appears only complete
 * ({@link FileSink}), so a failed run never leaves a partial output behind.
 */
import { ftruncateSync, writevSync } from 'node:fs';
import type { Writable } from 'node:stream';
import type { Tap } from './reader.js';
import { ioError, UsageError } from '../errors.js';
import { AtomicFile, type AtomicFileKind } from './atomic-file.js';
import { recheckFileTarget, resolveOutputTarget, type OutputTarget } from './output-target.js';
import type { FileState } from './file-state.js';

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
  /**
   * The next `n` bytes of the output are the input's own, at the same place, and are not given:
   * a sink that holds a copy of the input already (`CloneFileSink`) keeps its own. Absent: the
   * sink needs every byte, and the input is read through.
   */
  skip?(n: number): Promise<void>;
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

  /** True while the sink can take a gap: it holds the input's bytes, and none were changed yet. */
  get skips(): boolean {
    return this.sink.skip !== undefined && !this.changeTold;
  }

  /** The next `n` bytes are the input's, not given (only while {@link skips}). */
  async skip(n: number): Promise<void> {
    if (!this.skips) throw new RangeError('this output cannot take a gap');
    // Queued bytes go first, so that the sink counts them before the gap.
    await this.flush();
    await this.sink.skip!(n);
    this.offset += n;
  }

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

/** Options of {@link FileSink.open}. */
export interface FileSinkOptions {
  /** Permission bits of the committed file (default: those of a new file, 0666 less the umask). */
  mode?: number;
  /** Owner and group to give it (as root, when replacing someone else's file). */
  owner?: { uid: number; gid: number };
  /** The input, which must never be replaced (checked again just before the file is named). */
  input?: FileState | null;
  /** The input's name, for messages. */
  inputName?: string;
  /**
   * Leave whole pages of zeros unwritten (holes), as `cp --sparse=always` does: for an input
   * that has holes, which a byte-for-byte write would fill.
   */
  sparse?: boolean;
}

/** The unit of a hole {@link FileSink} leaves: a page of the file, aligned. */
const HOLE_UNIT = 4096;
const ZEROS = Buffer.alloc(HOLE_UNIT);

/** Whether `b[from, to)` is all zeros. */
function isZero(b: Buffer, from: number, to: number): boolean {
  return ZEROS.compare(b, from, to, 0, to - from) === 0;
}

/**
 * The parts of `bufs`, written from file offset `pos` (a multiple of the unit) on, that are not
 * whole aligned units of zeros, as runs of (file offset, slices) to write. A unit may straddle
 * buffers; the caller hands on only whole units (and the last, partial one at the very end).
 */
export function dataRuns(bufs: Buffer[], pos: number): { at: number; parts: Buffer[] }[] {
  const runs: { at: number; end: number; parts: Buffer[] }[] = [];
  let cur: { at: number; end: number; parts: Buffer[] } | null = null;
  const keep = (b: Buffer, at: number) => {
    if (cur && cur.end === at) {
      cur.parts.push(b);
      cur.end += b.length;
    } else {
      runs.push((cur = { at, end: at + b.length, parts: [b] }));
    }
  };
  let unit: Buffer[] = [];
  let unitAt = pos;
  let unitLen = 0;
  const endUnit = () => {
    if (unitLen === 0) return;
    if (unitLen === HOLE_UNIT && unit.every((x) => isZero(x, 0, x.length))) cur = null;
    else {
      let at = unitAt;
      for (const x of unit) {
        keep(x, at);
        at += x.length;
      }
    }
    unitAt += unitLen;
    unit = [];
    unitLen = 0;
  };
  for (const b of bufs) {
    for (let i = 0; i < b.length; ) {
      const j = Math.min(b.length, i + (HOLE_UNIT - unitLen));
      unit.push(b.subarray(i, j));
      unitLen += j - i;
      i = j;
      if (unitLen === HOLE_UNIT) endUnit();
    }
  }
  endUnit();
  return runs;
}

/**
 * A regular file written whole or not at all ({@link AtomicFile}): unnamed until it is complete,
 * then synced and named, replacing the file there; discarded on any error.
 */
export class FileSink implements ByteSink {
  readonly releasesBuffers = true;
  /** Bytes given so far (holes included). */
  private pos = 0;
  /** Sparse: the last unit's bytes, not whole yet (copied: the buffers given are let go of). */
  private carry: Buffer | null = null;
  private constructor(
    private readonly file: AtomicFile,
    private readonly opts: FileSinkOptions,
  ) {}

  /**
   * Opens an output at `target`, which must be a regular file or not exist (symbolic links are
   * followed; anything else is refused, never replaced).
   */
  static async create(target: string, opts: FileSinkOptions = {}): Promise<FileSink> {
    const t = await resolveOutputTarget(target);
    if (t.kind !== 'file') throw new UsageError(`refusing to replace ${target}: it is a ${t.what}, not a regular file`);
    return FileSink.open(t, opts);
  }

  /** Opens an output at a target already classified as a file. */
  static open(target: OutputTarget & { kind: 'file' }, opts: FileSinkOptions = {}): FileSink {
    const mode = opts.mode ?? 0o666 & ~process.umask();
    return new FileSink(AtomicFile.create(target.path, { mode, owner: opts.owner }), opts);
  }

  /** The file's kind: `unnamed` (O_TMPFILE: nothing to clean up, ever) or `named`. */
  get kind(): AtomicFileKind {
    return this.file.kind;
  }

  /**
   * A blocking vectored write: into the page cache it takes microseconds, and the bytes are
   * written while the chunk that carried them is still in the CPU cache (a write on a pool
   * thread made a file-to-file copy use about twice the CPU time).
   */
  async writev(bufs: Buffer[]): Promise<void> {
    try {
      if (this.opts.sparse) {
        // Whole units only; the partial last one waits for the bytes that complete it.
        const all = this.carry ? [this.carry, ...bufs] : bufs;
        const start = this.pos - (this.carry?.length ?? 0);
        for (const b of bufs) this.pos += b.length;
        const cut = this.pos - (this.pos % HOLE_UNIT);
        const whole: Buffer[] = [];
        let at = start;
        const rest: Buffer[] = [];
        for (const b of all) {
          const k = Math.max(0, Math.min(b.length, cut - at));
          if (k) whole.push(b.subarray(0, k));
          if (k < b.length) rest.push(b.subarray(k));
          at += b.length;
        }
        this.carry = rest.length ? Buffer.concat(rest) : null;
        for (const r of dataRuns(whole, start)) writeAllSync(this.file.fd, r.parts, r.at);
      } else {
        writeAllSync(this.file.fd, bufs);
      }
    } catch (e) {
      this.file.discard();
      throw ioError(`cannot write ${this.file.target}`, e);
    }
  }

  async close(ok: boolean): Promise<void> {
    if (!ok) return this.file.discard();
    if (this.opts.sparse) {
      try {
        if (this.carry) writeAllSync(this.file.fd, [this.carry], this.pos - this.carry.length);
        // A hole at the end is made by the length alone.
        ftruncateSync(this.file.fd, this.pos);
      } catch (e) {
        this.file.discard();
        throw ioError(`cannot write ${this.file.target}`, e);
      }
    }
    this.file.commit(() => recheckFileTarget(this.file.target, this.opts.input ?? null, this.opts.inputName ?? 'input'));
  }
}

/**
 * A writable stream such as `process.stdout`, honouring backpressure. Its errors are typed
 * ({@link ioError}, naming `name`) and rejected by the write they fail, never thrown as events.
 */
export class WritableSink implements ByteSink {
  readonly releasesBuffers = true;
  private failed: unknown = null;
  private readonly onError = (e: unknown): void => {
    this.failed ??= e;
  };
  constructor(
    private readonly out: Writable,
    private readonly name = 'the output',
  ) {
    out.on('error', this.onError);
  }
  /** Settles when the stream has processed the last buffer (and so every one before it). */
  async writev(bufs: Buffer[]): Promise<void> {
    if (this.failed) throw ioError(`cannot write ${this.name}`, this.failed);
    if (bufs.length === 0) return;
    await new Promise<void>((res, rej) => {
      const last = bufs.length - 1;
      for (let i = 0; i < last; i++) this.out.write(bufs[i]!);
      this.out.write(bufs[last]!, (e) => (e ? rej(ioError(`cannot write ${this.name}`, this.failed ?? e)) : res()));
    });
  }
  async close(ok: boolean): Promise<void> {
    this.out.off('error', this.onError);
    if (ok && this.failed) throw ioError(`cannot write ${this.name}`, this.failed);
  }
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
