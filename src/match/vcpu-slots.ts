/**
 * What each vCPU's cpreg value slots hold on the measured destinations
 * (./vcpu-slots.generated.ts, scripts/measure-vcpu-slots.py): the vCPUs of one destination can
 * differ — on QEMU 10.0.13 `-cpu max,secure=on` one vCPU's slots are fresh (0) and the other's
 * hold the text of the gdbstub's register XML — so where a destination was measured per vCPU,
 * that measurement is what a missing register is read back from.
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
   * Whether this vCPU's array was reused memory (a slot not 0) while another vCPU's was fresh
   * (all 0). Such a split is a race between QEMU's threads: real QEMU 10.0.13
   * `-cpu max,secure=on` loaded one file 1 time of 10 idle and 5 of 12 busy
   * (samples/truth/repeat-loads.json) though every measured start put vCPU 1 in reused memory,
   * so its slots may as well all read 0. Where every vCPU is reused (QEMU 11.1) the loads
   * follow the measurement (22 of 22).
   */
  split: boolean;
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
  let cells: SlotContent[] | null = null;
  let split = false;
  for (const m of images) {
    const mine = m.vcpus[instance]!.split(',').map(parse);
    cells = cells ? cells.map((c, i) => (c === mine[i] ? c : 'unknown')) : mine;
    const fresh = m.vcpus.map((v) => /^0(,0)*$/.test(v));
    split ||= !fresh[instance] && fresh.includes(true);
  }
  const out = cells ? { images, cells, split } : null;
  cache.set(key, out);
  return out;
}
