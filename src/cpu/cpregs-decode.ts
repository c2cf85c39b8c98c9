/**
 * Decoder for the cpu section's `cpreg_vmstate_array_len` (VMSTATE int32 le)
 * and the two VARRAY_INT32 arrays it counts: indexes, then values.
 */
import { Parser } from 'binary-parser';
import { LimitError, StreamFormatError, TruncatedError, type ErrorPlace } from '../errors.js';

/** Default cap on the cpreg count read from a stream (real lists hold a few hundred). */
export const DEFAULT_MAX_CPREGS = 1 << 16;

const countParser = new Parser().int32be('count');
const arraysParser = new Parser()
  .int32be('count')
  .array('ids', { type: 'uint64be', length: 'count' })
  .array('values', { type: 'uint64be', length: 'count' });

/** Decoded count and arrays. */
export interface CpregArrays {
  count: number;
  ids: bigint[];
  values: bigint[];
}

/** Where the arrays are, for errors (the default names no stream position). */
const NOWHERE: ErrorPlace = { offset: 0, section: 'cpreg arrays' };

/** A buffer that ends `needed` bytes short, placed where it ends. */
function short(needed: number, buf: Buffer, place: ErrorPlace): TruncatedError {
  return new TruncatedError(needed, { offset: place.offset + buf.length, section: place.section });
}

/**
 * Reads the signed be32 count at `buf[0]` and checks it before anything is
 * sized by it. Returns the number of bytes the count and arrays occupy.
 * `place` is where `buf[0]` is; `instance`, when given, is added to a negative
 * count's error data (the `cpu` section it is in).
 */
export function cpregArraysSize(buf: Buffer, place: ErrorPlace = NOWHERE, maxCount = DEFAULT_MAX_CPREGS, instance?: number): number {
  // binary-parser reads past a short buffer with a bare RangeError: check first.
  if (buf.length < 4) throw short(4 - buf.length, buf, place);
  const { count } = countParser.parse(buf.subarray(0, 4)) as { count: number };
  if (count < 0) {
    throw new StreamFormatError('BAD_SECTION', `negative cpreg count ${count} (cpreg_vmstate_array_len)`, place, {
      actual: count,
      negativeCount: count,
      ...(instance !== undefined ? { instance } : {}),
    });
  }
  if (count > maxCount) throw new LimitError('cpreg count', count, maxCount, 'maxCpregs', place);
  return 4 + 16 * count;
}

/**
 * Decodes the `cpu` section's `cpreg_vmstate_array_len` and the two arrays it counts (ids,
 * then values; all big-endian), from the start of `buf`.
 *
 * @example
 * ```ts
 * import { decodeCpregArrays, encodeCpregArrays } from 'vmstate';
 * const bytes = encodeCpregArrays([0x603000000013c103n], [0x1n]);
 * const { count, ids, values } = decodeCpregArrays(bytes);
 * console.log(bytes.length, count, ids[0].toString(16), values[0]);
 * // prints: 20 1 603000000013c103 1n
 * ```
 * @throws TruncatedError, StreamFormatError (a negative count), LimitError (a count over `maxCount`)
 */
export function decodeCpregArrays(buf: Buffer, place: ErrorPlace = NOWHERE, maxCount = DEFAULT_MAX_CPREGS, instance?: number): CpregArrays {
  const size = cpregArraysSize(buf, place, maxCount, instance);
  if (buf.length < size) throw short(size - buf.length, buf, place);
  return arraysParser.parse(buf.subarray(0, size)) as CpregArrays;
}
