/**
 * What a TCG destination's cpreg value slots hold when a register is missing from the stream.
 * `arm_init_cpreg_list()` allocates `cpreg_values` with `g_new()` and nothing fills it on a
 * destination, so a missing register is raw-written from whatever that memory held. On QEMU 7.2
 * and 10.0 it is fresh heap memory (every slot reads 0, measured); on QEMU 11.1 it is reused
 * memory (freed while the gdbstub's system-register XML was built) and the slots hold stale
 * data, which ./cpreg-slots.generated.ts records per measured QEMU build and register list
 * (scripts/measure-cpreg-slots.py).
 * @module
 */
import { createHash } from 'node:crypto';
import { hex64 } from '../regs/index.js';
import { SLOT_IMAGES, type SlotImage } from './cpreg-slots.generated.js';
import type { SlotContent } from './raw-access.js';

/** A measured slot image for one destination register list. */
export interface MeasuredSlots {
  image: SlotImage;
  /** Per destination index: the slot's content (`unknown` where the measured runs differed). */
  cells: SlotContent[];
}

const parsed = new Map<SlotImage, SlotContent[]>();
const byList = new Map<string, MeasuredSlots | null>();

/** The digest images are keyed by: SHA-256 of the ids as `0x` + 16 hex digits, one per line. */
export function idListDigest(ids: readonly bigint[]): string {
  const h = createHash('sha256');
  for (const id of ids) h.update(`${hex64(id)}\n`);
  return h.digest('hex');
}

function cellsOf(image: SlotImage): SlotContent[] {
  let c = parsed.get(image);
  if (!c) {
    c = image.slots.split(',').map((s): SlotContent => (s === 'w' ? 'wide' : s === '?' ? 'unknown' : BigInt('0x' + s)));
    parsed.set(image, c);
  }
  return c;
}

/**
 * The measured slots of a destination list (ascending ids) on a QEMU whose version line
 * contains `qemu` (e.g. `version 11.1.`), or null when that list was not measured.
 */
export function measuredSlots(ids: readonly bigint[], qemu: string): MeasuredSlots | null {
  const digest = idListDigest(ids);
  const key = `${qemu}\n${digest}`;
  if (byList.has(key)) return byList.get(key)!;
  const image = SLOT_IMAGES.find((m) => m.digest === digest && m.count === ids.length && m.qemu.includes(qemu));
  const out = image ? { image, cells: cellsOf(image) } : null;
  byList.set(key, out);
  return out;
}
