/**
 * Opening an input that may be wrapped in a container (a libvirt save image) so that the
 * decoder sees the bare migration stream, and writing an output wrapped the same way.
 *
 * Detection is by the first 16 bytes, for files and pipes alike. Offsets the decoder reports
 * are then offsets inside the stream; {@link ContainerInfo.streamOffset} says where it starts.
 * @module
 */
import { openSource, DEFAULT_CHUNK, type ByteSource } from '../wire/source.js';
import type { ByteSink } from '../wire/writer.js';
import { LimitError, TruncatedError } from '../wire/errors.js';
import { assertSupportedFormat, isLibvirtImage, LIBVIRT_HEADER_SIZE, parseLibvirtFixedHeader, parseLibvirtHeader, type LibvirtHeader } from './libvirt.js';
import { CompressingSink, DecompressingSource } from './compress.js';
import { currentInputObserver, type InputObserver } from './observer.js';

export { withInputObserver, type InputObserver } from './observer.js';

/** Largest libvirt XML area accepted (libvirt writes the XML plus 64 KiB of padding). */
export const MAX_XML_AREA = 64 << 20;

/** What an input was wrapped in. */
export interface ContainerInfo {
  kind: 'libvirt-save';
  header: LibvirtHeader;
  /** Where the (possibly compressed) stream starts in the input. */
  streamOffset: number;
  /** Every byte before the stream (header, XML, cookie, padding), as read: a rewrite copies it. */
  prefix: Buffer;
}

/** A source that knows the container it was unwrapped from (absent for a bare stream). */
export type InputSource = ByteSource & { readonly container?: ContainerInfo };

/** Counts the bytes consumed from a source (reads and skips), for an observer. */
class CountingSource implements ByteSource {
  private position = 0;
  readonly size?: number;
  skip?: (n: number) => Promise<void>;
  readAt?: (position: number, length: number) => Promise<Buffer>;
  release?: (chunk: Buffer) => void;
  fstat?: ByteSource['fstat'];
  constructor(
    private readonly base: ByteSource,
    private readonly hooks: { advance(position: number): void; closed(): void },
  ) {
    if (base.size !== undefined) this.size = base.size;
    if (base.fstat) this.fstat = () => base.fstat!();
    if (base.release) this.release = (c) => base.release!(c);
    if (base.skip) {
      this.skip = async (n) => {
        await base.skip!(n);
        this.position += n;
        hooks.advance(this.position);
      };
    }
    if (base.readAt) this.readAt = (p, l) => base.readAt!(p, l);
  }
  async read(): Promise<Buffer | null> {
    const c = await this.base.read();
    if (c) {
      this.position += c.length;
      this.hooks.advance(this.position);
    }
    return c;
  }
  async close(): Promise<void> {
    this.hooks.closed();
    await this.base.close();
  }
}

/** A seekable source seen from `start` on: offsets, size and reads relative to `start`. */
class OffsetSource implements ByteSource {
  readonly size: number;
  constructor(
    private readonly base: ByteSource & { size: number; skip(n: number): Promise<void>; readAt(p: number, l: number): Promise<Buffer> },
    private readonly start: number,
  ) {
    this.size = Math.max(0, base.size - start);
    if (base.release) this.release = (c) => base.release!(c);
    if (base.fstat) this.fstat = () => base.fstat!();
  }
  release?: (chunk: Buffer) => void;
  fstat?: ByteSource['fstat'];
  read(): Promise<Buffer | null> {
    return this.base.read();
  }
  skip(n: number): Promise<void> {
    return this.base.skip(n);
  }
  readAt(position: number, length: number): Promise<Buffer> {
    return this.base.readAt(this.start + position, length);
  }
  close(): Promise<void> {
    return this.base.close();
  }
}

/** Chunks already read from a pipe, served again before the rest of it. */
class PrependSource implements ByteSource {
  release?: (chunk: Buffer) => void;
  fstat?: ByteSource['fstat'];
  constructor(
    private readonly head: Buffer[],
    private readonly base: ByteSource,
  ) {
    // Held chunks are the base's own (or copies it ignores): they go back to it like the rest.
    if (base.release) this.release = (c) => base.release!(c);
    if (base.fstat) this.fstat = () => base.fstat!();
  }
  async read(): Promise<Buffer | null> {
    for (;;) {
      const c = this.head.shift();
      if (!c) return this.base.read();
      if (c.length) return c;
    }
  }
  close(): Promise<void> {
    return this.base.close();
  }
}

function seekable(s: ByteSource): s is ByteSource & { size: number; skip(n: number): Promise<void>; readAt(p: number, l: number): Promise<Buffer> } {
  return s.size !== undefined && !!s.skip && !!s.readAt;
}

/** Reads from a pipe until `n` bytes are held (or it ends); returns the chunks read. */
async function fillTo(src: ByteSource, held: Buffer[], n: number): Promise<Buffer> {
  let have = held.reduce((k, b) => k + b.length, 0);
  while (have < n) {
    const c = await src.read();
    if (!c) break;
    held.push(c);
    have += c.length;
  }
  return Buffer.concat(held);
}

function withContainer(src: ByteSource, container: ContainerInfo): InputSource {
  return Object.assign(src, { container });
}

function unwrap(header: LibvirtHeader, prefix: Buffer, stream: ByteSource): InputSource {
  const container: ContainerInfo = { kind: 'libvirt-save', header, streamOffset: header.streamOffset, prefix };
  if (header.format === 'raw') return withContainer(stream, container);
  const format = header.format as 'gzip' | 'xz';
  return withContainer(new DecompressingSource(stream, format, `${format} stream of the libvirt save image`), container);
}

/**
 * Opens `path` (`-` = standard input) like {@link openSource}; a libvirt save image is
 * unwrapped (and decompressed) so that the result yields the bare migration stream and
 * carries `container`. Unsupported compressions are an {@link UnsupportedError}.
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

async function unwrapInput(base: ByteSource): Promise<InputSource> {
  if (seekable(base)) {
    const magic = await base.readAt(0, 16);
    if (!isLibvirtImage(magic)) return base;
    const fixed = parseLibvirtFixedHeader(await base.readAt(0, LIBVIRT_HEADER_SIZE));
    if (fixed.dataLength > MAX_XML_AREA) throw new LimitError('libvirt XML area', fixed.dataLength, MAX_XML_AREA, 'MAX_XML_AREA', { offset: 20, section: 'libvirt save header' });
    assertSupportedFormat(fixed);
    const prefix = await base.readAt(0, fixed.streamOffset);
    if (prefix.length < fixed.streamOffset) throw new TruncatedError(fixed.streamOffset - prefix.length, { offset: prefix.length, section: 'libvirt domain XML' });
    const header = parseLibvirtHeader(prefix);
    await base.skip(fixed.streamOffset);
    return unwrap(header, prefix, header.format === 'raw' ? new OffsetSource(base, fixed.streamOffset) : base);
  }
  // A pipe: look at its first bytes, then hand them on with the rest.
  const held: Buffer[] = [];
  let head = await fillTo(base, held, 16);
  if (!isLibvirtImage(head)) return new PrependSource(held, base);
  head = await fillTo(base, held, LIBVIRT_HEADER_SIZE);
  const fixed = parseLibvirtFixedHeader(head);
  if (fixed.dataLength > MAX_XML_AREA) throw new LimitError('libvirt XML area', fixed.dataLength, MAX_XML_AREA, 'MAX_XML_AREA', { offset: 20, section: 'libvirt save header' });
  assertSupportedFormat(fixed);
  head = await fillTo(base, held, fixed.streamOffset);
  if (head.length < fixed.streamOffset) throw new TruncatedError(fixed.streamOffset - head.length, { offset: head.length, section: 'libvirt domain XML' });
  const prefix = Buffer.from(head.subarray(0, fixed.streamOffset));
  const header = parseLibvirtHeader(prefix);
  return unwrap(header, prefix, new PrependSource([head.subarray(fixed.streamOffset)], base));
}

/** The container an input was unwrapped from, if any. */
export function containerOf(src: ByteSource): ContainerInfo | undefined {
  return (src as InputSource).container;
}

/**
 * The sink to write a rewritten stream to so that the output has the input's container:
 * the same header, XML and cookie bytes, then the stream compressed the same way.
 * A bare input gives `out` itself.
 */
export function outputFor(src: ByteSource, out: ByteSink): ByteSink {
  const c = containerOf(src);
  if (!c) return out;
  const f = c.header.format;
  return new CompressingSink(out, f === 'raw' ? null : (f as 'gzip' | 'xz'), c.prefix, `${f} stream of the libvirt save image`);
}
