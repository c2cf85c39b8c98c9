/**
 * Subsections of device sections other than `cpu`, wherever the vmdesc says they are (at the
 * top of the device, inside an element of a struct array such as `arm_gicv3`'s `cpu`, inside
 * another subsection), and their removal: the bytes while the stream is copied, the vmdesc
 * entry as QEMU would have written it had the subsection not been needed — the entry gone
 * (with a `subsections` list left empty), and each enclosing struct record's `size` smaller by
 * the bytes removed from one element.
 * @module
 */
import { StreamFormatError, UnsupportedError } from '../errors.js';
import type { StreamReader } from '../wire/reader.js';
import type { SubsectionSpan, VmdescStep } from './device-walk.js';
import { JSON_PAIRS, type JsonObject } from './json-writer.js';
import type { VmdescBody, VmdescDevice, VmdescField } from './vmdesc.js';

/** A subsection of a device section, as found in the stream (offsets absolute). */
export interface DeviceSubsection extends SubsectionSpan {
  /** Its body bytes (after the 0x05, name and version; nested subsections included). */
  content: Buffer;
}

/** One device section's subsections (a section laid out by its vmdesc entry). */
export interface DeviceSubsections {
  /** The section's place among the FULL sections: its vmdesc entry. */
  index: number;
  /** Section idstr, e.g. `arm_gicv3`. */
  name: string;
  instanceId: number;
  /** Offset of the section's type byte. */
  offset: number;
  /** In stream order; an enclosing subsection comes before the ones it holds. */
  subsections: DeviceSubsection[];
}

/** Edits to one device section while copying: the subsections to remove (from its list). */
export interface DeviceEdit {
  drop: readonly DeviceSubsection[];
}

/** What a device edit removed, for the vmdesc. */
export interface DeviceEditDone {
  dropped: { name: string; path: VmdescStep[]; size: number }[];
}

/** The spans of `drop` in stream order, without those inside another one of them. */
function outermost(drop: readonly DeviceSubsection[]): DeviceSubsection[] {
  const sorted = [...drop].sort((a, b) => a.offset - b.offset);
  const out: DeviceSubsection[] = [];
  for (const s of sorted) {
    const last = out[out.length - 1];
    if (last && s.offset < last.offset + last.size) continue;
    out.push(s);
  }
  return out;
}

/**
 * Passes the device section body the reader is in on to its tap (the output) up to `end`,
 * leaving out the subsections of `edit`. Returns what was removed, or null.
 */
export async function copyDeviceEdited(r: StreamReader, end: number, edit: DeviceEdit): Promise<DeviceEditDone | null> {
  const done: DeviceEditDone = { dropped: [] };
  for (const s of outermost(edit.drop)) {
    if (s.offset < r.offset || s.offset + s.size > end) throw new RangeError(`subsection '${s.name}' at ${s.offset} is not ahead in this section`);
    await r.pass(s.offset - r.offset);
    await r.drop(s.size);
    done.dropped.push({ name: s.name, path: s.path, size: s.size });
  }
  await r.pass(end - r.offset);
  return done.dropped.length ? done : null;
}

/** Throws when `node` carries repeated or reordered keys: its properties are not what is written. */
function plainNode(node: object, what: string): void {
  if ((node as JsonObject)[JSON_PAIRS]) throw new UnsupportedError(`the vmdesc entry of ${what} has repeated keys; it cannot be patched`);
}

/**
 * Patches a device's vmdesc entry (a copy that may be changed) for the subsections `done`
 * removed: each entry is taken out of its `subsections` list (the key goes when the list is
 * left empty), and every struct record on the way to it has its per-element `size` reduced by
 * the bytes removed from one element. A compressed struct array (one record with `array_len`)
 * describes all its elements at once, so each must have lost the same bytes.
 * @throws StreamFormatError (`BAD_VMDESC`) when a path does not lead where the walk found it;
 * UnsupportedError when a compressed array's elements lost different bytes.
 */
export function patchDeviceVmdesc(dev: VmdescDevice, done: DeviceEditDone): void {
  const where = `device '${dev.name}' instance ${dev.instance_id}`;
  const bad = (why: string): never => {
    throw new StreamFormatError('BAD_VMDESC', `${where}: ${why}`, { offset: -1, section: 'vmdesc' });
  };
  plainNode(dev, where);
  /** Bytes removed per struct record, per element. */
  const removed = new Map<VmdescField, Map<number, number>>();
  const gone = new Map<VmdescBody | VmdescDevice, Set<VmdescBody>>();
  for (const d of done.dropped) {
    let body: VmdescBody | VmdescDevice = dev;
    const steps = d.path;
    const last = steps[steps.length - 1];
    if (!last || !('sub' in last)) bad(`no subsection path for '${d.name}'`);
    for (const step of steps.slice(0, -1)) {
      if ('sub' in step) {
        body = body.subsections?.[step.sub] ?? bad(`subsection #${step.sub} on the way to '${d.name}' is missing`);
      } else {
        const f: VmdescField = body.fields[step.field] ?? bad(`field #${step.field} on the way to '${d.name}' is missing`);
        if (f.type !== 'struct' || !f.struct) bad(`field '${f.name}' on the way to '${d.name}' is not a struct`);
        plainNode(f, where);
        const per = removed.get(f) ?? new Map<number, number>();
        per.set(step.element, (per.get(step.element) ?? 0) + d.size);
        removed.set(f, per);
        body = f.struct!;
      }
      plainNode(body, where);
    }
    const sub = body.subsections?.[(last as { sub: number }).sub];
    if (!sub || sub.vmsd_name !== d.name) bad(`subsection '${d.name}' is not where the stream has it`);
    const set = gone.get(body) ?? new Set<VmdescBody>();
    set.add(sub!);
    gone.set(body, set);
  }
  for (const [f, per] of removed) {
    const n = f.array_len ?? 1;
    const amounts = [...per.values()];
    if (n > 1 && (per.size !== n || amounts.some((a) => a !== amounts[0]))) {
      throw new UnsupportedError(`${where}: field '${f.name}' describes ${n} elements in one record, and the subsections removed differ between them`);
    }
    const size = f.size - amounts[0]!;
    if (size < 0) bad(`field '${f.name}' would have a negative size`);
    f.size = size;
  }
  for (const [body, subs] of gone) {
    const left = body.subsections!.filter((s) => !subs.has(s));
    if (left.length) body.subsections = left;
    else delete body.subsections;
  }
}

/**
 * Every subsection name a vmdesc device entry lists, at any depth (in struct elements and in
 * other subsections): what the device sent when that stream was saved.
 */
export function vmdescSubsectionNames(dev: VmdescDevice | VmdescBody): Set<string> {
  const out = new Set<string>();
  const visit = (b: VmdescDevice | VmdescBody): void => {
    for (const f of b.fields) if (f.type === 'struct' && f.struct) visit(f.struct);
    for (const s of b.subsections ?? []) {
      out.add(s.vmsd_name);
      visit(s);
    }
  };
  visit(dev);
  return out;
}
