/**
 * libvirt save images (`virsh save`, `virsh managedsave`, `virsh snapshot` memory files).
 *
 * Layout, as libvirt's QEMU driver writes it (`virQEMUSaveHeader`, `virQEMUSaveDataWrite`):
 *
 * | offset | size | field |
 * | ---: | ---: | --- |
 * | 0 | 16 | magic `LibvirtQemudSave` (`LibvirtQemudPart` while the save is still being written) |
 * | 16 | 4 | version (1 or 2) |
 * | 20 | 4 | data length: the XML area that follows, padding included |
 * | 24 | 4 | was running (1: the domain ran when it was saved) |
 * | 28 | 4 | format: 0 raw, 1 gzip, 2 bzip2, 3 xz, 4 lzop, 5 zstd, 6 sparse (mapped-ram) |
 * | 32 | 4 | cookie offset inside the XML area (0: no cookie) |
 * | 36 | 56 | 14 unused words |
 * | 92 | data length | domain XML, NUL-terminated; the cookie XML at the cookie offset; zero padding |
 * | 92 + data length | … | the QEMU migration stream, compressed by the format's program (`sparse`: as QEMU wrote it, with mapped-ram) |
 *
 * The words are in the saving host's byte order: little-endian on x86 and Arm hosts. Like
 * libvirt, a version that does not fit is read again byte-swapped. Version 1 images are never
 * compressed (libvirt ignores their format word).
 * @module
 */
import { StreamFormatError, TruncatedError, UnsupportedError } from '../errors.js';
import type { Compression } from './compress.js';

/** Size of the fixed header. */
export const LIBVIRT_HEADER_SIZE = 92;
/** Magic of a complete image. */
export const LIBVIRT_MAGIC = 'LibvirtQemudSave';
/** Magic of an image whose save did not finish. */
export const LIBVIRT_PARTIAL_MAGIC = 'LibvirtQemudPart';
/** Newest header version libvirt writes. */
export const LIBVIRT_SAVE_VERSION = 2;

/** The format word's values, in libvirt's on-disk numbering (`virQEMUSaveFormat`). */
export const LIBVIRT_FORMATS = ['raw', 'gzip', 'bzip2', 'xz', 'lzop', 'zstd', 'sparse'] as const;
export type LibvirtFormat = (typeof LIBVIRT_FORMATS)[number];

/**
 * The formats whose stream vmstate can read and write, and what their stream is compressed with
 * (null: none). A `sparse` image holds QEMU's stream as QEMU wrote it into the file itself, with
 * the `mapped-ram` capability: uncompressed, its page areas at absolute offsets of the image.
 */
export const STREAM_COMPRESSION: Readonly<Partial<Record<LibvirtFormat, Compression | null>>> = { raw: null, gzip: 'gzip', xz: 'xz', sparse: null };

/** Formats whose stream vmstate can read and write. */
export const SUPPORTED_FORMATS = Object.keys(STREAM_COMPRESSION) as readonly LibvirtFormat[];

/** What the image's domain XML says about the guest. */
export interface LibvirtDomain {
  /** `<name>`. */
  name: string | null;
  /** `<uuid>`. */
  uuid: string | null;
  /** `<domain type=…>`: kvm, qemu, … */
  type: string | null;
  /** `<os><type arch=…>`. */
  arch: string | null;
  /** `<os><type machine=…>`: the machine type the domain was started with. */
  machine: string | null;
}

/** A parsed libvirt save image header and XML area. */
export interface LibvirtHeader {
  /** True for `LibvirtQemudPart`: libvirt had not finished writing the image. */
  partial: boolean;
  version: number;
  /** Byte order of the header words. */
  endian: 'little' | 'big';
  /** Length of the XML area (domain XML, cookie, padding). */
  dataLength: number;
  wasRunning: boolean;
  /** The raw format word. */
  formatCode: number;
  /** What the stream is compressed with; version 1 images are always raw. */
  format: LibvirtFormat;
  /** Offset of the cookie inside the XML area, 0 when there is none. */
  cookieOffset: number;
  /** The domain XML (without its NUL and padding). */
  domainXml: string;
  /** The cookie XML, or null. */
  cookieXml: string | null;
  domain: LibvirtDomain;
  /** Where the (possibly compressed) QEMU stream starts in the image: 92 + data length. */
  streamOffset: number;
}

/** True when `head` (at least 16 bytes) starts with either libvirt magic. */
export function isLibvirtImage(head: Uint8Array): boolean {
  if (head.length < 16) return false;
  const m = Buffer.from(head.buffer, head.byteOffset, 16).toString('latin1');
  return m === LIBVIRT_MAGIC || m === LIBVIRT_PARTIAL_MAGIC;
}

const place = (offset: number) => ({ offset, section: 'libvirt save header' });

/** The fixed 92-byte header's words; throws on anything libvirt itself would refuse to read. */
export function parseLibvirtFixedHeader(head: Uint8Array): Omit<LibvirtHeader, 'domainXml' | 'cookieXml' | 'domain'> {
  const b = Buffer.from(head.buffer, head.byteOffset, head.length);
  if (!isLibvirtImage(b)) {
    throw new StreamFormatError('BAD_MAGIC', `not a libvirt save image: magic ${JSON.stringify(b.subarray(0, 16).toString('latin1'))}`, place(0));
  }
  if (b.length < LIBVIRT_HEADER_SIZE) {
    throw new TruncatedError(LIBVIRT_HEADER_SIZE - b.length, place(b.length), `libvirt save image ends inside its ${LIBVIRT_HEADER_SIZE}-byte header (${b.length} bytes)`);
  }
  const partial = b.toString('latin1', 0, 16) === LIBVIRT_PARTIAL_MAGIC;
  let endian: 'little' | 'big' = 'little';
  const word = (i: number) => (endian === 'little' ? b.readUInt32LE(16 + 4 * i) : b.readUInt32BE(16 + 4 * i));
  if (word(0) > LIBVIRT_SAVE_VERSION) endian = 'big';
  const version = word(0);
  if (version > LIBVIRT_SAVE_VERSION || version === 0) {
    throw new StreamFormatError('BAD_VERSION', `libvirt save image version ${b.readUInt32LE(16)} is not supported (expected 1 or ${LIBVIRT_SAVE_VERSION})`, place(16), {
      expected: LIBVIRT_SAVE_VERSION,
      actual: b.readUInt32LE(16),
    });
  }
  const dataLength = word(1);
  const wasRunning = word(2) !== 0;
  const formatCode = word(3);
  const cookieOffset = word(4);
  if (dataLength === 0 || dataLength > 0x7fffffff) {
    throw new StreamFormatError('BAD_ITEM', `libvirt save image: invalid XML area length ${dataLength}`, place(20), { actual: dataLength });
  }
  if (formatCode >= LIBVIRT_FORMATS.length) {
    throw new StreamFormatError('BAD_ITEM', `libvirt save image: unknown format ${formatCode} (known: ${LIBVIRT_FORMATS.map((f, i) => `${i} ${f}`).join(', ')})`, place(28), { actual: formatCode });
  }
  if (cookieOffset > dataLength) {
    throw new StreamFormatError('BAD_ITEM', `libvirt save image: cookie offset ${cookieOffset} lies past the XML area (${dataLength} bytes)`, place(32), { actual: cookieOffset, expected: dataLength });
  }
  const format: LibvirtFormat = version === 1 ? 'raw' : LIBVIRT_FORMATS[formatCode]!;
  return { partial, version, endian, dataLength, wasRunning, formatCode, format, cookieOffset, streamOffset: LIBVIRT_HEADER_SIZE + dataLength };
}

/** Parses the header and its XML area: `image` holds at least the first 92 + data length bytes. */
export function parseLibvirtHeader(image: Uint8Array): LibvirtHeader {
  const fixed = parseLibvirtFixedHeader(image.subarray(0, Math.min(image.length, LIBVIRT_HEADER_SIZE)));
  if (image.length < fixed.streamOffset) {
    const needed = fixed.streamOffset - image.length;
    throw new TruncatedError(needed, { offset: image.length, section: 'libvirt domain XML' }, `libvirt save image ends inside its XML area: ${needed} more byte(s) needed`);
  }
  const area = Buffer.from(image.buffer, image.byteOffset + LIBVIRT_HEADER_SIZE, fixed.dataLength);
  const xmlEnd = fixed.cookieOffset || fixed.dataLength;
  const domainXml = cString(area.subarray(0, xmlEnd));
  const cookieXml = fixed.cookieOffset ? cString(area.subarray(fixed.cookieOffset)) : null;
  return { ...fixed, domainXml, cookieXml, domain: domainFacts(domainXml) };
}

/** Throws the typed error (exit 2) for formats whose stream vmstate cannot read. */
export function assertSupportedFormat(h: Pick<LibvirtHeader, 'format' | 'streamOffset'>): void {
  if (SUPPORTED_FORMATS.includes(h.format)) return;
  const how = `to read it, decompress the stream first: tail -c +${h.streamOffset + 1} IMAGE | ${h.format} -dc > stream.mig`;
  throw new UnsupportedError(
    `libvirt save image with a ${h.format} stream is not supported (vmstate reads raw, gzip, xz and sparse images); ${how}`,
    { offset: 28, section: 'libvirt save header' },
    { actual: h.format, expected: [...SUPPORTED_FORMATS] },
  );
}

function cString(b: Buffer): string {
  const nul = b.indexOf(0);
  return b.toString('utf8', 0, nul < 0 ? b.length : nul);
}

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

function unescapeXml(s: string): string {
  return s.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|amp|lt|gt|quot|apos);/g, (_m, e: string) =>
    e[0] === '#' ? String.fromCodePoint(e[1] === 'x' ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10)) : ENTITIES[e]!,
  );
}

function attr(tag: string, name: string): string | null {
  const m = new RegExp(`\\s${name}\\s*=\\s*(?:"([^"]*)"|'([^']*)')`).exec(tag);
  return m ? unescapeXml(m[1] ?? m[2]!) : null;
}

/** Name, uuid, type, arch and machine from a domain XML (a tolerant scan, not a full XML parser). */
export function domainFacts(xml: string): LibvirtDomain {
  // Only the domain's own children count: drop comments and <metadata> (free-form, may hold <name>).
  const text = xml.replace(/<!--[\s\S]*?-->/g, '').replace(/<metadata\b[\s\S]*?<\/metadata\s*>/g, '');
  const domainTag = /<domain\b[^>]*>/.exec(text)?.[0] ?? '';
  const child = (tag: string): string | null => {
    const m = new RegExp(`<${tag}\\b[^>]*>([^<]*)</${tag}\\s*>`).exec(text);
    return m ? unescapeXml(m[1]!.trim()) : null;
  };
  const osType = /<os\b[^>]*>[\s\S]*?(<type\b[^>]*>)/.exec(text)?.[1] ?? '';
  return { name: child('name'), uuid: child('uuid'), type: attr(domainTag, 'type'), arch: attr(osType, 'arch'), machine: attr(osType, 'machine') };
}
