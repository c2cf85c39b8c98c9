/**
 * What each destination QEMU generation knows about device state: every VMStateDescription by
 * name with the versions it loads and the subsections it knows (./known-devices.generated.ts,
 * read from the QEMU builds themselves by scripts/gen-known-devices.mjs). A destination's own
 * stream under-states this: a subsection that was not needed when it saved is still known.
 * @module
 */
import type { CpuSubsection, KnownVmsd, KnownVmsds, QemuGeneration } from '../match/index.js';
import { KNOWN_DEVICES_SOURCE, KNOWN_VMSDS, type KnownVmsdEntry } from './known-devices.generated.js';

export { KNOWN_DEVICES_SOURCE };

const decode = (name: string, e: KnownVmsdEntry): KnownVmsd => ({
  version: e[0],
  minimum: e[1],
  subsections: e[2].map((s) => (s.startsWith('~/') ? name + s.slice(1) : s)),
});

const cache = new Map<QemuGeneration, Map<string, KnownVmsd | undefined>>();

/**
 * The descriptions a generation's QEMU has, by name (undefined for a name it does not have or
 * this tool does not know); null for an unknown generation. For example, QEMU 7.2's
 * `arm_gicv3_cpu` lists `arm_gicv3_cpu/virt`, `…/sre_el1` and `…/gicv4`; 10.0 adds `…/nmi`.
 */
export function knownVmsds(generation: QemuGeneration | null): KnownVmsds | null {
  if (!generation) return null;
  let m = cache.get(generation);
  if (!m) cache.set(generation, (m = new Map()));
  const table = KNOWN_VMSDS[generation];
  const memo = m;
  return (name) => {
    if (!memo.has(name)) memo.set(name, Object.hasOwn(table, name) ? decode(name, table[name]!) : undefined);
    return memo.get(name);
  };
}

/** Every subsection of `cpu` a generation knows, nested ones included, with its version. */
export function knownCpuSubsections(generation: QemuGeneration): CpuSubsection[] {
  const known = knownVmsds(generation)!;
  const out: CpuSubsection[] = [];
  const visit = (name: string): void => {
    for (const s of known(name)?.subsections ?? []) {
      out.push({ name: s, version: known(s)?.version ?? 1 });
      visit(s);
    }
  };
  visit('cpu');
  return out;
}
