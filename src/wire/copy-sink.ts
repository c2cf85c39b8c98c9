/**
 * Output to a file that starts as a copy of the input made by the kernel: a rewrite of a
 * regular file then writes only from its first change on, and the bytes before it (the guest
 * RAM, nearly all of a stream) never pass through user space.
 */
import { chmod, copyFile, open, rename, unlink, type FileHandle } from 'node:fs/promises';
import { tempPathFor, writeAllSync, type ByteSink } from './writer.js';
import { ioError, UsageError } from '../errors.js';

/** Mode of a file created by the program (as `open` would give it): 0666 less the umask. */
function createdMode(): number {
  // Read without setting: setting it is not allowed in worker threads.
  return 0o666 & ~process.umask();
}

/**
 * Writes `target` through a temporary sibling that is, from the start, a copy of `input`
 * (`copyFile`: copy_file_range on Linux, run on the thread pool while the input is decoded).
 * Bytes before the offset given to {@link changedAt} are skipped, being already there; the rest
 * are written at their offsets once the copy is complete, and the file is cut to the length
 * written. Renamed into place on success, removed otherwise, like `FileSink`.
 */
export class CopyFileSink implements ByteSink {
  readonly releasesBuffers = true;
  /** Output offset of the next byte handed to {@link writev}. */
  private position = 0;
  private changedFrom = Infinity;
  private fh: FileHandle | null = null;
  /** Settles when the copy is complete; never rejects (a failure is the value). Null: not started. */
  private copied: Promise<unknown> | null = null;

  private constructor(
    private readonly input: string,
    private readonly tmp: string,
    private readonly target: string,
  ) {}

  /** Claims a temporary name beside `target` for a copy of `input`. */
  static async create(input: string, target: string): Promise<CopyFileSink> {
    const tmp = tempPathFor(target);
    // Claimed (and the directory proved writable) now, not when the copy is done.
    try {
      await (await open(tmp, 'wx')).close();
    } catch (e) {
      throw ioError(`cannot write ${target}`, e);
    }
    return new CopyFileSink(input, tmp, target);
  }

  /**
   * Starts the copy, on the first bytes written rather than at once: input that is bad from its
   * first bytes then costs no copy (a failed output is removed only after its copy is done).
   */
  private copy(): Promise<unknown> {
    this.copied ??= copyFile(this.input, this.tmp).then(
      () => null,
      (e: unknown) => e ?? new Error('copy failed'),
    );
    return this.copied;
  }

  changedAt(offset: number): void {
    this.changedFrom = Math.min(this.changedFrom, offset);
  }

  /** The copy, complete and open for writing. */
  private async file(): Promise<FileHandle> {
    if (this.fh) return this.fh;
    const failed = await this.copy();
    if (failed) throw ioError(`cannot copy ${this.input} to ${this.target}`, failed);
    // The copy has the input's permissions: give it those of any file this program writes
    // (and make it writable, should the input be read-only).
    try {
      await chmod(this.tmp, createdMode());
      this.fh = await open(this.tmp, 'r+');
    } catch (e) {
      throw ioError(`cannot write ${this.target}`, e);
    }
    return this.fh;
  }

  async writev(bufs: Buffer[]): Promise<void> {
    let total = 0;
    for (const b of bufs) total += b.length;
    const start = this.position;
    this.position += total;
    void this.copy();
    if (this.position <= this.changedFrom) return;
    // Only the part from the first change on is written; the rest is the copy's already.
    let skip = Math.max(0, this.changedFrom - start);
    const out: Buffer[] = [];
    for (const b of bufs) {
      if (skip >= b.length) {
        skip -= b.length;
        continue;
      }
      out.push(skip ? b.subarray(skip) : b);
      skip = 0;
    }
    const fd = (await this.file()).fd;
    try {
      writeAllSync(fd, out, Math.max(start, this.changedFrom));
    } catch (e) {
      throw ioError(`cannot write ${this.target}`, e);
    }
  }

  async close(ok: boolean): Promise<void> {
    if (!ok) {
      // Wait for a copy under way: removing the file before it has opened it would leave it behind.
      await this.copied;
      await this.fh?.close().catch(() => {});
      await unlink(this.tmp).catch(() => {});
      return;
    }
    try {
      const fh = await this.file();
      const { size } = await fh.stat();
      // The input must not have shrunk since it was decoded: every skipped byte must be in the copy.
      const needed = Math.min(this.changedFrom, this.position);
      if (size < needed) throw new UsageError(`the input changed while it was copied (${size} bytes copied, ${needed} needed)`, {}, 'IO');
      await fh.truncate(this.position);
      await fh.close();
      this.fh = null;
      await rename(this.tmp, this.target);
    } catch (e) {
      await this.close(false);
      throw ioError(`cannot write ${this.target}`, e);
    }
  }
}
