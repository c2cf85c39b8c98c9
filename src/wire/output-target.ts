/**
 * What an output path names, decided before any byte is written.
 *
 * - A regular file, new or existing (also through symbolic links): replaced atomically
 *   ({@link AtomicFile}); a symbolic link stays, the file it names is replaced.
 * - A FIFO or character device (`/dev/null`, a tape, `<(…)`), or standard output (`-`): written
 *   through as a stream, in order, never replaced; a stream cannot be taken back.
 * - Anything else (directory, block device, socket, dangling symbolic link): refused.
 *
 * The input is never the output: files are compared by device and inode, which sees through
 * hard links, symbolic links and bind mounts.
 * @module
 */
import { fstatSync, lstatSync, realpathSync, type BigIntStats } from 'node:fs';
import { stdoutWasClosed } from './stdout-state.js';
import { lstat, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { fileState, sameFile, type FileState } from './file-state.js';
import { ioError, UsageError } from '../errors.js';

/** An output destination, classified. */
export type OutputTarget =
  | {
      kind: 'file';
      /** As given. */
      requested: string;
      /** The path that gets replaced (symbolic links resolved). */
      path: string;
      /** The file there now, or null for a new file. */
      existing: FileState | null;
    }
  | {
      kind: 'stream';
      requested: string;
      /** Path to open for writing, or null for standard output. */
      path: string | null;
      /** The FIFO, device or standard output's file; null where unknown. */
      state: FileState | null;
      /** What it is, for messages: `FIFO`, `character device`, `regular file`, `pipe`, … */
      what: string;
    };

function kindOf(st: BigIntStats): string {
  if (st.isFile()) return 'regular file';
  if (st.isDirectory()) return 'directory';
  if (st.isFIFO()) return 'FIFO';
  if (st.isCharacterDevice()) return 'character device';
  if (st.isBlockDevice()) return 'block device';
  if (st.isSocket()) return 'socket';
  return 'special file';
}

export { stdoutWasClosed } from './stdout-state.js';

/** Classifies `output` (`-` = standard output). Refusals are typed errors (exit 2). */
export async function resolveOutputTarget(output: string): Promise<OutputTarget> {
  if (output === '-') {
    if (stdoutWasClosed()) throw new UsageError('cannot write the stream to standard output: it is closed', {}, 'IO');
    let st: BigIntStats | null = null;
    try {
      st = fstatSync(1, { bigint: true });
    } catch (e) {
      throw ioError('cannot write the stream to standard output', e);
    }
    return { kind: 'stream', requested: output, path: null, state: fileState(st), what: st.isFIFO() ? 'pipe' : kindOf(st) };
  }
  if (output === '') throw new UsageError('the output path is empty');
  let lst: BigIntStats | null;
  try {
    lst = await lstat(output, { bigint: true });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw ioError(`cannot write ${output}`, e);
    lst = null;
  }
  if (!lst) {
    await requireDirectory(dirname(output), output);
    return { kind: 'file', requested: output, path: output, existing: null };
  }
  let st = lst;
  let path = output;
  if (lst.isSymbolicLink()) {
    try {
      st = await stat(output, { bigint: true });
      // A file is replaced where it is (the link stays); a stream is opened through the link
      // (`/dev/stdout` names a pipe by a link that is no path).
      if (st.isFile()) path = realpathSync(output);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') {
        throw new UsageError(`${output} is a symbolic link to a missing file: not followed (name the file itself)`, { reason: 'dangling-link' }, 'IO');
      }
      throw ioError(`cannot write ${output}`, e);
    }
  }
  if (st.isFile()) return { kind: 'file', requested: output, path, existing: fileState(st) };
  if (st.isFIFO() || st.isCharacterDevice()) return { kind: 'stream', requested: output, path, state: fileState(st), what: kindOf(st) };
  if (st.isDirectory()) throw new UsageError(`${output} is a directory: name the output file`, { reason: 'directory' }, 'IO');
  throw new UsageError(`refusing to write to ${output}: it is a ${kindOf(st)} (outputs are regular files, FIFOs, character devices or standard output)`, { reason: 'not-writable-kind' }, 'IO');
}

async function requireDirectory(dir: string, output: string): Promise<void> {
  let st: BigIntStats;
  try {
    st = await stat(dir, { bigint: true });
  } catch (e) {
    throw ioError(`cannot write ${output}`, e);
  }
  if (!st.isDirectory()) throw new UsageError(`cannot write ${output}: ENOTDIR`, {}, 'IO');
}

/** Throws when the output is the input itself (same device and inode). */
export function assertNotInput(target: OutputTarget, input: FileState | null, inputName: string): void {
  const out = target.kind === 'file' ? target.existing : target.state;
  if (!input || !out || !sameFile(input, out)) return;
  if (target.kind === 'stream' && target.path === null) {
    throw new UsageError(`refusing to write over the input ${inputName}: standard output is that file`, { reason: 'same-file' }, 'IO');
  }
  const how = target.requested === inputName ? '' : ` (${target.requested} is the same file)`;
  throw new UsageError(`refusing to write over the input ${inputName}${how}: choose another output path`, { reason: 'same-file' }, 'IO');
}

/**
 * The check made again just before an output file takes its name: the path must still hold a
 * regular file that is not the input, or nothing.
 */
export function recheckFileTarget(path: string, input: FileState | null, inputName: string): void {
  let st: BigIntStats;
  try {
    st = lstatSync(path, { bigint: true });
  } catch {
    return;
  }
  if (input && sameFile(fileState(st), input)) throw new UsageError(`refusing to write over the input ${inputName}: ${path} became that file`, { reason: 'same-file' }, 'IO');
  if (!st.isFile()) throw new UsageError(`refusing to replace ${path}: it became a ${kindOf(st)}`, { reason: 'changed-kind' }, 'IO');
}
