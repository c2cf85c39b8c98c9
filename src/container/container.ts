/**
 * Containers: file formats that wrap a migration stream (a libvirt save image, …). Each is one
 * module implementing {@link Container}, listed in ./registry.ts; opening an input asks each
 * whether it recognises the first bytes, and a rewrite writes its output through the same
 * container's writer side, so that the output is wrapped like the input.
 * @module
 */
import type { ByteSource } from '../wire/source.js';
import type { ByteSink } from '../wire/writer.js';

/** What an input was wrapped in: the container's kind, its parsed header, and its bytes before the stream. */
export interface ContainerInfo<K extends string = string, H = unknown> {
  kind: K;
  header: H;
  /** Where the (possibly compressed) stream starts in the input. */
  streamOffset: number;
  /** Every byte before the stream, as read: a rewrite copies it. */
  prefix: Buffer;
}

/** A source that knows the container it was unwrapped from (absent for a bare stream). */
export type InputSource = ByteSource & { readonly container?: ContainerInfo };

/** One container format. */
export interface Container<I extends ContainerInfo = ContainerInfo> {
  /** The `kind` of the infos it makes. */
  readonly kind: I['kind'];
  /** How many leading bytes {@link detect} looks at. */
  readonly headSize: number;
  /** True when an input starting with `head` is in this format. */
  detect(head: Buffer): boolean;
  /**
   * Unwraps an input {@link detect} accepted, read from its first byte (a pipe's first bytes
   * are replayed): the bare migration stream, carrying the {@link ContainerInfo}.
   */
  open(input: ByteSource): Promise<InputSource & { readonly container: I }>;
  /** The writer side: a sink that writes a stream into `out` wrapped as `info` says. */
  wrap(info: I, out: ByteSink): ByteSink;
}

/** Attaches `container` to a source. */
export function withContainer<I extends ContainerInfo>(src: ByteSource, container: I): ByteSource & { readonly container: I } {
  return Object.assign(src, { container });
}
