/**
 * Device (FULL) sections other than RAM: laid out by their vmdesc entry when there is one, else
 * kept opaque and delimited by a footer search. Each body function works on a look-ahead buffer
 * and answers with a {@link Need} when the body runs past it.
 * @module
 */
import { StreamFormatError, type ErrorPlace } from '../errors.js';
import { Need } from '../wire/lookahead.js';
import type { CpuSection } from '../cpu/section.js';
import type { UnknownSubsectionWalk } from '../cpu/subsections.js';
import { COMMANDS, Item } from './constants.js';
import { walkDeviceAhead } from './device-walk.js';
import { vmdescOffsetOf, type Vmdesc, type VmdescBody, type VmdescDevice, type VmdescField } from './vmdesc.js';

/** The vmdesc entry for the k-th FULL section, checked against the section header. */
export function pickDevice(v: Vmdesc, k: number, name: string, instance: number, place: ErrorPlace): VmdescDevice {
  const d = v.devices[k];
  if (!d || d.name !== name || d.instance_id !== instance) {
    throw new StreamFormatError('BAD_VMDESC', `vmdesc device #${k} is ${d ? `'${d.name}' instance ${d.instance_id}` : 'missing'}, stream has '${name}' instance ${instance}`, place);
  }
  checkEmptyElements(d);
  return d;
}

/** Most elements of zero bytes one device description may have (QEMU's have none). */
const MAX_EMPTY_ELEMENTS = 1 << 16;

/**
 * A walk by the vmdesc reads one element per described element; elements of
 * zero bytes (`"size": 0`, or structs with nothing inside) consume no input,
 * so only the description bounds how often they repeat (`"array_len": 2^53`
 * would never end). Reject descriptions with more of them than any real one.
 */
function checkEmptyElements(dev: VmdescDevice): void {
  let total = 0;
  const bytes = (b: VmdescBody | VmdescDevice): number => {
    let n = (b.subsections ?? []).length; // each subsection has a header on the wire
    for (const f of b.fields) n += (f.array_len ?? 1) * (f.type === 'struct' && f.struct ? bytes(f.struct) : f.type === 'capability' ? 1 : f.size);
    return n;
  };
  const visit = (b: VmdescBody | VmdescDevice, times: number): void => {
    for (const f of b.fields as VmdescField[]) {
      const n = times * (f.array_len ?? 1);
      const struct = f.type === 'struct' ? f.struct : undefined;
      if (struct ? bytes(struct) === 0 : f.type !== 'capability' && f.size === 0) total += n;
      if (total > MAX_EMPTY_ELEMENTS) {
        throw new StreamFormatError('BAD_VMDESC', `vmdesc of '${dev.name}' instance ${dev.instance_id} describes more than ${MAX_EMPTY_ELEMENTS} elements of zero bytes (field '${f.name}')`, { offset: vmdescOffsetOf(f, vmdescOffsetOf(dev, 0)), section: 'vmdesc' }, { actual: total });
      }
      if (struct) visit(struct, n);
    }
    for (const sub of b.subsections ?? []) visit(sub, times);
  };
  visit(dev, 1);
}

function findSubsection(body: { subsections?: { vmsd_name: string; subsections?: unknown[] }[] }, name: string): VmdescBody | null {
  for (const s of body.subsections ?? []) {
    if (s.vmsd_name === name) return s as unknown as VmdescBody;
    const deeper = findSubsection(s as never, name);
    if (deeper) return deeper;
  }
  return null;
}

/**
 * Steps over cpu subsections of no built-in size with their description in `dev` (the
 * section's vmdesc entry); `buf[0]` is at absolute offset `base`.
 */
export function describedSubsections(dev: VmdescDevice | null, base: number, label: string): UnknownSubsectionWalk {
  return (name, buf, bodyAt) => {
    const sub = dev && findSubsection(dev, name);
    if (!sub) return null;
    const w = walkDeviceAhead(sub, buf, bodyAt, base, label, { measureOnly: true });
    return w instanceof Need ? w : w.end;
  };
}

/** Notes when the vmdesc's cpreg array records disagree with the binary (QEMU ignores the vmdesc on load). */
export function checkCpuAgainstVmdesc(cpu: CpuSection, dev: VmdescDevice, warnings: string[]): void {
  const f = (dev.fields ?? []).find((x) => x.name === 'cpreg_vmstate_indexes');
  const described = f ? (f.array_len ?? 1) : 0;
  if (described !== cpu.count) {
    warnings.push(`vmdesc describes ${described} cpregs for cpu instance ${cpu.instance}, the section holds ${cpu.count} (stale vmdesc)`);
  }
}

/**
 * Without a vmdesc a non-cpu body has no known length: take the first footer
 * (0x7e + section id) that is followed by a well-formed next item. A heuristic
 * (device bytes can look like a footer), used only when no vmdesc exists.
 * Returns the footer's index in `buf`, or a {@link Need} of one more byte.
 */
export function scanOpaqueBody(buf: Buffer, sid: number, live: ReadonlySet<number>): number | Need {
  for (let p = buf.indexOf(Item.SECTION_FOOTER); p >= 0; p = buf.indexOf(Item.SECTION_FOOTER, p + 1)) {
    if (p + 6 > buf.length) break;
    if (buf.readUInt32BE(p + 1) !== sid) continue;
    if (plausibleItem(buf, p + 5, live)) return p;
  }
  return new Need(buf.length + 1, buf.length);
}

function plausibleItem(buf: Buffer, p: number, live: ReadonlySet<number>): boolean {
  if (p >= buf.length) return false;
  const t = buf[p]!;
  if (t === Item.EOF) return p + 1 === buf.length || buf[p + 1] === Item.VMDESCRIPTION;
  if (t === Item.SECTION_PART || t === Item.SECTION_END) return p + 5 <= buf.length && live.has(buf.readUInt32BE(p + 1));
  if (t === Item.COMMAND) {
    if (p + 5 > buf.length) return false;
    const spec = COMMANDS[buf.readUInt16BE(p + 1)];
    return !!spec && (spec.len < 0 || spec.len === buf.readUInt16BE(p + 3));
  }
  if (t !== Item.SECTION_FULL && t !== Item.SECTION_START) return false;
  if (p + 6 > buf.length) return false;
  const n = buf[p + 5]!;
  if (n === 0 || p + 6 + n + 8 > buf.length) return false;
  for (let i = 0; i < n; i++) {
    const c = buf[p + 6 + i]!;
    if (c < 0x20 || c > 0x7e) return false;
  }
  // Instance ids and versions are small numbers in practice.
  return buf.readUInt32BE(p + 6 + n) < 0x10000 && buf.readUInt32BE(p + 10 + n) < 0x10000;
}
