/**
 * The `ram` section walker (spec §4). RAM needs no layout: every record is a
 * be64 word (page-aligned value | flags) with an exactly known payload, so the
 * walk is exact and page contents are passed through without being held. With
 * mapped-ram (./mapped-ram.ts) the pages are not records at all but areas of the
 * file that the block list points to; the walk steps over them.
 */
import { RAM_KINDS, RamFlag, type RamKind } from './constants.js';
import type { RamBlock, RamSummary } from './records.js';
import type { StreamReader } from '../wire/reader.js';
import { StreamFormatError, UnsupportedError } from '../errors.js';
import { MAPPED_RAM_HEADER_SIZE, pagesPresent, planMappedRamBlock } from './mapped-ram.js';

/** zlib's compressBound: the largest valid COMPRESS_PAGE payload. */
function compressBound(n: number): number {
  return n + (n >>> 12) + (n >>> 14) + (n >>> 25) + 13;
}

const PAGE_CONT = RamFlag.PAGE | RamFlag.CONTINUE;
const ZERO_CONT = RamFlag.ZERO | RamFlag.CONTINUE;

function addCounts(s: RamSummary, pages: number, zeros: number, bytes: number): void {
  s.records.page += pages;
  s.records.zero += zeros;
  s.payloadBytes += bytes;
}

function emptyCounts(): Record<RamKind, number> {
  return Object.fromEntries(RAM_KINDS.map((k) => [k, 0])) as Record<RamKind, number>;
}

/** Options that change the block list encoding (from configuration and commands). */
export interface RamOptions {
  /** `x-ignore-shared`: every block record carries its GPA. */
  ignoreShared: boolean;
  /** `mapped-ram`: each block record carries a header that points to its bitmap and page area. */
  mappedRam: boolean;
  /** A POSTCOPY_ADVISE was seen: block records may carry a page size. */
  postcopy: boolean;
  /** File offset of stream byte 0 (mapped-ram offsets are file offsets; a libvirt image's stream starts later). */
  fileOffset: number;
  /** Read each mapped-ram block's bitmap (page counts); otherwise step straight over its area. */
  mappedRamBitmaps: boolean;
}

/** Walks RAM section bodies, keeping state that spans sections (block list, CONTINUE). */
export class RamWalker {
  readonly summary: RamSummary;
  private blocks = new Map<string, RamBlock>();
  private last: RamBlock | null = null;
  private readonly mask: number;

  constructor(
    pageSize: number,
    private readonly opts: RamOptions,
  ) {
    this.mask = pageSize - 1;
    this.summary = { pageSize, totalBytes: 0, blocks: [], records: emptyCounts(), payloadBytes: 0, walked: true };
  }

  /**
   * Walks one START/PART/END body up to and including its EOS word. Hot path (one turn per
   * guest page): when the bytes are already buffered nothing is awaited and nothing allocated.
   */
  async walkBody(r: StreamReader): Promise<void> {
    const s = this.summary;
    const pageSize = s.pageSize;
    for (;;) {
      this.skimContinued(r);
      const at = r.offset;
      if (r.available < 8) await r.need(8);
      const hi = r.be32();
      const lo = r.be32();
      const flags = lo & this.mask;
      // Page-aligned value; block offsets and sizes stay far below 2^53.
      const value = hi * 0x1_0000_0000 + (lo - flags);
      const kind = flags & ~RamFlag.CONTINUE;
      switch (kind) {
        case RamFlag.EOS:
          return;
        case RamFlag.MEM_SIZE:
          await this.blockList(r, value, at);
          continue;
        case RamFlag.MULTIFD_FLUSH:
          s.records['multifd-flush']++;
          continue;
        case RamFlag.ZERO: {
          const b = this.continued(flags, value) ?? (await this.block(r, flags, value, at));
          if (r.available < 1) await r.need(1);
          r.u8();
          b.records.zero++;
          addCounts(s, 0, 1, 0);
          continue;
        }
        case RamFlag.PAGE: {
          const b = this.continued(flags, value) ?? (await this.block(r, flags, value, at));
          if (!r.passBuffered(pageSize)) await r.pass(pageSize);
          b.records.page++;
          addCounts(s, 1, 0, pageSize);
          continue;
        }
        case RamFlag.XBZRLE: {
          const b = await this.block(r, flags, value, at);
          await r.need(3);
          const enc = r.u8();
          if (enc !== 1) throw new StreamFormatError('BAD_RAM', `XBZRLE encoding flag ${enc}, expected 1`, r.place(r.offset - 1));
          const len = r.be16();
          if (len > pageSize) throw new StreamFormatError('BAD_RAM', `XBZRLE length ${len} exceeds the page size ${pageSize}`, r.place(r.offset - 2));
          await r.pass(len);
          b.records.xbzrle++;
          s.records.xbzrle++;
          s.payloadBytes += len;
          continue;
        }
        case RamFlag.COMPRESS_PAGE: {
          const b = await this.block(r, flags, value, at);
          await r.need(4);
          const len = r.be32();
          if (len > compressBound(pageSize)) throw new StreamFormatError('BAD_RAM', `compressed page length ${len} exceeds ${compressBound(pageSize)}`, r.place(r.offset - 4));
          await r.pass(len);
          b.records.compressed++;
          s.records.compressed++;
          s.payloadBytes += len;
          continue;
        }
        case RamFlag.HOOK:
          throw new UnsupportedError('RAM_SAVE_FLAG_HOOK (RDMA migration) records are not supported', r.place(at));
        case RamFlag.FULL:
          throw new StreamFormatError('BAD_RAM', 'obsolete RAM_SAVE_FLAG_FULL record', r.place(at));
        default:
          throw new StreamFormatError('BAD_RAM', `unknown combination of RAM flags 0x${flags.toString(16)}`, r.place(at), { actual: flags });
      }
    }
  }

  /**
   * The bulk of a RAM body: runs of CONTINUE page and zero records of the current block that lie
   * wholly inside the reader's current chunk, walked in place with no call per record. Stops at
   * anything else (another kind, a named block, an offset out of range, the chunk's end), which
   * the general path then reads or reports; each record is checked exactly as there.
   */
  private skimContinued(r: StreamReader): void {
    const b = this.last;
    const c = r.chunk;
    if (b === null || c === undefined) return;
    const pageSize = this.summary.pageSize;
    const mask = this.mask;
    const limit = b.length;
    const end = c.length;
    const start = r.chunkPos;
    let p = start;
    let pages = 0;
    let zeros = 0;
    while (end - p >= 9) {
      const lo = c.readUInt32BE(p + 4);
      const flags = lo & mask;
      const value = c.readUInt32BE(p) * 0x1_0000_0000 + (lo - flags);
      if (value >= limit) break;
      if (flags === PAGE_CONT) {
        if (end - p < 8 + pageSize) break;
        p += 8 + pageSize;
        pages++;
      } else if (flags === ZERO_CONT) {
        p += 9;
        zeros++;
      } else break;
    }
    if (p === start) return;
    r.consumeInChunk(p - start);
    b.records.page += pages;
    b.records.zero += zeros;
    addCounts(this.summary, pages, zeros, pages * pageSize);
  }

  /** The record's block when that needs no reading or error (CONTINUE, offset inside); else null. */
  private continued(flags: number, offset: number): RamBlock | null {
    const b = this.last;
    return flags & RamFlag.CONTINUE && b !== null && offset < b.length ? b : null;
  }

  /** Resolves the record's block: named unless CONTINUE, and the offset must lie inside it. */
  private async block(r: StreamReader, flags: number, offset: number, at: number): Promise<RamBlock> {
    let b: RamBlock | null | undefined;
    if (flags & RamFlag.CONTINUE) {
      b = this.last;
      if (!b) throw new StreamFormatError('BAD_RAM', 'RAM page record with CONTINUE but no previous block', r.place(at));
    } else {
      const name = await r.str8();
      b = this.blocks.get(name);
      if (!b) throw new StreamFormatError('BAD_RAM', `RAM page record for unknown block '${name}'`, r.place(at), { actual: name });
      this.last = b;
    }
    if (offset >= b.length) {
      throw new StreamFormatError('BAD_RAM', `RAM page offset 0x${offset.toString(16)} beyond block '${b.name}' (length 0x${b.length.toString(16)})`, r.place(at));
    }
    return b;
  }

  /** The MEM_SIZE block list: names and lengths until they sum to the total. */
  private async blockList(r: StreamReader, total: number, at: number): Promise<void> {
    this.summary.totalBytes = total;
    let sum = 0;
    while (sum < total) {
      const recAt = r.offset;
      const name = await r.str8();
      if (name.length === 0) throw new StreamFormatError('BAD_RAM', 'empty RAM block name', r.place(recAt));
      await r.need(8);
      const length = Number(r.be64());
      if (this.opts.postcopy) {
        // The per-block page size is written only for hugepage blocks and is not
        // self-describing: refuse rather than guess.
        throw new UnsupportedError('postcopy block lists (optional page-size field) are not supported', r.place(recAt));
      }
      if (this.opts.ignoreShared) {
        await r.need(8);
        r.be64();
      }
      if (this.blocks.has(name)) throw new StreamFormatError('BAD_RAM', `RAM block '${name}' listed twice`, r.place(recAt));
      const b: RamBlock = { name, length, records: emptyCounts() };
      this.blocks.set(name, b);
      this.summary.blocks.push(b);
      sum += length;
      if (this.opts.mappedRam) await this.mappedBlock(r, b);
    }
    if (sum !== total) {
      throw new StreamFormatError('BAD_RAM', `RAM block lengths sum to ${sum}, header says ${total}`, r.place(at), { expected: total, actual: sum });
    }
  }

  /**
   * A mapped-ram block's header, then (when asked) its bitmap, then on to where the stream goes
   * on after its page area: the area itself is skipped (unread on a file, read through on a pipe).
   */
  private async mappedBlock(r: StreamReader, b: RamBlock): Promise<void> {
    const at = r.offset;
    await r.need(MAPPED_RAM_HEADER_SIZE);
    const s = this.summary;
    const plan = planMappedRamBlock(r.take(MAPPED_RAM_HEADER_SIZE), at, b.name, b.length, s.pageSize, this.opts.fileOffset, this.opts.ignoreShared, r.section);
    b.mappedRam = plan.block;
    if (plan.block.shared) return;
    if (this.opts.mappedRamBitmaps) {
      await r.skip(plan.bitmapAt - r.offset);
      const n = plan.block.bitmapBytes;
      await r.need(n);
      const present = pagesPresent(r.peek(n), b.length / s.pageSize);
      await r.pass(n);
      plan.block.pagesPresent = present;
      s.payloadBytes += present * s.pageSize;
    }
    await r.skip(plan.nextAt - r.offset);
  }
}
