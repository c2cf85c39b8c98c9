/**
 * The libvirt save image as a {@link Container}: the header and XML area (./libvirt.ts) before
 * the stream, which is raw, gzip or xz (./compress.ts). A rewrite keeps the header, XML and
 * cookie bytes as they were and compresses the new stream the same way.
 * @module
 */
import { LimitError, TruncatedError } from '../errors.js';
import type { ByteSource } from '../wire/source.js';
import type { ByteSink } from '../wire/writer.js';
import { withContainer, type Container, type ContainerInfo } from './container.js';
import { CompressingSink, DecompressingSource } from './compress.js';
import { assertSupportedFormat, isLibvirtImage, LIBVIRT_HEADER_SIZE, parseLibvirtFixedHeader, parseLibvirtHeader, STREAM_COMPRESSION, type LibvirtHeader } from './libvirt.js';
import { fillTo, isSeekable, OffsetSource, PrependSource } from './sources.js';

/** Largest libvirt XML area accepted (libvirt writes the XML plus 64 KiB of padding). */
export const MAX_XML_AREA = 64 << 20;

/** What {@link libvirtSave} reports about an image. */
export type LibvirtSaveInfo = ContainerInfo<'libvirt-save', LibvirtHeader>;

function compressionOf(h: LibvirtHeader) {
  return STREAM_COMPRESSION[h.format] ?? null;
}

/** The fixed header, checked before the XML area is read. */
function fixedHeader(head: Buffer) {
  const fixed = parseLibvirtFixedHeader(head);
  if (fixed.dataLength > MAX_XML_AREA) throw new LimitError('libvirt XML area', fixed.dataLength, MAX_XML_AREA, 'MAX_XML_AREA', { offset: 20, section: 'libvirt save header' });
  assertSupportedFormat(fixed);
  return fixed;
}

/** The bare stream after the prefix: decompressed when the image says so. */
function unwrap(header: LibvirtHeader, prefix: Buffer, stream: ByteSource) {
  const info: LibvirtSaveInfo = { kind: 'libvirt-save', header, streamOffset: header.streamOffset, prefix };
  const compression = compressionOf(header);
  const bare = compression ? new DecompressingSource(stream, compression, `${compression} stream of the libvirt save image`) : stream;
  return withContainer(bare, info);
}

/** libvirt save images (`virsh save`, managed save, snapshot memory files): raw, gzip, xz or sparse (mapped-ram). */
export const libvirtSave: Container<LibvirtSaveInfo> = {
  kind: 'libvirt-save',
  headSize: 16,
  detect: isLibvirtImage,
  async open(input) {
    if (isSeekable(input)) {
      const fixed = fixedHeader(await input.readAt(0, LIBVIRT_HEADER_SIZE));
      const prefix = await input.readAt(0, fixed.streamOffset);
      if (prefix.length < fixed.streamOffset) throw new TruncatedError(fixed.streamOffset - prefix.length, { offset: prefix.length, section: 'libvirt domain XML' });
      const header = parseLibvirtHeader(prefix);
      await input.skip(fixed.streamOffset);
      // An uncompressed stream stays seekable, seen from its first byte.
      return unwrap(header, prefix, compressionOf(header) === null ? new OffsetSource(input, fixed.streamOffset) : input);
    }
    // A pipe: read the prefix, then hand on what was read past it with the rest.
    const held: Buffer[] = [];
    let head = await fillTo(input, held, LIBVIRT_HEADER_SIZE);
    const fixed = fixedHeader(head);
    head = await fillTo(input, held, fixed.streamOffset);
    if (head.length < fixed.streamOffset) throw new TruncatedError(fixed.streamOffset - head.length, { offset: head.length, section: 'libvirt domain XML' });
    const prefix = Buffer.from(head.subarray(0, fixed.streamOffset));
    const header = parseLibvirtHeader(prefix);
    return unwrap(header, prefix, new PrependSource([head.subarray(fixed.streamOffset)], input));
  },
  wrap(info: LibvirtSaveInfo, out: ByteSink): ByteSink {
    const c = compressionOf(info.header);
    return new CompressingSink(out, c, info.prefix, `${info.header.format} stream of the libvirt save image`);
  },
};
