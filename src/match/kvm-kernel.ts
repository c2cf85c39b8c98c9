/**
 * The destination host's Linux kernel, as far as KVM_SET_ONE_REG is concerned: which of its
 * rules apply from which version, and how a destination tells the version. The rules
 * themselves are in ./kvm-put.ts and ./kvm-idregs.ts; docs/loaders.md (KVM) lists each rule
 * with the real loads of samples/truth/kvm-table.json that show it.
 *
 * Versions are `[major, minor]`. Three kernels were observed (6.1, 6.12, 7.2:
 * samples/kvm/FINDINGS.md); a boundary between them is taken from the Linux change that
 * moved it and says so.
 * @module
 */

/** A kernel version, `[major, minor]`. */
export type KernelVersion = readonly [major: number, minor: number];

/** The kernels whose KVM behaviour real loads showed. */
export const OBSERVED_KERNELS: readonly KernelVersion[] = [
  [6, 1],
  [6, 12],
  [7, 2],
];

/** `major.minor`. */
export const versionText = (v: KernelVersion): string => `${v[0]}.${v[1]}`;

/** Whether `v` is `at` or newer. */
export function atLeast(v: KernelVersion, at: KernelVersion): boolean {
  return v[0] > at[0] || (v[0] === at[0] && v[1] >= at[1]);
}

/**
 * The version of a kernel release string as `uname -r` prints it (`6.12.118+deb13-arm64`,
 * `7.2.13+deb14-arm64`, `6.1.0-57-arm64`), or of `6.12`; null when it does not start with one.
 */
export function parseKernelRelease(release: string): KernelVersion | null {
  const m = /^\s*(\d+)\.(\d+)(?:[.\-+~_ ]|$)/.exec(release);
  if (!m) return null;
  return [Number(m[1]), Number(m[2])];
}

/**
 * Where each KVM rule changed, oldest first. `observed` names the kernels whose loads show
 * the rule on each side; `source` the Linux change when the boundary is not between two
 * observed kernels.
 */
export const KERNEL_CHANGES = {
  /** CCSIDR ids for all 14 CSSELR values and KVM's own cache geometry ("KVM: arm64: Normalize cache configuration"). */
  ccsidrNormalised: { since: [6, 3] as KernelVersion, observed: '6.1 (per level, invariant) vs 6.12 and 7.2 (normalised)' },
  /** ID_AA64DFR0_EL1.PMUVer and ID_DFR0_EL1.PerfMon may be lowered (set_id_aa64dfr0_el1, set_id_dfr0_el1). */
  pmuVersionLowerable: { since: [6, 2] as KernelVersion, observed: 'not 6.1; 6.12 and 7.2 accept a lower PMUVer/PerfMon' },
  /** ID registers writable field by field (`arm64_check_features`, "KVM: arm64: Enable writable sanitised ID registers"). */
  writableIdRegisters: { since: [6, 7] as KernelVersion, observed: '6.1 invariant; 6.12 and 7.2 accept lower values in writable fields' },
  /** ID_AA64MMFR2_EL1.NV hidden and a written NV equal to the hardware's ignored (set_id_aa64mmfr2_el1). */
  mmfr2NvIgnored: { since: [6, 15] as KernelVersion, observed: '6.12 refuses NV 0 for 2; 7.2 accepts NV 2 for 0' },
  /** PSCI 1.2 and 1.3 (SYSTEM_OFF2) offered and accepted. */
  psci13: { since: [6, 13] as KernelVersion, observed: '6.1 and 6.12 offer and accept 1.1 at most; 7.2 offers 1.3' },
  /**
   * TCR2_EL1, PIRE0_EL1, PIR_EL1 hidden (ENOENT) unless ID_AA64MMFR3_EL1 shows their feature;
   * before, KVM listed and accepted them unconditionally.
   */
  tcr2PieGated: { since: [6, 13] as KernelVersion, observed: '6.12 accepts TCR2/PIR with TCRX = S1PIE = 0; 7.2 refuses them' },
  /** ID_AA64MMFR3_EL1.SCTLRX writable, with SCTLR2_EL1 (FEAT_SCTLR2 for guests). */
  sctlrxWritable: { since: [6, 17] as KernelVersion, observed: 'not in 6.12; 7.2 accepts SCTLRX 1 → 0' },
  /** ID_AA64MMFR1_EL1.HCX, TWED and VH writable ("KVM: arm64: Allow userspace to downgrade …", September 2025). */
  mmfr1HcxWritable: { since: [6, 19] as KernelVersion, observed: '6.12 refuses HCX 1 → 0; 7.2 accepts it' },
} as const;

/** The rules a kernel version applies. */
export interface KvmKernelRules {
  version: KernelVersion;
  ccsidrNormalised: boolean;
  pmuVersionLowerable: boolean;
  writableIdRegisters: boolean;
  mmfr2NvIgnored: boolean;
  /** PSCI_VERSION values KVM_SET_ONE_REG accepts (QEMU asks for PSCI 0.2 or later). */
  psciVersions: readonly bigint[];
  tcr2PieGated: boolean;
  sctlrxWritable: boolean;
  mmfr1HcxWritable: boolean;
}

const PSCI_0_2 = 0x2n;
const PSCI_1_0 = 0x10000n;
const PSCI_1_1 = 0x10001n;
const PSCI_1_2 = 0x10002n;
const PSCI_1_3 = 0x10003n;

/** The rules of kernel `v`. */
export function kernelRules(v: KernelVersion): KvmKernelRules {
  const since = (k: keyof typeof KERNEL_CHANGES): boolean => atLeast(v, KERNEL_CHANGES[k].since);
  return {
    version: v,
    ccsidrNormalised: since('ccsidrNormalised'),
    pmuVersionLowerable: since('pmuVersionLowerable'),
    writableIdRegisters: since('writableIdRegisters'),
    mmfr2NvIgnored: since('mmfr2NvIgnored'),
    psciVersions: since('psci13') ? [PSCI_0_2, PSCI_1_0, PSCI_1_1, PSCI_1_2, PSCI_1_3] : [PSCI_0_2, PSCI_1_0, PSCI_1_1],
    tcr2PieGated: since('tcr2PieGated'),
    sctlrxWritable: since('sctlrxWritable'),
    mmfr1HcxWritable: since('mmfr1HcxWritable'),
  };
}

/** How the destination's kernel is known. */
export type KernelSource = 'option' | 'profile' | 'list';

/** The destination kernel a check assumes, and why. */
export interface KvmKernel {
  /** The version whose rules apply. */
  version: KernelVersion;
  /** The release as given or recorded (`uname -r`), when known. */
  release: string | null;
  from: KernelSource;
  /** What told it, and what was assumed where nothing could tell (printed with the verdict). */
  evidence: string;
  /** Whether the version is known (given or recorded) rather than inferred or assumed. */
  exact: boolean;
}

/** The kernel assumed when nothing tells it: the newest observed. */
export const DEFAULT_KERNEL: KernelVersion = OBSERVED_KERNELS[OBSERVED_KERNELS.length - 1]!;

/** A kernel named by a release string (a `--kernel` option or a profile's `host.kernel`). */
export function kernelFromRelease(release: string, from: 'option' | 'profile'): KvmKernel | null {
  const v = parseKernelRelease(release);
  if (!v) return null;
  const what = from === 'option' ? '--kernel' : "the profile's host.kernel";
  return { version: v, release, from, evidence: `${release} (${what})`, exact: true };
}

const CCSIDR_BASE = 0x6020000000110000n;
const PSCI_VERSION_ID = 0x6030000000140000n;
const SCTLR2_EL1_ID = 0x603000000013c083n;
const VENDOR_HYP_BMAP_2 = 0x6030000000160003n;

/**
 * The kernel a destination's own KVM register list points to. A list does not state its
 * kernel; what it shows (samples/kvm/FINDINGS.md, cpreg lists per kernel generation):
 * - CCSIDR ids only for the cache levels CLIDR describes: before 6.3 (rules of 6.1 assumed);
 * - all 14 CCSIDR ids and PSCI_VERSION 1.2 or 1.3 (KVM offers its highest at reset): 6.13 or
 *   later (rules of 7.2, the newest observed, assumed — e.g. ID_AA64MMFR1_EL1.HCX writable);
 * - all 14 and PSCI_VERSION 1.1 or lower: 6.3 … 6.12 (rules of 6.12 assumed — 6.3 … 6.6 refuse
 *   any ID register change);
 * SCTLR2_EL1 and VENDOR_HYP_BMAP_2 appear only on newer kernels and are named when present.
 */
export function kernelFromList(ids: readonly bigint[], values: readonly (bigint | null)[] | undefined): KvmKernel {
  const ccsidr = ids.filter((id) => (id & ~0xffn) === CCSIDR_BASE).length;
  const at = ids.indexOf(PSCI_VERSION_ID);
  const psci = at >= 0 ? (values?.[at] ?? null) : null;
  const newer = [ids.includes(SCTLR2_EL1_ID) ? 'SCTLR2_EL1' : null, ids.includes(VENDOR_HYP_BMAP_2) ? 'VENDOR_HYP_BMAP_2' : null].filter(Boolean);
  const extra = newer.length ? `; it lists ${newer.join(' and ')}, which newer kernels add` : '';
  const psciText = psci === null ? 'no PSCI_VERSION value' : `PSCI_VERSION ${psci >> 16n}.${psci & 0xffffn}`;
  let version: KernelVersion;
  let evidence: string;
  if (ccsidr > 0 && ccsidr < 14) {
    version = [6, 1];
    evidence = `the destination lists CCSIDR for ${ccsidr} of 14 cache selectors: Linux before 6.3; assumed 6.1 (invariant ID registers and cache geometry)${extra}`;
  } else if (psci !== null && psci >= 0x10002n) {
    version = [7, 2];
    evidence = `the destination lists all 14 CCSIDR selectors and offers ${psciText}: Linux 6.13 or later; assumed 7.2, the newest observed (ID fields it lets userspace lower, e.g. ID_AA64MMFR1_EL1.HCX, may be fixed on 6.13 … 6.18)${extra}`;
  } else {
    version = [6, 12];
    evidence = `the destination lists all 14 CCSIDR selectors and offers ${psciText}: Linux 6.3 … 6.12; assumed 6.12 (writable ID fields; 6.3 … 6.6 refuse any ID register change)${extra}`;
  }
  return { version, release: null, from: 'list', evidence, exact: false };
}
