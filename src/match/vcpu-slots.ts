/**
 * What each vCPU's cpreg value slots hold on the measured destinations
 * (./vcpu-slots.generated.ts, scripts/measure-vcpu-slots.py): the vCPUs of one destination can
 * differ — on QEMU 10.0.13 `-cpu max,secure=on` one vCPU's slots are fresh (0) and the other's
 * hold the text of the gdbstub's register XML — so where a destination was measured per vCPU,
 * that measurement is what a missing register is read back from. Which vCPU's array lands in
 * which memory is a race between QEMU's threads, though: on another start a vCPU may hold what
 * another one held when measured (samples/truth/repeat-loads.json).
 * @module
 */
import { idListDigest } from './cpreg-slots.js';
import type { SlotContent } from './raw-access.js';
import type { QemuGeneration } from './generations.js';
import { VCPU_SLOT_IMAGES, type VcpuSlotImage } from './vcpu-slots.generated.js';

/** One vCPU's measured slots. */
export interface MeasuredVcpuSlots {
  /** The images merged (every measured command line of that QEMU, list and vCPU count). */
  images: readonly VcpuSlotImage[];
  /** Per destination index: the slot's content (`unknown` where measurements differed). */
  cells: SlotContent[];
  /**
   * Per destination index: what the slot can hold on another start, besides its measured content
   * — the other vCPUs' measured contents where they differ (null: every vCPU measured alike).
   * Real QEMU 10.0.13 `-cpu max,secure=on` (vCPU 0 fresh, vCPU 1 text when measured) loaded one
   * file 1 time of 10 idle and 5 of 12 busy; 11.1 `cortex-a15,secure=on` failed on vCPU 0 in 3
   * loads of 10, where only vCPU 1 held text when measured. Where every vCPU measured alike (11.1
   * `max` with EL2) the loads follow the measurement (22 of 22).
   */
  others: SlotContent[][] | null;
}

const parse = (c: string): SlotContent => (c === 'w' ? 'wide' : c === '?' ? 'unknown' : BigInt('0x' + c));

/** The part of a QEMU version line that names a generation's builds. */
export function generationVersion(generation: QemuGeneration | null): string | null {
  return generation === '7.2' ? 'version 7.2.' : generation === '10.x' ? 'version 10.' : generation === '11.1' ? 'version 11.1.' : null;
}

const cache = new Map<string, MeasuredVcpuSlots | null>();

/**
 * The measured slots of vCPU `instance` of a destination list (ascending ids) on a QEMU whose
 * version line contains `qemu`, merged over every measured command line with that list (a
 * cell differing between them is unknown); null when none was measured.
 */
export function measuredVcpuSlots(ids: readonly bigint[], qemu: string, instance: number): MeasuredVcpuSlots | null {
  const digest = idListDigest(ids);
  const key = `${qemu}\n${digest}\n${instance}`;
  const hit = cache.get(key);
  if (hit !== undefined) return hit;
  const images = VCPU_SLOT_IMAGES.filter((m) => m.digest === digest && m.count === ids.length && m.qemu.includes(qemu) && instance < m.vcpus.length);
  const vcpus = images.map((m) => m.vcpus.map((v) => v.split(',').map(parse)));
  let out: MeasuredVcpuSlots | null = null;
  if (vcpus.length) {
    const cells = vcpus.map((v) => v[instance]!).reduce((acc, mine) => acc.map((c, i) => (c === mine[i] ? c : 'unknown')));
    const others = cells.map((own, i) => [...new Set(vcpus.flatMap((v) => v.map((cpu) => cpu[i]!)))].filter((c) => c !== own));
    out = { images, cells, others: others.some((o) => o.length > 0) ? others : null };
  }
  cache.set(key, out);
  return out;
}
