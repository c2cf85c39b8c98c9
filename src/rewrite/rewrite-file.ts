/**
 * The byte side of a rewrite: copy a stream from a path or stdin through the decoder with
 * edits, to a file or stdout, in the input's container. From a file to a file, when the device
 * state is found from the tail, the output is a clone of the input (made by the kernel, holes
 * kept) in which only the tail is written.
 */
import { decodeStream, resolveLimits, type DecodeOptions, type DecodedStream } from '../stream/decode.js';
import type { ByteSource } from '../wire/source.js';
import { openInput, outputFor } from '../container/open.js';
import { StreamWriter } from '../wire/writer.js';
import { openOutput } from '../wire/output.js';
import { assertNotInput, resolveOutputTarget } from '../wire/output-target.js';
import { changeBetween, type FileState } from '../wire/file-state.js';
import { ioError, UsageError } from '../errors.js';
import { checkCpuEdit } from '../cpu/edit-check.js';
import { findVmdescDevice } from '../stream/vmdesc.js';

/** What {@link rewriteFile}'s `beforeCommit` is told besides the decoded stream. */
export interface CommitContext {
  /**
   * True when the bytes have gone out already: a stream output (standard output, FIFO, device)
   * fed from a pipe, where no verdict can come before the first byte. Throwing then discards
   * nothing; it only fails the call.
   */
  written: boolean;
}

/** Options of {@link rewriteFile}. */
export type RewriteFileOptions = Omit<DecodeOptions, 'output'> & {
  /** Runs once the input is decoded and the edits planned, before the output is committed; throwing discards it. */
  beforeCommit?: (res: DecodedStream, ctx: CommitContext) => void | Promise<void>;
};

/** Checks the edits `opts` would make to the cpu and device sections of `res` (before anything is written). */
function checkEdits(res: DecodedStream, opts: RewriteFileOptions): void {
  for (const c of res.cpus) {
    const edit = opts.editCpu?.(c, res.vmdesc ? (findVmdescDevice(res.vmdesc.json, 'cpu', c.instance) ?? null) : null);
    if (edit) checkCpuEdit(edit, c.instance, resolveLimits(opts.limits).maxCpregs, opts.unorderedEdits);
  }
  for (const d of res.deviceSubsections ?? []) opts.editDevice?.(d);
}

async function stateOf(src: ByteSource): Promise<FileState | null> {
  try {
    return (await src.fstat?.()) ?? null;
  } catch (e) {
    throw ioError('cannot read the input', e);
  }
}

/** Throws unless a regular input is as it was: every byte decoded must be the byte that is there. */
function assertUnchanged(before: FileState | null, after: FileState | null, input: string): void {
  if (!before?.regular) return;
  const change = after ? changeBetween(before, after) : 'it cannot be examined any more';
  if (change) throw new UsageError(`the input ${input} changed while it was read (${change}): nothing written`, { reason: 'input-changed', change }, 'IO');
}

/**
 * Copies `input` to `output` (`-` = standard output) through the decoder with the given edits.
 *
 * A regular-file output appears only complete: it is written unnamed beside the target, synced,
 * and named only on success (see {@link AtomicFile}), with the input's permission bits less the
 * umask; after any error nothing of it remains. A FIFO, character device or standard output is
 * written through as a stream; from an input file, everything is decoded and checked (edits,
 * `beforeCommit`) before the first byte is written. Anything else (directory, block device,
 * socket, a symbolic link to nothing) is refused, as is the input itself under any name (device
 * and inode compared). An input file that changes while it is read fails the call (nothing
 * written).
 *
 * From a file (bare, or a libvirt image whose stream is not compressed) to a file, the output is a
 * clone of the input (`CloneFileSink`: extents shared on XFS or btrfs, a kernel copy elsewhere,
 * holes kept) with what differs written over it, made once everything is decided: the decoder
 * reads the stream tail-first (`decodeStream`), so the RAM is never read, and what vouches for
 * the cloned bytes is that the input did not change from its first read until after the clone.
 * With `fullWalk`, and from a pipe, every byte written is one the decoder read and checked.
 */
export async function rewriteFile(input: string, output: string, opts: RewriteFileOptions = {}): Promise<DecodedStream> {
  resolveLimits(opts.limits);
  const target = await resolveOutputTarget(output);
  let src = await openInput(input);
  try {
    const before = await stateOf(src);
    assertNotInput(target, before, input);
    const reopen = async () => {
      await src.close();
      src = await openInput(input);
      assertUnchanged(before, await stateOf(src), input);
    };
    // A stream cannot be taken back: from a file, decide everything before the first byte.
    const early = target.kind === 'stream' && src.size !== undefined && !!before?.regular;
    if (early) {
      const res = await decodeStream(src, { limits: opts.limits, onProgress: opts.onProgress, deviceSubsections: !!opts.editDevice });
      checkEdits(res, opts);
      await opts.beforeCommit?.(res, { written: false });
      await reopen();
    }
    // From a file (bare, or its stream not compressed) to a file: a clone of the input with the
    // tail written over it, which the decoder reads tail-first (it skips what the clone holds).
    const clone = target.kind === 'file' && !!before?.regular && src.fileFd !== undefined && !opts.fullWalk;
    const sink = await openOutput(target, { input: before, inputName: input, ...(clone ? { cloneFd: src.fileFd } : {}) });
    // A libvirt save image is written back as one: same header and XML, stream compressed alike.
    const writer = new StreamWriter(outputFor(src, sink));
    try {
      const res = await decodeStream(src, { ...opts, output: writer });
      // Every byte out first: into the unnamed file, or onto a stream that has no way back.
      await writer.flush();
      if (!early) await opts.beforeCommit?.(res, { written: target.kind === 'stream' });
      assertUnchanged(before, await stateOf(src), input);
      await writer.end();
      return res;
    } catch (e) {
      await writer.abort();
      throw e;
    }
  } finally {
    await src.close();
  }
}
