/**
 * Decoder for the cpu section's `cpreg_vmstate_array_len` (VMSTATE int32 le)
 * and the two VARRAY_INT32 arrays it counts: indexes, then values.
 */
import { Parser } from 'binary-parser';
import { LimitError, StreamFormatError, type ErrorPlace } from '../wire/errors.js';

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

/**
 * Reads the signed be32 count at `buf[0]` and checks it before anything is
 * sized by it. Returns the number of bytes the count and arrays occupy.
 */
export function cpregArraysSize(buf: Buffer, place: ErrorPlace, maxCount = DEFAULT_MAX_CPREGS): number {
  const { count } = countParser.parse(buf.subarray(0, 4)) as { count: number };
  if (count < 0) {
    throw new StreamFormatError('BAD_SECTION', `negative cpreg count ${count} (cpreg_vmstate_array_len)`, place, {
      actual: count,
      negativeCount: count,
    });
  }
  if (count > maxCount) throw new LimitError('cpreg count', count, maxCount, 'maxCpregs', place);
  return 4 + 16 * count;
}

/** Decodes count + indexes + values from a buffer holding at least {@link cpregArraysSize} bytes. */
export function decodeCpregArrays(buf: Buffer, place: ErrorPlace, maxCount = DEFAULT_MAX_CPREGS): CpregArrays {
  const size = cpregArraysSize(buf, place, maxCount);
  // binary-parser reads past a short buffer with a bare RangeError; the caller guarantees size.
  if (buf.length < size) throw new StreamFormatError('TRUNCATED', 'cpreg arrays cut short', place);
  return arraysParser.parse(buf.subarray(0, size)) as CpregArrays;
}
