/**
 * The byte side of a rewrite: copy a stream from a path or stdin through the decoder with
 * edits, to a file or stdout, in the input's container.
 */
import { realpathSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { decodeStream, type DecodeOptions, type DecodedStream } from '../stream/decode.js';
import { containerOf, openInput, outputFor } from '../container/open.js';
import { FileSink, StreamWriter, WritableSink } from '../wire/writer.js';
import { CopyFileSink } from '../wire/copy-sink.js';
import { UsageError } from '../errors.js';

function isDirectory(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

function sameFile(a: string, b: string): boolean {
  try {
    return realpathSync(a) === realpathSync(b);
  } catch {
    return resolve(a) === resolve(b);
  }
}

/**
 * Copies `input` to `output` (`-` = stdout) through the decoder with the given
 * edits. A file output appears only complete: it is written beside the target
 * and renamed on success, and removed on any error. The input is never the output.
 */
export async function rewriteFile(
  input: string,
  output: string,
  opts: Omit<DecodeOptions, 'output'> & {
    /** Runs after the whole input was copied, before the output is committed; throwing discards it. */
    beforeCommit?: (res: DecodedStream) => void | Promise<void>;
  } = {},
): Promise<DecodedStream> {
  if (output !== '-' && input !== '-' && sameFile(input, output)) {
    throw new UsageError(`refusing to write over the input ${input}: choose another output path`);
  }
  if (output !== '-' && isDirectory(output)) throw new UsageError(`${output} is a directory: name the output file`);
  const src = await openInput(input);
  // A bare stream in a regular file is copied by the kernel while it is decoded (see CopyFileSink).
  const copyable = input !== '-' && src.size !== undefined && !containerOf(src);
  const sink = output === '-' ? new WritableSink(process.stdout) : copyable ? await CopyFileSink.create(input, output) : await FileSink.create(output);
  // A libvirt save image is written back as one: same header and XML, stream compressed alike.
  const writer = new StreamWriter(outputFor(src, sink));
  try {
    const res = await decodeStream(src, { ...opts, output: writer });
    await opts.beforeCommit?.(res);
    await writer.end();
    return res;
  } catch (e) {
    await writer.abort();
    throw e;
  } finally {
    await src.close();
  }
}
