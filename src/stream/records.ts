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

export type { CpuSection, SubsectionRecord } from '../cpu/section.js';

/** The trailing JSON description. */
export interface VmdescRecord {
  offset: number;
  /** JSON length in bytes. */
  length: number;
}
