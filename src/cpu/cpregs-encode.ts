/** Encoder for the cpu section's cpreg count and VARRAY_INT32 index/value arrays. */
import { UsageError } from '../errors.js';

/**
 * Encodes count, indexes, values exactly as QEMU writes them (all big-endian); the inverse
 * of `decodeCpregArrays`.
 *
 * @example
 * ```ts
 * import { encodeCpregArrays } from 'vmstate';
 * console.log(encodeCpregArrays([0x603000000013c103n], [0xffn]).toString('hex'));
 * // prints: 00000001603000000013c10300000000000000ff
 * ```
 * @throws UsageError when `ids` and `values` differ in length.
 */
export function encodeCpregArrays(ids: readonly bigint[], values: readonly bigint[]): Buffer {
  if (ids.length !== values.length) throw new UsageError(`cpreg arrays: ${ids.length} ids but ${values.length} values`);
  const n = ids.length;
  const out = Buffer.allocUnsafe(4 + 16 * n);
  out.writeInt32BE(n, 0);
  for (let i = 0; i < n; i++) {
    out.writeBigUInt64BE(BigInt.asUintN(64, ids[i]!), 4 + 8 * i);
    out.writeBigUInt64BE(BigInt.asUintN(64, values[i]!), 4 + 8 * n + 8 * i);
  }
  return out;
}
