/**
 * Guest write functions that only mask the value they are given (TCG raw writes of these
 * registers run them, see ./raw-access.ts): what such a write keeps decides whether a value
 * reads back. From QEMU's target/arm definitions (FEAT_MEC, FEAT_SCTLR2, FEAT_TCR2; QEMU 10.1
 * and later) and confirmed by real QEMU 11.1 loads of a stream lacking one register each
 * (samples/truth/device-probes.json, `probe/11.1/missing-*`).
 * @module
 */

/**
 * What a masking write keeps. `exact`: the write is `value & keeps` stored as is, so a value
 * within `keeps` reads back; otherwise `keeps` bounds what is kept (the exact mask depends on
 * the CPU's features), so only a value outside it is known to fail.
 */
export interface WriteMask {
  keeps: bigint;
  exact: boolean;
}

/** `mecid_write`: `extract64(value, 0, MECID_WIDTH)`, MECID_WIDTH 16. */
const MECID: WriteMask = { keeps: 0xffffn, exact: true };
/** `sctlr2_el*_write`, `tcr2_el*_write`: `value &= valid_mask`, every valid bit below 32. */
const LOW32: WriteMask = { keeps: 0xffff_ffffn, exact: false };

/** By register id (AArch64 sysreg ids as KVM and QEMU's cpreg list write them). */
export const WRITE_MASKS: ReadonlyMap<bigint, WriteMask> = new Map([
  [0x603000000013e540n, MECID], // MECID_P0_EL2
  [0x603000000013e541n, MECID], // MECID_A0_EL2
  [0x603000000013e542n, MECID], // MECID_P1_EL2
  [0x603000000013e543n, MECID], // MECID_A1_EL2
  [0x603000000013e548n, MECID], // VMECID_P_EL2
  [0x603000000013e549n, MECID], // VMECID_A_EL2
  [0x603000000013f551n, MECID], // MECID_RL_A_EL3
  [0x603000000013c083n, LOW32], // SCTLR2_EL1
  [0x603000000013e083n, LOW32], // SCTLR2_EL2
  [0x603000000013f083n, LOW32], // SCTLR2_EL3
  [0x603000000013c103n, LOW32], // TCR2_EL1
  [0x603000000013e103n, LOW32], // TCR2_EL2
]);
