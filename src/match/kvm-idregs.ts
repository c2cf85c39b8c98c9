/**
 * KVM_SET_ONE_REG on an ID register: which values a kernel accepts.
 *
 * Before 6.7 an ID register is invariant (`set_id_reg`: "This is what we mean by invariant:
 * you can't change it"), except a few fields some handlers let userspace lower. From 6.7,
 * `arm64_check_features` (arch/arm64/kvm/sys_regs.c) takes a value whose fields inside the
 * register's writable mask are "safe" against the kernel's own value (for the ordered fields:
 * lower or equal) and whose other bits equal the kernel's. The kernel's own value is what the
 * destination's stream carries (KVM's sanitised reset value).
 *
 * The writable masks are `sys_reg_descs[]`'s `ID_WRITABLE`/`ID_FILTERED` entries of a
 * v6.15-era Linux tree, with the later changes named in ./kvm-kernel.ts. A field's order
 * follows Linux's sysreg file kind (src/regs/data/arm64-id-fields.tsv): `U` and `F` unsigned,
 * `S` signed, `E` exact. Linux's cpufeature tables refine a few fields (e.g. DebugVer is
 * FTR_EXACT with safe value 6); those refinements are not modelled.
 * @module
 */
import { decodeRegId, ID_REGISTER_FIELDS, type FieldKind } from '../regs/index.js';
import type { KvmKernelRules } from './kvm-kernel.js';

/** A field of an ID register value that KVM refuses. */
export interface IdFieldRefusal {
  /** Architectural field name, or `bits[hi:lo]`. */
  field: string;
  /** The field in the written value. */
  value: bigint;
  /** The field in the kernel's own value. */
  limit: bigint;
  /** `higher`: above what the kernel offers; `fixed`: not writable here, must equal the kernel's. */
  why: 'higher' | 'fixed';
}

interface Field {
  name: string;
  lsb: number;
  width: number;
  kind: FieldKind;
}

const LAYOUT = new Map<number, Field[]>(
  ID_REGISTER_FIELDS.map(([key, , fields]) => [key, fields.map(([name, lsb, width, kind]) => ({ name, lsb, width, kind }))]),
);

/** The sysreg key (op0<<14 | op1<<11 | CRn<<7 | CRm<<3 | op2) of an AArch64 sysreg id, else null. */
export function sysregKey(id: bigint): number | null {
  const d = decodeRegId(id);
  return d.groupName === 'sysreg' ? (d.op0 << 14) | (d.op1 << 11) | (d.crn << 7) | (d.crm << 3) | d.op2 : null;
}

const key = (op1: number, crm: number, op2: number, op0 = 3, crn = 0): number => (op0 << 14) | (op1 << 11) | (crn << 7) | (crm << 3) | op2;

/** Keys of the ID registers the rules below name. */
export const ID_KEYS = {
  MIDR_EL1: key(0, 0, 0),
  MPIDR_EL1: key(0, 0, 5),
  REVIDR_EL1: key(0, 0, 6),
  ID_DFR0_EL1: key(0, 1, 2),
  ID_AA64PFR0_EL1: key(0, 4, 0),
  ID_AA64PFR1_EL1: key(0, 4, 1),
  ID_AA64PFR2_EL1: key(0, 4, 2),
  ID_AA64ZFR0_EL1: key(0, 4, 4),
  ID_AA64FPFR0_EL1: key(0, 4, 7),
  ID_AA64DFR0_EL1: key(0, 5, 0),
  ID_AA64ISAR0_EL1: key(0, 6, 0),
  ID_AA64ISAR1_EL1: key(0, 6, 1),
  ID_AA64ISAR2_EL1: key(0, 6, 2),
  ID_AA64ISAR3_EL1: key(0, 6, 3),
  ID_AA64MMFR0_EL1: key(0, 7, 0),
  ID_AA64MMFR1_EL1: key(0, 7, 1),
  ID_AA64MMFR2_EL1: key(0, 7, 2),
  ID_AA64MMFR3_EL1: key(0, 7, 3),
  ID_AA64MMFR4_EL1: key(0, 7, 4),
  CLIDR_EL1: key(1, 0, 1),
  AIDR_EL1: key(1, 0, 7),
  CTR_EL0: key(3, 0, 1),
} as const;

/** Writable fields of one register: every named field, or only / all but the ones listed. */
type Writable = { only: readonly string[] } | { except: readonly string[] };

/** The writable masks from 6.7 on (a v6.15-era `sys_reg_descs[]`); registers not listed have none. */
function writableMasks(k: KvmKernelRules): ReadonlyMap<number, Writable> {
  const mmfr1Fixed = k.mmfr1HcxWritable ? ['XNX', 'VMIDBits'] : ['HCX', 'TWED', 'XNX', 'VH', 'VMIDBits'];
  const mmfr3 = k.sctlrxWritable ? ['TCRX', 'S1PIE', 'S1POE', 'SCTLRX'] : ['TCRX', 'S1PIE', 'S1POE'];
  return new Map<number, Writable>([
    [ID_KEYS.ID_DFR0_EL1, { only: ['PerfMon', 'CopDbg'] }],
    [ID_KEYS.ID_AA64PFR0_EL1, { except: ['AMU', 'MPAM', 'SVE', 'RAS', 'AdvSIMD', 'FP'] }],
    [ID_KEYS.ID_AA64PFR1_EL1, { except: ['PFAR', 'DF2', 'MTEX', 'THE', 'GCS', 'MTE_frac', 'NMI', 'RNDR_trap', 'SME', 'MPAM_frac', 'RAS_frac', 'MTE'] }],
    [ID_KEYS.ID_AA64PFR2_EL1, { only: ['FPMR'] }],
    [ID_KEYS.ID_AA64ZFR0_EL1, { except: [] }],
    [ID_KEYS.ID_AA64FPFR0_EL1, { except: [] }],
    [ID_KEYS.ID_AA64DFR0_EL1, { only: ['DoubleLock', 'WRPs', 'PMUVer', 'DebugVer'] }],
    [ID_KEYS.ID_AA64ISAR0_EL1, { except: [] }],
    [ID_KEYS.ID_AA64ISAR1_EL1, { except: ['GPI', 'GPA', 'API', 'APA'] }],
    [ID_KEYS.ID_AA64ISAR2_EL1, { except: ['APA3', 'GPA3'] }],
    [ID_KEYS.ID_AA64ISAR3_EL1, { only: ['FPRCVT', 'FAMINMAX'] }],
    [ID_KEYS.ID_AA64MMFR0_EL1, { except: ['ASIDBits'] }],
    [ID_KEYS.ID_AA64MMFR1_EL1, { except: mmfr1Fixed }],
    [ID_KEYS.ID_AA64MMFR2_EL1, { except: ['EVT', 'FWB', 'IDS', 'NV', 'CCIDX'] }],
    [ID_KEYS.ID_AA64MMFR3_EL1, { only: mmfr3 }],
    [ID_KEYS.ID_AA64MMFR4_EL1, { only: ['NV_frac'] }],
    [ID_KEYS.CTR_EL0, { only: ['DIC', 'IDC', 'DminLine', 'L1Ip', 'IminLine'] }],
  ]);
}

/** The fields userspace may lower on kernels before 6.7 (every other bit is invariant). */
function legacyLowerable(k: KvmKernelRules): ReadonlyMap<number, Writable> {
  const m = new Map<number, Writable>([[ID_KEYS.ID_AA64PFR0_EL1, { only: ['CSV2', 'CSV3'] }]]);
  if (k.pmuVersionLowerable) {
    m.set(ID_KEYS.ID_AA64DFR0_EL1, { only: ['PMUVer'] });
    m.set(ID_KEYS.ID_DFR0_EL1, { only: ['PerfMon'] });
  }
  return m;
}

const fieldOf = (v: bigint, f: { lsb: number; width: number }): bigint => (v >> BigInt(f.lsb)) & ((1n << BigInt(f.width)) - 1n);
const signed = (v: bigint, width: number): bigint => (v >= 1n << BigInt(width - 1) ? v - (1n << BigInt(width)) : v);

/** Whether `value` is safe against `limit` for a field of `kind` (lower or equal for the ordered kinds). */
function safe(kind: FieldKind, width: number, value: bigint, limit: bigint): boolean {
  if (value === limit) return true;
  if (kind === 'E') return false;
  return kind === 'S' ? signed(value, width) <= signed(limit, width) : value <= limit;
}

/** Whether `key` is one of the AArch64 ID registers KVM checks on write (op0 3, op1 0, CRn 0, CRm 0–7; CLIDR, AIDR, CTR_EL0). */
export function isKvmIdRegister(k: number | null): boolean {
  if (k === null) return false;
  if (k === ID_KEYS.CLIDR_EL1 || k === ID_KEYS.AIDR_EL1 || k === ID_KEYS.CTR_EL0) return true;
  return (k & 0xff80) === key(0, 0, 0);
}

/**
 * The fields of `value` KVM refuses for ID register `k` whose kernel value is `limit` (empty:
 * accepted), low bits first. MPIDR_EL1 takes any value; CLIDR_EL1 from 6.3 has its own check
 * (./kvm-put.ts). From 6.15 a written ID_AA64MMFR2_EL1.NV equal to the hardware's is ignored
 * while KVM shows 0; the hardware's value is not in the destination's stream, so a differing NV
 * is taken as that one (`assumed`).
 */
export function idRegisterRefusals(k: number, value: bigint, limit: bigint, rules: KvmKernelRules): { refused: IdFieldRefusal[]; assumed: string[] } {
  const refused: IdFieldRefusal[] = [];
  const assumed: string[] = [];
  if (k === ID_KEYS.MPIDR_EL1 || value === limit) return { refused, assumed };
  const writable = (rules.writableIdRegisters ? writableMasks(rules) : legacyLowerable(rules)).get(k);
  const isWritable = (name: string): boolean =>
    writable !== undefined && ('only' in writable ? writable.only.includes(name) : !writable.except.includes(name));
  const found: { lsb: number; r: IdFieldRefusal }[] = [];
  let covered = 0n;
  for (const f of LAYOUT.get(k) ?? []) {
    covered |= ((1n << BigInt(f.width)) - 1n) << BigInt(f.lsb);
    const v = fieldOf(value, f);
    const l = fieldOf(limit, f);
    if (v === l) continue;
    if (k === ID_KEYS.ID_AA64MMFR2_EL1 && f.name === 'NV' && rules.mmfr2NvIgnored && l === 0n) {
      assumed.push(`ID_AA64MMFR2_EL1.NV ${v} taken as the host hardware's (KVM ignores it then; the destination shows 0)`);
      continue;
    }
    if (isWritable(f.name)) {
      if (!safe(f.kind, f.width, v, l)) found.push({ lsb: f.lsb, r: { field: f.name, value: v, limit: l, why: 'higher' } });
    } else {
      found.push({ lsb: f.lsb, r: { field: f.name, value: v, limit: l, why: 'fixed' } });
    }
  }
  // Bits no named field covers (RES0, reserved registers) must equal the kernel's.
  for (let lsb = 0; lsb < 64; lsb += 4) {
    const rest = (0xfn << BigInt(lsb)) & ~covered;
    if (rest === 0n || (value & rest) === (limit & rest)) continue;
    found.push({ lsb, r: { field: `bits[${lsb + 3}:${lsb}]`, value: (value & rest) >> BigInt(lsb), limit: (limit & rest) >> BigInt(lsb), why: 'fixed' } });
  }
  refused.push(...found.sort((a, b) => a.lsb - b.lsb).map((x) => x.r));
  return { refused, assumed };
}
