/**
 * What an edit means for the guest. Adopting a destination value the guest can observe changes
 * what it was told about its machine, so it is done only for the classes the user names;
 * removing a register at its reset value loses nothing, removing one whose value shows that the
 * guest uses a feature (an enabled control, a hypercall service offered) loses that state.
 * @module
 */
import { decodeRegId, lookupRegs, isIdRegister, type Accel } from '../regs/index.js';

/** Classes of registers whose destination values `--adopt-dest-values` takes by name. */
export const ADOPT_CLASSES = ['id-regs', 'cache-geometry', 'psci-version', 'fw-workarounds', 'hypercall-bitmaps'] as const;
/** One of {@link ADOPT_CLASSES}. */
export type AdoptClass = (typeof ADOPT_CLASSES)[number];

/** What the guest was told through each class: what changes when the destination's value is taken. */
export const ADOPT_MEANING: Readonly<Record<AdoptClass, string>> = {
  'id-regs': 'the CPU features and identification the guest read at boot (ID registers)',
  'cache-geometry': 'the cache sizes, line lengths and associativity the guest read (CCSIDR)',
  'psci-version': 'the PSCI firmware interface version the guest probed',
  'fw-workarounds': 'the firmware mitigation (SMCCC workaround) states the guest probed',
  'hypercall-bitmaps': 'the hypervisor services offered to the guest (KVM hypercall bitmaps)',
};

/** Whether `s` names a class. */
export function isAdoptClass(s: string): s is AdoptClass {
  return (ADOPT_CLASSES as readonly string[]).includes(s);
}

/** The class of a register whose value the guest observes, or null. */
export function adoptClassOf(id: bigint): AdoptClass | null {
  const d = decodeRegId(id);
  switch (d.groupName) {
    case 'demux':
      return 'cache-geometry';
    case 'fw':
      return d.index === 0 ? 'psci-version' : 'fw-workarounds';
    case 'fw-feat-bmap':
      return 'hypercall-bitmaps';
    case 'sysreg':
      // CCSIDR_EL1, CCSIDR2_EL1
      if (d.op0 === 3 && d.op1 === 1 && d.crn === 0 && d.crm === 0 && (d.op2 === 0 || d.op2 === 2)) return 'cache-geometry';
      break;
    case 'cp15':
      // CCSIDR, CCSIDR2
      if (!d.is64 && d.opc1 === 1 && d.crn === 0 && d.crm === 0 && (d.opc2 === 0 || d.opc2 === 2)) return 'cache-geometry';
      break;
  }
  return isIdRegister(id) ? 'id-regs' : null;
}

/** KVM's `reset_unknown` pattern: what a register the guest never wrote holds under KVM. */
export const KVM_RESET_UNKNOWN = 0x1de7ec7edbadc0den;

/**
 * Registers whose value other than the reset value shows that the guest turned a feature on:
 * by architectural name, with the feature. Hypercall bitmaps are handled by their class.
 */
const FEATURE_REGISTERS: readonly [names: string[], feature: string][] = [
  [['SCTLR2_EL1', 'SCTLR2_EL2', 'SCTLR2_EL3'], 'FEAT_SCTLR2 (extended system control)'],
  [['TCR2_EL1', 'TCR2_EL2'], 'FEAT_TCR2 (extended translation control)'],
  [['PIRE0_EL1', 'PIR_EL1', 'PIRE0_EL2', 'PIR_EL2', 'PIR_EL3'], 'FEAT_S1PIE (permission indirection)'],
  [['POR_EL0', 'POR_EL1', 'POR_EL2'], 'FEAT_S1POE (permission overlays)'],
  [['FPMR'], 'FEAT_FPMR (FP8 mode register)'],
  [['GCSCR_EL1', 'GCSPR_EL1', 'GCSCRE0_EL1', 'GCSPR_EL0', 'GCSCR_EL2', 'GCSPR_EL2', 'GCSCR_EL3', 'GCSPR_EL3'], 'FEAT_GCS (guarded control stacks)'],
  [['MAIR2_EL1', 'AMAIR2_EL1', 'MAIR2_EL2', 'AMAIR2_EL2'], 'FEAT_AIE (extended memory attributes)'],
  [['TPIDR2_EL0', 'SMCR_EL1', 'SVCR'], 'FEAT_SME (scalable matrix extension)'],
  [['HCRX_EL2'], 'FEAT_HCX (extended hypervisor configuration)'],
];

let featureIndex: Map<bigint, string> | null = null;

function features(): Map<bigint, string> {
  if (!featureIndex) {
    featureIndex = new Map();
    for (const [names, feature] of FEATURE_REGISTERS) for (const n of names) for (const id of lookupRegs(n)) featureIndex.set(id, feature);
  }
  return featureIndex;
}

/** How removing a register affects the guest. */
export type RemovalEffect =
  /** At its reset value: nothing the guest did is lost. */
  | 'reset-value'
  /** Its value is dropped; the destination keeps its own (state it does not migrate). */
  | 'value-dropped'
  /** Its value shows the guest uses a feature the destination lacks: refused unless forced. */
  | 'feature-in-use';

/** What removing register `id` holding `value` means for the guest, with the reason in words. */
export function removalEffect(id: bigint, value: bigint, accel: Accel): { effect: RemovalEffect; note: string } {
  const resetValue = value === 0n || (accel === 'kvm' && value === KVM_RESET_UNKNOWN);
  if (adoptClassOf(id) === 'hypercall-bitmaps') {
    if (value === 0n) return { effect: 'reset-value', note: 'no hypercall service enabled' };
    return { effect: 'feature-in-use', note: `hypercall services enabled for the guest (bitmap ${bits(value)}) that the destination does not offer` };
  }
  const feature = features().get(id);
  if (feature) {
    if (resetValue) return { effect: 'reset-value', note: `at its reset value: the guest does not use ${feature}` };
    return { effect: 'feature-in-use', note: `its value shows the guest uses ${feature}, which the destination lacks; that state would be lost` };
  }
  if (resetValue) return { effect: 'reset-value', note: 'at its reset value' };
  return { effect: 'value-dropped', note: 'its value is dropped: the destination does not migrate this register' };
}

/** Set bits of a value, as `bits 0, 3`. */
function bits(v: bigint): string {
  const out: number[] = [];
  for (let i = 0; i < 64; i++) if ((v >> BigInt(i)) & 1n) out.push(i);
  return `bit${out.length > 1 ? 's' : ''} ${out.join(', ')}`;
}
