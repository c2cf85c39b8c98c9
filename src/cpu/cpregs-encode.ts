/** Encoder for the cpu section's cpreg count and VARRAY_INT32 index/value arrays. */

/** Encodes count, indexes, values exactly as QEMU writes them (all big-endian). */
export function encodeCpregArrays(ids: readonly bigint[], values: readonly bigint[]): Buffer {
  if (ids.length !== values.length) throw new RangeError('ids and values differ in length');
  const n = ids.length;
  const out = Buffer.allocUnsafe(4 + 16 * n);
  out.writeInt32BE(n, 0);
  for (let i = 0; i < n; i++) {
    out.writeBigUInt64BE(BigInt.asUintN(64, ids[i]!), 4 + 8 * i);
    out.writeBigUInt64BE(BigInt.asUintN(64, values[i]!), 4 + 8 * n + 8 * i);
  }
  return out;
}
