/** What the decoder reports about a stream: plain data, offsets absolute. */
import type { RamKind } from './constants.js';

/** The `configuration` item (spec §2). */
export interface Configuration {
  offset: number;
  size: number;
  /** Machine type, e.g. `virt-7.2`. */
  machine: string;
  /** Target page bits (`configuration/target-page-bits`), 10 when absent. */
  pageBits: number;
  capabilities: string[];
  /** 16 raw bytes as hex, when `configuration/uuid` is present. */
  uuid?: string;
  subsections: { name: string; version: number }[];
}

/** One START/PART/END/FULL item (or, for iterative sections, all of them merged). */
export interface SectionRecord {
  kind: 'start' | 'part' | 'end' | 'full';
  sectionId: number;
  name: string;
  instanceId: number;
  version: number;
  /** Offset of the item's type byte. */
  offset: number;
  /** Bytes from the type byte through the footer. */
  size: number;
}

/** An iterative (live) section: every START/PART/END item of one section id. */
export interface IterativeSection {
  sectionId: number;
  name: string;
  instanceId: number;
  version: number;
  offset: number;
  items: number;
  bytes: number;
}

/** A COMMAND item. */
export interface CommandRecord {
  offset: number;
  command: number;
  name: string;
  length: number;
}

/** Per-block RAM statistics. */
export interface RamBlock {
  name: string;
  length: number;
  records: Record<RamKind, number>;
}

/** RAM as walked: block list and page record counts. */
export interface RamSummary {
  pageSize: number;
  totalBytes: number;
  blocks: RamBlock[];
  records: Record<RamKind, number>;
  /** Bytes of page payload carried in the stream. */
  payloadBytes: number;
}

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

/** The trailing JSON description. */
export interface VmdescRecord {
  offset: number;
  /** JSON length in bytes. */
  length: number;
}
