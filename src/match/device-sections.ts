/**
 * The device sections of a stream as a destination QEMU meets them: each FULL section's idstr,
 * instance and version, the VMStateDescription it was saved with, and every subsection in the
 * order QEMU reads them — nested ones included, each with the description it belongs to and the
 * struct fields around it (QEMU names the outermost of those when a nested load fails).
 * @module
 */
import type { SectionRecord } from '../stream/records.js';
import type { CpuSection } from '../cpu/section.js';
import type { VmdescBody, VmdescDevice, VmdescField } from '../stream/vmdesc.js';

/** A struct field a subsection is nested in: `field` of description `vmsd` (element `index` of an array). */
export interface EnclosingField {
  vmsd: string;
  field: string;
  index: number;
}

/** One subsection occurrence, in stream order. */
export interface SubsectionRef {
  /** Its name, e.g. `arm_gicv3_cpu/nmi`. */
  name: string;
  /** Its version as sent. */
  version: number;
  /** The description whose subsection list QEMU looks it up in (`arm_gicv3_cpu`). */
  parent: string;
  /** The struct fields around it, outermost first (empty for a section's own subsections). */
  fields: EnclosingField[];
}

/**
 * One field of a section's own layout (its fields, not its subsections): how many elements the
 * description has and, for a fixed-size type, the bytes of each (null for a struct).
 */
export interface FieldShape {
  /** Its path: `cpu`, `cpu.icc_ctlr_el1`, … (a struct's fields after its name). */
  field: string;
  elements: number;
  size: number | null;
}

/** One FULL section. */
export interface DeviceSection {
  /** The section idstr, e.g. `arm_gicv3` or `0000:00:02.0/virtio-net`. */
  idstr: string;
  instance: number;
  /** The section id in its stream (QEMU 11.1 names it when a section's footer is not where it reads it). */
  sectionId: number;
  version: number;
  /** Offset of the section's type byte in the stream (−1 for a destination's). */
  offset: number;
  /** The VMStateDescription's name; null for a section saved without one (slirp) or unknown. */
  vmsd: string | null;
  /** Every subsection; null when nothing describes them (no vmdesc, a legacy section). */
  subsections: SubsectionRef[] | null;
  /**
   * The layout of its fields where the vmdesc describes it with types of a fixed size (null
   * otherwise, and for `cpu` sections): what a destination with another layout misreads.
   */
  layout: FieldShape[] | null;
}

/** Where a subsection sits, in words: `arm_gicv3_cpu/nmi in cpu[0] of arm_gicv3`. */
export function subsectionPlace(s: SubsectionRef): string {
  return s.fields.map((f) => `${f.field}[${f.index}]`).join('.');
}

/** A field's nested description: a struct's, or the keys a `vstruct`/`tmp` field carries inline. */
function nested(f: VmdescField): VmdescBody | null {
  if (f.struct) return f.struct;
  if (f.vmsd_name && (f.fields || f.subsections)) return { vmsd_name: f.vmsd_name, version: f.version ?? 0, fields: f.fields ?? [], subsections: f.subsections };
  return null;
}

/** Every subsection of a description in the order QEMU reads them: fields first, then its own. */
function walk(body: VmdescBody | VmdescDevice, name: string, fields: EnclosingField[], out: SubsectionRef[]): void {
  let prev = '';
  let index = 0;
  for (const f of body.fields ?? []) {
    const inner = nested(f);
    index = f.name === prev ? index + 1 : 0;
    prev = f.name;
    if (inner) walk(inner, inner.vmsd_name, [...fields, { vmsd: name, field: f.name, index }], out);
  }
  for (const s of body.subsections ?? []) {
    out.push({ name: s.vmsd_name, version: s.version, parent: name, fields });
    walk(s, s.vmsd_name, fields, out);
  }
}

/** Types whose bytes per element do not depend on the state (vmstate-types.c). */
const FIXED = new Set(['bool', 'int8', 'int16', 'int32', 'int64', 'uint8', 'uint16', 'uint32', 'uint64', 'int32 le', 'int32 equal', 'uint8 equal', 'uint16 equal', 'uint32 equal', 'uint64 equal', 'timer', 'buffer', 'unused_buffer', 'cpsr', 'fpscr']);

/**
 * The fields of a description as a flat list of shapes, or null when one of them has a type
 * whose size depends on the state (a device's own save function, a variable buffer, …).
 */
function layoutOf(body: VmdescBody | VmdescDevice, prefix: string, out: FieldShape[]): FieldShape[] | null {
  const fields = body.fields ?? [];
  for (let i = 0; i < fields.length; ) {
    const f = fields[i]!;
    // A described array comes as one record with array_len, or one record per element (QEMU
    // numbers them with `index` or, in later versions, not at all).
    let j = i + 1;
    while (j < fields.length && fields[j]!.name === f.name) j++;
    const elements = f.array_len ?? j - i;
    const inner = nested(f);
    if (inner) {
      out.push({ field: prefix + f.name, elements, size: null });
      if (!layoutOf(inner, `${prefix}${f.name}.`, out)) return null;
    } else if (FIXED.has(f.type)) out.push({ field: prefix + f.name, elements, size: f.size });
    else return null;
    i = j;
  }
  return out;
}

/** A cpu section's subsections from its own decoder (a stream without a vmdesc): parents by depth. */
function cpuSubsections(cpu: CpuSection): SubsectionRef[] {
  const stack = ['cpu'];
  return cpu.subsections.map((s) => {
    stack.length = s.depth + 1;
    const ref = { name: s.name, version: s.version, parent: stack[s.depth]!, fields: [] };
    stack.push(s.name);
    return ref;
  });
}

/**
 * The device sections of a decoded stream, in stream order: `sections` are its FULL sections,
 * `described` the vmdesc's device list (same order; null without a vmdesc), `cpus` the decoded
 * `cpu` sections, whose subsections are taken from their own decoder (it read the bytes; a
 * rewrite's model of its output edits them there, not in the vmdesc).
 */
export function deviceSections(
  sections: readonly SectionRecord[],
  described: readonly VmdescDevice[] | null,
  cpus: readonly CpuSection[],
): DeviceSection[] {
  return sections
    .filter((s) => s.kind === 'full')
    .map((s, k) => {
      const d = described?.[k];
      const cpu = s.name === 'cpu' ? cpus.find((c) => c.offset === s.offset) : undefined;
      let subsections: SubsectionRef[] | null = null;
      let vmsd: string | null = null;
      let layout: FieldShape[] | null = null;
      if (cpu) {
        // A cpu section's own decoder read its subsections from the bytes (after any edit).
        vmsd = 'cpu';
        subsections = cpuSubsections(cpu);
      } else if (d && d.name === s.name && d.instance_id === s.instanceId) {
        vmsd = d.vmsd_name ?? null;
        if (vmsd) {
          subsections = [];
          walk(d, vmsd, [], subsections);
          layout = layoutOf(d, '', []);
        }
      }
      return { idstr: s.name, instance: s.instanceId, sectionId: s.sectionId, version: s.version, offset: s.offset, vmsd, subsections, layout };
    });
}
