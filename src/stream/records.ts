/** What the decoder reports about a stream: plain data, offsets absolute. */
import type { RamKind } from './constants.js';
import type { MappedRamBlock } from './mapped-ram.js';

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
  /** START, PART and END items walked; null when the walk went past them unread (tail-first). */
  items: number | null;
  /** Bytes of its items; read tail-first, the span from its START item to where the device state starts. */
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
  /** With mapped-ram: where the block's bitmap and pages are, and how many pages it holds. */
  mappedRam?: MappedRamBlock;
}

/** RAM as walked: block list and page record counts. */
export interface RamSummary {
  pageSize: number;
  totalBytes: number;
  blocks: RamBlock[];
  records: Record<RamKind, number>;
  /** Bytes of page payload carried in the stream. */
  payloadBytes: number;
  /**
   * Whether every RAM record was walked (and counted). False when the stream was read
   * tail-first: the block list is known, the records and page counts are not.
   */
  walked: boolean;
}

export type { CpuSection, SubsectionRecord } from '../cpu/section.js';

/** The trailing JSON description. */
export interface VmdescRecord {
  offset: number;
  /** JSON length in bytes. */
  length: number;
}
