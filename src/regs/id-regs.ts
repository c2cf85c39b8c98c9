/**
 * Identification registers: which cpreg ids are ID registers, and which fields differ between
 * two values of one.
 * @module
 */
import { decodeRegId, type DecodedRegId } from './kvm-id.js';

/** One field of a register: name, lowest bit, width in bits. */
interface FieldDef {
  name: string;
  lsb: number;
  width: number;
}

/** A field whose value differs between two register values (field values, shifted down). */
export interface FieldDiff {
  /** Architectural field name, or `bits[hi:lo]` for an unnamed nibble. */
  field: string;
  a: bigint;
  b: bigint;
}

/** Consecutive 4-bit fields from bit 0; `-` marks a RES0 nibble. */
const nibbles = (spec: string): FieldDef[] =>
  spec
    .split(' ')
    .map((name, i) => ({ name, lsb: 4 * i, width: 4 }))
    .filter((f) => f.name !== '-');

const MIDR: FieldDef[] = [
  { name: 'Revision', lsb: 0, width: 4 },
  { name: 'PartNum', lsb: 4, width: 12 },
  { name: 'Architecture', lsb: 16, width: 4 },
  { name: 'Variant', lsb: 20, width: 4 },
  { name: 'Implementer', lsb: 24, width: 8 },
];
const CTR: FieldDef[] = [
  { name: 'IminLine', lsb: 0, width: 4 },
  { name: 'L1Ip', lsb: 14, width: 2 },
  { name: 'DminLine', lsb: 16, width: 4 },
  { name: 'ERG', lsb: 20, width: 4 },
  { name: 'CWG', lsb: 24, width: 4 },
  { name: 'IDC', lsb: 28, width: 1 },
  { name: 'DIC', lsb: 29, width: 1 },
  { name: 'TminLine', lsb: 32, width: 6 },
];

/**
 * Field layouts keyed by the AArch64 encoding "op1 crm op2" (op0 3, CRn 0). The AArch32 ID
 * registers share their layouts with the AArch64 views (ID_PFR0 = ID_PFR0_EL1, …).
 */
const LAYOUTS: Record<string, FieldDef[]> = {
  '0 0 0': MIDR,
  '3 0 1': CTR,
  // AArch32 ID registers (c0, c1 and c2; c3 4..6).
  '0 1 0': nibbles('State0 State1 State2 State3 CSV2 AMU DIT RAS'), // ID_PFR0
  '0 1 1': nibbles('ProgMod Security MProgMod Virtualization GenTimer Sec_frac Virt_frac GIC'), // ID_PFR1
  '0 1 2': nibbles('CopDbg CopSDbg MMapDbg CopTrc MMapTrc MProfDbg PerfMon TraceFilt'), // ID_DFR0
  '0 1 4': nibbles('VMSA PMSA OuterShr ShareLvl TCM AuxReg FCSE InnerShr'), // ID_MMFR0
  '0 1 5': nibbles('L1HvdVA L1UniVA L1HvdSW L1UniSW L1Hvd L1Uni L1TstCln BPred'), // ID_MMFR1
  '0 1 6': nibbles('L1HvdFG L1HvdBG L1HvdRng HvdTLB UniTLB MemBarr WFIStall HWAccFlg'), // ID_MMFR2
  '0 1 7': nibbles('CMaintVA CMaintSW BPMaint MaintBcst PAN CohWalk CMemSz Supersec'), // ID_MMFR3
  '0 2 0': nibbles('Swap BitCount BitField CmpBranch Coproc Debug Divide -'), // ID_ISAR0
  '0 2 1': nibbles('Endian Except Except_AR Extend IfThen Immediate Interwork Jazelle'), // ID_ISAR1
  '0 2 2': nibbles('LoadStore MemHint MultiAccessInt Mult MultS MultU PSR_AR Reversal'), // ID_ISAR2
  '0 2 3': nibbles('Saturate SIMD SVC SynchPrim TabBranch T32Copy TrueNOP T32EE'), // ID_ISAR3
  '0 2 4': nibbles('Unpriv WithShifts Writeback SMC Barrier SynchPrim_frac PSR_M SWP_frac'), // ID_ISAR4
  '0 2 5': nibbles('SEVL AES SHA1 SHA2 CRC32 - RDM VCMA'), // ID_ISAR5
  '0 2 6': nibbles('SpecSEI AC2 XNX CnP HPDS LSM CCIDX EVT'), // ID_MMFR4
  '0 2 7': nibbles('JSCVT DP FHM SB SPECRES BF16 I8MM CLRBHB'), // ID_ISAR6
  '0 3 4': nibbles('CSV3 SSBS RAS_frac'), // ID_PFR2
  '0 3 5': nibbles('MTPMU HPMN0'), // ID_DFR1
  '0 3 6': nibbles('ETS nTLBPA'), // ID_MMFR5
  // AArch64 ID registers.
  '0 4 0': nibbles('EL0 EL1 EL2 EL3 FP AdvSIMD GIC RAS SVE SEL2 MPAM AMU DIT RME CSV2 CSV3'), // ID_AA64PFR0_EL1
  '0 4 1': nibbles('BT SSBS MTE RAS_frac MPAM_frac - SME RNDR_trap CSV2_frac NMI MTE_frac GCS THE MTEX DF2 PFAR'), // ID_AA64PFR1_EL1
  '0 5 0': nibbles(
    'DebugVer TraceVer PMUVer BRPs PMSS WRPs SEBEP CTX_CMPs PMSVer DoubleLock TraceFilt TraceBuffer MTPMU BRBE ExtTrcBuff HPMN0',
  ), // ID_AA64DFR0_EL1
  '0 6 0': nibbles('- AES SHA1 SHA2 CRC32 Atomic TME RDM SHA3 SM3 SM4 DP FHM TS TLB RNDR'), // ID_AA64ISAR0_EL1
  '0 6 1': nibbles('DPB APA API JSCVT FCMA LRCPC GPA GPI FRINTTS SB SPECRES BF16 DGH I8MM XS LS64'), // ID_AA64ISAR1_EL1
  '0 6 2': nibbles(
    'WFxT RPRES GPA3 APA3 MOPS BC PAC_frac CLRBHB SYSREG_128 SYSINSTR_128 PRFMSLC - RPRFM CSSC LUT ATS1A',
  ), // ID_AA64ISAR2_EL1
  '0 7 0': nibbles(
    'PARange ASIDBits BigEnd SNSMem BigEndEL0 TGran16 TGran64 TGran4 TGran16_2 TGran64_2 TGran4_2 ExS - - FGT ECV',
  ), // ID_AA64MMFR0_EL1
  '0 7 1': nibbles('HAFDBS VMIDBits VH HPDS LO PAN SpecSEI XNX TWED ETS HCX AFP nTLBPA TIDCP1 CMOW ECBHB'), // ID_AA64MMFR1_EL1
  '0 7 2': nibbles('CnP UAO LSM IESB VARange CCIDX NV ST AT IDS FWB - TTL BBM EVT E0PD'), // ID_AA64MMFR2_EL1
};

/** AArch64 (op1, CRm, op2) of an identification register id, or null if it is not one. */
function idEncoding(d: DecodedRegId): [number, number, number] | null {
  if (d.groupName === 'sysreg') {
    // op1 2 (CSSELR) and 4 (VPIDR/VMPIDR) are writable selector/virtualisation registers.
    if (d.op0 !== 3 || d.crn !== 0 || d.op1 === 2 || d.op1 === 4) return null;
    return [d.op1, d.crm, d.op2];
  }
  if (d.groupName === 'cp15') {
    if (d.is64 || d.crn !== 0 || d.opc1 === 2 || d.opc1 === 4) return null;
    // CTR is c0,c0,1 in AArch32 but op1 3 (CTR_EL0) in AArch64.
    if (d.opc1 === 0 && d.crm === 0 && d.opc2 === 1) return [3, 0, 1];
    return [d.opc1, d.crm, d.opc2];
  }
  return null;
}

/** cp14 identification registers: opc1, CRn, CRm, opc2. */
const CP14_ID_REGS: readonly (readonly [number, number, number, number])[] = [
  [0, 0, 0, 0], // DBGDIDR
  [7, 0, 0, 0], // JIDR
  // DBGDEVID, DBGDEVID1, DBGDEVID2 where QEMU puts them (c7,c0,2/1/0) …
  [0, 7, 0, 2],
  [0, 7, 0, 1],
  [0, 7, 0, 0],
  // … and at their architectural encodings (c7,c2,7 / c7,c1,7 / c7,c0,7).
  [0, 7, 2, 7],
  [0, 7, 1, 7],
  [0, 7, 0, 7],
];

/**
 * Whether an id is an identification register: AArch64 op0 3, CRn 0 (MIDR, MPIDR, REVIDR,
 * ID_*, CTR_EL0, DCZID_EL0, CCSIDR/CLIDR/AIDR, GMID, SMIDR, reserved ID slots), AArch32 cp15
 * CRn 0 (32-bit), and the cp14 debug ID registers DBGDIDR, DBGDEVID/1/2 (both QEMU's and the
 * architectural encodings) and JIDR. The writable CRn-0 registers CSSELR (op1 2) and
 * VPIDR/VMPIDR (op1 4) are excluded.
 */
export function isIdRegister(id: bigint): boolean {
  const d = decodeRegId(id);
  if (d.groupName === 'cp14') {
    return !d.is64 && CP14_ID_REGS.some(([o1, n, m, o2]) => d.opc1 === o1 && d.crn === n && d.crm === m && d.opc2 === o2);
  }
  return idEncoding(d) !== null;
}

const fieldValue = (v: bigint, f: FieldDef): bigint => (v >> BigInt(f.lsb)) & ((1n << BigInt(f.width)) - 1n);

/**
 * The fields that differ between two values `a` and `b` of the register `id`, low bits first.
 * Common ID registers (MIDR, CTR, ID_AA64PFR0/1, ID_AA64ISAR0/1/2, ID_AA64MMFR0/1/2, ID_AA64DFR0,
 * ID_PFR0-2, ID_DFR0/1, ID_ISAR0-6, ID_MMFR0-5, in either AArch32 or AArch64 form) use the
 * architectural field names; other registers, and bits outside the named fields, are reported
 * per differing nibble as `bits[7:4]`. Nibbles above bit 31 are only considered for ids whose
 * size is 64 bits (or when the values themselves have them set).
 */
export function idRegisterFields(id: bigint, a: bigint, b: bigint): FieldDiff[] {
  const d = decodeRegId(id);
  const enc = idEncoding(d);
  const named = enc ? (LAYOUTS[enc.join(' ')] ?? []) : [];
  const out: { lsb: number; diff: FieldDiff }[] = [];
  let covered = 0n;
  for (const f of named) {
    const mask = ((1n << BigInt(f.width)) - 1n) << BigInt(f.lsb);
    covered |= mask;
    const fa = fieldValue(a, f);
    const fb = fieldValue(b, f);
    if (fa !== fb) out.push({ lsb: f.lsb, diff: { field: f.name, a: fa, b: fb } });
  }
  const bits = d.size >= 64 || (a | b) >> 32n !== 0n ? 64 : 32;
  for (let lsb = 0; lsb < bits; lsb += 4) {
    const mask = 0xfn << BigInt(lsb);
    const rest = ~covered & mask;
    if ((a & rest) === (b & rest)) continue;
    // Only the bits no named field covers, so a partly named nibble is not reported twice.
    const field = `bits[${lsb + 3}:${lsb}]`;
    out.push({ lsb, diff: { field, a: (a & rest) >> BigInt(lsb), b: (b & rest) >> BigInt(lsb) } });
  }
  return out.sort((x, y) => x.lsb - y.lsb).map((x) => x.diff);
}
