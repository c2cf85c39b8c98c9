/**
 * Seeded, reproducible mutations of migration streams, aimed at the structure
 * of the format rather than at random bytes: every mutation kind knows where
 * the header, the configuration, the RAM records, the section headers and
 * footers, the cpu cpreg arrays and the vmdesc lie in the stream it mutates.
 *
 * - {@link rng}: mulberry32, a 32-bit PRNG; the same seed gives the same cases
 *   on every machine.
 * - {@link shrinkStream}: a real stream with its RAM reduced to a few page
 *   records per RAM item (CONTINUE bits recomputed), so that a whole-stream
 *   decode costs well under a millisecond; everything from the first device
 *   section on is kept byte for byte.
 * - {@link layoutOf}: where everything is, from an independent RAM walk plus the
 *   decoder's report of the (valid) base stream.
 * - {@link mutate}: one mutated copy of the base, of a chosen or random kind.
 */
import type { DecodedStream } from '../../src/stream/decode.js';

// ---------------------------------------------------------------------------
// PRNG

/** A small seeded PRNG. */
export interface Rng {
  /** Uniform 32-bit unsigned integer. */
  u32(): number;
  /** Uniform in [0, 1). */
  float(): number;
  /** Uniform integer in [0, n). */
  int(n: number): number;
  /** Uniform integer in [lo, hi] (inclusive). */
  range(lo: number, hi: number): number;
  /** One element of a non-empty array. */
  pick<T>(items: readonly T[]): T;
  /** True with probability p. */
  chance(p: number): boolean;
}

/** mulberry32 (public domain); `seed` is taken modulo 2^32. */
export function rng(seed: number): Rng {
  let s = seed >>> 0;
  const u32 = (): number => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
  const float = (): number => u32() / 0x1_0000_0000;
  const int = (n: number): number => Math.floor(float() * n);
  return {
    u32,
    float,
    int,
    range: (lo, hi) => lo + int(hi - lo + 1),
    pick: (items) => items[int(items.length)]!,
    chance: (p) => float() < p,
  };
}

/** Derives independent 32-bit seeds from one (splitmix-style), for per-case generators. */
export function caseSeed(runSeed: number, index: number): number {
  let z = (Math.imul(runSeed >>> 0, 0x9e3779b1) + Math.imul(index + 1, 0x85ebca6b)) >>> 0;
  z = Math.imul(z ^ (z >>> 16), 0x7feb352d) >>> 0;
  z = Math.imul(z ^ (z >>> 15), 0x846ca68b) >>> 0;
  return (z ^ (z >>> 16)) >>> 0;
}

// ---------------------------------------------------------------------------
// Layout

/** One RAM record of the stream (inside a START/PART/END body). */
export interface RamRecordAt {
  /** Offset of the be64 word. */
  offset: number;
  /** Flags (low bits of the word). */
  flags: number;
  /** Offset of the str8 block name (absent with CONTINUE, for EOS and MEM_SIZE). */
  nameOffset?: number;
}

/** One entry of the MEM_SIZE block list. */
export interface RamBlockAt {
  /** Offset of the str8 length byte of the block name. */
  offset: number;
  name: string;
  /** Offset of the be64 used length. */
  lengthOffset: number;
  length: bigint;
}

/** A top-level item: START/PART/END/FULL section, command, EOF. */
export interface ItemAt {
  type: number;
  offset: number;
  /** Offset of the section footer (sections only). */
  footer?: number;
  sectionId?: number;
  /** Offset of the idstr length byte (START/FULL only). */
  nameOffset?: number;
}

/** Where everything lies in a valid stream. */
export interface StreamLayout {
  size: number;
  pageSize: number;
  configuration: { offset: number; end: number; subsections: number[] } | null;
  /** First and last byte + 1 of the RAM items (START .. last END footer). */
  ram: { start: number; end: number };
  ramRecords: RamRecordAt[];
  /** Offset of the MEM_SIZE word. */
  memSize: number;
  blocks: RamBlockAt[];
  items: ItemAt[];
  /** Offset of the first FULL section (start of the device-state part). */
  deviceStart: number;
  cpus: { offset: number; countOffset: number; count: number; arraysEnd: number; bodyEnd: number; subsections: number[] }[];
  eof: number;
  vmdesc: { offset: number; length: number } | null;
}

const EOS = 0x10;
const MEM_SIZE = 0x04;
const ZERO = 0x02;
const PAGE = 0x08;
const CONTINUE = 0x20;

class Cursor {
  constructor(
    readonly d: Buffer,
    public p: number,
  ) {}
  u8(): number {
    return this.d[this.p++]!;
  }
  be32(): number {
    const v = this.d.readUInt32BE(this.p);
    this.p += 4;
    return v;
  }
  be64(): bigint {
    const v = this.d.readBigUInt64BE(this.p);
    this.p += 8;
    return v;
  }
  str8(): string {
    const n = this.u8();
    const s = this.d.toString('latin1', this.p, this.p + n);
    this.p += n;
    return s;
  }
}

/** Walks one RAM body (up to and including EOS) of a valid stream, calling `on` per record. */
function walkRamBody(c: Cursor, pageSize: number, on: (rec: RamRecordAt, end: number, block: string | null) => void, blocks: RamBlockAt[], last: { block: string | null }): void {
  const mask = BigInt(pageSize - 1);
  for (;;) {
    const offset = c.p;
    const word = c.be64();
    const flags = Number(word & mask);
    const value = word - BigInt(flags);
    const kind = flags & ~CONTINUE;
    const rec: RamRecordAt = { offset, flags };
    if (kind === EOS) {
      on(rec, c.p, null);
      return;
    }
    if (kind === MEM_SIZE) {
      let sum = 0n;
      while (sum < value) {
        const at = c.p;
        const name = c.str8();
        const lengthOffset = c.p;
        const length = c.be64();
        blocks.push({ offset: at, name, lengthOffset, length });
        sum += length;
      }
      on(rec, c.p, null);
      continue;
    }
    if (kind !== ZERO && kind !== PAGE) throw new Error(`base stream has RAM flags 0x${flags.toString(16)} at ${offset}; only ZERO/PAGE are expected`);
    if (!(flags & CONTINUE)) {
      rec.nameOffset = c.p;
      last.block = c.str8();
    }
    c.p += kind === ZERO ? 1 : pageSize;
    on(rec, c.p, last.block);
  }
}

/** Reads the configuration item at `c.p` (type byte included); returns subsection offsets. */
function walkConfiguration(c: Cursor): { pageBits: number; subsections: number[] } {
  c.p += 1;
  const n = c.be32();
  c.p += n;
  let pageBits = 10;
  const subsections: number[] = [];
  for (;;) {
    const d = c.d;
    if (d[c.p] !== 0x05) break;
    const len = d[c.p + 1]!;
    const name = d.toString('latin1', c.p + 2, c.p + 2 + len);
    if (len < 14 || !name.startsWith('configuration')) break;
    subsections.push(c.p);
    c.p += 2 + len + 4;
    if (name === 'configuration/target-page-bits') pageBits = c.be32();
    else if (name === 'configuration/uuid') c.p += 16;
    else if (name === 'configuration/capabilities') {
      const k = c.be32();
      for (let i = 0; i < k; i++) c.str8();
    } else throw new Error(`unexpected ${name}`);
  }
  return { pageBits, subsections };
}

/**
 * Where everything lies in `data`, a valid stream: RAM from an independent
 * walk, device sections, cpu arrays and the vmdesc from `decoded` (the
 * decoder's report of the same bytes).
 */
export function layoutOf(data: Buffer, decoded: DecodedStream): StreamLayout {
  const c = new Cursor(data, 8);
  let configuration: StreamLayout['configuration'] = null;
  let pageSize = 1024;
  if (data[8] === 0x07) {
    const cfg = walkConfiguration(c);
    configuration = { offset: 8, end: c.p, subsections: cfg.subsections };
    pageSize = 1 << cfg.pageBits;
  }
  const items: ItemAt[] = [];
  const ramRecords: RamRecordAt[] = [];
  const blocks: RamBlockAt[] = [];
  const last = { block: null as string | null };
  let memSize = -1;
  const ram = { start: -1, end: -1 };
  const full = new Map(decoded.sections.map((s) => [s.offset, s]));
  for (;;) {
    const at = c.p;
    const type = data[at]!;
    if (type === 0x00) {
      items.push({ type, offset: at });
      break;
    }
    if (type === 0x08) {
      c.p += 3;
      c.p += 2 + data.readUInt16BE(c.p);
      items.push({ type, offset: at });
      continue;
    }
    if (type === 0x04) {
      const s = full.get(at);
      if (!s) throw new Error(`no decoded FULL section at ${at}`);
      items.push({ type, offset: at, footer: at + s.size - 5, sectionId: s.sectionId, nameOffset: at + 5 });
      c.p = at + s.size;
      continue;
    }
    if (type < 0x01 || type > 0x03) throw new Error(`unexpected item 0x${type.toString(16)} at ${at}`);
    if (ram.start < 0) ram.start = at;
    c.p += 1;
    const sid = c.be32();
    let nameOffset: number | undefined;
    if (type === 0x01) {
      nameOffset = c.p;
      const name = c.str8();
      if (name !== 'ram') throw new Error(`unexpected iterative section ${name}`);
      c.p += 8;
    }
    walkRamBody(c, pageSize, (rec) => {
      if ((rec.flags & ~CONTINUE) === MEM_SIZE) memSize = rec.offset;
      ramRecords.push(rec);
    }, blocks, last);
    items.push({ type, offset: at, footer: c.p, sectionId: sid, nameOffset });
    c.p += 5;
    ram.end = c.p;
  }
  const firstFull = items.find((i) => i.type === 0x04);
  return {
    size: data.length,
    pageSize,
    configuration,
    ram,
    ramRecords,
    memSize,
    blocks,
    items,
    deviceStart: firstFull ? firstFull.offset : decoded.eofOffset,
    cpus: decoded.cpus.map((k) => ({
      offset: k.offset,
      countOffset: k.countOffset,
      count: k.count,
      arraysEnd: k.arraysEnd,
      bodyEnd: k.bodyEnd,
      subsections: k.subsections.map((s) => s.offset),
    })),
    eof: decoded.eofOffset,
    vmdesc: decoded.vmdesc ? { offset: decoded.vmdesc.offset, length: decoded.vmdesc.length } : null,
  };
}

// ---------------------------------------------------------------------------
// Shrinking

/**
 * Copies a valid stream keeping, in every RAM item, only the first `keepPages`
 * PAGE records and `keepZeros` ZERO records (plus the block list and EOS);
 * CONTINUE bits are recomputed with QEMU's rule (set iff the previous page
 * record named the same block), so the result is again a valid stream. Items
 * from the first device section on are copied unchanged.
 */
export function shrinkStream(data: Buffer, keepPages = 1, keepZeros = 4): Buffer {
  const c = new Cursor(data, 8);
  const out: Buffer[] = [data.subarray(0, 8)];
  let pageSize = 1024;
  if (data[8] === 0x07) {
    const cfg = walkConfiguration(c);
    pageSize = 1 << cfg.pageBits;
    out.push(data.subarray(8, c.p));
  }
  const blocks: RamBlockAt[] = [];
  const last = { block: null as string | null };
  let emittedBlock: string | null = null;
  for (;;) {
    const at = c.p;
    const type = data[at]!;
    if (type === 0x01 || type === 0x02 || type === 0x03) {
      c.p += 5;
      if (type === 0x01) {
        c.str8();
        c.p += 8;
      }
      out.push(data.subarray(at, c.p));
      let pages = 0;
      let zeros = 0;
      walkRamBody(c, pageSize, (rec, end, block) => {
        const kind = rec.flags & ~CONTINUE;
        if (kind === EOS || kind === MEM_SIZE) {
          out.push(data.subarray(rec.offset, end));
          return;
        }
        if (kind === PAGE ? pages++ >= keepPages : zeros++ >= keepZeros) return;
        const payloadAt = rec.nameOffset !== undefined ? rec.nameOffset + 1 + data[rec.nameOffset]! : rec.offset + 8;
        const word = Buffer.from(data.subarray(rec.offset, rec.offset + 8));
        const cont = block === emittedBlock;
        word.writeUInt8((word[7]! & ~CONTINUE) | (cont ? CONTINUE : 0), 7);
        out.push(word);
        if (!cont) {
          const name = Buffer.from(block!, 'latin1');
          out.push(Buffer.from([name.length]), name);
        }
        out.push(data.subarray(payloadAt, end));
        emittedBlock = block;
      }, blocks, last);
      out.push(data.subarray(c.p, c.p + 5));
      c.p += 5;
      continue;
    }
    if (type === 0x08) {
      const len = data.readUInt16BE(at + 3);
      out.push(data.subarray(at, at + 5 + len));
      c.p = at + 5 + len;
      continue;
    }
    out.push(data.subarray(at));
    break;
  }
  return Buffer.concat(out);
}

// ---------------------------------------------------------------------------
// Mutations

/** Every mutation kind, each aimed at one structure of the format. */
export const MUTATION_KINDS = [
  'truncate',
  'bitflip-device',
  'bitflip-vmdesc',
  'cpreg-count',
  'vmdesc-length',
  'vmdesc-json',
  'junk-after-header',
  'trailing-bytes',
  'unknown-item',
  'footer',
  'ram-flags',
  'ram-block',
  'huge-length',
  'section-header',
  'command',
  'cpu-body',
  'splice',
] as const;
export type MutationKind = (typeof MUTATION_KINDS)[number];

/** One mutated stream. */
export interface Mutation {
  kind: MutationKind;
  /** What was done, with offsets (for a failing case's report). */
  note: string;
  data: Buffer;
  /**
   * True when the mutated stream is certainly invalid (the decoder must
   * fail); false when it is certainly still valid; undefined when it depends.
   */
  invalid?: boolean;
}

function flipBits(b: Buffer, lo: number, hi: number, r: Rng, n: number): number[] {
  const at: number[] = [];
  for (let i = 0; i < n; i++) {
    const p = r.range(lo, hi - 1);
    b[p]! ^= 1 << r.int(8);
    at.push(p);
  }
  return at;
}

function randomBytes(r: Rng, n: number): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = r.int(256);
  return b;
}

function splice(data: Buffer, at: number, remove: number, insert: Buffer = Buffer.alloc(0)): Buffer {
  return Buffer.concat([data.subarray(0, at), insert, data.subarray(at + remove)]);
}

/** Extreme and near-miss int32 values for the cpreg count. */
export function extremeCounts(count: number): number[] {
  return [-1, -(2 ** 31), 2 ** 31 - 1, 1_000_000, count + 1, count - 1, 0, 1, 65536, 65537, -count];
}

/** The kinds of top-level byte no loader accepts at the position of an item. */
const UNKNOWN_TYPES = [0x09, 0x0a, 0x10, 0x3f, 0x7d, 0x7f, 0x80, 0xfe, 0xff, 0x05, 0x06, 0x7e];

/** Produces one mutation of `base` (of kind `kind`, or a random one). */
export function mutate(base: Buffer, L: StreamLayout, r: Rng, kind: MutationKind = r.pick(MUTATION_KINDS)): Mutation {
  const d = Buffer.from(base);
  const size = base.length;
  const vm = L.vmdesc;
  const sections = L.items.filter((i) => i.footer !== undefined);
  const full = L.items.filter((i) => i.type === 0x04);
  const cpu = L.cpus.length ? r.pick(L.cpus) : null;
  switch (kind) {
    case 'truncate': {
      const regions: [string, number, number][] = [
        ['header', 0, 8],
        ['anywhere', 0, size],
        ['device state', L.deviceStart, L.eof + 1],
        ['ram', L.ram.start, L.ram.end],
      ];
      if (L.configuration) regions.push(['configuration', L.configuration.offset, L.configuration.end]);
      if (cpu) regions.push(['cpu arrays', cpu.countOffset, cpu.arraysEnd], ['cpu subsections', cpu.arraysEnd, cpu.bodyEnd + 5]);
      if (vm) regions.push(['vmdesc', vm.offset, size]);
      const [what, lo, hi] = r.pick(regions);
      const cut = r.range(lo, hi - 1);
      return { kind, note: `cut at ${cut} (${what})`, data: base.subarray(0, cut), invalid: cut !== L.eof + 1 };
    }
    case 'bitflip-device': {
      const at = flipBits(d, L.deviceStart, L.eof + 1, r, r.range(1, 8));
      return { kind, note: `bits flipped at ${at.join(',')}`, data: d };
    }
    case 'bitflip-vmdesc': {
      if (!vm) return mutate(base, L, r, 'bitflip-device');
      const at = flipBits(d, vm.offset + 5, size, r, r.range(1, 8));
      return { kind, note: `bits flipped in the vmdesc JSON at ${at.join(',')}`, data: d };
    }
    case 'cpreg-count': {
      if (!cpu) return mutate(base, L, r, 'truncate');
      const v = r.chance(0.8) ? r.pick(extremeCounts(cpu.count)) : r.u32() | 0;
      d.writeInt32BE(v, cpu.countOffset);
      return { kind, note: `cpreg count ${v} at ${cpu.countOffset}`, data: d, invalid: v < 0 || v > 65536 ? true : undefined };
    }
    case 'vmdesc-length': {
      if (!vm) return mutate(base, L, r, 'trailing-bytes');
      const n = vm.length;
      const v = r.pick([0, 0xffffffff, n + 1, n - 1, n + 2, n - 3, n + 4, n - 4, 0x80000000, r.u32()]) >>> 0;
      d.writeUInt32BE(v, vm.offset + 1);
      return { kind, note: `vmdesc length ${v} (was ${n}) at ${vm.offset + 1}`, data: d, invalid: v !== n };
    }
    case 'vmdesc-json': {
      if (!vm) return mutate(base, L, r, 'trailing-bytes');
      const json = base.subarray(vm.offset + 5).toString('latin1');
      let text: string;
      let note: string;
      const i = r.int(json.length);
      switch (r.int(8)) {
        case 0: {
          const n = r.range(1, 64);
          text = json.slice(0, i) + json.slice(i + n);
          note = `${n} JSON chars deleted at ${i}`;
          break;
        }
        case 1: {
          const structural = [...json.matchAll(/[{}[\]:,"]/g)].map((m) => m.index!);
          const p = r.pick(structural);
          text = json.slice(0, p) + r.pick(['{', '}', '[', ']', ':', ',', '"', ' ', 'x', '0']) + json.slice(p + 1);
          note = `structural char at ${p} replaced`;
          break;
        }
        case 2: {
          text = json.slice(0, i) + r.pick(['{', '}}', ']', '"', '\\', 'null', '1e999', '-', '\u0000', '\u00ff', '{"a":']) + json.slice(i);
          note = `junk inserted at ${i}`;
          break;
        }
        case 3: {
          text = json.slice(0, i);
          note = `JSON cut to ${i} chars (length fixed)`;
          break;
        }
        case 4: {
          const nums = [...json.matchAll(/\d+/g)];
          const m = r.pick(nums);
          const v = r.pick(['0', '1', '999999999999', '4294967295', '9007199254740993', '-1', '1.5', '2147483648', String(Number(m[0]) + 1)]);
          text = json.slice(0, m.index) + v + json.slice(m.index! + m[0].length);
          note = `number '${m[0]}' at ${m.index} set to ${v}`;
          break;
        }
        case 5: {
          const strs = [...json.matchAll(/"([a-z_]+)": /g)];
          const m = r.pick(strs);
          const v = r.pick(['"x": ', '"name": ', '"fields": ', '"array_len": ', '"size": ', '"subsections": ', '"struct": ']);
          text = json.slice(0, m.index) + v + json.slice(m.index! + m[0].length);
          note = `key '${m[1]}' at ${m.index} renamed`;
          break;
        }
        case 6: {
          // A field described as many elements of no bytes: a walk that consumes no input.
          const recs = [...json.matchAll(/\{"name": "([^"]+)", (?:"array_len": \d+, )?"type": "[^"]+", "size": \d+\}/g)];
          const m = r.pick(recs);
          const n = r.pick([2 ** 53 - 1, 1e9, 70_000, 65_537, 3]);
          const rec = r.chance(0.5)
            ? `{"name": "${m[1]}", "array_len": ${n}, "type": "buffer", "size": 0}`
            : `{"name": "${m[1]}", "array_len": ${n}, "type": "struct", "struct": {"vmsd_name": "empty", "version": 1, "fields": []}, "size": 0}`;
          text = json.slice(0, m.index) + rec + json.slice(m.index! + m[0].length);
          note = `field '${m[1]}' at ${m.index} described as ${n} elements of 0 bytes`;
          break;
        }
        default: {
          const vals = [...json.matchAll(/"type": "([^"]+)"/g)];
          const m = r.pick(vals);
          const v = r.pick(['struct', 'uint64', 'buffer', 'capability', 'nullptr', 'bool', 'int32 le', 'x']);
          text = json.slice(0, m.index) + `"type": "${v}"` + json.slice(m.index! + m[0].length);
          note = `type '${m[1]}' at ${m.index} set to '${v}'`;
        }
      }
      const body = Buffer.from(text, 'latin1');
      const head = Buffer.from(base.subarray(vm.offset, vm.offset + 5));
      if (r.chance(0.85)) head.writeUInt32BE(body.length, 1);
      else note += ', length left stale';
      return { kind, note, data: Buffer.concat([base.subarray(0, vm.offset), head, body]) };
    }
    case 'junk-after-header': {
      const junk = randomBytes(r, r.range(1, 64));
      if (r.chance(0.3)) junk[0] = r.pick(UNKNOWN_TYPES);
      return { kind, note: `${junk.length} junk bytes inserted at 8`, data: splice(base, 8, 0, junk) };
    }
    case 'trailing-bytes': {
      const junk = r.chance(0.3) ? Buffer.alloc(r.range(1, 8)) : randomBytes(r, r.range(1, 64));
      return { kind, note: `${junk.length} bytes appended`, data: Buffer.concat([base, junk]), invalid: true };
    }
    case 'unknown-item': {
      const at = r.pick([...L.items.map((i) => i.offset), ...(L.configuration ? [8] : []), ...(vm ? [vm.offset] : [])]);
      const t = r.pick(UNKNOWN_TYPES);
      if (r.chance(0.5)) {
        d[at] = t;
        return { kind, note: `item type at ${at} set to 0x${t.toString(16)}`, data: d };
      }
      return { kind, note: `byte 0x${t.toString(16)} inserted before the item at ${at}`, data: splice(base, at, 0, Buffer.from([t])), invalid: true };
    }
    case 'footer': {
      const s = r.pick(sections);
      const f = s.footer!;
      switch (r.int(4)) {
        case 0:
          d[f] = r.pick([0x00, 0x7f, 0x05, 0xfe, 0x04]);
          return { kind, note: `footer marker at ${f} changed`, data: d, invalid: true };
        case 1: {
          const v = r.pick([s.sectionId! + 1, s.sectionId! - 1, 0xffffffff, 0, r.u32()]) >>> 0;
          if (v === s.sectionId) return mutate(base, L, r, 'footer');
          d.writeUInt32BE(v, f + 1);
          return { kind, note: `footer id at ${f + 1} set to ${v} (section ${s.sectionId})`, data: d, invalid: true };
        }
        case 2:
          return { kind, note: `footer at ${f} removed`, data: splice(base, f, 5), invalid: true };
        default:
          return { kind, note: `footer at ${f} doubled`, data: splice(base, f, 0, base.subarray(f, f + 5)), invalid: true };
      }
    }
    case 'ram-flags': {
      const rec = r.pick(L.ramRecords);
      const low = d.readUInt16BE(rec.offset + 6);
      const flags = r.chance(0.5)
        ? r.pick([0x001, 0x040, 0x080, 0x100, 0x200, 0x003, 0x00a, 0x022 | 0x008, 0x030, 0x020, 0x000, 0x400, 0x3ff, 0xfff, 0x014, 0x044, 0x060, 0x120, 0x1ff])
        : r.int(0x1000);
      d.writeUInt16BE((low & ~0xfff) | flags, rec.offset + 6);
      return { kind, note: `RAM record at ${rec.offset}: flags 0x${rec.flags.toString(16)} -> 0x${flags.toString(16)}`, data: d };
    }
    case 'ram-block': {
      const choice = r.int(6);
      if (choice === 0 && L.blocks.length) {
        const b = r.pick(L.blocks);
        const v = r.pick([0n, 0xffffffffffffffffn, 1n << 63n, b.length + BigInt(L.pageSize), b.length - BigInt(L.pageSize), b.length + 1n, BigInt(r.u32()) << 12n]);
        d.writeBigUInt64BE(BigInt.asUintN(64, v), b.lengthOffset);
        return { kind, note: `block '${b.name}' length at ${b.lengthOffset} set to ${v}`, data: d };
      }
      if (choice === 1 && L.blocks.length) {
        const b = r.pick(L.blocks);
        const v = r.pick([0, 255, b.name.length + 1, b.name.length - 1, r.int(256)]);
        d[b.offset] = v;
        return { kind, note: `block '${b.name}' name length at ${b.offset} set to ${v}`, data: d };
      }
      if (choice === 2 && L.blocks.length) {
        const b = r.pick(L.blocks);
        const p = b.offset + 1 + r.int(b.name.length);
        d[p] = r.int(256);
        return { kind, note: `block '${b.name}' name byte at ${p} changed`, data: d };
      }
      if (choice === 3 && L.memSize >= 0) {
        const total = d.readBigUInt64BE(L.memSize) & ~0xfffn;
        const v = r.pick([0n, total + 4096n, total - 4096n, 0xfffffffffffff000n, total * 2n]);
        d.writeBigUInt64BE(BigInt.asUintN(64, v | 0x4n), L.memSize);
        return { kind, note: `MEM_SIZE total at ${L.memSize} set to ${v}`, data: d };
      }
      const named = L.ramRecords.filter((x) => x.nameOffset !== undefined);
      const rec = r.pick(named.length ? named : L.ramRecords);
      if (choice === 4 && rec.nameOffset !== undefined) {
        const p = r.chance(0.5) ? rec.nameOffset : rec.nameOffset + 1 + r.int(Math.max(1, d[rec.nameOffset]!));
        d[p] = r.pick([0, 255, r.int(256)]);
        return { kind, note: `page record name byte at ${p} changed`, data: d };
      }
      // Page offset beyond any block.
      const v = r.pick([0xfffffffffffff000n, 1n << 40n, 0x4000000n, BigInt(r.u32()) << 12n]);
      const word = d.readBigUInt64BE(rec.offset);
      d.writeBigUInt64BE(v | (word & 0xfffn), rec.offset);
      return { kind, note: `RAM record at ${rec.offset}: page offset set to 0x${v.toString(16)}`, data: d };
    }
    case 'huge-length': {
      const choice = r.int(6);
      if (choice === 0 && L.configuration) {
        const v = r.pick([0xffffffff, 0x80000000, 257, 256, 0, 9, 7, r.u32()]);
        d.writeUInt32BE(v >>> 0, 9);
        return { kind, note: `machine type length at 9 set to ${v}`, data: d };
      }
      if (choice === 1) {
        const s = r.pick(L.items.filter((i) => i.nameOffset !== undefined));
        const v = r.pick([0, 255, 254, d[s.nameOffset!]! + 1, d[s.nameOffset!]! - 1]);
        d[s.nameOffset!] = v;
        return { kind, note: `section name length at ${s.nameOffset} set to ${v}`, data: d };
      }
      if (choice === 2 && cpu && cpu.subsections.length) {
        const p = r.pick(cpu.subsections) + 1;
        const v = r.pick([255, 0, 4, d[p]! + 1, d[p]! - 1]);
        d[p] = v;
        return { kind, note: `cpu subsection name length at ${p} set to ${v}`, data: d };
      }
      if (choice === 3 && L.configuration?.subsections.length) {
        const p = r.pick(L.configuration.subsections) + 1;
        const v = r.pick([255, 0, 13, 14, d[p]! + 1]);
        d[p] = v;
        return { kind, note: `configuration subsection name length at ${p} set to ${v}`, data: d };
      }
      if (choice === 4) {
        // A capabilities subsection with a huge count, or a str8 running off the end.
        const at = L.configuration ? L.configuration.end : 8;
        const name = Buffer.from('configuration/capabilities', 'latin1');
        const n = r.pick([0xffffffff, 0x7fffffff, 65, 2]);
        const sub = Buffer.concat([Buffer.from([0x05, name.length]), name, u32be(1), u32be(n), Buffer.from([r.pick([255, 14, 0])]), Buffer.from('x-ignore-shared')]);
        return { kind, note: `capabilities subsection with count ${n} inserted at ${at}`, data: splice(base, at, 0, sub) };
      }
      // A command with the largest payload length.
      const at = r.pick(full).offset;
      const cmd = Buffer.from([0x08, 0x00, r.pick([2, 3, 6, 10]), 0xff, 0xff]);
      // Certainly invalid when the payload runs past the end (PING's fixed length is 4 anyway).
      return { kind, note: `command ${cmd[2]} with payload length 65535 inserted at ${at}`, data: splice(base, at, 0, cmd), invalid: size - at < 65535 || cmd[2] === 2 ? true : undefined };
    }
    case 'section-header': {
      const s = r.pick(full);
      const nameLen = d[s.offset + 5]!;
      const choice = r.int(5);
      if (choice === 0) {
        const v = r.pick([0, 0xffffffff, s.sectionId! + 1, r.u32()]);
        d.writeUInt32BE(v >>> 0, s.offset + 1);
        return { kind, note: `section id at ${s.offset + 1} set to ${v}`, data: d, invalid: v >>> 0 !== s.sectionId ? true : undefined };
      }
      if (choice === 1) {
        const p = s.offset + 6 + nameLen;
        d.writeUInt32BE(r.pick([0xffffffff, 1, 2, 7, r.u32()]) >>> 0, p);
        return { kind, note: `instance id at ${p} changed`, data: d };
      }
      if (choice === 2) {
        const p = s.offset + 10 + nameLen;
        d.writeUInt32BE(r.pick([0, 21, 23, 0xffffffff, r.u32()]) >>> 0, p);
        return { kind, note: `section version at ${p} changed`, data: d };
      }
      if (choice === 3) {
        const p = s.offset + 6 + r.int(nameLen);
        d[p] = r.pick([0x00, 0x2f, 0x7e, 0x63, r.int(256)]);
        return { kind, note: `section name byte at ${p} changed`, data: d };
      }
      const t = r.pick([0x01, 0x02, 0x03]);
      d[s.offset] = t;
      return { kind, note: `FULL section at ${s.offset} turned into type ${t}`, data: d };
    }
    case 'command': {
      const at = r.pick(L.items).offset;
      const cmd = r.pick([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 0xffff]);
      const len = r.chance(0.5) ? r.pick([0, 4, 16, 1, 3]) : r.int(300);
      const payload = randomBytes(r, Math.min(len, 64));
      const item = Buffer.concat([Buffer.from([0x08]), u16be(cmd), u16be(len), payload]);
      return { kind, note: `command ${cmd} (length ${len}, ${payload.length} payload bytes) inserted at ${at}`, data: splice(base, at, 0, item) };
    }
    case 'cpu-body': {
      if (!cpu) return mutate(base, L, r, 'bitflip-device');
      const choice = r.int(4);
      if (choice === 0 && cpu.subsections.length) {
        const p = r.pick(cpu.subsections);
        const q = p + r.int(2 + d[p + 1]! + 4);
        d[q] = r.pick([0x00, 0x05, 0xff, r.int(256)]);
        return { kind, note: `cpu subsection header byte at ${q} changed`, data: d };
      }
      if (choice === 1) {
        const p = r.range(cpu.countOffset + 4, cpu.arraysEnd - 1);
        d[p] = r.int(256);
        return { kind, note: `cpu array byte at ${p} changed`, data: d, invalid: false };
      }
      if (choice === 2) {
        // Arrays shortened or lengthened by whole registers, count unchanged.
        const n = r.range(1, 3) * 8;
        const p = r.range(cpu.countOffset + 4, cpu.arraysEnd);
        return r.chance(0.5)
          ? { kind, note: `${n} bytes removed from the cpu arrays at ${p}`, data: splice(base, p, n) }
          : { kind, note: `${n} bytes inserted into the cpu arrays at ${p}`, data: splice(base, p, 0, randomBytes(r, n)) };
      }
      const p = r.range(cpu.arraysEnd, cpu.bodyEnd + 4);
      d[p] = r.int(256);
      return { kind, note: `cpu tail byte at ${p} changed`, data: d };
    }
    case 'splice': {
      const lo = r.int(size);
      const n = r.range(1, Math.min(4096, size - lo));
      if (r.chance(0.5)) return { kind, note: `${n} bytes removed at ${lo}`, data: splice(base, lo, n) };
      const at = r.int(size + 1);
      return { kind, note: `${n} bytes from ${lo} copied to ${at}`, data: splice(base, at, 0, base.subarray(lo, lo + n)) };
    }
  }
}

function u32be(v: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(v >>> 0);
  return b;
}

function u16be(v: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(v & 0xffff);
  return b;
}
