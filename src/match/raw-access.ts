/**
 * TCG's migration read-back, per register: `write_list_to_cpustate()` (target/arm/helper.c)
 * raw-writes every migrated register from its value slot and reads it back; a difference fails
 * the load. Whether a value survives depends on how the register's raw write is defined, which
 * ./cpreg-access.generated.ts records per QEMU generation (from QEMU's own ARMCPRegInfo
 * definitions, see scripts/gen-cpreg-access.mjs).
 * @module
 */
import { decodeRegId, idToCpregKey } from '../regs/index.js';
import { CPREG_ACCESS, type RawWriteKindName } from './cpreg-access.generated.js';
import type { QemuGeneration } from './generations.js';
import { writeMask, type WriteMask } from './write-masks.js';

/**
 * How a register's raw write behaves:
 * - `const`: ARM_CP_CONST — the write is ignored and the read gives the constant;
 * - `ignore`: the raw write is `arm_cp_write_ignore`, the read gives what the register computes
 *   (fixed, like a constant);
 * - `writefn`: the raw write runs the guest write function, which may drop or change bits;
 * - `rawfn`: a raw write function of its own;
 * - `plain`: a store into the register's field (32 bits wide for an AArch32 register whose id
 *   is 32-bit, see {@link isNarrow}).
 */
export type RawWriteKind = RawWriteKindName | 'plain';

type Table = ReadonlyMap<number, RawWriteKindName>;

const RANK: Readonly<Record<RawWriteKind, number>> = { const: 0, ignore: 1, writefn: 2, rawfn: 3, plain: 4 };

function build(gen: '7.2' | '10.x'): Map<number, RawWriteKindName> {
  const m = new Map<number, RawWriteKindName>();
  const t = CPREG_ACCESS[gen];
  for (const kind of ['const', 'ignore', 'writefn', 'rawfn'] as const) for (const key of t[kind]) m.set(key, kind);
  return m;
}

const T72 = build('7.2');
const T10 = build('10.x');
/** For a destination of unknown generation: the less raw-writable kind of the two. */
const TANY = (() => {
  const m = new Map(T72);
  for (const [k, v] of T10) {
    const old = m.get(k);
    if (!old || RANK[v] < RANK[old]) m.set(k, v);
  }
  return m;
})();

/**
 * The table for a generation. QEMU 11.1's sources are not available as a source package; its
 * table is the 10.x one (QEMU 10.2.2), see docs/loaders.md. Null: union of 7.2 and 10.x.
 */
function tableFor(gen: QemuGeneration | null): Table {
  if (gen === '7.2') return T72;
  if (gen === '10.x' || gen === '11.1') return T10;
  return TANY;
}

/** Only QEMU's own system registers (AArch64 sysregs, AArch32 cp14/cp15) have definitions. */
function isCpreg(id: bigint): boolean {
  const d = decodeRegId(id);
  return d.groupName === 'sysreg' || d.groupName === 'cp14' || d.groupName === 'cp15';
}

/** How `id`'s raw write behaves on a QEMU of generation `gen` (null: either of 7.2 and 10.x). */
export function rawWriteKind(id: bigint, gen: QemuGeneration | null): RawWriteKind {
  if (!isCpreg(id)) return 'plain';
  return tableFor(gen).get(idToCpregKey(id)) ?? 'plain';
}

/** The mask `id`'s raw write applies, where it runs a write function that only masks. */
export function maskingWrite(id: bigint, kind: RawWriteKind): WriteMask | undefined {
  return kind === 'writefn' ? writeMask(id) : undefined;
}

/** An AArch32 register with a 32-bit id: its raw access is 32 bits wide (raw_write/raw_read). */
export function isNarrow(id: bigint): boolean {
  const d = decodeRegId(id);
  return d.arch === 'arm' && d.sizeCode === 2;
}

const WIDE = 1n << 32n;

/** What a value slot is known to hold: a value, "some value ≥ 2^32", or nothing known. */
export type SlotContent = bigint | 'wide' | 'unknown';

/**
 * Whether writing `slot` into register `id` and reading it back gives `slot`: true, false, or
 * null when it cannot be told (a guest write function of unknown effect, or an unknown slot).
 * `fixed` is the value a `const`/`ignore` register reads as (the destination's own value).
 */
export function readsBack(id: bigint, slot: SlotContent, kind: RawWriteKind, fixed: bigint | null): boolean | null {
  if (kind === 'const' || kind === 'ignore') {
    if (fixed === null || slot === 'unknown') return null;
    if (slot === 'wide') return fixed < WIDE ? false : null;
    return slot === fixed;
  }
  if (isNarrow(id)) {
    if (slot === 'wide') return false;
    if (typeof slot === 'bigint' && slot >= WIDE) return false;
  }
  if (kind === 'plain') return slot === 'unknown' && isNarrow(id) ? null : true;
  // A write function that only masks: what it keeps decides.
  const mask = maskingWrite(id, kind);
  if (mask && slot === 'wide' && mask.keeps < WIDE) return false;
  if (mask && typeof slot === 'bigint') {
    if ((slot & ~mask.keeps) !== 0n) return false;
    if (mask.exact) return true;
  }
  // writefn / rawfn: writing 0 or the register's current value is taken to keep it
  if (typeof slot === 'bigint' && (slot === 0n || slot === fixed)) return true;
  return null;
}
