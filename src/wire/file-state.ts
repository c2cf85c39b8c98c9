/**
 * What identifies a file and what shows that it changed: the identity (`st_dev` + `st_ino`,
 * which a hard link, a bind mount or a symbolic link cannot disguise) and the state a write
 * moves (size, modification and change times, to the nanosecond).
 */
import type { BigIntStats } from 'node:fs';

/** The parts of `fstat` that say which file this is and whether it changed. */
export interface FileState {
  dev: bigint;
  ino: bigint;
  /** A regular file (the only kind whose state can be compared). */
  regular: boolean;
  /** Permission bits (`st_mode & 0o7777`). */
  mode: number;
  uid: number;
  gid: number;
  size: bigint;
  /** Bytes allocated on disk (`st_blocks` × 512): less than `size` for a file with holes. */
  allocated: bigint;
  mtimeNs: bigint;
  ctimeNs: bigint;
}

/** The {@link FileState} of a `stat` result (taken with `{ bigint: true }`). */
export function fileState(st: BigIntStats): FileState {
  return {
    dev: st.dev,
    ino: st.ino,
    regular: st.isFile(),
    mode: Number(st.mode & 0o7777n),
    uid: Number(st.uid),
    gid: Number(st.gid),
    size: st.size,
    allocated: st.blocks * 512n,
    mtimeNs: st.mtimeNs,
    ctimeNs: st.ctimeNs,
  };
}

/** Whether two states are of one file (same device and inode). */
export function sameFile(a: Pick<FileState, 'dev' | 'ino'>, b: Pick<FileState, 'dev' | 'ino'>): boolean {
  return a.dev === b.dev && a.ino === b.ino;
}

/**
 * What changed between two states of one regular file, or null when nothing did. Any write
 * moves the change time (`ctime`), which only the kernel sets; size and `mtime` name the change.
 */
export function changeBetween(before: FileState, after: FileState): string | null {
  if (!sameFile(before, after)) return 'it is another file now';
  if (before.size !== after.size) return `its size went from ${before.size} to ${after.size} bytes`;
  if (before.mtimeNs !== after.mtimeNs) return 'it was modified';
  if (before.ctimeNs !== after.ctimeNs) return 'its inode changed';
  return null;
}
