/**
 * A deliberately small, independent reader for the cpreg arrays of a migration stream, used to
 * cross-check the real decoder. It finds `cpu` section headers by byte pattern
 * (04 <be32 sid> 03 'c' 'p' 'u' <be32 instance> 00 00 00 16) and reads, 585 bytes after the 0x04,
 * the signed be32 count, then `count` be64 indexes, then `count` be64 values.
 * Pattern matching can in principle hit guest RAM bytes; the sanity checks below skip such hits.
 */
export interface MinimalCpregs {
  instance: number;
  /** Offset of the section's 0x04 type byte. */
  offset: number;
  count: number;
  ids: bigint[];
  values: bigint[];
}

const CPU_MARK = Buffer.from([0x03, 0x63, 0x70, 0x75]);
const VERSION_22 = Buffer.from([0x00, 0x00, 0x00, 0x16]);

export function minimalCpregs(stream: Buffer): MinimalCpregs[] {
  const out: MinimalCpregs[] = [];
  for (let at = stream.indexOf(CPU_MARK); at >= 0; at = stream.indexOf(CPU_MARK, at + 1)) {
    const offset = at - 5;
    if (offset < 0 || stream[offset] !== 0x04) continue;
    if (!stream.subarray(at + 8, at + 12).equals(VERSION_22)) continue;
    const countAt = offset + 585;
    if (countAt + 4 > stream.length) continue;
    const count = stream.readInt32BE(countAt);
    const idsAt = countAt + 4;
    if (count < 0 || idsAt + 16 * count > stream.length) continue;
    const ids: bigint[] = [];
    const values: bigint[] = [];
    for (let i = 0; i < count; i++) {
      ids.push(stream.readBigUInt64BE(idsAt + 8 * i));
      values.push(stream.readBigUInt64BE(idsAt + 8 * (count + i)));
    }
    out.push({ instance: stream.readUInt32BE(at + 4), offset, count, ids, values });
  }
  return out;
}
