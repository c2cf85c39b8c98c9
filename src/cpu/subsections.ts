/**
 * Subsections of the `cpu` section (spec §3.3, §5.3), stepped over with QEMU's peek rule: a
 * 0x05 marker, a name at least one longer than the parent's with the parent as prefix. Bodies
 * of the subsections QEMU 7.2–11.1 write for A-profile CPUs have fixed sizes, known here;
 * anything else needs a description from elsewhere (the vmdesc).
 * @module
 */
import { UnsupportedError, type ErrorPlace } from '../errors.js';
import { Need } from '../wire/lookahead.js';
import type { SubsectionRecord } from './section.js';

/**
 * Body sizes of the `cpu` subsections QEMU 7.2–11.1 can write (`cpu/fpmr` since 11.x) for A-profile
 * CPUs, so they can be stepped over without a vmdesc. M/R-profile ones are
 * absent on purpose: the `virt` board cannot run those CPUs.
 */
export const CPU_SUBSECTION_SIZES: Readonly<Record<string, number>> = {
  'cpu/vfp': 576,
  'cpu/vfp/fpcr_fpsr': 16,
  'cpu/iwmmxt': 192,
  'cpu/thumb2ee': 8,
  'cpu/sve': 4128,
  'cpu/sme': 65536,
  'cpu/zt0': 64,
  'cpu/serror': 10,
  'cpu/irq-line-state': 4,
  'cpu/wfxt-timer': 8,
  'cpu/syndrome64': 8,
  'cpu/pstate64': 8,
  'cpu/fpmr': 8,
};

/**
 * Steps over the body of subsection `name` starting at `buf[bodyAt]` when it has no built-in
 * size: its end, a {@link Need}, or null when nothing describes it.
 */
export type UnknownSubsectionWalk = (name: string, buf: Buffer, bodyAt: number) => number | Need | null;

const EMPTY = Buffer.alloc(0);

/**
 * Steps over the subsections of `parent` from `buf[pos]`, adding a record for each to `acc`;
 * returns where they end, or a {@link Need} when they run past `buf`.
 */
export function readSubsections(
  buf: Buffer,
  pos: number,
  parent: string,
  depth: number,
  acc: SubsectionRecord[],
  place: (o: number) => ErrorPlace,
  unknown: UnknownSubsectionWalk | null,
): number | Need {
  for (;;) {
    if (pos + 2 > buf.length) {
      // The footer (5 bytes) must follow anyway; ask for more if it is not here.
      if (pos + 5 > buf.length) return new Need(pos + 5, buf.length);
      return pos;
    }
    if (buf[pos] !== 0x05) return pos;
    const n = buf[pos + 1]!;
    if (n < parent.length + 1) return pos;
    if (pos + 2 + n + 4 > buf.length) return new Need(pos + 6 + n, buf.length);
    const name = buf.toString('latin1', pos + 2, pos + 2 + n);
    if (!name.startsWith(parent)) return pos;
    const version = buf.readUInt32BE(pos + 2 + n);
    const bodyAt = pos + 6 + n;
    let bodyEnd: number | Need;
    const known = CPU_SUBSECTION_SIZES[name];
    const rec: SubsectionRecord = { name, version, offset: pos, size: 0, depth, content: EMPTY };
    acc.push(rec);
    if (known !== undefined) {
      bodyEnd = bodyAt + known;
      if (bodyEnd > buf.length) return new Need(bodyEnd, buf.length);
      bodyEnd = readSubsections(buf, bodyEnd, name, depth + 1, acc, place, unknown);
    } else {
      const end = unknown?.(name, buf, bodyAt) ?? null;
      if (end === null) throw new UnsupportedError(`subsection '${name}' of unknown layout (no vmdesc describes it)`, place(pos), { actual: name });
      bodyEnd = end;
    }
    if (bodyEnd instanceof Need) return bodyEnd;
    rec.size = bodyEnd - pos;
    pos = bodyEnd;
  }
}
