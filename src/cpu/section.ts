/**
 * One `cpu` section as decoded: the body after the 17-byte section header is the fixed main
 * fields, the cpreg count and arrays, the fixed tail, then subsections (./layout.ts,
 * ./subsections.ts).
 * @module
 */
import type { ErrorPlace } from '../errors.js';
import { Need } from '../wire/lookahead.js';
import { COUNT_OFFSET, TAIL_SIZE } from './layout.js';
import { cpregArraysSize, decodeCpregArrays } from './cpregs-decode.js';
import { readSubsections, type UnknownSubsectionWalk } from './subsections.js';

/** A subsection found inside a section body. */
export interface SubsectionRecord {
  name: string;
  version: number;
  /** Offset of the 0x05 marker. */
  offset: number;
  /** Bytes from the marker to the end of its body (nested subsections included). */
  size: number;
  /** Nesting depth: 0 for direct subsections of the section. */
  depth: number;
  /** The body bytes (after the header, nested subsections included). */
  content: Buffer;
}

/** One vCPU's `cpu` section with its cpreg arrays. */
export interface CpuSection {
  instance: number;
  sectionId: number;
  version: number;
  /** Offset of the section's type byte. */
  offset: number;
  /** Offset of the be32 `cpreg_vmstate_array_len`. */
  countOffset: number;
  count: number;
  ids: bigint[];
  values: bigint[];
  /** Offset just past the values array. */
  arraysEnd: number;
  subsections: SubsectionRecord[];
  /** Offset of the footer (end of the body). */
  bodyEnd: number;
}

/** What the section header says about a `cpu` section (the body does not repeat it). */
export interface CpuHeader {
  instance: number;
  sectionId: number;
  version: number;
  /** Offset of the section's type byte. */
  offset: number;
}

/**
 * Decodes a cpu section body held in `buf` (`buf[0]` is the body's first byte, at absolute
 * offset `base`), or answers what it needs when the body runs past `buf`. `label` names the
 * section in errors; `unknown` steps over subsections of no built-in size (from the vmdesc).
 */
export function decodeCpuBody(buf: Buffer, base: number, header: CpuHeader, label: string, maxCpregs: number, unknown: UnknownSubsectionWalk | null): CpuSection | Need {
  const place = (o: number): ErrorPlace => ({ offset: base + o, section: label });
  if (COUNT_OFFSET + 4 > buf.length) return new Need(COUNT_OFFSET + 4, buf.length);
  const size = cpregArraysSize(buf.subarray(COUNT_OFFSET), place(COUNT_OFFSET), maxCpregs, header.instance);
  if (COUNT_OFFSET + size > buf.length) return new Need(COUNT_OFFSET + size, buf.length);
  const { count, ids, values } = decodeCpregArrays(buf.subarray(COUNT_OFFSET), place(COUNT_OFFSET), maxCpregs, header.instance);
  const arraysEnd = COUNT_OFFSET + size;
  if (arraysEnd + TAIL_SIZE > buf.length) return new Need(arraysEnd + TAIL_SIZE, buf.length);
  const subsections: SubsectionRecord[] = [];
  const end = readSubsections(buf, arraysEnd + TAIL_SIZE, 'cpu', 0, subsections, place, unknown);
  if (end instanceof Need) return end;
  return {
    ...header,
    countOffset: base + COUNT_OFFSET, count, ids, values, arraysEnd: base + arraysEnd,
    // Copies, so the look-ahead window is not kept alive by a report.
    subsections: subsections.map((s) => ({ ...s, offset: base + s.offset, content: Buffer.from(buf.subarray(s.offset + 6 + s.name.length, s.offset + s.size)) })),
    bodyEnd: base + end,
  };
}
