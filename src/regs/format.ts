/**
 * Text renderings of register ids: QEMU's own (for matching its error messages) and a richer one.
 * @module
 */
import { decodeRegId, RegGroup, SVE_VLS_ID, type DecodedRegId } from './kvm-id.js';

const U64_MASK = (1n << 64n) - 1n;

/** `0x` followed by exactly 16 lowercase hex digits (the value is taken modulo 2^64). */
export function hex64(x: bigint): string {
  return '0x' + (x & U64_MASK).toString(16).padStart(16, '0');
}

/**
 * The text QEMU 10.2's `kvm_print_register_name()` (target/arm/kvm.c) produces for an id, as in
 * "Could not set register op0:3 op1:0 crn:2 crm:0 op2:3: unknown to KVM".
 *
 * Like QEMU it switches on bits 27–16 only, whatever the architecture byte, and reproduces its
 * SVE quirk: P registers and FFR print as `SVE ???` (the masked index is compared with 0x04 and
 * 0x06 instead of 0x400 and 0x600). Everything else, including every AArch32 id, prints as the
 * id in lowercase hex without `0x`.
 */
export function qemuFieldText(id: bigint): string {
  const v = id & U64_MASK;
  const index = Number(v & 0xffffn);
  switch (Number((v >> 16n) & 0xfffn)) {
    case RegGroup.CORE:
      return `core reg ${v.toString(16)}`;
    case RegGroup.DEMUX:
      return `demuxed reg ${v.toString(16)}`;
    case RegGroup.SYSREG:
      return (
        `op0:${(index >> 14) & 3} op1:${(index >> 11) & 7} crn:${(index >> 7) & 15} ` +
        `crm:${(index >> 3) & 15} op2:${index & 7}`
      );
    case RegGroup.FW:
      return `fw reg ${index}`;
    case RegGroup.SVE:
      if (v === SVE_VLS_ID) return 'SVE VLS';
      // QEMU: switch (sve_reg & 0xfc00) { case 0: … case 0x04: … case 0x06: … }
      return (index & 0xfc00) === 0 ? `SVE zreg n:${(index & 0x03e0) >> 5} slice:${index & 0x1f}` : 'SVE ???';
    case RegGroup.FW_FEAT_BMAP:
      return `fw feat reg ${index}`;
    default:
      return v.toString(16);
  }
}

/**
 * Field rendering of an AArch32 cpreg id, e.g. `p15 opc1:0 crn:1 crm:0 opc2:0 ns` or
 * `p15 64-bit opc1:0 crm:2 ns`; the trailing `ns`/`s` is QEMU's bit 29 (non-secure / secure bank).
 * Returns null for other ids.
 */
export function cpFieldText(id: bigint): string | null {
  const d = decodeRegId(id);
  if (d.groupName !== 'cp14' && d.groupName !== 'cp15') return null;
  const bank = d.ns ? 'ns' : 's';
  if (d.is64) {
    // MCRR/MRRC encodings have no CRn/opc2; show them only if an odd id sets them.
    const extra = d.crn || d.opc2 ? ` crn:${d.crn} opc2:${d.opc2}` : '';
    return `p${d.cp} 64-bit opc1:${d.opc1} crm:${d.crm}${extra} ${bank}`;
  }
  return `p${d.cp} opc1:${d.opc1} crn:${d.crn} crm:${d.crm} opc2:${d.opc2} ${bank}`;
}

/**
 * vmstate's field rendering: {@link cpFieldText} for AArch32 ids (where QEMU prints only hex),
 * the readable SVE forms QEMU meant to print, otherwise {@link qemuFieldText}.
 */
export function regFieldText(id: bigint): string {
  const d: DecodedRegId = decodeRegId(id);
  if (d.groupName === 'cp14' || d.groupName === 'cp15') return cpFieldText(id)!;
  if (d.groupName === 'sve') {
    if (d.sveKind === 'p') return `SVE preg n:${d.n} slice:${d.slice}`;
    if (d.sveKind === 'ffr') return `SVE ffr slice:${d.slice}`;
  }
  return qemuFieldText(id);
}
