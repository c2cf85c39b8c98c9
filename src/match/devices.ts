/**
 * One device section against the destination, the way QEMU loads it: is there a section of that
 * idstr and instance, can its version be loaded, and is every subsection — nested ones included,
 * in stream order — one the destination knows, at a version it loads, and one it has something
 * to load into. Findings come in QEMU's order; a fatal one carries QEMU's lines for the failure.
 * @module
 */
import type { Anomaly } from './anomalies.js';
import { subsectionPlace, type DeviceSection, type SubsectionRef } from './device-sections.js';
import type { CrashingSubsection } from './generations.js';
import {
  footerLines,
  sectionVersionLines,
  subsectionVersionLines,
  unknownSectionLines,
  unknownSubsectionLines,
  versionTooOldLines,
  type MessageStyle,
} from './load-messages.js';

/** What a destination QEMU has for one VMStateDescription. */
export interface KnownVmsd {
  /** The version it saves and the highest it loads. */
  version: number;
  /** The lowest version it loads. */
  minimum: number;
  /** The subsections it knows (full names). */
  subsections: readonly string[];
}

/** The destination QEMU's descriptions by name (undefined: not known to this tool). */
export type KnownVmsds = (name: string) => KnownVmsd | undefined;

/** How to compare. */
export interface DeviceCompareOptions {
  /** The destination QEMU's descriptions (its generation's), or null when its QEMU is not known. */
  known: KnownVmsds | null;
  style: MessageStyle;
  /** Subsections the destination knows but crashes on when it has no object behind them. */
  crashing: readonly CrashingSubsection[];
}

/** The findings for one section, split where the section's own fields are loaded. */
export interface DeviceComparison {
  /** Before the fields: the section itself (unknown, version). */
  section: Anomaly[];
  /** After the fields: its subsections, in stream order. */
  subsections: Anomaly[];
}

const base = (kind: Anomaly['kind'], fatal: boolean, message: string, qemuText: string | null): Anomaly => ({
  kind, fatal, id: null, reg: null, name: null, message, qemuText,
});

/** A subsection finding: `name` is the subsection's; `subsection` says where it sits. */
function subFinding(kind: Anomaly['kind'], fatal: boolean, ref: SubsectionRef, message: string, lines: string[] | null): Anomaly {
  const a = base(kind, fatal, message, lines ? lines.join('\n') : null);
  a.name = ref.name;
  a.subsection = { name: ref.name, version: ref.version, parent: ref.parent, place: subsectionPlace(ref) };
  a.detail = { version: ref.version };
  return a;
}

const where = (ref: SubsectionRef): string => {
  const p = subsectionPlace(ref);
  return p ? ` (in ${p} of ${ref.fields[0]!.vmsd})` : '';
};

/**
 * Compares one incoming section with the destination's section of the same idstr and instance
 * (undefined when the destination has none). The destination knows a subsection when its
 * QEMU's description lists it or its own stream carries it; with neither a description nor the
 * section in its own stream, what it knows is taken from its stream alone.
 */
export function compareDevice(inc: DeviceSection, dest: DeviceSection | undefined, o: DeviceCompareOptions): DeviceComparison {
  const out: DeviceComparison = { section: [], subsections: [] };
  const { idstr, instance } = inc;
  const label = `'${idstr}' instance ${instance}`;
  if (!dest) {
    out.section.push({
      ...base('unknown-section', true, `the destination has no section ${label}: a device or vCPU the stream has and the destination lacks`, unknownSectionLines(o.style, idstr, instance).join('\n')),
      device: { idstr, instance },
    });
    return out;
  }
  const vmsd = inc.vmsd ?? dest.vmsd;
  const desc = vmsd ? o.known?.(vmsd) : undefined;
  if (inc.version > dest.version) {
    out.section.push({
      ...base('section-version', true, `section ${label} has version ${inc.version}; the destination loads up to ${dest.version}`, sectionVersionLines(o.style, idstr, inc.version, dest.version).join('\n')),
      device: { idstr, instance },
      detail: { version: inc.version, localVersion: dest.version },
    });
    return out;
  }
  if (vmsd && desc && inc.version < desc.minimum) {
    out.section.push({
      ...base('section-version', true, `section ${label} has version ${inc.version}; the destination loads ${desc.minimum} and above`, versionTooOldLines(o.style, vmsd, idstr, instance, inc.version, desc.minimum).join('\n')),
      device: { idstr, instance },
      detail: { version: inc.version, localMinimum: desc.minimum },
    });
    return out;
  }
  const misread = layoutDifference(inc, dest);
  if (misread) {
    out.section.push({
      ...base('section-layout', true, `the destination lays out section ${label} otherwise: ${misread}; QEMU reads the bytes by its own layout and misses the section's end`, footerLines(o.style, idstr, inc.sectionId).join('\n')),
      device: { idstr, instance },
      note: "QEMU's message is the one a misread most often ends in (observed for a GICv3 with another vCPU count); another misread can end differently",
    });
    return out;
  }
  // Nothing to judge by: neither the destination's QEMU nor its own subsections are known.
  if (!inc.subsections || (!o.known && !dest.subsections)) return out;
  const own = new Map<string, Set<string>>();
  const ownVersion = new Map<string, number>();
  for (const s of dest.subsections ?? []) {
    if (!own.has(s.parent)) own.set(s.parent, new Set());
    own.get(s.parent)!.add(s.name);
    ownVersion.set(s.name, s.version);
  }
  const sent = new Set((dest.subsections ?? []).map((s) => s.name));
  // QEMU stops at the first failing subsection: the ones inside it are not reached.
  const failed = new Set<string>();
  for (const ref of inc.subsections) {
    if (failed.has(ref.parent)) {
      failed.add(ref.name);
      continue;
    }
    const parent = o.known?.(ref.parent);
    const knows = (parent?.subsections.includes(ref.name) ?? false) || (own.get(ref.parent)?.has(ref.name) ?? false);
    if (!knows) {
      failed.add(ref.name);
      const judged = parent ? '' : "; judged from the destination's own stream (its QEMU's descriptions are not known here)";
      out.subsections.push({
        ...subFinding('unknown-subsection', true, ref, `the stream carries subsection '${ref.name}'${where(ref)}, which the destination does not know${judged}`, unknownSubsectionLines(o.style, ref, idstr, instance)),
        device: { idstr, instance },
      });
      continue;
    }
    const local = o.known?.(ref.name) ?? (ownVersion.has(ref.name) ? { version: ownVersion.get(ref.name)!, minimum: 0, subsections: [] } : undefined);
    const incoming = ref.version & 0xff; // QEMU keeps the low 8 bits of a subsection's version
    if (local && incoming > local.version) {
      failed.add(ref.name);
      const a = subFinding('subsection-version', true, ref, `subsection '${ref.name}'${where(ref)} has version ${incoming}; the destination loads up to ${local.version}`, subsectionVersionLines(o.style, ref, local.version, idstr, instance));
      a.detail = { version: incoming, localVersion: local.version };
      out.subsections.push({ ...a, device: { idstr, instance } });
      continue;
    }
    if (local && incoming < local.minimum) {
      failed.add(ref.name);
      const a = subFinding('subsection-version', true, ref, `subsection '${ref.name}'${where(ref)} has version ${incoming}; the destination loads ${local.minimum} and above`, versionTooOldLines(o.style, ref.name, idstr, instance, incoming, local.minimum, ref));
      a.detail = { version: incoming, localMinimum: local.minimum };
      out.subsections.push({ ...a, device: { idstr, instance } });
      continue;
    }
    const crash = o.crashing.find((c) => c.name === ref.name);
    if (crash && !sent.has(ref.name)) {
      failed.add(ref.name);
      const a = subFinding('unknown-subsection', true, ref, `the stream carries subsection '${ref.name}', which the destination knows but cannot take: ${crash.why}; QEMU aborts`, [crash.qemuText]);
      a.note = 'the destination process crashes (assertion, SIGABRT) instead of refusing the stream';
      a.detail = { version: ref.version, outcome: 'crash' };
      out.subsections.push({ ...a, device: { idstr, instance } });
    }
  }
  return out;
}

/**
 * Where two layouts of the same section's fields differ (another element count, another size),
 * in words; null when they agree or cannot be compared (a layout unknown, other field names).
 */
function layoutDifference(inc: DeviceSection, dest: DeviceSection): string | null {
  const a = inc.layout;
  const b = dest.layout;
  if (!a || !b || a.length !== b.length || a.some((f, i) => f.field !== b[i]!.field)) return null;
  for (const [i, f] of a.entries()) {
    const g = b[i]!;
    if (f.elements !== g.elements) return `field ${f.field} has ${f.elements} element(s) in the stream, ${g.elements} on the destination`;
    if (f.size !== g.size) return `field ${f.field} has ${f.size} byte(s) per element in the stream, ${g.size} on the destination`;
  }
  return null;
}

/** Sections the destination has and the stream lacks: QEMU leaves them at their reset state. */
export function onlyOnDestination(stream: readonly DeviceSection[], dest: readonly DeviceSection[]): Anomaly[] {
  const have = new Set(stream.map((s) => `${s.idstr}\0${s.instance}`));
  return dest
    .filter((d) => !have.has(`${d.idstr}\0${d.instance}`))
    .map((d) => ({
      ...base('section-only-on-destination', false, `the destination has section '${d.idstr}' instance ${d.instance}, the stream does not: it keeps its reset state`, null),
      device: { idstr: d.idstr, instance: d.instance },
    }));
}
