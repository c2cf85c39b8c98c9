/**
 * Where the device state of a stream starts, from its vmdesc alone: the vmdesc lists every FULL
 * section in stream order with the size QEMU wrote for each field, so the sections after the RAM
 * take an exactly known number of bytes, ending at the EOF byte before the vmdesc. A seekable
 * input can then be read from there without walking its RAM (`decode.ts` proves the place before
 * it trusts it: the RAM section's last record and footer right before it, and a walk of every
 * section from there that lands exactly on EOF and the vmdesc).
 * @module
 */
import { Item, RamFlag } from './constants.js';
import type { Vmdesc, VmdescBody, VmdescDevice } from './vmdesc.js';

/** Deepest nesting of structs and subsections sized (as the walker's default). */
const MAX_DEPTH = 64;

/** Bytes of a FULL section's header (type, section id, name, instance, version) for a name of `n` bytes. */
export function fullHeaderBytes(n: number): number {
  return 1 + 4 + 1 + n + 4 + 4;
}

/** Bytes of a section footer (0x7e, section id). */
export const FOOTER_BYTES = 5;

/** The bytes a `name` takes on the wire (latin1), or null when it cannot be written so. */
function nameBytes(name: string): number | null {
  // eslint-disable-next-line no-control-regex
  return /^[\u0000-\u00ff]*$/.test(name) && name.length <= 255 ? name.length : null;
}

/**
 * Bytes of a body laid out by `b`, as the vmdesc walker (`device-walk.ts`) reads it: every field
 * element its `size` (a struct its own body), every subsection its header and body. Null when the
 * description alone does not tell (a `capability` field, which is a string, or nesting too deep).
 */
export function describedBodyBytes(b: VmdescBody | VmdescDevice, depth = 0): number | null {
  if (depth > MAX_DEPTH) return null;
  let n = 0;
  for (const f of b.fields) {
    let each: number | null;
    if (f.type === 'struct') each = f.struct ? describedBodyBytes(f.struct, depth + 1) : null;
    else if (f.type === 'capability') each = null;
    else each = f.size;
    if (each === null) return null;
    n += (f.array_len ?? 1) * each;
  }
  for (const s of b.subsections ?? []) {
    const name = nameBytes(s.vmsd_name);
    const body = describedBodyBytes(s, depth + 1);
    if (name === null || body === null) return null;
    n += 2 + name + 4 + body;
  }
  return Number.isSafeInteger(n) ? n : null;
}

/** Bytes of the whole FULL section the vmdesc device describes (header, body, footer), or null. */
export function describedSectionBytes(dev: VmdescDevice): number | null {
  const name = nameBytes(dev.name);
  const body = describedBodyBytes(dev);
  if (name === null || body === null) return null;
  return fullHeaderBytes(name) + body + FOOTER_BYTES;
}

/** Where the device state starts, or why that cannot be told. */
export type TailPlan = { offset: number } | { reason: string };

/**
 * Where FULL section number `first` (counted in the vmdesc's device list) must start for the
 * sections from it to the last one to end exactly at the EOF byte at `eofOffset`.
 */
export function planTail(v: Vmdesc, first: number, eofOffset: number): TailPlan {
  const devices = v.devices;
  if (first >= devices.length) return { reason: `the vmdesc lists ${devices.length} device sections, all of them before the RAM` };
  let total = 0;
  for (let k = first; k < devices.length; k++) {
    const n = describedSectionBytes(devices[k]!);
    if (n === null) return { reason: `the vmdesc does not give the size of '${devices[k]!.name}' instance ${devices[k]!.instance_id}` };
    total += n;
  }
  const offset = eofOffset - total;
  if (offset < 0) return { reason: `the device sections the vmdesc describes take ${total} bytes, more than the stream holds` };
  return { offset };
}

/** The RAM section's last bytes as QEMU ends it: the EOS record, then the footer. */
export function ramEndBytes(ramSectionId: number): Buffer {
  const b = Buffer.alloc(8 + FOOTER_BYTES);
  b.writeBigUInt64BE(BigInt(RamFlag.EOS), 0);
  b[8] = Item.SECTION_FOOTER;
  b.writeUInt32BE(ramSectionId, 9);
  return b;
}

/**
 * Whether `buf` at `at` holds the header of the FULL section `dev` describes: type byte, any
 * section id, its name and instance id, and (for a VMSD device) the version the vmdesc gives.
 */
export function isFullHeaderOf(buf: Buffer, at: number, dev: VmdescDevice): boolean {
  const n = nameBytes(dev.name);
  if (n === null || at + fullHeaderBytes(n) > buf.length) return false;
  if (buf[at] !== Item.SECTION_FULL || buf[at + 5] !== n) return false;
  if (buf.toString('latin1', at + 6, at + 6 + n) !== dev.name) return false;
  if (buf.readUInt32BE(at + 6 + n) !== dev.instance_id) return false;
  return dev.vmsd_name === undefined || buf.readUInt32BE(at + 10 + n) === dev.version;
}
