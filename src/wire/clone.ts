/**
 * An output file that starts as a copy of the input file and receives only what differs: the
 * clone is made by the kernel (`FICLONE` on a file system that shares extents, such as XFS with
 * reflink or btrfs: no data is copied at all; elsewhere `copy_file_range`), holes kept
 * (`SEEK_DATA`/`SEEK_HOLE`). Node has neither `lseek` nor `ioctl`, so GNU `cp --reflink=auto
 * --sparse=auto` does it, given the two files as its standard input and output; without it,
 * `copyFile` with `COPYFILE_FICLONE` (which clones where it can, and otherwise copies every
 * byte, holes filled).
 *
 * The bytes of the clone never pass through the decoder: what vouches for them is that the
 * input did not change from its first read to after the clone was made (size, times, inode:
 * `file-state.ts`), and that they are the part of the input the decoder proved it need not read
 * (the RAM, when the device state was found from the tail) or read and checked itself.
 * @module
 */
import { copyFileSync, constants, existsSync, fstatSync, ftruncateSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { ioError, UsageError } from '../errors.js';
import { changeBetween, fileState } from './file-state.js';
import { AtomicFile } from './atomic-file.js';
import { writeAllSync, type ByteSink, type FileSinkOptions } from './writer.js';
import { recheckFileTarget, type OutputTarget } from './output-target.js';

let cpPath: string | null | undefined;
/** GNU `cp`, from the system's own directories only (never from `PATH`: this may run as root). */
function findCp(): string | null {
  cpPath ??= existsSync('/dev/stdin') ? (['/usr/bin/cp', '/bin/cp'].find((p) => existsSync(p)) ?? null) : null;
  return cpPath;
}

/** How a clone was made. */
export type CloneMethod = 'cp' | 'copyfile';

/**
 * Makes the (empty) file open at `outFd` a copy of the whole file open at `inFd`: extents
 * shared where the file system can, holes kept where `cp` is there to keep them.
 */
export function cloneFile(inFd: number, outFd: number, name: string): CloneMethod {
  const cp = findCp();
  if (cp) {
    const r = spawnSync(cp, ['--reflink=auto', '--sparse=auto', '--', '/dev/stdin', '/dev/stdout'], { stdio: [inFd, outFd, 'ignore'] });
    if (r.status === 0) return 'cp';
    // Not GNU cp, or it failed: start again with Node's copy (which reports what fails).
    try {
      ftruncateSync(outFd, 0);
    } catch (e) {
      throw ioError(`cannot write ${name}`, e);
    }
  }
  try {
    copyFileSync(`/proc/self/fd/${inFd}`, `/proc/self/fd/${outFd}`, constants.COPYFILE_FICLONE);
  } catch (e) {
    throw ioError(`cannot write ${name}`, e);
  }
  return 'copyfile';
}

/** Options of {@link CloneFileSink.open}. */
export interface CloneSinkOptions extends FileSinkOptions {
  /** Descriptor of the input file, open for reading: what is cloned. */
  inputFd: number;
}

/**
 * Changed bytes held until the end before the clone is made anyway (the device state, which is
 * what a rewrite changes, takes tens or hundreds of KiB).
 */
const HOLD_MAX = 8 << 20;

/**
 * A regular-file output ({@link AtomicFile}) made of a clone of the input and the bytes that differ
 * from it. Bytes given before the offset the writer names as the first that differ from the input
 * ({@link changedAt}) are the input's own, at the same place: they are not written, and gaps
 * ({@link skip}) likewise. From that offset on, bytes are kept (copied) until the output is
 * committed: then the input is cloned, the kept bytes written over the clone where they go, the
 * file cut to the length given, synced, checked once more against the input's state before the
 * first read (`input`: unchanged, or nothing is named), and named. An output discarded (a
 * refusal, an error) costs no clone. Should the kept bytes grow past {@link HOLD_MAX}, the clone is
 * made then and the rest written as it comes.
 */
export class CloneFileSink implements ByteSink {
  readonly releasesBuffers = true;
  /** Output offset of the next byte given. */
  private pos = 0;
  /** First output offset that differs from the input; bytes before it are the clone's. */
  private change = Infinity;
  /** How the clone was made, once it was. */
  method: CloneMethod | null = null;
  /** Changed bytes not written yet (copies), with their offsets. */
  private held: { at: number; bytes: Buffer }[] = [];
  private heldBytes = 0;

  private constructor(
    private readonly file: AtomicFile,
    private readonly opts: CloneSinkOptions,
  ) {}

  /** Creates the (empty, unnamed) output at a target classified as a file. */
  static open(target: OutputTarget & { kind: 'file' }, opts: CloneSinkOptions): CloneFileSink {
    const mode = opts.mode ?? 0o666 & ~process.umask();
    return new CloneFileSink(AtomicFile.create(target.path, { mode, owner: opts.owner }), opts);
  }

  changedAt(offset: number): void {
    if (offset < this.change) this.change = offset;
  }

  async skip(n: number): Promise<void> {
    if (this.pos + n > this.change) throw new RangeError(`a gap at ${this.pos} past the first changed byte at ${this.change}`);
    this.pos += n;
  }

  async writev(bufs: Buffer[]): Promise<void> {
    let pos = this.pos;
    const out: Buffer[] = [];
    for (const b of bufs) {
      const end = pos + b.length;
      if (end > this.change) out.push(pos >= this.change ? b : b.subarray(this.change - pos));
      pos = end;
    }
    if (out.length) {
      const at = Math.max(this.pos, this.change);
      if (this.method === null) {
        const bytes = Buffer.concat(out);
        this.held.push({ at, bytes });
        this.heldBytes += bytes.length;
        if (this.heldBytes > HOLD_MAX) this.cloneNow();
      } else {
        this.write(out, at);
      }
    }
    this.pos = pos;
  }

  /** Clones the input into the file and writes what was held over it. */
  private cloneNow(): void {
    try {
      this.method = cloneFile(this.opts.inputFd, this.file.fd, this.file.target);
    } catch (e) {
      this.file.discard();
      throw e;
    }
    for (const h of this.held) this.write([h.bytes], h.at);
    this.held = [];
    this.heldBytes = 0;
  }

  private write(bufs: Buffer[], at: number): void {
    try {
      writeAllSync(this.file.fd, bufs, at);
    } catch (e) {
      this.file.discard();
      throw ioError(`cannot write ${this.file.target}`, e);
    }
  }

  async close(ok: boolean): Promise<void> {
    if (!ok) return this.file.discard();
    if (this.method === null) this.cloneNow();
    try {
      // The clone is as long as the input; the output may be shorter.
      ftruncateSync(this.file.fd, this.pos);
    } catch (e) {
      this.file.discard();
      throw ioError(`cannot write ${this.file.target}`, e);
    }
    const { input, inputName = 'input' } = this.opts;
    this.file.commit(() => {
      recheckFileTarget(this.file.target, input ?? null, inputName);
      // What was cloned is what was read: the input has not changed since its first read.
      if (input?.regular) {
        const change = changeBetween(input, fileState(fstatSync(this.opts.inputFd, { bigint: true })));
        if (change) throw new UsageError(`the input ${inputName} changed while it was read (${change}): nothing written`, { reason: 'input-changed', change }, 'IO');
      }
    });
  }
}
