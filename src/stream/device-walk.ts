/**
 * Walks a section body laid out by its vmdesc entry (spec §3.1–§3.3, §3.5):
 * fields in record order (compressed arrays via `array_len`, per-element
 * records otherwise), nested structs with their own subsections, then the
 * listed subsections (`0x05`, str8 name, be32 version, body).
 *
 * The result is the body's end offset and its state rendered the way
 * `scripts/analyze-migration.py -d state` renders it (see `dump-format.ts`).
 * Running out of buffer is an answer ({@link Need}), not an error, so a
 * streaming caller can read more and walk again.
 */
import { StreamFormatError, TruncatedError, type ErrorPlace } from '../errors.js';
import { Need } from '../wire/lookahead.js';
import type { VmdescBody, VmdescDevice, VmdescField } from './vmdesc.js';

/**
 * A value as the analyser's state dump shows it: integers as hex strings,
 * bools as booleans, raw data as space-separated hex bytes, structs and
 * sections as ordered objects, repeated records as arrays.
 */
export type DumpValue = string | boolean | DumpValue[] | DumpObject;
/** An ordered object of the dump (a `Map`, so any key keeps its place). */
export type DumpObject = Map<string, DumpValue>;

/**
 * One step from a vmdesc body to what it describes: element `element` of field record `field`
 * (an index into `fields`; the element counts within that record, 0 for a per-element record),
 * or subsection `sub` (an index into `subsections`).
 */
export type VmdescStep = { field: number; element: number } | { sub: number };

/** A subsection met by a walk, wherever it is nested (in a struct element or a subsection). */
export interface SubsectionSpan {
  /** Its VMSD name, e.g. `arm_gicv3_cpu/nmi`. */
  name: string;
  version: number;
  /** Index in `buf` of its 0x05 marker. */
  offset: number;
  /** Bytes from the marker to the end of its body (nested subsections included). */
  size: number;
  /** From the device's vmdesc entry to this subsection's entry (the last step is a `sub`). */
  path: VmdescStep[];
  /** Where it sits, as the analyser names it: `cpu[1]` for an element of struct array `cpu`; `` at the top. */
  within: string;
  /** Its description. */
  body: VmdescBody;
}

/** Result of walking one body. */
export interface WalkResult {
  /** Index in `buf` of the first byte after the body (the footer, for a section). */
  end: number;
  state: DumpObject;
  /** Every subsection met, in stream order (with {@link WalkOptions.subsections}). */
  subsections?: SubsectionSpan[];
}

const SUBSECTION = 0x05;
/** Byte QEMU writes for a NULL entry of an array of pointers. */
const NULLPTR_MARKER = 0x30;

/** How the analyser reads and renders a field type. */
const enum Kind {
  Signed,
  Unsigned,
  Bool,
  Capability,
  Nullptr,
  Struct,
  Raw,
}

/** The analyser's reader table; everything else (timer, buffer, cpsr, vstruct, …) is raw bytes. */
const KINDS: ReadonlyMap<string, Kind> = new Map([
  ['bool', Kind.Bool],
  ['int8', Kind.Signed],
  ['int16', Kind.Signed],
  ['int32', Kind.Signed],
  ['int64', Kind.Signed],
  ['int32 equal', Kind.Signed],
  ['int32 le', Kind.Signed],
  ['int64 equal', Kind.Signed],
  ['uint8 equal', Kind.Signed], // sic: the analyser reads these two as signed
  ['uint16 equal', Kind.Signed],
  ['uint8', Kind.Unsigned],
  ['uint16', Kind.Unsigned],
  ['uint32', Kind.Unsigned],
  ['uint64', Kind.Unsigned],
  ['uint32 equal', Kind.Unsigned],
  ['capability', Kind.Capability],
  ['nullptr', Kind.Nullptr],
  ['struct', Kind.Struct],
]);

/** Codecs whose wire size is fixed; a vmdesc `size` disagreeing with it means a bad vmdesc. */
const FIXED_SIZE: ReadonlyMap<string, number> = new Map([
  ['bool', 1], ['int8', 1], ['uint8', 1], ['uint8 equal', 1],
  ['int16', 2], ['uint16', 2], ['uint16 equal', 2],
  ['int32', 4], ['uint32', 4], ['int32 equal', 4], ['uint32 equal', 4], ['int32 le', 4],
  ['int64', 8], ['uint64', 8], ['int64 equal', 8],
  ['timer', 8], ['CPU_Double_U', 8], ['float64', 8], ['nullptr', 1], ['ptr-marker', 1],
]);

const HEX2: readonly string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/** Options of the walkers. */
export interface WalkOptions {
  /** Deepest struct/subsection nesting accepted (default 64). */
  maxDepth?: number;
  /**
   * Only find where the body ends (every check made, no value rendered): the state returned is
   * empty. A decode that keeps no state walks its device sections so.
   */
  measureOnly?: boolean;
  /** Also list where every subsection is ({@link WalkResult.subsections}). */
  subsections?: boolean;
}

/** A walk that ran out of buffer. */
const SHORT: unique symbol = Symbol('short');
type Short = typeof SHORT;

class Walker {
  pos: number;
  /** Set when the buffer ended too early: what the walk needs. */
  short: Need | null = null;
  /** Where the walk is in the vmdesc, and in analyser names (with span collection). */
  private readonly path: VmdescStep[] = [];
  private readonly names: string[] = [];
  constructor(
    readonly buf: Buffer,
    start: number,
    readonly base: number,
    readonly section: string,
    readonly maxDepth: number,
    /** Render values (else only walk over them). */
    readonly values = true,
    readonly spans: SubsectionSpan[] | null = null,
  ) {
    this.pos = start;
  }

  place(at = this.pos): ErrorPlace {
    return { offset: this.base + at, section: this.section };
  }

  /** True when `n` more bytes are in the buffer; else notes the need (callers then return {@link SHORT}). */
  has(n: number): boolean {
    if (this.pos + n <= this.buf.length) return true;
    this.short = new Need(this.pos + n, this.pos);
    return false;
  }

  body(b: VmdescBody | VmdescDevice, depth: number): DumpObject | Short {
    if (depth > this.maxDepth) throw new StreamFormatError('BAD_VMDESC', `vmdesc nests deeper than ${this.maxDepth}`, this.place());
    const out: DumpObject = new Map();
    const spans = this.spans;
    for (let k = 0; k < b.fields.length; k++) {
      const f = b.fields[k]!;
      const n = f.array_len ?? 1;
      for (let i = 0; i < n; i++) {
        // Struct elements are where nested subsections live: note the way in.
        const track = spans !== null && f.type === 'struct';
        if (track) {
          this.path.push({ field: k, element: i });
          // Records sharing a name number their elements on (the analyser's list index).
          let seen = i;
          for (let q = 0; q < k; q++) if (b.fields[q]!.name === f.name) seen += b.fields[q]!.array_len ?? 1;
          this.names.push(`${f.name}[${seen}]`);
        }
        const v = this.element(f, depth);
        if (track) {
          this.path.pop();
          this.names.pop();
        }
        if (v === SHORT) return SHORT;
        if (this.values) merge(out, f.name, v);
      }
    }
    for (let j = 0; j < (b.subsections ?? []).length; j++) {
      const sub = b.subsections![j]!;
      const at = this.pos;
      if (!this.has(1)) return SHORT;
      if (this.buf[at] !== SUBSECTION) {
        throw new StreamFormatError('BAD_SECTION', `expected subsection '${sub.vmsd_name}' (0x05), found byte 0x${HEX2[this.buf[at]!]}`, this.place(at), { expected: sub.vmsd_name, actual: this.buf[at] });
      }
      if (!this.has(2)) return SHORT;
      const len = this.buf[at + 1]!;
      this.pos += 2;
      if (!this.has(len + 4)) return SHORT;
      const name = this.buf.toString('latin1', this.pos, this.pos + len);
      this.pos += len;
      const version = this.buf.readUInt32BE(this.pos);
      this.pos += 4;
      if (name !== sub.vmsd_name) {
        throw new StreamFormatError('BAD_SECTION', `subsection '${name}' where the vmdesc lists '${sub.vmsd_name}'`, this.place(at), { expected: sub.vmsd_name, actual: name });
      }
      if (version !== sub.version) {
        throw new StreamFormatError('BAD_SECTION', `subsection '${name}' has version ${version}, the vmdesc says ${sub.version}`, this.place(at), { expected: sub.version, actual: version });
      }
      // Like the analyser: keyed by the name read from the stream.
      if (spans) this.path.push({ sub: j });
      // Listed before the ones it holds; its size is known once its body is walked.
      const span: SubsectionSpan | null = spans ? { name, version, offset: at, size: 0, path: [...this.path], within: this.names.join('.'), body: sub } : null;
      if (span) spans!.push(span);
      const v = this.body(sub, depth + 1);
      if (spans) this.path.pop();
      if (v === SHORT) return SHORT;
      if (span) span.size = this.pos - at;
      if (this.values) out.set(name, v);
    }
    return out;
  }

  element(f: VmdescField, depth: number): DumpValue | Short {
    const kind = KINDS.get(f.type) ?? Kind.Raw;
    if (kind === Kind.Struct) {
      if (!f.struct) throw new StreamFormatError('BAD_VMDESC', `struct field '${f.name}' has no "struct" description`, this.place());
      return this.body(f.struct, depth + 1);
    }
    if (kind === Kind.Capability) {
      // str8; the vmdesc size is the first element's only.
      if (!this.has(1)) return SHORT;
      const len = this.buf[this.pos]!;
      this.pos++;
      if (!this.has(len)) return SHORT;
      const s = this.buf.toString('utf8', this.pos, this.pos + len);
      this.pos += len;
      return s;
    }
    const size = f.size;
    const fixed = FIXED_SIZE.get(f.type);
    if (fixed !== undefined && fixed !== size) {
      throw new StreamFormatError('BAD_VMDESC', `field '${f.name}' of type '${f.type}' has size ${size}, the codec writes ${fixed}`, this.place(), { expected: fixed, actual: size });
    }
    const at = this.pos;
    if (!this.has(size)) return SHORT;
    this.pos += size;
    const buf = this.buf;
    if (!this.values && kind !== Kind.Nullptr) return '';
    switch (kind) {
      case Kind.Bool:
        return buf[at] !== 0;
      case Kind.Nullptr:
        if (buf[at] !== NULLPTR_MARKER) {
          throw new StreamFormatError('BAD_SECTION', `field '${f.name}': NULL pointer marker 0x30 expected, found 0x${HEX2[buf[at]!]}`, this.place(at), { actual: buf[at] });
        }
        return 'nullptr';
      case Kind.Signed:
      case Kind.Unsigned: {
        let hex = '0x';
        for (let i = at; i < at + size; i++) hex += HEX2[buf[i]!];
        if (kind === Kind.Signed && size > 0 && buf[at]! & 0x80) {
          const neg = BigInt(hex) - (1n << BigInt(8 * size));
          return `${hex} (${neg})`;
        }
        return hex;
      }
      default:
        return hexBytes(buf, at, size);
    }
  }
}

/** `"00 1f …"`: the analyser's rendering of raw data. */
function hexBytes(buf: Buffer, at: number, size: number): string {
  if (size === 0) return '';
  const parts = new Array<string>(size);
  for (let i = 0; i < size; i++) parts[i] = HEX2[buf[at + i]!]!;
  return parts.join(' ');
}

/** Records sharing a name (array elements, split arrays) collect into a list, as in the analyser. */
function merge(out: DumpObject, name: string, v: DumpValue): void {
  const cur = out.get(name);
  if (cur === undefined) out.set(name, v);
  else if (Array.isArray(cur)) cur.push(v);
  else out.set(name, [cur, v]);
}

/**
 * Walks one FULL section body described by `dev`, starting at `buf[start]`;
 * `buf[0]` is at absolute offset `base`, `section` names the section in errors
 * (e.g. `cpu (instance 1)`). Returns where the body ends (before the footer)
 * and the state as the analyser renders it, or a {@link Need} when the body runs
 * past `buf.length` (a streaming caller then reads more and walks again).
 *
 * Throws `StreamFormatError` when the bytes contradict the vmdesc (missing or
 * different subsection, bad NULL marker) or the vmdesc is inconsistent (a
 * fixed-size codec with another size, a struct without description).
 */
export function walkDeviceAhead(dev: VmdescBody | VmdescDevice, buf: Buffer, start: number, base: number, section: string, options: WalkOptions = {}): WalkResult | Need {
  const w = new Walker(buf, start, base, section, options.maxDepth ?? 64, !options.measureOnly, options.subsections ? [] : null);
  const state = w.body(dev, 0);
  if (state === SHORT) return w.short!;
  return w.spans ? { end: w.pos, state, subsections: w.spans } : { end: w.pos, state };
}

/**
 * {@link walkDeviceAhead} on a buffer that holds all there is: a body that runs past its end
 * is a {@link TruncatedError} at the place it ran short.
 */
export function walkDevice(dev: VmdescBody | VmdescDevice, buf: Buffer, start: number, base: number, section: string, options: WalkOptions = {}): WalkResult {
  const r = walkDeviceAhead(dev, buf, start, base, section, options);
  if (r instanceof Need) throw new TruncatedError(r.need - buf.length, { offset: base + r.at, section });
  return r;
}
