/**
 * KVM ONE_REG register ids as found in the `cpu` section's cpreg arrays: decoding and encoding.
 *
 * Layout (64 bits): architecture in 63–56, size code in 55–52 (register is 2^code bytes),
 * zero in 51–30, QEMU's AArch32 "non-secure" flag in bit 29, group ("coprocessor") in 27–16,
 * group-specific index in 15–0.
 * @module
 */

/** Architecture byte (bits 63–56) of 32-bit ARM ids (also QEMU's AArch32 cpreg ids). */
export const KVM_REG_ARM = 0x4000000000000000n;
/** Architecture byte (bits 63–56) of arm64 ids. */
export const KVM_REG_ARM64 = 0x6000000000000000n;

/** Size field (bits 55–52) of an 8-bit register. */
export const KVM_REG_SIZE_U8 = 0x0000000000000000n;
/** 16-bit register. */
export const KVM_REG_SIZE_U16 = 0x0010000000000000n;
/** 32-bit register. */
export const KVM_REG_SIZE_U32 = 0x0020000000000000n;
/** 64-bit register. */
export const KVM_REG_SIZE_U64 = 0x0030000000000000n;
/** 128-bit register. */
export const KVM_REG_SIZE_U128 = 0x0040000000000000n;
/** 256-bit register. */
export const KVM_REG_SIZE_U256 = 0x0050000000000000n;
/** 512-bit register. */
export const KVM_REG_SIZE_U512 = 0x0060000000000000n;
/** 2048-bit register. */
export const KVM_REG_SIZE_U2048 = 0x0080000000000000n;

/** QEMU's non-secure flag for AArch32 ids (bit 29); never set in kernel ids. */
export const QEMU_NS_BIT = 0x20000000n;

/** Group numbers (bits 27–16). */
export const RegGroup = {
  /** AArch32 cp14 (debug/trace); QEMU TCG only. */
  CP14: 0x000e,
  /** AArch32 cp15. */
  CP15: 0x000f,
  /** Core registers: index = 32-bit word offset into `struct kvm_regs`. */
  CORE: 0x0010,
  /** Demultiplexed registers (CCSIDR by CSSELR). */
  DEMUX: 0x0011,
  /** VFP registers of the old 32-bit ARM KVM host. */
  VFP: 0x0012,
  /** AArch64 system registers. */
  SYSREG: 0x0013,
  /** Firmware pseudo-registers (PSCI version, SMCCC workarounds). */
  FW: 0x0014,
  /** SVE registers. */
  SVE: 0x0015,
  /** Firmware feature bitmap pseudo-registers. */
  FW_FEAT_BMAP: 0x0016,
} as const;

/** Architecture of an id. */
export type RegArch = 'arm64' | 'arm' | 'other';

/** Group of an id, as decoded for its architecture. */
export type RegGroupName =
  | 'cp14'
  | 'cp15'
  | 'core'
  | 'demux'
  | 'vfp'
  | 'sysreg'
  | 'fw'
  | 'sve'
  | 'fw-feat-bmap'
  | 'unknown';

/** Fields common to every decoded id. */
export interface RegIdBase {
  /** The id, as an unsigned 64-bit value. */
  id: bigint;
  /** Architecture from bits 63–56. */
  arch: RegArch;
  /** Raw bits 63–56. */
  archByte: number;
  /** Size code from bits 55–52 (register is 2^code bytes). */
  sizeCode: number;
  /** Register size in bits (8 << sizeCode); 8..2048 for defined codes. */
  size: number;
  /** Group number, bits 27–16. */
  group: number;
  /** Index, bits 15–0. */
  index: number;
  /** Bits 51–28 (QEMU's NS bit 29 included); zero in kernel ids. */
  highBits: number;
}

/** AArch64 system register (group 0x0013). */
export interface SysregId extends RegIdBase {
  groupName: 'sysreg';
  op0: number;
  op1: number;
  crn: number;
  crm: number;
  op2: number;
}

/** AArch32 coprocessor register (groups 0x000e / 0x000f). */
export interface CpregId extends RegIdBase {
  groupName: 'cp14' | 'cp15';
  /** Coprocessor number, 14 or 15. */
  cp: number;
  /** opc1 (4-bit field, architecturally 0–7). */
  opc1: number;
  /** CRn (always 0 for 64-bit registers). */
  crn: number;
  crm: number;
  /** opc2 (always 0 for 64-bit registers). */
  opc2: number;
  /** MCRR/MRRC 64-bit register: the size field is U64. */
  is64: boolean;
  /** QEMU's non-secure flag, bit 29 (clear = secure-bank instance). */
  ns: boolean;
}

/** Core register (group 0x0010). */
export interface CoreRegId extends RegIdBase {
  groupName: 'core';
  /** Register the word offset points at (X0..X30, SP, PC, PSTATE, …), or null. */
  coreName: string | null;
}

/** Demultiplexed register (group 0x0011). */
export interface DemuxRegId extends RegIdBase {
  groupName: 'demux';
  /** Demux id, index bits 15–8 (0 = CCSIDR). */
  demuxId: number;
  /** Selector value, index bits 7–0 (for CCSIDR: the CSSELR value). */
  value: number;
  /** CSSELR value when demuxId is CCSIDR, else null. */
  csselr: number | null;
}

/** Firmware pseudo-register (group 0x0014) or firmware feature bitmap (0x0016). */
export interface FwRegId extends RegIdBase {
  groupName: 'fw' | 'fw-feat-bmap';
  /** Register number (index). */
  reg: number;
}

/** SVE register (group 0x0015). */
export interface SveRegId extends RegIdBase {
  groupName: 'sve';
  sveKind: 'z' | 'p' | 'ffr' | 'vls' | 'unknown';
  /** Register number for Z/P registers, else null. */
  n: number | null;
  /** Slice number for Z/P/FFR, else null. */
  slice: number | null;
}

/** 32-bit ARM KVM VFP register (group 0x0012). */
export interface VfpRegId extends RegIdBase {
  groupName: 'vfp';
}

/** Anything else (unknown group or architecture). */
export interface OtherRegId extends RegIdBase {
  groupName: 'unknown';
}

/** A decoded register id; discriminate on `groupName`. */
export type DecodedRegId =
  | SysregId
  | CpregId
  | CoreRegId
  | DemuxRegId
  | FwRegId
  | SveRegId
  | VfpRegId
  | OtherRegId;

const U64_MASK = (1n << 64n) - 1n;

/** Names of the `struct kvm_regs` fields by 32-bit word offset (arm64). */
export function coreRegName(offset: number): string | null {
  if (offset >= 0 && offset <= 60) return offset % 2 === 0 ? `X${offset / 2}` : null;
  const fixed: Record<number, string> = {
    62: 'SP',
    64: 'PC',
    66: 'PSTATE',
    68: 'SP_EL1',
    70: 'ELR_EL1',
    72: 'SPSR_EL1',
    74: 'SPSR_ABT',
    76: 'SPSR_UND',
    78: 'SPSR_IRQ',
    80: 'SPSR_FIQ',
    212: 'FPSR',
    213: 'FPCR',
  };
  if (fixed[offset]) return fixed[offset];
  // vregs are __uint128_t, 16-byte aligned after spsr[5] (offset 82 is padding).
  if (offset >= 84 && offset < 84 + 32 * 4 && (offset - 84) % 4 === 0) return `V${(offset - 84) / 4}`;
  return null;
}

/**
 * Decodes a register id. Any 64-bit value decodes; sizes other than 64 bits are legal.
 * @param id - the id; negative values are taken modulo 2^64.
 */
export function decodeRegId(id: bigint): DecodedRegId {
  const v = id & U64_MASK;
  const archByte = Number(v >> 56n);
  const sizeCode = Number((v >> 52n) & 0xfn);
  const base: RegIdBase = {
    id: v,
    arch: archByte === 0x60 ? 'arm64' : archByte === 0x40 ? 'arm' : 'other',
    archByte,
    sizeCode,
    size: 8 * 2 ** sizeCode,
    group: Number((v >> 16n) & 0xfffn),
    index: Number(v & 0xffffn),
    highBits: Number((v >> 28n) & 0xffffffn),
  };
  const { arch, group, index } = base;
  if (arch === 'other') return { ...base, groupName: 'unknown' };

  if (arch === 'arm64' && group === RegGroup.SYSREG) {
    return {
      ...base,
      groupName: 'sysreg',
      op0: (index >> 14) & 3,
      op1: (index >> 11) & 7,
      crn: (index >> 7) & 15,
      crm: (index >> 3) & 15,
      op2: index & 7,
    };
  }
  if (arch === 'arm' && (group === RegGroup.CP14 || group === RegGroup.CP15)) {
    return {
      ...base,
      groupName: group === RegGroup.CP14 ? 'cp14' : 'cp15',
      cp: group,
      opc1: (index >> 3) & 15,
      crn: (index >> 11) & 15,
      crm: (index >> 7) & 15,
      opc2: index & 7,
      is64: v >> 52n === (KVM_REG_ARM | KVM_REG_SIZE_U64) >> 52n,
      ns: (v & QEMU_NS_BIT) !== 0n,
    };
  }
  switch (group) {
    case RegGroup.CORE:
      return { ...base, groupName: 'core', coreName: arch === 'arm64' ? coreRegName(index) : null };
    case RegGroup.DEMUX: {
      const demuxId = index >> 8;
      return { ...base, groupName: 'demux', demuxId, value: index & 0xff, csselr: demuxId === 0 ? index & 0xff : null };
    }
    case RegGroup.FW:
      return { ...base, groupName: 'fw', reg: index };
    case RegGroup.VFP:
      if (arch === 'arm') return { ...base, groupName: 'vfp' };
      break;
    case RegGroup.FW_FEAT_BMAP:
      if (arch === 'arm64') return { ...base, groupName: 'fw-feat-bmap', reg: index };
      break;
    case RegGroup.SVE:
      if (arch === 'arm64') return { ...base, groupName: 'sve', ...decodeSveIndex(v, index) };
      break;
  }
  return { ...base, groupName: 'unknown' };
}

function decodeSveIndex(v: bigint, index: number): Pick<SveRegId, 'sveKind' | 'n' | 'slice'> {
  if (v === SVE_VLS_ID) return { sveKind: 'vls', n: null, slice: null };
  const slice = index & 0x1f;
  if (index < 0x400) return { sveKind: 'z', n: (index >> 5) & 0x1f, slice };
  if (index < 0x600) return { sveKind: 'p', n: (index >> 5) & 0xf, slice };
  if (index < 0x620) return { sveKind: 'ffr', n: null, slice };
  return { sveKind: 'unknown', n: null, slice: null };
}

/** Size field for a register width in bits (8..2048, a power of two). */
export function sizeField(bits: number): bigint {
  const code = Math.log2(bits / 8);
  if (!Number.isInteger(code) || code < 0 || code > 15) throw new RangeError(`bad register size ${bits}`);
  return BigInt(code) << 52n;
}

function field(name: string, v: number, max: number): bigint {
  if (!Number.isInteger(v) || v < 0 || v > max) throw new RangeError(`${name} out of range 0..${max}: ${v}`);
  return BigInt(v);
}

/** The id of AArch64 system register (op0, op1, CRn, CRm, op2): `0x6030_0000_0013_xxxx`. */
export function sysregId(op0: number, op1: number, crn: number, crm: number, op2: number): bigint {
  return (
    KVM_REG_ARM64 |
    KVM_REG_SIZE_U64 |
    (BigInt(RegGroup.SYSREG) << 16n) |
    (field('op0', op0, 3) << 14n) |
    (field('op1', op1, 7) << 11n) |
    (field('crn', crn, 15) << 7n) |
    (field('crm', crm, 15) << 3n) |
    field('op2', op2, 7)
  );
}

/** Fields of a 32-bit AArch32 coprocessor register. `ns` defaults to true, as QEMU migrates most. */
export interface Cp32Fields {
  cp: 14 | 15 | number;
  opc1: number;
  crn: number;
  crm: number;
  opc2: number;
  ns?: boolean;
}

/** Fields of a 64-bit (MCRR/MRRC) AArch32 coprocessor register. */
export interface Cp64Fields {
  cp: 14 | 15 | number;
  opc1: number;
  crm: number;
  ns?: boolean;
}

function cpBase(cp: number, ns: boolean | undefined): bigint {
  return KVM_REG_ARM | (ns === false ? 0n : QEMU_NS_BIT) | (field('cp', cp, 0xfff) << 16n);
}

/** The QEMU id of a 32-bit AArch32 register: `0x4020_0000_2<cp>_<index>` (bit 29 when ns). */
export function cp32Id(f: Cp32Fields): bigint {
  return (
    cpBase(f.cp, f.ns) |
    KVM_REG_SIZE_U32 |
    (field('crn', f.crn, 15) << 11n) |
    (field('crm', f.crm, 15) << 7n) |
    (field('opc1', f.opc1, 15) << 3n) |
    field('opc2', f.opc2, 7)
  );
}

/** The QEMU id of a 64-bit AArch32 register: `0x4030_0000_2<cp>_<index>` (CRn = opc2 = 0). */
export function cp64Id(f: Cp64Fields): bigint {
  return cpBase(f.cp, f.ns) | KVM_REG_SIZE_U64 | (field('crm', f.crm, 15) << 7n) | (field('opc1', f.opc1, 15) << 3n);
}

/** A core register id from its 32-bit word offset into `struct kvm_regs` (size per field). */
export function coreId(offset: number, bits = 64): bigint {
  return KVM_REG_ARM64 | sizeField(bits) | (BigInt(RegGroup.CORE) << 16n) | field('offset', offset, 0xffff);
}

/** The demux id of CCSIDR for a CSSELR value: `0x6020_0000_0011_00xx`. */
export function ccsidrDemuxId(csselr: number): bigint {
  return KVM_REG_ARM64 | KVM_REG_SIZE_U32 | (BigInt(RegGroup.DEMUX) << 16n) | field('csselr', csselr, 0xff);
}

/** Firmware pseudo-register `n` (0 PSCI_VERSION, 1–3 SMCCC_ARCH_WORKAROUND_1..3). */
export function fwRegId(n: number): bigint {
  return KVM_REG_ARM64 | KVM_REG_SIZE_U64 | (BigInt(RegGroup.FW) << 16n) | field('fw reg', n, 0xffff);
}

/** Firmware feature bitmap register `n` (0 STD, 1 STD_HYP, 2 VENDOR_HYP, 3 VENDOR_HYP_BMAP_2). */
export function fwFeatBmapId(n: number): bigint {
  return KVM_REG_ARM64 | KVM_REG_SIZE_U64 | (BigInt(RegGroup.FW_FEAT_BMAP) << 16n) | field('bitmap', n, 0xffff);
}

/** SVE Zn, slice i (U2048). */
export function sveZregId(n: number, slice = 0): bigint {
  return KVM_REG_ARM64 | KVM_REG_SIZE_U2048 | (BigInt(RegGroup.SVE) << 16n) | (field('n', n, 31) << 5n) | field('slice', slice, 31);
}

/** SVE Pn, slice i (U256). */
export function svePregId(n: number, slice = 0): bigint {
  return (
    KVM_REG_ARM64 | KVM_REG_SIZE_U256 | (BigInt(RegGroup.SVE) << 16n) | 0x400n | (field('n', n, 15) << 5n) | field('slice', slice, 31)
  );
}

/** SVE FFR, slice i (U256). */
export function sveFfrId(slice = 0): bigint {
  return KVM_REG_ARM64 | KVM_REG_SIZE_U256 | (BigInt(RegGroup.SVE) << 16n) | 0x600n | field('slice', slice, 31);
}

/** The SVE vector-lengths pseudo-register (U512). */
export const SVE_VLS_ID = 0x606000000015ffffn;

/**
 * QEMU's 32-bit cpreg hashtable key for an id (the reverse of {@link cpregKeyToId}): AArch64 ids
 * get bit 28; AArch32 ids get bit 15 when 64-bit and always bit 29, as QEMU's
 * `kvm_to_cpreg_id` does (so secure-bank ids map to the non-secure definition).
 */
export function idToCpregKey(id: bigint): number {
  const low = Number(id & 0xffffffffn);
  const d = decodeRegId(id);
  if (d.arch === 'arm64') return (low | 0x10000000) >>> 0;
  return (low | (d.sizeCode === 3 ? 0x8000 : 0) | 0x20000000) >>> 0;
}

/** The id for a QEMU cpreg key (AArch64 keys have bit 28 set; AArch32 keys carry is64 in bit 15). */
export function cpregKeyToId(key: number): bigint {
  if (key & 0x10000000) return KVM_REG_ARM64 | KVM_REG_SIZE_U64 | BigInt(key & ~0x10000000 & 0xffffffff);
  const is64 = (key & 0x8000) !== 0;
  return KVM_REG_ARM | (is64 ? KVM_REG_SIZE_U64 : KVM_REG_SIZE_U32) | BigInt((key & ~0x8000) >>> 0);
}
