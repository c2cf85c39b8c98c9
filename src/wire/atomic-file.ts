/**
 * A file that appears complete or not at all. It is written unnamed (`O_TMPFILE`) in the target's
 * directory, so that no kill, not even SIGKILL, can leave it behind; at commit it is synced and
 * given its name (`linkat` of `/proc/self/fd/N`, then `rename` over an existing target), and the
 * directory is synced, so that after "written" a power loss cannot lose or tear it.
 *
 * Node has no `linkat`: the link is made by `ln -L` (GNU coreutils: `linkat(…, AT_SYMLINK_FOLLOW)`)
 * given the file as its standard input. Where `O_TMPFILE` or `ln` is not available (some file
 * systems, no coreutils), the file is a named `0600` temporary beside the target instead, removed
 * on any error and by {@link removePendingTemps} (the CLI's SIGINT/SIGTERM/SIGHUP handlers, held
 * only while such a file exists: {@link watchPendingTemps}); only SIGKILL can then leave it.
 * @module
 */
import { closeSync, constants, copyFileSync, existsSync, fchmodSync, fchownSync, fstatSync, fsyncSync, lstatSync, openSync, renameSync, unlinkSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { basename, dirname, join } from 'node:path';
import { ioError, UsageError } from '../errors.js';
import { addPending, deletePending } from './pending-temps.js';

export { removePendingTemps, watchPendingTemps } from './pending-temps.js';

/** `O_TMPFILE` on Linux (`__O_TMPFILE | O_DIRECTORY`; the same on x86-64 and arm64). Not exported by Node. */
const O_TMPFILE = 0o20000000 | 0o200000;

/** A fresh name beside `target` for a temporary that becomes it. */
export function tempPathFor(target: string): string {
  return join(dirname(target), `.${basename(target)}.vmstate-${process.pid}-${Buffer.from(globalThis.crypto.getRandomValues(new Uint8Array(4))).toString('hex')}.tmp`);
}

let lnPath: string | null | undefined;
/**
 * GNU `ln`, from the system's own directories only (never from `PATH`: this may run as root),
 * where `/proc` is there to name the unnamed file by; null otherwise.
 */
function findLn(): string | null {
  lnPath ??= existsSync('/proc/self/fd/0') ? (['/usr/bin/ln', '/bin/ln'].find((p) => existsSync(p)) ?? null) : null;
  return lnPath;
}

/** How the file is held until commit. */
export type AtomicFileKind = 'unnamed' | 'named';

/** Options of {@link AtomicFile.create}. */
export interface AtomicFileOptions {
  /** Permission bits the committed file gets (the file is `0600` until then). */
  mode: number;
  /** Owner and group to give it (when the process may: as root). */
  owner?: { uid: number; gid: number };
  /** Force the named-temporary fallback (tests; file systems known to lack `O_TMPFILE`). */
  named?: boolean;
}

/** An output file under construction: write through {@link fd}, then {@link commit} or {@link discard}. */
export class AtomicFile {
  private done = false;

  private constructor(
    /** The path it gets on commit. */
    readonly target: string,
    /** Descriptor open for reading and writing. */
    readonly fd: number,
    readonly kind: AtomicFileKind,
    /** The temporary's name (named kind only). */
    readonly tempPath: string | null,
    private readonly opts: AtomicFileOptions,
  ) {}

  /** Creates the (empty, `0600`) file in `target`'s directory. */
  static create(target: string, opts: AtomicFileOptions): AtomicFile {
    if (!opts.named && findLn()) {
      try {
        const fd = openSync(dirname(target), O_TMPFILE | constants.O_RDWR, 0o600);
        return new AtomicFile(target, fd, 'unnamed', null, opts);
      } catch (e) {
        // No O_TMPFILE on this file system (or kernel): a named temporary instead. Anything
        // else (no directory, no permission) fails the same way below and is reported there.
        const code = (e as NodeJS.ErrnoException).code;
        if (code !== 'EOPNOTSUPP' && code !== 'EISDIR' && code !== 'EINVAL' && code !== 'ENOTSUP') throw ioError(`cannot write ${target}`, e);
      }
    }
    const tmp = tempPathFor(target);
    let fd: number;
    try {
      fd = openSync(tmp, constants.O_RDWR | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
    } catch (e) {
      throw ioError(`cannot write ${target}`, e);
    }
    addPending(tmp);
    return new AtomicFile(target, fd, 'named', tmp, opts);
  }

  /**
   * Syncs the file and gives it its name, replacing what is there; `beforeName` runs after the
   * sync and just before, and may still refuse (throw). Then syncs the directory. On any failure
   * the file is discarded and the error thrown.
   */
  commit(beforeName?: () => void): void {
    if (this.done) throw new UsageError(`${this.target}: output already closed`, {}, 'IO');
    try {
      try {
        fchmodSync(this.fd, this.opts.mode);
        if (this.opts.owner) this.chown(this.opts.owner);
        fsyncSync(this.fd);
      } catch (e) {
        throw ioError(`cannot write ${this.target}`, e);
      }
      beforeName?.();
      if (this.kind === 'unnamed') this.linkUnnamed();
      else renameOrThrow(this.tempPath!, this.target);
      if (this.tempPath) deletePending(this.tempPath);
      syncDirectory(dirname(this.target));
    } catch (e) {
      this.discard();
      throw e;
    }
    this.done = true;
    closeQuietly(this.fd);
  }

  /** Throws the file away (nothing remains). */
  discard(): void {
    if (this.done) return;
    this.done = true;
    closeQuietly(this.fd);
    if (this.tempPath) {
      try {
        unlinkSync(this.tempPath);
      } catch {
        // Not there (any more).
      }
      deletePending(this.tempPath);
    }
  }

  private chown(owner: { uid: number; gid: number }): void {
    try {
      fchownSync(this.fd, owner.uid, owner.gid);
    } catch (e) {
      // Only root may give a file away; anyone else's output stays theirs.
      if ((e as NodeJS.ErrnoException).code !== 'EPERM') throw e;
    }
  }

  /**
   * Names the unnamed file: straight at the target when there is none (atomic, never replaces),
   * else at a temporary name renamed over it. Should `ln` fail, the file is copied to a named
   * temporary by the kernel instead (slower, same result).
   */
  private linkUnnamed(): void {
    if (!exists(this.target) && ln(this.fd, this.target)) return;
    const tmp = tempPathFor(this.target);
    addPending(tmp);
    try {
      if (!ln(this.fd, tmp)) {
        try {
          copyFileSync(`/proc/self/fd/${this.fd}`, tmp, constants.COPYFILE_EXCL);
          const fd = openSync(tmp, constants.O_RDWR | constants.O_NOFOLLOW);
          try {
            fchmodSync(fd, this.opts.mode);
            if (this.opts.owner) fchownSync(fd, this.opts.owner.uid, this.opts.owner.gid);
            fsyncSync(fd);
          } finally {
            closeSync(fd);
          }
        } catch (e) {
          throw ioError(`cannot write ${this.target}`, e);
        }
      }
      renameOrThrow(tmp, this.target);
    } catch (e) {
      try {
        unlinkSync(tmp);
      } catch {
        // Never made.
      }
      throw e;
    } finally {
      deletePending(tmp);
    }
  }
}

function exists(p: string): boolean {
  try {
    lstatSync(p);
    return true;
  } catch {
    return false;
  }
}

/** `linkat(AT_FDCWD, "/proc/self/fd/0", AT_FDCWD, name, AT_SYMLINK_FOLLOW)` in `ln`, with `fd` as its stdin; true when linked to that very file. */
function ln(fd: number, name: string): boolean {
  const bin = findLn();
  if (!bin) return false;
  const r = spawnSync(bin, ['-L', '--', '/proc/self/fd/0', name], { stdio: [fd, 'ignore', 'ignore'] });
  if (r.status !== 0) return false;
  try {
    const a = fstatSync(fd);
    const b = lstatSync(name);
    return a.dev === b.dev && a.ino === b.ino;
  } catch {
    return false;
  }
}

function renameOrThrow(from: string, to: string): void {
  try {
    renameSync(from, to);
  } catch (e) {
    throw ioError(`cannot write ${to}`, e);
  }
}

/** `fsync` of a directory, so that a name just made in it survives a power loss. */
export function syncDirectory(dir: string): void {
  let fd: number;
  try {
    fd = openSync(dir, constants.O_RDONLY | constants.O_DIRECTORY);
  } catch (e) {
    throw ioError(`cannot sync the directory ${dir}`, e);
  }
  try {
    fsyncSync(fd);
  } catch (e) {
    // Some file systems cannot sync a directory (EINVAL); the rename is then as durable as they make it.
    if ((e as NodeJS.ErrnoException).code !== 'EINVAL') throw ioError(`cannot sync the directory ${dir}`, e);
  } finally {
    closeQuietly(fd);
  }
}

function closeQuietly(fd: number): void {
  try {
    closeSync(fd);
  } catch {
    // Already closed.
  }
}
