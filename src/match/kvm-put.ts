/**
 * QEMU's `write_list_to_kvmstate` on the destination: every register of the destination's list
 * is written with KVM_SET_ONE_REG, in list (ascending id) order — with the stream's value where
 * the merge took one, else the value KVM gave it at vCPU init (the destination stream's) — and
 * the kernel accepts or refuses each write by its own rules (./kvm-kernel.ts). This module says
 * which writes are refused, with what errno, and why.
 *
 * What a kernel checks, per class of register (arch/arm64/kvm/sys_regs.c, hypercalls.c):
 * - ID registers: ./kvm-idregs.ts;
 * - CCSIDR (demux `0x6020000000110000 | csselr`): before 6.3 invariant; from 6.3 any value
 *   without RES0 bits whose line size is at least the host's smallest (`set_ccsidr`), which is
 *   what KVM's own geometry states;
 * - CLIDR_EL1: before 6.3 invariant; from 6.3 any value without RES0 bits unless it claims no
 *   cache maintenance to the PoU while CTR_EL0.IDC is 0 (`set_clidr`);
 * - PSCI_VERSION: one the kernel offers (0.2, 1.0, 1.1; 1.2 and 1.3 from 6.13);
 * - SMCCC_ARCH_WORKAROUND_1/3: a level at most the kernel's; _2 the same after KVM's mapping
 *   of its four states to two;
 * - the firmware feature bitmaps: only bits the kernel supports (its reset value sets them all);
 * - a register whose feature the ID values in force hide: ENOENT ("unknown to KVM");
 * - anything else: accepted.
 * @module
 */
import { decodeRegId, hex64, idRegisterFields, type FieldDiff } from '../regs/index.js';
import { ID_KEYS, idRegisterRefusals, isKvmIdRegister, sysregKey, type IdFieldRefusal } from './kvm-idregs.js';
import type { KvmKernelRules } from './kvm-kernel.js';

/**
 * What a refused value is, for the guest: the class a rewrite would have to change (and the
 * flag that names it), or a register whose feature is hidden.
 */
export type KvmValueClass =
  | 'id-register'
  | 'cache-geometry'
  | 'psci-version'
  | 'firmware-workaround'
  | 'firmware-bitmap'
  | 'implementation-id'
  | 'hidden-feature';

/** One write KVM refuses. */
export interface KvmRefusal {
  id: bigint;
  /** The value written. */
  value: bigint;
  /** Whether it came from the stream (else it is the destination's own value, written back). */
  fromStream: boolean;
  /** What KVM holds, as QEMU 11.1 reads it back; null for ENOENT. */
  current: bigint | null;
  errno: 'EINVAL' | 'ENOENT';
  class: KvmValueClass;
  /** Why, in this tool's words. */
  reason: string;
  /** The ID register fields refused. */
  fields?: IdFieldRefusal[];
  /** For a hidden feature: the ID register field (`ID_AA64MMFR3_EL1.SCTLRX`) and its value in force. */
  hiddenBy?: { register: string; field: string; value: bigint };
}

/** One register write: destination list order. */
export interface KvmWrite {
  id: bigint;
  value: bigint;
  fromStream: boolean;
}

/** A register a kernel lists only while an ID register field shows its feature (`*_visibility`). */
interface Gate {
  reg: number;
  register: string;
  field: string;
  lsb: number;
  /** Whether the kernel gates it at all (before 6.13 TCR2/PIR were listed unconditionally). */
  applies(k: KvmKernelRules): boolean;
}

const sk = (op0: number, op1: number, crn: number, crm: number, op2: number): number => (op0 << 14) | (op1 << 11) | (crn << 7) | (crm << 3) | op2;
const always = (): boolean => true;
const mmfr3 = (field: string, lsb: number, applies: Gate['applies'] = always): Gate => ({
  reg: ID_KEYS.ID_AA64MMFR3_EL1, register: 'ID_AA64MMFR3_EL1', field, lsb, applies,
});

/** sysreg key → the ID field that hides it (sctlr2_visibility, tcr2_visibility, s1pie/s1poe_visibility, fp8_visibility). */
const GATES = new Map<number, Gate>([
  [sk(3, 0, 1, 0, 3), mmfr3('SCTLRX', 4)], // SCTLR2_EL1
  [sk(3, 0, 2, 0, 3), mmfr3('TCRX', 0, (k) => k.tcr2PieGated)], // TCR2_EL1
  [sk(3, 0, 10, 2, 2), mmfr3('S1PIE', 8, (k) => k.tcr2PieGated)], // PIRE0_EL1
  [sk(3, 0, 10, 2, 3), mmfr3('S1PIE', 8, (k) => k.tcr2PieGated)], // PIR_EL1
  [sk(3, 0, 10, 2, 4), mmfr3('S1POE', 16)], // POR_EL1
  [sk(3, 3, 10, 2, 4), mmfr3('S1POE', 16)], // POR_EL0
  [sk(3, 3, 4, 4, 2), { reg: ID_KEYS.ID_AA64PFR2_EL1, register: 'ID_AA64PFR2_EL1', field: 'FPMR', lsb: 32, applies: always }], // FPMR
]);

const ID_NAMES = new Map<number, string>(Object.entries(ID_KEYS).map(([n, k]) => [k, n]));

/** CCSIDR_EL1 / CLIDR_EL1 bits that are RES0 (arch/arm64/tools/sysreg). */
const CCSIDR_RES0 = ~0xffffffffn & ((1n << 64n) - 1n);
const CLIDR_RES0 = ((1n << 64n) - 1n) & ~((1n << 47n) - 1n);

const lineSize = (ccsidr: bigint): bigint => ccsidr & 7n;

/** SMCCC_ARCH_WORKAROUND_2's four states as KVM maps them (NOT_AVAIL, AVAIL, UNKNOWN, NOT_REQUIRED → 0 or 3). */
const wa2Level = (v: bigint): bigint | null => {
  const level = v & 0xfn;
  if (level === 0n || level === 2n) return 0n;
  if (level === 1n || level === 3n) return 3n;
  return null;
};

/** The destination's state while its list is written: the ID values in force and its own values. */
export class KvmPut {
  private readonly inForce = new Map<number, bigint>();

  constructor(
    private readonly rules: KvmKernelRules,
    /** The destination's own value of each of its registers (what KVM reported at init). */
    private readonly own: ReadonlyMap<bigint, bigint>,
  ) {
    for (const [id, v] of own) {
      const k = sysregKey(id);
      if (k !== null && isKvmIdRegister(k)) this.inForce.set(k, v);
    }
  }

  /** Writes the list in order; returns every refused write. */
  run(writes: readonly KvmWrite[]): KvmRefusal[] {
    const out: KvmRefusal[] = [];
    for (const w of writes) {
      const r = this.write(w);
      if (r) out.push(r);
    }
    return out;
  }

  /** One KVM_SET_ONE_REG: null when accepted (an accepted ID register value is then in force). */
  write(w: KvmWrite): KvmRefusal | null {
    const own = this.own.get(w.id);
    const d = decodeRegId(w.id);
    const refuse = (errno: KvmRefusal['errno'], cls: KvmValueClass, reason: string, extra: Partial<KvmRefusal> = {}): KvmRefusal => ({
      id: w.id, value: w.value, fromStream: w.fromStream, current: errno === 'ENOENT' ? null : (own ?? null), errno, class: cls, reason, ...extra,
    });
    if (d.groupName === 'demux') return this.ccsidr(w, own, refuse);
    if (d.groupName === 'fw') return this.firmware(d.index, w, own, refuse);
    if (d.groupName === 'fw-feat-bmap') {
      if (own === undefined || (w.value & ~own) === 0n) return null;
      return refuse('EINVAL', 'firmware-bitmap', `sets bits ${hex64(w.value & ~own)} the kernel does not offer (it offers ${hex64(own)})`);
    }
    const k = sysregKey(w.id);
    if (k === null) return null;
    const gate = GATES.get(k);
    if (gate && gate.applies(this.rules)) {
      const v = this.inForce.get(gate.reg);
      if (v !== undefined && ((v >> BigInt(gate.lsb)) & 0xfn) === 0n) {
        return refuse('ENOENT', 'hidden-feature', `${gate.register}.${gate.field} is 0 in the values written before it, which hides this register`, {
          hiddenBy: { register: gate.register, field: gate.field, value: 0n },
        });
      }
    }
    if (!isKvmIdRegister(k) || own === undefined || w.value === own) {
      if (isKvmIdRegister(k)) this.inForce.set(k, w.value);
      return null;
    }
    const r = this.idRegister(k, w, own, refuse);
    if (!r) this.inForce.set(k, w.value);
    return r;
  }

  private idRegister(k: number, w: KvmWrite, own: bigint, refuse: (e: KvmRefusal['errno'], c: KvmValueClass, r: string, x?: Partial<KvmRefusal>) => KvmRefusal): KvmRefusal | null {
    const name = ID_NAMES.get(k) ?? 'this ID register';
    if (k === ID_KEYS.MIDR_EL1 || k === ID_KEYS.REVIDR_EL1 || k === ID_KEYS.AIDR_EL1) {
      return refuse('EINVAL', 'implementation-id', `${name} is invariant (QEMU does not ask KVM to make it writable)`, { fields: fieldRefusals(w.id, w.value, own) });
    }
    if (k === ID_KEYS.CLIDR_EL1) {
      if (!this.rules.ccsidrNormalised) return refuse('EINVAL', 'cache-geometry', 'CLIDR_EL1 is invariant before Linux 6.3', { fields: fieldRefusals(w.id, w.value, own) });
      if (w.value & CLIDR_RES0) return refuse('EINVAL', 'cache-geometry', 'RES0 bits set');
      const ctr = this.inForce.get(ID_KEYS.CTR_EL0);
      const loc = (w.value >> 24n) & 7n;
      const louis = (w.value >> 21n) & 7n;
      const louu = (w.value >> 27n) & 7n;
      const idc = loc === 0n || (louis === 0n && louu === 0n);
      if (ctr !== undefined && ((ctr >> 28n) & 1n) === 0n && idc) {
        return refuse('EINVAL', 'cache-geometry', 'claims no cache maintenance to the point of unification while CTR_EL0.IDC is 0');
      }
      return null;
    }
    const { refused } = idRegisterRefusals(k, w.value, own, this.rules);
    if (refused.length === 0) return null;
    const invariant = !this.rules.writableIdRegisters;
    const what = refused.map((f) => `${f.field} ${f.value}${f.why === 'higher' ? ' > ' : ' ≠ '}${f.limit}`).join(', ');
    const reason = invariant
      ? `ID registers are invariant before Linux 6.7 (${what})`
      : `${refused.every((f) => f.why === 'higher') ? 'more than the kernel offers' : 'a field KVM does not let userspace change'}: ${what}`;
    return refuse('EINVAL', 'id-register', reason, { fields: refused });
  }

  private ccsidr(w: KvmWrite, own: bigint | undefined, refuse: (e: KvmRefusal['errno'], c: KvmValueClass, r: string, x?: Partial<KvmRefusal>) => KvmRefusal): KvmRefusal | null {
    if (own === undefined || w.value === own) return null;
    if (!this.rules.ccsidrNormalised) {
      return refuse('EINVAL', 'cache-geometry', 'CCSIDR values are the host cache geometry and invariant before Linux 6.3', { fields: fieldRefusals(w.id, w.value, own) });
    }
    if (w.value & CCSIDR_RES0) return refuse('EINVAL', 'cache-geometry', 'RES0 bits set');
    if (lineSize(w.value) < lineSize(own)) {
      return refuse('EINVAL', 'cache-geometry', `line size ${16n << lineSize(w.value)} bytes is below the host's smallest, ${16n << lineSize(own)}`);
    }
    return null;
  }

  private firmware(n: number, w: KvmWrite, own: bigint | undefined, refuse: (e: KvmRefusal['errno'], c: KvmValueClass, r: string, x?: Partial<KvmRefusal>) => KvmRefusal): KvmRefusal | null {
    if (own === undefined || w.value === own) return null;
    if (n === 0) {
      if (this.rules.psciVersions.includes(w.value)) return null;
      return refuse('EINVAL', 'psci-version', `PSCI ${psciText(w.value)} is not offered by this kernel (at most ${psciText(this.rules.psciVersions.at(-1)!)})`);
    }
    if (n === 1 || n === 3) {
      if ((w.value & ~0xfn) === 0n && w.value <= own) return null;
      return refuse('EINVAL', 'firmware-workaround', `workaround level ${w.value} is above the kernel's ${own}`);
    }
    if (n === 2) {
      const want = wa2Level(w.value);
      if (want !== null && (w.value & ~0x1fn) === 0n && want <= (own & 0xfn)) return null;
      return refuse('EINVAL', 'firmware-workaround', `workaround state ${w.value} needs more than the kernel's ${own}`);
    }
    return null;
  }
}

/** `1.3` for PSCI_VERSION 0x10003. */
export function psciText(v: bigint): string {
  return `${v >> 16n}.${v & 0xffffn}`;
}

function fieldRefusals(id: bigint, value: bigint, own: bigint): IdFieldRefusal[] {
  return idRegisterFields(id, value, own).map((f: FieldDiff) => ({ field: f.field, value: f.a, limit: f.b, why: f.a > f.b ? 'higher' : 'fixed' }));
}
