/**
 * Opening an output for a stream being written: a regular file atomically ({@link FileSink}),
 * anything that is a stream (standard output, a FIFO, a character device) in order as it comes.
 * Which is which, and what is refused, is {@link resolveOutputTarget}'s decision.
 *
 * A file output gets the input's permission bits, less the umask, and never more than the file
 * it replaces had; replacing a file keeps its owner and group where the process may (as root).
 * @module
 */
import { constants, fstatSync, statSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { FileSink, WritableSink, type ByteSink } from './writer.js';
import { CloneFileSink } from './clone.js';
import { fileState, type FileState } from './file-state.js';
import { assertNotInput, resolveOutputTarget, type OutputTarget } from './output-target.js';
import { ioError } from '../errors.js';

/** Permission bits for an output that replaces `existing` (or is new) with the content of `input`. */
export function outputMode(input: FileState | null, existing: FileState | null): number {
  let mode = (input?.regular ? input.mode : 0o666) & 0o777 & ~process.umask();
  if (existing) mode &= existing.mode & 0o777;
  return mode;
}

/** Options of {@link openOutput}. */
export interface OutputOptions {
  /** The input's state (null for a pipe), for the mode and the same-file check before naming. */
  input: FileState | null;
  /** The input as named by the user, for messages. */
  inputName: string;
  /**
   * The input file's descriptor: a file output starts as a clone of it and receives only what
   * differs ({@link CloneFileSink}).
   */
  cloneFd?: number;
}

/**
 * Opens `target` for writing: a {@link FileSink} for a file (a {@link CloneFileSink} when asked
 * to clone the input; holes left where an input with holes has whole pages of zeros), a stream
 * sink otherwise.
 */
export async function openOutput(target: OutputTarget, opts: OutputOptions): Promise<ByteSink> {
  if (target.kind === 'file') {
    const ex = target.existing;
    const owner = ex && process.getuid?.() === 0 ? { uid: ex.uid, gid: ex.gid } : undefined;
    const base = { mode: outputMode(opts.input, ex), owner, input: opts.input, inputName: opts.inputName };
    if (opts.cloneFd !== undefined) return CloneFileSink.open(target, { ...base, inputFd: opts.cloneFd });
    const sparse = !!opts.input?.regular && opts.input.allocated < opts.input.size;
    return FileSink.open(target, { ...base, sparse });
  }
  if (target.path === null) return new WritableSink(process.stdout, 'the stream to standard output');
  return StreamFileSink.open(target.path, target.what);
}

/**
 * A FIFO or character device written in order with writes on the thread pool: a FIFO whose
 * reader is slow (or not there yet: opening waits for one) never blocks the event loop.
 */
export class StreamFileSink implements ByteSink {
  readonly releasesBuffers = true;
  private constructor(
    private readonly fh: FileHandle,
    private readonly name: string,
  ) {}

  /** Opens `path` for writing, without creating or truncating anything. */
  static async open(path: string, what = 'stream'): Promise<StreamFileSink> {
    try {
      return new StreamFileSink(await open(path, constants.O_WRONLY | constants.O_NOCTTY), `${path} (${what})`);
    } catch (e) {
      throw ioError(`cannot write ${path}`, e);
    }
  }

  async writev(bufs: Buffer[]): Promise<void> {
    let rest = bufs;
    try {
      while (rest.length) {
        let { bytesWritten: n } = await this.fh.writev(rest);
        let i = 0;
        while (i < rest.length && n >= rest[i]!.length) n -= rest[i++]!.length;
        rest = i < rest.length ? [rest[i]!.subarray(n), ...rest.slice(i + 1)] : [];
      }
    } catch (e) {
      throw ioError(`cannot write ${this.name}`, e);
    }
  }

  async close(): Promise<void> {
    await this.fh.close().catch(() => {});
  }
}

/**
 * Writes `data` whole to `output` (`-` = standard output) by the same rules as a stream: a file
 * atomically (new files get the mode of any file the program creates), a FIFO or device through;
 * never over `input` (a path, `-` for standard input), whatever name either has.
 */
export async function writeOutput(output: string, data: Buffer | string, input?: string): Promise<void> {
  const target = await resolveOutputTarget(output);
  let state: FileState | null = null;
  if (input !== undefined) {
    try {
      state = fileState(input === '-' ? fstatSync(0, { bigint: true }) : statSync(input, { bigint: true }));
    } catch {
      // Gone or never there: nothing to protect.
    }
    assertNotInput(target, state, input);
  }
  const sink = await openOutput(target, { input: state, inputName: input ?? '' });
  try {
    await sink.writev([typeof data === 'string' ? Buffer.from(data) : data]);
  } catch (e) {
    await sink.close(false);
    throw e;
  }
  await sink.close(true);
}
