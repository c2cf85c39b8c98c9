/**
 * Checks outside the cpreg arrays that refuse a stream before or around the `cpu` section:
 * unknown `cpu/…` subsections and the configuration item's machine type.
 * @module
 */
import type { Anomaly } from './anomalies.js';
import type { CpuSubsection } from './destination.js';

const parentOf = (name: string): string => name.slice(0, Math.max(0, name.lastIndexOf('/')));

/**
 * Subsections of the stream's `cpu` section that the destination would refuse: names it does
 * not know (QEMU looks each up in the parent's list and fails with ENOENT), and versions newer
 * than its own (QEMU keeps the low 8 bits of the version). A nested subsection under an unknown
 * parent is not reported again, since QEMU stops at the parent.
 */
export function compareSubsections(stream: readonly CpuSubsection[], dest: readonly CpuSubsection[]): Anomaly[] {
  const known = new Map(dest.map((s) => [s.name, s.version]));
  const unknown = new Set<string>();
  const out: Anomaly[] = [];
  for (const s of stream) {
    const parent = parentOf(s.name);
    if (unknown.has(parent)) {
      unknown.add(s.name);
      continue;
    }
    const local = known.get(s.name);
    if (local === undefined) {
      unknown.add(s.name);
      out.push({
        kind: 'unknown-subsection',
        fatal: true,
        id: null,
        reg: null,
        name: s.name,
        message: `the stream carries subsection '${s.name}', which the destination does not know`,
        qemuText: `VM subsection '${s.name}' in '${parent}' does not exist`,
        detail: { version: s.version },
      });
      continue;
    }
    const incoming = s.version & 0xff;
    if (incoming > local) {
      out.push({
        kind: 'subsection-version',
        fatal: true,
        id: null,
        reg: null,
        name: s.name,
        message: `subsection '${s.name}' has version ${incoming}; the destination's is ${local}`,
        qemuText: `${s.name}: incoming version_id ${incoming} is too new for local version_id ${local}`,
        detail: { version: incoming, localVersion: local },
      });
    }
  }
  return out;
}

/**
 * Subsections of the stream that the destination knows but would crash on: each of `crashing`
 * that the stream carries while the destination's own stream (`own`) does not, because the
 * destination has no object to load it into. QEMU aborts instead of refusing the stream.
 */
export function subsectionCrashes(
  stream: readonly CpuSubsection[],
  own: readonly CpuSubsection[],
  crashing: readonly { name: string; why: string; qemuText: string }[],
): Anomaly[] {
  const mine = new Set(own.map((s) => s.name));
  const out: Anomaly[] = [];
  for (const c of crashing) {
    const s = stream.find((x) => x.name === c.name);
    if (!s || mine.has(c.name)) continue;
    out.push({
      kind: 'unknown-subsection',
      fatal: true,
      id: null,
      reg: null,
      name: c.name,
      message: `the stream carries subsection '${c.name}', which the destination knows but cannot take: ${c.why}; QEMU aborts`,
      qemuText: c.qemuText,
      note: 'the destination process crashes (assertion, SIGABRT) instead of refusing the stream',
      detail: { version: s.version, outcome: 'crash' },
    });
  }
  return out;
}

/**
 * The configuration item's machine type check: QEMU compares the first `len(src)` characters,
 * so it passes when the received name is a prefix of the local one (`virt` vs `virt-7.2`) and
 * fails otherwise. `dst` must be the destination's canonical name (`virt-7.2`, not `virt`).
 * Returns null when the check passes.
 */
export function compareMachineType(src: string, dst: string): Anomaly | null {
  if (dst.startsWith(src)) return null;
  return {
    kind: 'machine-type',
    fatal: true,
    id: null,
    reg: null,
    name: null,
    message: `the stream was saved with machine type '${src}'; the destination runs '${dst}'`,
    qemuText: `Machine type received is '${src}' and local is '${dst}'`,
    detail: { received: src, local: dst },
  };
}
