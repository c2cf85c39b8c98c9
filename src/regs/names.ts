/**
 * Register names for cpreg ids: canonical names, aliases, search, and accelerator inference.
 * @module
 */
import {
  AARCH32_CPREG_NAMES,
  AARCH32_SECURE_NAMES,
  AARCH64_SYSREG_NAMES,
  KVM_PSEUDO_NAMES,
  KVM_TIMER_NAMES,
} from './names.generated.js';
import { cp32Id, cp64Id, decodeRegId, fwFeatBmapId, fwRegId, sysregId, type DecodedRegId } from './kvm-id.js';
import { regFieldText } from './format.js';
import type { Accel } from './accel.js';

export type { Accel };

const SYSREG_BASE = 0x6030000000130000n;
/** KVM's TIMER_CVAL / TIMER_CNT ids are each other's architectural encodings (fixed KVM ABI). */
const KVM_SWAPPED_TIMER_KEYS: ReadonlySet<number> = new Set([0xdf02, 0xdf1a]);

type Names = readonly string[];

const a64 = new Map<number, Names>(AARCH64_SYSREG_NAMES.map(([k, ...n]) => [k, n]));
const kvmTimer = new Map<number, Names>(KVM_TIMER_NAMES.map(([k, ...n]) => [k, n]));
const a32 = new Map<number, Names>(AARCH32_CPREG_NAMES.map(([k, ...n]) => [k, n]));
const a32Secure = new Map<number, string>(AARCH32_SECURE_NAMES.map(([k, n]) => [k, n]));
const pseudo = new Map<bigint, Names>(KVM_PSEUDO_NAMES.map(([id, ...n]) => [id, n]));

const unique = (names: string[]): string[] => [...new Set(names)];

/** QEMU's AArch32 table key (cp<<16 | is64<<15 | index) of a well-formed AArch32 id, else null. */
function cpKeyOf(d: DecodedRegId): number | null {
  if (d.groupName !== 'cp14' && d.groupName !== 'cp15') return null;
  // Only QEMU's NS flag (bit 29) may be set above the group; index bit 15 is never used.
  if ((d.highBits & ~0x2) !== 0 || d.index & 0x8000) return null;
  if (d.sizeCode !== 2 && d.sizeCode !== 3) return null;
  if (d.is64 && (d.crn !== 0 || d.opc2 !== 0)) return null;
  return (d.cp << 16) | (d.is64 ? 0x8000 : 0) | d.index;
}

function sysregNames(key: number, accel: Accel): Names | undefined {
  const arch = a64.get(key);
  const kvm = kvmTimer.get(key);
  if (accel === 'kvm' && kvm) return KVM_SWAPPED_TIMER_KEYS.has(key) ? kvm : unique([...kvm, ...(arch ?? [])]);
  if (!kvm || KVM_SWAPPED_TIMER_KEYS.has(key)) return arch;
  return unique([...(arch ?? []), ...kvm]);
}

function cpregNames(d: DecodedRegId): Names | undefined {
  const key = cpKeyOf(d);
  if (key === null || (d.groupName !== 'cp14' && d.groupName !== 'cp15')) return undefined;
  const names = a32.get(key);
  if (!names || d.ns) return names;
  // Secure-bank instance: QEMU registers it as NAME_S, unless a Secure-only definition names it.
  const secure = a32Secure.get(key);
  return unique([...(secure ? [secure] : []), ...names.map((n) => `${n}_S`)]);
}

function pseudoNames(d: DecodedRegId): Names | undefined {
  const exact = pseudo.get(d.id);
  if (exact) return exact;
  if (d.groupName === 'sve' && d.slice) {
    // Only slice 0 is tabulated; other slices are named after it.
    const base = pseudo.get(d.id & ~0x1fn);
    return base?.map((n) => `${n}_SLICE${d.slice}`);
  }
  if (d.groupName === 'demux' && d.csselr !== null && d.sizeCode === 2 && d.highBits === 0) {
    const v = d.csselr;
    return [v < 16 ? `CCSIDR_CSSELR_${v}_L${(v >> 1) + 1}${v & 1 ? 'I' : 'D'}` : `CCSIDR_CSSELR_${v}`];
  }
  return undefined;
}

/**
 * Every known name of an id, canonical first; empty when unknown.
 * @param accel - only changes the timer ids (see {@link regName}); defaults to 'tcg'.
 */
export function regNames(id: bigint, accel: Accel = 'tcg'): string[] {
  const d = decodeRegId(id);
  let names: Names | undefined;
  if (d.groupName === 'sysreg') {
    names = (d.id & ~0xffffn) === SYSREG_BASE ? sysregNames(d.index, accel) : undefined;
  } else if (d.groupName === 'cp14' || d.groupName === 'cp15') {
    names = cpregNames(d);
  } else {
    names = pseudoNames(d);
  }
  return names ? [...names] : [];
}

/**
 * Canonical name of a cpreg id, or null when no table knows it.
 *
 * AArch64 ids take the Linux name (QEMU's when Linux has none), AArch32 ids QEMU's name with a
 * `_S` suffix for the secure-bank instance (bit 29 clear) unless a Secure-only definition names
 * it, KVM pseudo-registers their uapi name without the `KVM_REG_ARM_` prefix.
 *
 * `accel` matters only for the generic-timer ids, whose KVM names differ: under 'kvm',
 * `0x603000000013df1a` is TIMER_CNT (the virtual count, CNTVCT_EL0's value) and `…df02` is
 * TIMER_CVAL; under 'tcg' (the default) they are CNTV_CVAL_EL0 and CNTVCT_EL0.
 *
 * @example
 * ```ts
 * import { regName } from 'vmstate';
 * console.log(regName(0x603000000013c103n), regName(0x603000000013df1an), regName(0x603000000013df1an, 'kvm'));
 * // prints: TCR2_EL1 CNTV_CVAL_EL0 TIMER_CNT
 * ```
 */
export function regName(id: bigint, accel: Accel = 'tcg'): string | null {
  return regNames(id, accel)[0] ?? null;
}

/** The other names of an id (after the canonical one), for the given accelerator. */
export function regAliases(id: bigint, accel: Accel = 'tcg'): string[] {
  return regNames(id, accel).slice(1);
}

/** Name for display: the canonical name, or the field rendering when the id is unnamed. */
export function regLabel(id: bigint, accel: Accel = 'tcg'): string {
  return regName(id, accel) ?? regFieldText(id);
}

let nameIndex: Map<string, Set<bigint>> | undefined;

function buildIndex(): Map<string, Set<bigint>> {
  const index = new Map<string, Set<bigint>>();
  const add = (name: string, id: bigint): void => {
    const k = name.toLowerCase();
    let set = index.get(k);
    if (!set) index.set(k, (set = new Set()));
    set.add(id);
  };
  for (const [key, names] of a64) for (const n of names) add(n, SYSREG_BASE | BigInt(key));
  for (const [key, names] of kvmTimer) for (const n of names) add(n, SYSREG_BASE | BigInt(key));
  for (const [key, names] of a32) {
    const f = { cp: key >> 16, opc1: (key >> 3) & 15, crn: (key >> 11) & 15, crm: (key >> 7) & 15, opc2: key & 7 };
    const is64 = (key & 0x8000) !== 0;
    const ns = is64 ? cp64Id({ ...f, ns: true }) : cp32Id({ ...f, ns: true });
    const s = is64 ? cp64Id({ ...f, ns: false }) : cp32Id({ ...f, ns: false });
    for (const n of names) add(n, ns);
    for (const n of regNames(s)) add(n, s);
  }
  for (const [id, names] of pseudo) for (const n of names) add(n, id);
  return index;
}

const FIELD_FORMS: readonly [RegExp, (m: RegExpMatchArray) => bigint][] = [
  // Assembler form S<op0>_<op1>_C<n>_C<m>_<op2>.
  [/^s([0-3])_([0-7])_c(\d{1,2})_c(\d{1,2})_([0-7])$/i, (m) => sysregId(+m[1]!, +m[2]!, +m[3]!, +m[4]!, +m[5]!)],
  // QEMU's kvm_print_register_name() forms.
  [
    /^op0:(\d+) op1:(\d+) crn:(\d+) crm:(\d+) op2:(\d+)$/i,
    (m) => sysregId(+m[1]!, +m[2]!, +m[3]!, +m[4]!, +m[5]!),
  ],
  [/^fw reg (\d+)$/i, (m) => fwRegId(+m[1]!)],
  [/^fw feat reg (\d+)$/i, (m) => fwFeatBmapId(+m[1]!)],
];

/**
 * Ids matching a query, ascending. The query is one of: a register name (case-insensitive,
 * canonical or alias, with or without the `KVM_REG_ARM_` / `KVM_REG_ARM64_` prefix, `_S` for an
 * AArch32 secure-bank id); a hex id `0x…`; `S3_0_C2_C0_3`; or one of QEMU's printed forms
 * (`op0:3 op1:0 crn:2 crm:0 op2:3`, `fw reg 0`, `fw feat reg 3`).
 *
 * A name may match several ids (e.g. an AArch64 register and the AArch32 view QEMU gives the same
 * name). With accel 'kvm' the architectural names CNTVCT_EL0 / CNTV_CVAL_EL0 find the KVM ids that
 * hold those values (TIMER_CNT / TIMER_CVAL).
 *
 * @example
 * ```ts
 * import { lookupRegs } from 'vmstate';
 * const hex = (ids: bigint[]) => ids.map((id) => id.toString(16)).join(',');
 * console.log(hex(lookupRegs('tcr2_el1')), hex(lookupRegs('op0:3 op1:0 crn:2 crm:0 op2:3')), hex(lookupRegs('0x40200000200f0000')));
 * // prints: 603000000013c103 603000000013c103 40200000200f0000
 * ```
 */
export function lookupRegs(query: string, accel?: Accel): bigint[] {
  const q = query.trim();
  if (/^0x[0-9a-f]{1,16}$/i.test(q)) return [BigInt(q)];
  for (const [re, make] of FIELD_FORMS) {
    const m = q.match(re);
    if (m) {
      try {
        return [make(m)];
      } catch {
        return [];
      }
    }
  }
  nameIndex ??= buildIndex();
  const lower = q.toLowerCase();
  let ids = nameIndex.get(lower) ?? nameIndex.get(lower.replace(/^kvm_reg_arm(64)?_/, ''));
  if (!ids) return [];
  let out = [...ids];
  if (accel === 'kvm') {
    const arch = (key: number): boolean => (a64.get(key) ?? []).some((n) => n.toLowerCase() === lower);
    out = out.map((id) => {
      const key = Number(id & 0xffffn);
      if ((id & ~0xffffn) !== SYSREG_BASE || !KVM_SWAPPED_TIMER_KEYS.has(key) || !arch(key)) return id;
      return SYSREG_BASE | BigInt(key === 0xdf02 ? 0xdf1a : 0xdf02);
    });
  }
  return unique(out.map(String)).map(BigInt).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

/**
 * Which accelerator wrote a cpreg list.
 *
 * - Any AArch32 id (`0x40…`) → 'tcg': arm64 KVM exposes AArch32 state only through AArch64
 *   sysreg ids, so these come from QEMU's TCG register definitions. This wins over the KVM
 *   signs below because a TCG list may carry a hand-appended KVM id (e.g. VENDOR_HYP_BMAP_2).
 * - Otherwise any firmware (0x0014), firmware-bitmap (0x0016) or demux (0x0011) id, or the
 *   KVM-only timer ids TIMER_CVAL/PTIMER_CNT (`…df02`/`…df01`, whose architectural registers
 *   TCG never migrates) → 'kvm'.
 * - Otherwise 'tcg': every arm64 KVM host lists PSCI_VERSION, so a list without firmware
 *   registers is not a KVM one (an empty list also gives 'tcg').
 */
export function inferAccel(ids: Iterable<bigint>): Accel {
  let kvm = false;
  for (const id of ids) {
    const d = decodeRegId(id);
    if (d.arch === 'arm') return 'tcg';
    if (d.arch !== 'arm64') continue;
    if (d.groupName === 'fw' || d.groupName === 'fw-feat-bmap' || d.groupName === 'demux') kvm = true;
    if (d.groupName === 'sysreg' && (d.index === 0xdf02 || d.index === 0xdf01)) kvm = true;
  }
  return kvm ? 'kvm' : 'tcg';
}
