/**
 * The vmdesc: the JSON description QEMU writes after EOF (spec §3.5) —
 * `0x06`, be32 length N, N bytes of JSON. It lays out every FULL section, so a
 * reader can walk device state it has no built-in layout for.
 *
 * Parsing keeps the JSON's key order and numbers exactly, so that
 * {@link encodeVmdesc} of an unedited {@link parseVmdesc} result reproduces
 * the original bytes; edits ({@link patchCpuArrays}, {@link dropSubsection})
 * produce what QEMU itself would have written for the edited state.
 */
import { isAscii } from 'node:buffer';
import { LimitError, StreamFormatError, type ErrorPlace } from '../errors.js';
import { JSON_PAIRS, JsonSyntaxError, parseJsonPreservingOrder, qemuJson, RawJsonNumber, type JsonObject } from './json-writer.js';
import type { ByteSource } from '../wire/source.js';
import type { VmdescRecord } from './records.js';

/** Type byte of the vmdesc item. */
export const VMDESC_TYPE = 0x06;
/** Default of the `maxVmdesc` limit: the largest vmdesc JSON accepted, in bytes. */
export const DEFAULT_MAX_VMDESC = 64 << 20;

/** A VMSD walked with the state: the body of a device, subsection or struct. */
export interface VmdescBody {
  vmsd_name: string;
  /** Version the body was written at (for subsections: the be32 on the wire). */
  version: number;
  fields: VmdescField[];
  /** Only present when at least one subsection was written. */
  subsections?: VmdescBody[];
}

/**
 * One field record. `array_len` (compressed array, `size` is per element) or
 * `index` (one record per element) only appear for more than one element; a
 * zero-element array has no record at all.
 */
export interface VmdescField {
  name: string;
  array_len?: number;
  index?: number;
  /** Codec name (`uint64`, `int32 le`, `buffer`, `cpsr`, …), `struct` or `vstruct`. */
  type: string;
  /** Nested VMSD of a `struct` field. */
  struct?: VmdescBody;
  /** Bytes of one element (for structs: including the nested subsections). */
  size: number;
  /** Fields that nest a VMSD without a `struct` key (`vstruct`, `tmp`) carry its keys inline. */
  vmsd_name?: string;
  version?: number;
  fields?: VmdescField[];
  subsections?: VmdescBody[];
}

/** One FULL section, in stream order. Old-style (non-VMSD) sections have `size` and no `vmsd_name`. */
export interface VmdescDevice {
  /** Section idstr. */
  name: string;
  instance_id: number;
  vmsd_name?: string;
  version?: number;
  /** Old-style sections only: body bytes. */
  size?: number;
  fields: VmdescField[];
  subsections?: VmdescBody[];
}

/** The whole vmdesc. `configuration` exists since QEMU 8.2. */
export interface Vmdesc {
  configuration?: VmdescBody;
  page_size: number;
  devices: VmdescDevice[];
}

/** Options of {@link parseVmdesc}. */
export interface VmdescOptions {
  /** Largest JSON accepted, bytes (the `maxVmdesc` limit; default {@link DEFAULT_MAX_VMDESC}). */
  maxVmdesc?: number;
}

const SECTION = 'vmdesc';
/** Absolute stream offset of each parsed JSON object/array (for errors). */
const offsets = new WeakMap<object, number>();

function place(offset: number): ErrorPlace {
  return { offset, section: SECTION };
}

/** Absolute offset recorded for a parsed vmdesc node, or `fallback`. */
export function vmdescOffsetOf(node: object, fallback = -1): number {
  return offsets.get(node) ?? fallback;
}

/**
 * Throws a {@link LimitError} if a vmdesc of `length` bytes (be32 read at
 * `offset`) exceeds `cap` (the `maxVmdesc` limit). Call before buffering the JSON.
 */
export function checkVmdescLength(length: number, offset: number, cap = DEFAULT_MAX_VMDESC): void {
  if (length > cap) throw new LimitError('vmdesc length', length, cap, 'maxVmdesc', place(offset));
}

/**
 * Finds the vmdesc from the end of the stream without parsing what precedes
 * it (spec §3.5.6): `tail` holds the last bytes, `tail[0]` being absolute
 * offset `tailStart`, and `total` is the stream length. A match is a 0x06 at
 * p with be32 N at p+1 such that the JSON runs exactly to the end
 * (N == total − (p+5)), the JSON starts with `{"`, and the byte before p, when
 * it is in `tail`, is EOF (0x00). Returns the absolute offset of the 0x06 byte
 * and N, or null (no vmdesc, or it starts before `tailStart`).
 */
export function locateVmdesc(tail: Buffer, tailStart: number, total: number): { offset: number; length: number } | null {
  if (tailStart + tail.length !== total) throw new RangeError(`tail [${tailStart}, +${tail.length}) does not end at ${total}`);
  // The JSON is printable ASCII, so no 0x06 lies inside it: the last
  // candidate that fits is the only one.
  for (let p = tail.length - 7; p >= 0; p--) {
    if (tail[p] !== VMDESC_TYPE) continue;
    const n = tail.readUInt32BE(p + 1);
    if (n !== total - (tailStart + p + 5)) continue;
    if (tail[p + 5] !== 0x7b || tail[p + 6] !== 0x22) continue;
    if (p > 0 && tail[p - 1] !== 0x00) continue;
    return { offset: tailStart + p, length: n };
  }
  return null;
}

/** A vmdesc found ahead of the record walk: its item and its parsed JSON. */
export interface FoundVmdesc {
  at: VmdescRecord;
  json: Vmdesc;
  /** The last bytes of the input read to find it, and the offset of the first of them (a seekable input only). */
  tail?: { bytes: Buffer; offset: number };
}

/** First tail read when looking for the vmdesc of a seekable input: QEMU's vmdescs and device state take tens of KiB. */
const TAIL_FIRST = 256 << 10;

/**
 * The vmdesc of a seekable input, read from its tail first as QEMU's analyser does: real
 * vmdescs are tens of KiB, so a 256 KiB tail is looked at first and widened (to `maxVmdesc` +
 * 16 bytes) only when the vmdesc starts before it. Null when there is none.
 */
export async function vmdescFromTail(source: ByteSource & { readonly size: number; readAt(p: number, l: number): Promise<Buffer> }, maxVmdesc: number): Promise<FoundVmdesc | null> {
  const total = source.size;
  // Real vmdescs are tens of KiB: look in a small tail first, then (rarely) straight in the
  // largest tail allowed. Growing in steps would leave every smaller tail as garbage, which a
  // vmdesc near the cap cannot afford (its decode must stay within 3× its size).
  for (let want = TAIL_FIRST; ; want = maxVmdesc + 16) {
    const tailLen = Math.min(total, want, maxVmdesc + 16);
    const tail = await source.readAt(total - tailLen, tailLen);
    const found = locateVmdesc(tail, total - tailLen, total);
    // At the very start of a narrowed tail the EOF byte before it is unseen: widen instead.
    if (found && (found.offset > total - tailLen || tailLen === total)) {
      checkVmdescLength(found.length, found.offset + 1, maxVmdesc);
      const at = found.offset + 5 - (total - tailLen);
      const json = parseVmdesc(tail.subarray(at, at + found.length), found.offset + 5, { maxVmdesc });
      // The bytes before the vmdesc are kept (they usually hold the device state); not those of a large tail.
      return { at: found, json, ...(tailLen <= TAIL_FIRST ? { tail: { bytes: tail, offset: total - tailLen } } : {}) };
    }
    if (tailLen === total || tailLen === maxVmdesc + 16) return null;
  }
}

/** The vmdesc at the end of `rest`, the input's last bytes from absolute offset `start` on (a pipe's held tail), or null. */
export function vmdescIn(rest: Buffer, start: number, maxVmdesc: number): FoundVmdesc | null {
  const found = locateVmdesc(rest, start, start + rest.length);
  if (!found) return null;
  checkVmdescLength(found.length, found.offset + 1, maxVmdesc);
  const at = found.offset + 5 - start;
  return { at: found, json: parseVmdesc(rest.subarray(at, at + found.length), found.offset + 5, { maxVmdesc }) };
}

function bad(message: string, node: object | null, fallback: number): never {
  throw new StreamFormatError('BAD_VMDESC', message, place(node ? vmdescOffsetOf(node, fallback) : fallback));
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof RawJsonNumber);
}

/**
 * Parses and validates the vmdesc JSON. `json` is the N JSON bytes (without
 * the 0x06 and length) and `offset` the absolute offset of `json[0]`.
 * Throws `BAD_VMDESC` (with the offset of the offending JSON node) when it is
 * not a vmdesc, {@link LimitError} when longer than the cap.
 */
export function parseVmdesc(json: Buffer, offset: number, options: VmdescOptions = {}): Vmdesc {
  checkVmdescLength(json.length, offset, options.maxVmdesc ?? DEFAULT_MAX_VMDESC);
  checkVmdescFootprint(json, offset);
  let text: string;
  if (isAscii(json)) {
    // QEMU's case: one byte per character, made without an intermediate copy.
    text = Buffer.from(json.buffer, json.byteOffset, json.length).toString('latin1');
  } else {
    try {
      text = new TextDecoder('utf-8', { fatal: true }).decode(json);
    } catch {
      throw new StreamFormatError('BAD_VMDESC', 'vmdesc is not valid UTF-8', place(offset));
    }
  }
  // QEMU escapes everything outside printable ASCII, so char index == byte index and offsets go
  // straight to their map; otherwise they are converted afterwards.
  const ascii = text.length === json.length;
  let root: unknown;
  const positions = ascii ? offsets : new WeakMap<object, number>();
  const abs = (index: number): number => offset + (ascii ? index : Buffer.byteLength(text.slice(0, index)));
  try {
    root = parseJsonPreservingOrder(text, { positions, positionBase: ascii ? offset : 0, maxDepth: 256 });
  } catch (e) {
    if (e instanceof JsonSyntaxError) throw new StreamFormatError('BAD_VMDESC', `vmdesc JSON: ${e.message}`, place(abs(e.index)));
    throw e;
  }
  if (!ascii) {
    const record = (node: unknown): void => {
      if (typeof node !== 'object' || node === null || node instanceof RawJsonNumber) return;
      const at = positions.get(node);
      if (at !== undefined) offsets.set(node, abs(at));
      for (const v of Array.isArray(node) ? node : Object.values(node)) record(v);
    };
    record(root);
  }
  validateVmdesc(root, offset);
  return root;
}

/**
 * Parsed, a vmdesc takes more memory than its text: about four times for QEMU's own (an object
 * of four keys per 65 bytes), far more for a crafted one (`[{},{},…]`: 3 bytes of text, over
 * 100 bytes of object each). Estimated bytes in memory per JSON value of each kind, measured on
 * Node 20 (x86-64) and rounded up: objects (with their recorded offset), arrays, strings (plus
 * their length), other scalars. Keys are counted as strings.
 */
const FOOTPRINT = { object: 128, array: 96, string: 48, scalar: 16 };

/** Longest string a vmdesc may hold: QEMU writes names of fields, devices and types (tens of bytes). */
export const MAX_VMDESC_STRING = 64 << 10;

/** Parsed size a vmdesc may take: its own length, and at least this much (real ones are tens of KiB). */
export const VMDESC_FOOTPRINT_FLOOR = 16 << 20;

/**
 * Estimates the memory the parsed `json` will take, from one pass over its bytes (no values
 * made), and throws a {@link LimitError} when that exceeds its own length (or the
 * {@link VMDESC_FOOTPRINT_FLOOR}), or when a string is longer than {@link MAX_VMDESC_STRING}:
 * with the JSON bytes and their text, a parse then takes at most three times the vmdesc's size.
 */
export function checkVmdescFootprint(json: Uint8Array, offset: number): void {
  const n = json.length;
  const budget = Math.max(n, VMDESC_FOOTPRINT_FLOOR);
  // Cannot exceed the budget whatever it holds: a byte of text is at most one 128-byte object.
  if (n * FOOTPRINT.object <= budget && n <= MAX_VMDESC_STRING) return;
  let estimate = 0;
  for (let i = 0; i < n; ) {
    const c = json[i]!;
    if (c === 0x22) {
      // A string (value or key): to its closing quote, over escapes.
      let j = i + 1;
      while (j < n && json[j] !== 0x22) j += json[j] === 0x5c ? 2 : 1;
      if (j - i - 1 > MAX_VMDESC_STRING) {
        throw new LimitError('vmdesc string length', j - i - 1, MAX_VMDESC_STRING, 'MAX_VMDESC_STRING', place(offset + i));
      }
      estimate += FOOTPRINT.string + (j - i - 1);
      i = j + 1;
      continue;
    }
    if (c === 0x7b) estimate += FOOTPRINT.object;
    else if (c === 0x5b) estimate += FOOTPRINT.array;
    else if ((c >= 0x30 && c <= 0x39) || c === 0x2d || c === 0x74 || c === 0x66 || c === 0x6e) {
      // A number or literal: one value, however long its text.
      estimate += FOOTPRINT.scalar;
      while (i + 1 < n && isScalarByte(json[i + 1]!)) i++;
    }
    i++;
    if (estimate > budget) {
      throw new LimitError('vmdesc parsed in memory (estimated bytes)', estimate, budget, 'its length, at least 16 MiB', place(offset + i));
    }
  }
}

/** Bytes that continue a number or a literal (`true`, `false`, `null`). */
function isScalarByte(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || c === 0x2e || c === 0x2b || c === 0x2d || (c >= 0x61 && c <= 0x7a) || c === 0x45;
}

function checkInt(o: Record<string, unknown>, key: string, required: boolean, min: number, where: string): void {
  const v = o[key];
  if (v === undefined && !required) return;
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min) {
    bad(`${where}: "${key}" must be an integer >= ${min}, got ${v === undefined ? 'nothing' : qemuJson(v)}`, o, -1);
  }
}

function checkString(o: Record<string, unknown>, key: string, where: string): void {
  if (typeof o[key] !== 'string') bad(`${where}: "${key}" must be a string`, o, -1);
}

function validateFields(v: unknown, owner: Record<string, unknown>, where: string, depth: number): void {
  if (!Array.isArray(v)) bad(`${where}: "fields" must be an array`, owner, -1);
  for (const f of v) {
    if (!isObject(f)) bad(`${where}: a field record is not an object`, v, -1);
    checkString(f, 'name', where);
    const fw = `${where}.${String(f['name'])}`;
    checkString(f, 'type', fw);
    checkInt(f, 'size', true, 0, fw);
    checkInt(f, 'array_len', false, 0, fw);
    checkInt(f, 'index', false, 0, fw);
    if (f['type'] === 'struct') {
      if (!isObject(f['struct'])) bad(`${fw}: struct field without a "struct" body`, f, -1);
      validateBody(f['struct'], fw, depth + 1);
    } else if (f['fields'] !== undefined) {
      validateBody(f, fw, depth + 1); // vstruct/tmp: VMSD keys inline
    }
  }
}

function validateBody(o: Record<string, unknown>, where: string, depth: number): asserts o is Record<string, unknown> & VmdescBody {
  if (depth > 64) bad(`${where}: nesting deeper than 64`, o, -1);
  checkString(o, 'vmsd_name', where);
  checkInt(o, 'version', true, 0, where);
  const name = String(o['vmsd_name']);
  validateFields(o['fields'], o, name, depth);
  validateSubsections(o, name, depth);
}

function validateSubsections(o: Record<string, unknown>, where: string, depth: number): void {
  const subs = o['subsections'];
  if (subs === undefined) return;
  if (!Array.isArray(subs)) bad(`${where}: "subsections" must be an array`, o, -1);
  for (const s of subs) {
    if (!isObject(s)) bad(`${where}: a subsection is not an object`, subs, -1);
    validateBody(s, `${where} subsection`, depth + 1);
  }
}

function validateVmdesc(root: unknown, offset: number): asserts root is Vmdesc {
  if (!isObject(root)) bad('vmdesc is not a JSON object', null, offset);
  checkInt(root, 'page_size', true, 1, 'vmdesc');
  if (root['configuration'] !== undefined) {
    if (!isObject(root['configuration'])) bad('vmdesc: "configuration" must be an object', root, offset);
    validateBody(root['configuration'], 'configuration', 0);
  }
  const devices = root['devices'];
  if (!Array.isArray(devices)) bad('vmdesc: "devices" must be an array', root, offset);
  for (const d of devices) {
    if (!isObject(d)) bad('vmdesc: a device is not an object', devices, offset);
    checkString(d, 'name', 'device');
    const where = `device '${String(d['name'])}'`;
    checkInt(d, 'instance_id', true, 0, where);
    if (d['vmsd_name'] !== undefined) {
      checkString(d, 'vmsd_name', where);
      checkInt(d, 'version', true, 0, where);
    } else {
      checkInt(d, 'size', true, 0, where);
    }
    validateFields(d['fields'], d, where, 0);
    validateSubsections(d, where, 0);
  }
}

/** The vmdesc item as written: 0x06, be32 JSON length, the JSON (QEMU's formatting). */
export function encodeVmdesc(v: Vmdesc): Buffer {
  const json = Buffer.from(qemuJson(v), 'utf8');
  const out = Buffer.allocUnsafe(5 + json.length);
  out[0] = VMDESC_TYPE;
  out.writeUInt32BE(json.length, 1);
  json.copy(out, 5);
  return out;
}

/**
 * Deep copy of a parsed vmdesc that keeps what `structuredClone` drops
 * (recorded offsets, {@link JSON_PAIRS}, {@link RawJsonNumber}s).
 */
export function cloneVmdesc<T extends Vmdesc | VmdescDevice | VmdescBody>(v: T): T {
  const copy = (x: unknown): unknown => {
    if (typeof x !== 'object' || x === null || x instanceof RawJsonNumber) return x;
    let out: object;
    if (Array.isArray(x)) {
      out = x.map(copy);
    } else {
      const o: JsonObject = {};
      for (const k of Object.keys(x)) {
        Object.defineProperty(o, k, { value: copy((x as Record<string, unknown>)[k]), enumerable: true, writable: true, configurable: true });
      }
      const pairs = (x as JsonObject)[JSON_PAIRS];
      if (pairs) Object.defineProperty(o, JSON_PAIRS, { value: pairs.map(([k, y]) => [k, copy(y)]), enumerable: false });
      out = o;
    }
    const at = offsets.get(x);
    if (at !== undefined) offsets.set(out, at);
    return out;
  };
  return copy(v) as T;
}

/** vmdesc name of the cpu section's cpreg count field (spec §5.2). */
export const CPREG_COUNT_FIELD = 'cpreg_vmstate_array_len';
/** vmdesc names of the two cpreg arrays, in wire order (spec §5.2). */
export const CPREG_ARRAY_FIELDS = ['cpreg_vmstate_indexes', 'cpreg_vmstate_values'] as const;

/** The record QEMU writes for an `n`-element compressible uint64 array, or null for 0. */
function cpregRecord(name: string, n: number): VmdescField | null {
  if (n === 0) return null;
  // Key order as QEMU writes it: name, array_len, type, size.
  return n === 1 ? { name, type: 'uint64', size: 8 } : { name, array_len: n, type: 'uint64', size: 8 };
}

/**
 * Rewrites the `cpreg_vmstate_indexes`/`cpreg_vmstate_values` records of a
 * `cpu` device for `count` registers, the way QEMU describes them: no record
 * for 0, a scalar-looking record (no `array_len`) for 1, `array_len` for more.
 * The records go right after `cpreg_vmstate_array_len` (also when they were
 * absent). Throws `BAD_VMDESC` if the device has no such count field.
 */
export function patchCpuArrays(dev: VmdescDevice, count: number): void {
  if (!Number.isSafeInteger(count) || count < 0 || count > 0x7fffffff) throw new RangeError(`cpreg count ${count} is not a non-negative int32`);
  const fields = dev.fields;
  const at = fields.findIndex((f) => f.name === CPREG_COUNT_FIELD);
  if (at < 0) bad(`device '${dev.name}' instance ${dev.instance_id} has no "${CPREG_COUNT_FIELD}" record`, dev, -1);
  const isArrayRecord = (f: VmdescField): boolean => (CPREG_ARRAY_FIELDS as readonly string[]).includes(f.name);
  // The two arrays directly follow the count (spec §5.2); drop what is there now.
  let end = at + 1;
  while (end < fields.length && isArrayRecord(fields[end]!)) end++;
  if (fields.slice(end).some(isArrayRecord)) {
    bad(`device '${dev.name}' instance ${dev.instance_id}: cpreg array records do not follow "${CPREG_COUNT_FIELD}"`, dev, -1);
  }
  const fresh = CPREG_ARRAY_FIELDS.map((n) => cpregRecord(n, count)).filter((r): r is VmdescField => r !== null);
  fields.splice(at + 1, end - at - 1, ...fresh);
}

/**
 * Removes the subsection entry named `vmsdName` (e.g. `cpu/wfxt-timer`, or a
 * nested one such as `cpu/vfp/fpcr_fpsr`) from a device's subsection tree,
 * deleting a `subsections` key left empty, as QEMU omits it when nothing is
 * written. Returns whether an entry was removed.
 */
export function dropSubsection(dev: VmdescDevice | VmdescBody, vmsdName: string): boolean {
  const subs = dev.subsections;
  if (!subs) return false;
  const i = subs.findIndex((s) => s.vmsd_name === vmsdName);
  if (i >= 0) {
    subs.splice(i, 1);
    if (subs.length === 0) delete dev.subsections;
    return true;
  }
  return subs.some((s) => dropSubsection(s, vmsdName));
}

/** The vmdesc device of FULL section (`name`, `instanceId`); the last match wins, as in the analyser. */
export function findVmdescDevice(v: Vmdesc, name: string, instanceId: number): VmdescDevice | undefined {
  for (let i = v.devices.length - 1; i >= 0; i--) {
    const d = v.devices[i]!;
    if (d.name === name && d.instance_id === instanceId) return d;
  }
  return undefined;
}
