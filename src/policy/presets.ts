/**
 * Built-in policies for the known real cases (see docs/loaders.md).
 * @module
 */
import { policyError } from './errors.js';
import type { Policy } from './policy.js';

/** AArch32 view QEMU TCG once exposed for DBGDTR_EL0 (cp14 opc1 3, c0, c5, 0; bit 29 = NS). */
export const DBGDTRTX_BOGUS_ID = 0x40200000200e0298n;
/** TCR2_EL1 (op0 3, op1 0, CRn 2, CRm 0, op2 3): exposed unconditionally by KVM before Linux 6.13. */
export const TCR2_EL1_ID = 0x603000000013c103n;
/** PIRE0_EL1 (3, 0, 10, 2, 2): exposed unconditionally by KVM before Linux 6.13. */
export const PIRE0_EL1_ID = 0x603000000013c512n;
/** PIR_EL1 (3, 0, 10, 2, 3): exposed unconditionally by KVM before Linux 6.13. */
export const PIR_EL1_ID = 0x603000000013c513n;
/** KVM_REG_ARM_VENDOR_HYP_BMAP_2 (firmware bitmap 3): new in recent kernels. */
export const VENDOR_HYP_BMAP_2_ID = 0x6030000000160003n;

const ALL_ONES = (1n << 64n) - 1n;

const PRESET_LIST: readonly Policy[] = [
  {
    name: 'virt-10.2',
    description:
      'Compat of the January 2026 series for virt-10.2 and older: the bogus AArch32 DBGDTRTX that ' +
      'QEMU ≤ 10.2 TCG saved may be in the stream (x-mig-safe-missing-regs=0x40200000200e0298).',
    rules: [{ kind: 'safe-missing', reg: DBGDTRTX_BOGUS_ID, note: 'bogus AArch32 DBGDTRTX (cp14 3, c0, c5, 0)' }],
  },
  {
    name: 'kernel-compat-10.1',
    description:
      'Series properties for hosts with different kernels: VENDOR_HYP_BMAP_2 hidden; TCR2_EL1, ' +
      'PIRE0_EL1 and PIR_EL1 (exposed by kernels before 6.13) may be in the stream.',
    rules: [
      { kind: 'hidden', reg: VENDOR_HYP_BMAP_2_ID, note: 'KVM_REG_ARM_VENDOR_HYP_BMAP_2' },
      { kind: 'safe-missing', reg: TCR2_EL1_ID, note: 'TCR2_EL1' },
      { kind: 'safe-missing', reg: PIRE0_EL1_ID, note: 'PIRE0_EL1' },
      { kind: 'safe-missing', reg: PIR_EL1_ID, note: 'PIR_EL1' },
    ],
  },
  {
    name: 'qemu-11.1-host',
    description:
      'Tolerances QEMU 11.1 registers for -cpu host (and -cpu max) under KVM: TCR2_EL1, PIRE0_EL1, ' +
      'PIR_EL1 may be on one side only; VENDOR_HYP_BMAP_2 may be only in the stream if it is 0.',
    rules: [
      { kind: 'not-on-both-ends', reg: TCR2_EL1_ID, note: 'TCR2_EL1' },
      { kind: 'not-on-both-ends', reg: PIRE0_EL1_ID, note: 'PIRE0_EL1' },
      { kind: 'not-on-both-ends', reg: PIR_EL1_ID, note: 'PIR_EL1' },
      {
        kind: 'only-src-test-value',
        reg: VENDOR_HYP_BMAP_2_ID,
        mask: ALL_ONES,
        value: 0n,
        note: 'KVM_REG_ARM_VENDOR_HYP_BMAP_2 at its reset value',
      },
    ],
  },
];

/** Names of the built-in presets. */
export function presetNames(): string[] {
  return PRESET_LIST.map((p) => p.name);
}

/**
 * A built-in preset by name (a fresh copy; callers may modify it).
 * @throws UsageError (`data.reason` `unknown-preset`)
 */
export function presetPolicy(name: string): Policy {
  const p = PRESET_LIST.find((q) => q.name === name);
  if (!p) {
    throw policyError('unknown-preset', `unknown policy preset '${name}' (known: ${presetNames().join(', ')})`, {
      preset: name,
    });
  }
  return { ...p, rules: p.rules.map((r) => ({ ...r })) };
}
