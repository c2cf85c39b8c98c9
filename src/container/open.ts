/**
 * Opening an input that may be wrapped in a container (see ./registry.ts) so that the decoder
 * sees the bare migration stream, and writing an output wrapped the same way.
 *
 * Detection is by the first bytes, for files and pipes alike. Offsets the decoder reports
 * are then offsets inside the stream; {@link ContainerInfo.streamOffset} says where it starts.
 * @module
 */
import { openSource, DEFAULT_CHUNK, type ByteSource } from '../wire/source.js';
import type { ByteSink } from '../wire/writer.js';
import type { ContainerInfo, InputSource } from './container.js';
import { containerOfKind, detectContainer, HEAD_SIZE, type KnownContainerInfo } from './registry.js';
import { CountingSource, fillTo, isSeekable, PrependSource } from './sources.js';
import { currentInputObserver } from './observer.js';

export { withInputObserver, type InputObserver } from './observer.js';
export type { ContainerInfo, InputSource } from './container.js';
export type { KnownContainerInfo } from './registry.js';

/**
 * Opens `path` (`-` = standard input) like {@link openSource}; a stream in a container is
 * unwrapped (and decompressed) so that the result yields the bare migration stream and
 * carries `container`. Unsupported variants of a container are an `UnsupportedError`.
 */
export async function openInput(path: string, chunk = DEFAULT_CHUNK): Promise<InputSource> {
  let base = await openSource(path, chunk);
  const hooks = currentInputObserver()?.opened(path, base.size);
  if (hooks) base = new CountingSource(base, hooks);
  try {
    return await unwrapInput(base);
  } catch (e) {
    await base.close().catch(() => {});
    throw e;
  }
}

/**
 * The bare stream of a source: the source itself, or what its container wraps. A pipe's first
 * bytes are looked at and then handed on with the rest.
 */
export async function unwrapInput(base: ByteSource): Promise<InputSource> {
  if (isSeekable(base)) {
    const c = detectContainer(await base.readAt(0, HEAD_SIZE));
    return c ? c.open(base) : base;
  }
  const held: Buffer[] = [];
  const head = await fillTo(base, held, HEAD_SIZE);
  const input = new PrependSource(held, base);
  const c = detectContainer(head);
  return c ? c.open(input) : input;
}

/** The container an input was unwrapped from, if any. */
export function containerOf(src: ByteSource): KnownContainerInfo | undefined {
  return (src as InputSource).container as KnownContainerInfo | undefined;
}

/**
 * The sink to write a rewritten stream to so that the output has the input's container.
 * A bare input gives `out` itself.
 */
export function outputFor(src: ByteSource, out: ByteSink): ByteSink {
  const info = containerOf(src);
  if (!info) return out;
  return containerOfKind(info.kind)!.wrap(info, out);
}
