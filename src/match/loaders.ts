/**
 * What a destination QEMU does with an incoming cpreg list, as data: one small table per
 * loader generation. The matcher reads these tables; it has no version checks of its own.
 * The semantics and where they were verified are in docs/loaders.md.
 * @module
 */
import { idToCpregKey, qemuFieldText, type Accel } from '../regs/index.js';
import { DBGDTRTX_BOGUS_ID, presetPolicy, type Policy, type PolicyKind } from '../policy/index.js';
import { lookupLoader, type LoaderName } from './loader-names.js';

export type { LoaderName } from './loader-names.js';
import type { QemuGeneration } from './generations.js';


/** How the incoming `cpreg_vmstate_array_len` is checked before the arrays are read. */
export type CountCheck =
  /**
   * VMSTATE int32 "le" check against the destination's register count (after hidden
   * registers are removed) plus `slack`, plus the number of safe-missing registers when
   * `slackAddsSafeMissing`.
   */
  | { kind: 'bounded'; slack: number; slackAddsSafeMissing: boolean }
  /** No bound; the arrays are allocated from the count, so a negative count aborts QEMU. */
  | { kind: 'allocate' };

/** Why a vCPU's load ends in failure. */
export type FailureStage = 'count' | 'post-load';

/** QEMU's texts for one loader. Every function returns text without the program prefix. */
export interface LoaderText {
  /** The count check failed (`bound` is null when the loader has no upper bound). */
  count(count: number, bound: number | null): string;
  /**
   * An incoming id the destination lacks and no tolerance accepts; `k` counts these per vCPU
   * from 0. Null when QEMU prints nothing naming the register.
   */
  unexpected(id: bigint, accel: Accel, k: number): string | null;
  /** A destination register absent from the stream; `k` counts these per vCPU from 0. */
  missing(id: bigint, accel: Accel, k: number): string | null;
  /** The closing lines of a failed load of `cpu` instance `instance` (may be empty). */
  failure(instance: number, stage: FailureStage): string;
  /**
   * Everything QEMU prints when `cpu` instance `instance` carries a subsection it does not
   * know, or null where that was not observed (the subsection's own text and the instance line
   * are then shown).
   */
  unknownSubsection(instance: number): string | null;
}

/** One loader generation. */
export interface LoaderSpec {
  name: LoaderName;
  /** Which QEMU versions behave like this. */
  versions: string;
  count: CountCheck;
  /**
   * Incoming ids left over once every destination register was visited (all above the
   * destination's last id, or out of order): skipped silently, or failing like any other
   * unknown id.
   */
  tail: 'ignore' | 'fail';
  /**
   * Whether any failing unknown id fails the load (`any`), or only the outcome for the last
   * id that is in the stream but not on the destination counts (`last`: QEMU 11.1 assigns
   * the flag instead of or-ing it, so a later tolerated id clears an earlier failure).
   */
  failFlag: 'any' | 'last';
  /** The policy kinds this QEMU acts on (`require-value` is checked by this tool for all). */
  honours: readonly PolicyKind[];
  /** Tolerances QEMU registers by itself (not configurable), for the given accelerator. */
  builtin(accel: Accel): Policy[];
  /**
   * What TCG raw-writes for a register missing from the stream: its value slot, which nothing
   * filled on the destination (`arm_init_cpreg_list` allocates it with `g_new`). `zero`: fresh
   * heap memory, every slot reads 0 (measured on 7.2.22 and 10.0.13). `stale`: reused memory
   * holding leftover data (measured on 11.1.3; see ./cpreg-slots.ts), known per slot for the
   * measured register lists of {@link slotQemu}, else unknown.
   */
  valueSlot: 'zero' | 'stale';
  /** With `stale`: the measured slot images that apply (a substring of their QEMU version line). */
  slotQemu?: string;
  /** Which QEMU register definitions the read-back follows (null: either of 7.2 and 10.x). */
  generation: QemuGeneration | null;
  /** At most this many `unexpected`/`missing` lines are printed per vCPU; null = all. */
  printLimit: number | null;
  text: LoaderText;
}

const hexId = (id: bigint): string => `0x${id.toString(16)}`;

/**
 * QEMU 11.1's `print_register_name()`: the cpreg key under TCG; under KVM its
 * `kvm_print_register_name()`, which puts `system register ` before a sysreg's fields
 * (`system register op0:3 op1:0 crn:1 crm:0 op2:3`, `demuxed reg 6020000000110003`, `fw reg 0`,
 * `fw feat reg 3`: samples/truth/kvm-table.json).
 */
export function qemu111RegisterText(id: bigint, accel: Accel): string {
  if (accel !== 'kvm') return `system register 0x${idToCpregKey(id).toString(16)}`;
  const t = qemuFieldText(id);
  return t.startsWith('op0:') ? `system register ${t}` : t;
}

const instanceLine = (instance: number): string =>
  `error while loading state for instance 0x${instance.toString(16)} of device 'cpu'`;

/** The `int32 le` field check (vmstate-types.c) and the VMState error that follows it. */
const countLeText = (count: number, bound: number | null): string =>
  `Invalid value ${count} expecting positive value <= ${bound ?? 0}\nFailed to load cpu:cpreg_vmstate_array_len`;

/** QEMU 7.2 and 10.0 name neither the subsection nor the field (samples/truth: TCG 7.2; KVM 7.2 and 10.0, `cpu/fpmr`). */
const legacyUnknownSubsection = (instance: number): string => `${instanceLine(instance)}\nload of migration failed: No such file or directory`;

const legacyFailure = (instance: number, stage: FailureStage): string => {
  const errno = stage === 'count' ? 'Invalid argument' : 'Operation not permitted';
  return `${instanceLine(instance)}\nload of migration failed: ${errno}`;
};

const LEGACY: LoaderSpec = {
  name: 'legacy',
  versions: 'QEMU 7.2 … 10.2',
  count: { kind: 'bounded', slack: 0, slackAddsSafeMissing: false },
  tail: 'ignore',
  failFlag: 'any',
  honours: [],
  builtin: () => [],
  valueSlot: 'zero',
  generation: null,
  printLimit: null,
  text: {
    count: countLeText,
    unexpected: () => null,
    missing: () => null,
    failure: legacyFailure,
    unknownSubsection: legacyUnknownSubsection,
  },
};

/** The series prints under KVM only (TCG gets trace points), at most 10 per kind. */
const SERIES_PRINT_LIMIT = 10;

const SERIES_V6: LoaderSpec = {
  name: 'series-v6',
  versions: 'the January 2026 cpreg migration series (v6)',
  count: { kind: 'bounded', slack: 10, slackAddsSafeMissing: true },
  tail: 'fail',
  failFlag: 'any',
  honours: ['hidden', 'safe-missing'],
  builtin: () => [],
  valueSlot: 'zero',
  generation: '10.x',
  printLimit: SERIES_PRINT_LIMIT,
  text: {
    count: countLeText,
    unexpected: (id, accel, k) =>
      accel === 'kvm' && k < SERIES_PRINT_LIMIT
        ? `kvm_arm_cpu_post_load Unexpected register in input stream: ${k} ${hexId(id)} ${qemuFieldText(id)}`
        : null,
    missing: (id, accel, k) =>
      accel === 'kvm' && k < SERIES_PRINT_LIMIT
        ? `kvm_arm_cpu_post_load Missing register in input stream: ${k} ${hexId(id)} ${qemuFieldText(id)}`
        : null,
    failure: legacyFailure,
    unknownSubsection: legacyUnknownSubsection,
  },
};

const QEMU_11_1: LoaderSpec = {
  name: 'qemu-11.1',
  versions: 'QEMU 11.1 (verified on 11.1.3, Debian sid)',
  count: { kind: 'allocate' },
  tail: 'fail',
  failFlag: 'last',
  honours: ['not-on-both-ends', 'only-src-test-value'],
  // register_cp_regs_for_features() registers the first for every CPU, TCG and KVM alike. Under
  // KVM the `-cpu host` tolerances apply too, without any option: real 11.1 loads neither
  // reported TCR2_EL1/PIRE0_EL1/PIR_EL1 on one side only nor VENDOR_HYP_BMAP_2 = 0 only in the
  // stream (samples/kvm/FINDINGS.md, 5; rows k6.1_q11.1/k7.2_q11.1, k7.2_q11.1/k6.1_q11.1).
  builtin: (accel) => [
    {
      name: 'qemu-11.1 (built-in)',
      rules: [{ kind: 'not-on-both-ends', reg: DBGDTRTX_BOGUS_ID, note: 'bogus AArch32 DBGDTRTX of QEMU ≤ 10.2' }],
    },
    ...(accel === 'kvm' ? [{ ...presetPolicy('qemu-11.1-host'), name: 'qemu-11.1 (built-in, KVM)' }] : []),
  ],
  valueSlot: 'stale',
  slotQemu: 'version 11.1.',
  generation: '11.1',
  printLimit: null,
  text: {
    count: (count) =>
      // VMSTATE_VARRAY_INT32_ALLOC sizes the allocation with the count taken as unsigned 32-bit.
      `GLib: ../../../glib/gmem.c:106: failed to allocate ${(BigInt(count >>> 0) * 8n).toString()} bytes`,
    unexpected: (id, accel) =>
      `handle_cpreg_only_in_incoming_stream: ${qemu111RegisterText(id, accel)} in the incoming stream but unknown on the destination: fail migration`,
    missing: (id, accel) =>
      `warning: handle_cpreg_missing_in_incoming_stream: ${qemu111RegisterText(id, accel)} expected by the destination but not in the incoming stream: skip it`,
    failure: (instance, stage) =>
      // A failed allocation kills the process (SIGTRAP from GLib): nothing follows the GLib line.
      stage === 'count'
        ? ''
        : `load of migration failed: Invalid argument: ${instanceLine(instance)}: post load hook failed for: cpu, version_id: 22, minimum_version: 22, ret: -1`,
    unknownSubsection: () => null,
  },
};

/** The loader tables by name. */
export const LOADERS: Readonly<Record<LoaderName, LoaderSpec>> = {
  legacy: LEGACY,
  'series-v6': SERIES_V6,
  'qemu-11.1': QEMU_11_1,
};

/**
 * The loader for a name or alias (case-insensitive; see ./loader-names.ts); a spec is returned as is.
 * @throws UsageError (`data.reason` `unknown-loader`)
 */
export function resolveLoader(loader: string | LoaderSpec): LoaderSpec {
  return typeof loader === 'string' ? LOADERS[lookupLoader(loader).loader] : loader;
}

/**
 * The QEMU generation a loader name stands for: the one an alias names (`qemu-7.2` → 7.2),
 * else the loader's own (null for `legacy`: either of 7.2 and 10.x).
 * @throws UsageError (`data.reason` `unknown-loader`)
 */
export function generationOfLoader(loader: string | LoaderSpec): QemuGeneration | null {
  return typeof loader === 'string' ? lookupLoader(loader).alias.generation : loader.generation;
}

/**
 * The count check's upper bound for a destination of `destinationCount` registers (after
 * hidden ones are removed) with `safeMissing` safe-missing registers; null when unbounded.
 */
export function countBound(spec: LoaderSpec, destinationCount: number, safeMissing: number): number | null {
  if (spec.count.kind === 'allocate') return null;
  return destinationCount + spec.count.slack + (spec.count.slackAddsSafeMissing ? safeMissing : 0);
}
