/**
 * The mapped-ram layout of the `ram` section (QEMU ≥ 9.0, `migrate file:` with the `mapped-ram`
 * capability; libvirt's `sparse` save format). After each block's name and used length in the
 * MEM_SIZE record comes a `MappedRamHeader` (packed, big-endian): be32 version (1), be64 page size,
 * be64 bitmap offset, be64 pages offset. The offsets are absolute file offsets (in a libvirt image
 * too, whose stream does not start at 0). The block's pages sit at `pages offset + page × page
 * size` where the block's bitmap (little-endian bit order, `ceil(pages / 64) × 8` bytes as QEMU
 * reads it) has the page's bit set; the stream itself goes on at `pages offset + used length`.
 * QEMU writes header, bitmap and pages in that order, the page area aligned to 1 MiB.
 * @module
 */
import { StreamFormatError, type ErrorPlace } from '../errors.js';

/** Bytes of a `MappedRamHeader` on the wire. */
export const MAPPED_RAM_HEADER_SIZE = 28;
/** Newest header version QEMU reads (`MAPPED_RAM_HDR_VERSION`). */
export const MAPPED_RAM_VERSION = 1;

/** One block's mapped-ram layout; offsets absolute in the file, as the header states them. */
export interface MappedRamBlock {
  /** Where the header starts. */
  headerOffset: number;
  version: number;
  bitmapOffset: number;
  /** Bytes of bitmap QEMU reads: `ceil(pages / 64) × 8`. */
  bitmapBytes: number;
  pagesOffset: number;
  /**
   * Pages the bitmap marks as present, or null when the bitmap was not read (a tail-first decode
   * reads no RAM; the full walk does). Every other page of the area is zero to QEMU, whatever the
   * file holds there (a hole, usually).
   */
  pagesPresent: number | null;
  /** A block of shared memory left out with `x-ignore-shared`: no bitmap, no pages (offsets 0). */
  shared: boolean;
}

/** A parsed header, and where (in stream offsets) its bitmap, pages and the rest of the stream are. */
export interface MappedRamPlan {
  block: MappedRamBlock;
  /** Stream offset of the bitmap (meaningless for a shared block). */
  bitmapAt: number;
  /** Stream offset of the first page. */
  pagesAt: number;
  /** Stream offset where the stream goes on after the block. */
  nextAt: number;
}

/**
 * Reads the header in `h` (28 bytes at stream offset `at`) of a block of `length` bytes and checks
 * it as QEMU's loader does (version, page alignment of the page area) and as its writer lays it
 * out (bitmap after the header, pages after the bitmap): anything else is a `BAD_RAM` error.
 * `fileOffset` is the file offset of stream byte 0 (the libvirt header before it).
 */
export function planMappedRamBlock(h: Buffer, at: number, name: string, length: number, pageSize: number, fileOffset: number, ignoreShared: boolean, section: string): MappedRamPlan {
  const place = (o: number): ErrorPlace => ({ offset: o, section });
  const version = h.readUInt32BE(0);
  const headerPageSize = Number(h.readBigUInt64BE(4));
  const bitmapOffset = Number(h.readBigUInt64BE(12));
  const pagesOffset = Number(h.readBigUInt64BE(20));
  const headerOffset = fileOffset + at;
  const end = at + MAPPED_RAM_HEADER_SIZE;
  if (version > MAPPED_RAM_VERSION) {
    throw new StreamFormatError('BAD_RAM', `mapped-ram header of block '${name}' has version ${version}; QEMU reads version ${MAPPED_RAM_VERSION} at most`, place(at), { expected: MAPPED_RAM_VERSION, actual: version });
  }
  if (ignoreShared && bitmapOffset === 0 && pagesOffset === 0) {
    // QEMU reserves nothing for a shared block and goes on right after its header.
    const block: MappedRamBlock = { headerOffset, version, bitmapOffset, bitmapBytes: 0, pagesOffset, pagesPresent: 0, shared: true };
    return { block, bitmapAt: end, pagesAt: end, nextAt: end };
  }
  if (headerPageSize !== pageSize) {
    throw new StreamFormatError('BAD_RAM', `mapped-ram header of block '${name}' has page size ${headerPageSize}, the stream's is ${pageSize}`, place(at + 4), { expected: pageSize, actual: headerPageSize });
  }
  if (length % pageSize !== 0) {
    throw new StreamFormatError('BAD_RAM', `mapped-ram block '${name}' of ${length} bytes is not a whole number of pages`, place(at), { actual: length });
  }
  if (pagesOffset % pageSize !== 0) {
    throw new StreamFormatError('BAD_RAM', `mapped-ram page area of block '${name}' at ${pagesOffset} is not page-aligned`, place(at + 20), { actual: pagesOffset });
  }
  const pages = length / pageSize;
  const bitmapBytes = Math.ceil(pages / 64) * 8;
  const bitmapAt = bitmapOffset - fileOffset;
  const pagesAt = pagesOffset - fileOffset;
  if (bitmapAt < end || bitmapAt + bitmapBytes > pagesAt) {
    throw new StreamFormatError(
      'BAD_RAM',
      `mapped-ram bitmap of block '${name}' (${bitmapBytes} bytes at ${bitmapOffset}) does not lie between its header (ending at ${fileOffset + end}) and its pages (at ${pagesOffset})`,
      place(at + 12),
      { actual: bitmapOffset },
    );
  }
  const block: MappedRamBlock = { headerOffset, version, bitmapOffset, bitmapBytes, pagesOffset, pagesPresent: null, shared: false };
  return { block, bitmapAt, pagesAt, nextAt: pagesAt + length };
}

/** Bits set among the first `pages` bits of a little-endian-bit-order bitmap. */
export function pagesPresent(bitmap: Buffer, pages: number): number {
  let n = 0;
  const whole = pages >>> 3;
  for (let i = 0; i < whole; i++) n += POPCOUNT[bitmap[i]!]!;
  const rest = pages & 7;
  if (rest) n += POPCOUNT[bitmap[whole]! & ((1 << rest) - 1)]!;
  return n;
}

const POPCOUNT: readonly number[] = Array.from({ length: 256 }, (_, b) => {
  let n = 0;
  for (let x = b; x; x &= x - 1) n++;
  return n;
});
