/**
 * Streaming (de)compression of a container's inner stream: gzip with node:zlib, xz through the
 * `xz` program (as libvirt itself does), each as a {@link ByteSource} that yields the
 * decompressed bytes or a {@link ByteSink} that compresses what it is given.
 *
 * Memory stays bounded: the compressed input is pulled only as fast as the decoder reads, and
 * compressed output is passed on only as fast as the underlying sink takes it.
 * @module
 */
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { once } from 'node:events';
import { Readable, pipeline, type Writable } from 'node:stream';
import { createGunzip, createGzip } from 'node:zlib';
import type { ByteSource } from '../wire/source.js';
import type { ByteSink } from '../wire/writer.js';
import { StreamFormatError, TruncatedError, UnsupportedError, UsageError, VmstateError } from '../errors.js';

/** Compression formats vmstate streams through. */
export type Compression = 'gzip' | 'xz';

/** The working parts of one (de)compressor: where bytes go in, where they come out, and its end. */
interface Codec {
  input: Writable;
  output: Readable;
  /** Resolves when the codec finished cleanly; rejects with a typed error otherwise. */
  done: Promise<void>;
  /** Stops it at once. */
  kill(): void;
}

const STDERR_CAP = 4096;

function xzCodec(args: string[], what: string): Codec {
  let child: ChildProcessByStdio<Writable, Readable, Readable>;
  try {
    child = spawn('xz', args, { stdio: ['pipe', 'pipe', 'pipe'] });
  } catch (e) {
    throw missingXz(e as NodeJS.ErrnoException);
  }
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => {
    if (stderr.length < STDERR_CAP) stderr += d.toString('utf8');
  });
  // The child may exit (bad data) while we still write: its stdin then fails with EPIPE,
  // which is reported through `done` instead.
  child.stdin.on('error', () => {});
  const done = new Promise<void>((resolve, reject) => {
    let settled = false;
    child.once('error', (e: NodeJS.ErrnoException) => {
      if (settled) return;
      settled = true;
      reject(e.code === 'ENOENT' ? missingXz(e) : new UsageError(`${what}: cannot run xz: ${e.message}`, {}, 'IO'));
    });
    child.once('close', (code, signal) => {
      if (settled) return;
      settled = true;
      if (code === 0) resolve();
      else reject(new StreamFormatError('BAD_ITEM', `${what}: xz failed (${signal ?? `exit ${code}`}): ${stderr.trim() || 'no message'}`));
    });
  });
  done.catch(() => {});
  return {
    input: child.stdin,
    output: child.stdout,
    done,
    kill: () => {
      child.stdin.destroy();
      child.stdout.destroy();
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    },
  };
}

function missingXz(e: NodeJS.ErrnoException): VmstateError {
  return new UnsupportedError(`xz-compressed stream: the xz program is needed and was not found (${e.code ?? e.message}); install xz-utils`);
}

function zlibCodec(z: ReturnType<typeof createGzip>, what: string): Codec {
  const done = new Promise<void>((resolve, reject) => {
    z.once('end', resolve);
    z.once('error', (e: NodeJS.ErrnoException) => reject(zlibError(e, what)));
  });
  done.catch(() => {});
  return { input: z, output: z, done, kill: () => z.destroy() };
}

function zlibError(e: NodeJS.ErrnoException, what: string): VmstateError {
  if (e instanceof VmstateError) return e;
  if (e.code === 'Z_BUF_ERROR') return new TruncatedError(1, undefined, `${what}: the gzip data ends early`);
  return new StreamFormatError('BAD_ITEM', `${what}: corrupt gzip data (${e.message})`);
}

/** Each format's two directions. The programs' defaults, as libvirt runs them (`gzip -c`, `xz -c`): level 6. */
const CODECS: Readonly<Record<Compression, { decompress(what: string): Codec; compress(what: string): Codec }>> = {
  gzip: { decompress: (what) => zlibCodec(createGunzip(), what), compress: (what) => zlibCodec(createGzip(), what) },
  xz: { decompress: (what) => xzCodec(['-dc'], what), compress: (what) => xzCodec(['-zc'], what) },
};

/**
 * The decompressed bytes of `input` (which must be positioned at the compressed data).
 * Closing it stops the decompressor and closes `input`.
 */
export class DecompressingSource implements ByteSource {
  private readonly codec: Codec;
  private readonly out: AsyncIterator<Buffer>;
  private inputError: unknown = null;
  private closed = false;
  /** The state of the compressed input's file (the file whose change matters). */
  readonly fstat?: ByteSource['fstat'];

  constructor(
    private readonly input: ByteSource,
    readonly format: Compression,
    /** Names the data in errors, e.g. `libvirt image gzip stream`. */
    private readonly what = `${format} stream`,
  ) {
    this.codec = CODECS[format].decompress(what);
    if (input.fstat) this.fstat = () => input.fstat!();
    // A failing input (not the codec) is remembered: the codec would only say "unexpected end".
    // Only a failed read is the input's: the codec's own error is thrown into the generator at
    // its `yield` when the pipeline is torn down, and must not pass for the input's.
    const pump = async function* (self: DecompressingSource): AsyncGenerator<Buffer> {
      for (;;) {
        let c: Buffer | null;
        try {
          c = await input.read();
        } catch (e) {
          self.inputError = e;
          throw e;
        }
        if (!c) return;
        yield c;
      }
    };
    // Errors surface through the output side (and inputError), not through this callback.
    pipeline(Readable.from(pump(this)), this.codec.input, () => {});
    this.out = this.codec.output[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  }

  async read(): Promise<Buffer | null> {
    let r: IteratorResult<Buffer>;
    try {
      r = await this.out.next();
    } catch (e) {
      if (this.inputError) throw this.inputError;
      throw zlibError(e as NodeJS.ErrnoException, this.what);
    }
    if (this.inputError) throw this.inputError;
    if (!r.done) return r.value;
    await this.codec.done.catch((e) => {
      throw this.inputError ?? e;
    });
    if (this.inputError) throw this.inputError;
    return null;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.codec.kill();
    await this.input.close();
  }
}

/**
 * A sink that compresses what it is given and writes the result to `out`, after `prefix`
 * (written as is). `close(true)` finishes the compressed data before committing `out`.
 */
export class CompressingSink implements ByteSink {
  private readonly codec: Codec | null;
  private readonly forwarding: Promise<void>;
  private prefixed: Promise<void> | null = null;
  private failed: unknown = null;
  /**
   * Without compression, buffers are let go of when `out` lets go of them. A compressor may
   * still hold a buffer after `writev` settled, so then they are never handed back for reuse.
   */
  readonly releasesBuffers: boolean;
  /** Without compression, the stream's offsets are `out`'s less the prefix: where the stream stops following the input. */
  readonly changedAt?: (offset: number) => void;
  /** Without compression, a gap in the stream is one in `out`. */
  readonly skip?: (n: number) => Promise<void>;

  constructor(
    private readonly out: ByteSink,
    format: Compression | null,
    private readonly prefix: Buffer = Buffer.alloc(0),
    what = `${format} output`,
  ) {
    this.releasesBuffers = !format && !!out.releasesBuffers;
    if (!format && out.changedAt) this.changedAt = (offset) => out.changedAt!(offset + prefix.length);
    if (!format && out.skip) {
      this.skip = async (n) => {
        await this.writePrefix();
        await out.skip!(n);
      };
    }
    this.codec = format ? CODECS[format].compress(what) : null;
    this.forwarding = this.codec ? this.forward(this.codec) : Promise.resolve();
    this.forwarding.catch(() => {});
  }

  private writePrefix(): Promise<void> {
    this.prefixed ??= this.prefix.length ? this.out.writev([this.prefix]) : Promise.resolve();
    return this.prefixed;
  }

  private async forward(codec: Codec): Promise<void> {
    try {
      await this.writePrefix();
      let batch: Buffer[] = [];
      let size = 0;
      for await (const c of codec.output as AsyncIterable<Buffer>) {
        batch.push(c);
        size += c.length;
        if (size >= 1 << 20) {
          await this.out.writev(batch);
          batch = [];
          size = 0;
        }
      }
      if (batch.length) await this.out.writev(batch);
      await codec.done;
    } catch (e) {
      this.failed ??= e;
      codec.kill();
      throw e;
    }
  }

  async writev(bufs: Buffer[]): Promise<void> {
    if (!this.codec) {
      await this.writePrefix();
      return this.out.writev(bufs);
    }
    for (const b of bufs) {
      if (this.failed) throw this.failed;
      if (!this.codec.input.write(b)) {
        await Promise.race([once(this.codec.input, 'drain'), this.forwarding.then(() => Promise.reject(new UsageError('compressor stopped early', {}, 'IO')))]);
      }
    }
    if (this.failed) throw this.failed;
  }

  async close(ok: boolean): Promise<void> {
    if (!ok) {
      this.codec?.kill();
      await this.forwarding.catch(() => {});
      await this.out.close(false);
      return;
    }
    try {
      if (this.codec) {
        this.codec.input.end();
        await this.forwarding;
      } else {
        await this.writePrefix();
      }
    } catch (e) {
      await this.out.close(false);
      throw e;
    }
    await this.out.close(true);
  }
}
