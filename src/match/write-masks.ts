/**
 * Guest write functions that only mask the value they are given (TCG raw writes of these
 * registers run them, see ./raw-access.ts): what such a write keeps decides whether a value
 * reads back. From QEMU's target/arm definitions (FEAT_MEC, FEAT_SCTLR2, FEAT_TCR2; QEMU 10.1
 * and later) and confirmed by real QEMU 11.1 loads of a stream lacking one register each
 * (samples/truth/device-probes.json, `probe/11.1/missing-*`).
 * @module
 */
import { lookupRegs } from '../regs/index.js';

/**
 * What a masking write keeps. `exact`: the write is `value & keeps` stored as is, so a value
 * within `keeps` reads back; otherwise `keeps` bounds what is kept (the exact mask depends on
 * the CPU's features), so only a value outside it is known to fail.
 */
export interface WriteMask {
  keeps: bigint;
  exact: boolean;
}

/** Each mask and the registers whose write applies it. */
const MASKED: readonly { mask: WriteMask; names: readonly string[] }[] = [
  // mecid_write: extract64(value, 0, MECID_WIDTH), MECID_WIDTH 16
  {
    mask: { keeps: 0xffffn, exact: true },
    names: ['MECID_P0_EL2', 'MECID_A0_EL2', 'MECID_P1_EL2', 'MECID_A1_EL2', 'VMECID_P_EL2', 'VMECID_A_EL2', 'MECID_RL_A_EL3'],
  },
  // sctlr2_el*_write, tcr2_el*_write: value &= valid_mask, every valid bit below 32
  { mask: { keeps: 0xffff_ffffn, exact: false }, names: ['SCTLR2_EL1', 'SCTLR2_EL2', 'SCTLR2_EL3', 'TCR2_EL1', 'TCR2_EL2'] },
];

/** Built on first use: only a register missing from the stream on a TCG destination asks. */
let byId: ReadonlyMap<bigint, WriteMask> | undefined;

/** The mask register `id`'s write function applies, if it only masks. */
export function writeMask(id: bigint): WriteMask | undefined {
  byId ??= new Map(MASKED.flatMap(({ mask, names }) => names.flatMap((n) => lookupRegs(n).map((r) => [r, mask] as const))));
  return byId.get(id);
}
