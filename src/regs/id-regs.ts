/**
 * Identification registers: which cpreg ids are ID registers, and which fields differ between
 * two values of one.
 * @module
 */
import { ID_REGISTER_FIELDS } from './fields.generated.js';
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

/**
 * Field layouts keyed by the AArch64 encoding "op1 crm op2" (op0 3, CRn 0), from the generated
 * table (Linux's `arch/arm64/tools/sysreg`). The AArch32 ID registers share their layouts with
 * the AArch64 views (ID_PFR0 = ID_PFR0_EL1, …).
 */
const LAYOUTS: ReadonlyMap<string, FieldDef[]> = new Map(
  ID_REGISTER_FIELDS.map(([key, , fields]) => [
    `${(key >> 11) & 7} ${(key >> 3) & 15} ${key & 7}`,
    fields.map(([name, lsb, width]) => ({ name, lsb, width })),
  ]),
);
/** CCSIDR_EL1 (op1 1, CRm 0, op2 0): the layout of KVM's CCSIDR demux values. */
const CCSIDR = LAYOUTS.get('1 0 0') ?? [];

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
 * Every identification register that Linux's sysreg file describes (the ID_* and ID_AA64*
 * registers, MVFR0-2, CTR, DCZID, CLIDR, CCSIDR/CCSIDR2, GMID, SMIDR), plus MIDR and MPIDR, in
 * either AArch32 or AArch64 form, uses the architectural field names, and so does KVM's CCSIDR
 * demux register (the CCSIDR_EL1 layout); bits outside the named fields (RES0, reserved
 * registers) are reported per differing nibble as `bits[7:4]`. Nibbles above bit 31 are only considered for ids whose
 * size is 64 bits (or when the values themselves have them set).
 */
export function idRegisterFields(id: bigint, a: bigint, b: bigint): FieldDiff[] {
  const d = decodeRegId(id);
  const enc = idEncoding(d);
  const named = enc ? (LAYOUTS.get(enc.join(' ')) ?? []) : d.groupName === 'demux' ? CCSIDR : [];
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
