/**
 * What the matcher reports: one {@link Anomaly} per finding, never capped, each with whether
 * the destination would fail on it and the text QEMU itself prints for it.
 * @module
 */
import { hex64, type FieldDiff } from '../regs/index.js';
import type { PolicyKind } from '../policy/index.js';

/**
 * Kinds of findings.
 *
 * - `count-bound`: the incoming count fails the loader's count check.
 * - `unexpected`: an incoming id the destination lacks.
 * - `ignored-tail`: an incoming id above the destination's last id, silently skipped (QEMU ≤ 10.2).
 * - `missing`: a destination register absent from the stream (it keeps its pre-load value).
 * - `missing-const`: the same, on TCG, for a register whose read-back then fails: a constant
 *   (ARM_CP_CONST or write-ignored) or 32-bit register that cannot take what its never-filled
 *   value slot holds.
 * - `missing-stale`: the same, for a register whose read-back depends on what its value slot holds
 *   when QEMU loads (stale memory that differs between runs or was not measured): QEMU may load
 *   or refuse (`detail.outcome` is `depends`; not fatal by itself).
 * - `value-mismatch`: an incoming value that does not read back: a constant register's differing
 *   value, a 32-bit register's value of 2^32 or more (TCG), a differing ID register (KVM).
 * - `tolerated`: an id present on one side only, accepted because of a policy.
 * - `policy-violation`: a policy's value test fails.
 * - `unsorted`: an incoming id lower than the one before it.
 * - `duplicate`: an incoming id equal to the one before it.
 * - `unknown-instance`: a `cpu` instance the destination does not have (a destination given as a
 *   register list; with a stream or profile it is an `unknown-section`).
 * - `unknown-section`: a device section (idstr and instance) the destination does not have.
 * - `section-version`: a section version the destination cannot load (above its own, below its
 *   minimum).
 * - `section-layout`: a section whose fields the destination lays out otherwise (another element
 *   count, e.g. a GICv3 of another vCPU count): QEMU misreads it.
 * - `section-only-on-destination`: a section the destination has and the stream lacks (not fatal).
 * - `unknown-subsection`: a subsection (of any device, nested ones included) the destination does
 *   not know, or knows but has nothing to load into (then QEMU aborts: `detail.outcome` is
 *   `crash`).
 * - `subsection-version`: a subsection version the destination cannot load.
 * - `machine-type`: the machine type check of the configuration item fails.
 * - `capabilities`: the stream-format capabilities (mapped-ram, x-ignore-shared) the stream was
 *   saved with differ from the destination's.
 * - `kvm-refused`: under KVM, a register write of the destination's list that the kernel
 *   refuses (KVM_SET_ONE_REG: EINVAL for a value, ENOENT for a register whose feature the ID
 *   values in force hide); `detail` holds `errno`, the value's `class` and where the value came
 *   from (`valueFrom`: the stream, or the destination's own value written back).
 */
export type AnomalyKind =
  | 'count-bound'
  | 'unexpected'
  | 'ignored-tail'
  | 'missing'
  | 'missing-const'
  | 'missing-stale'
  | 'value-mismatch'
  | 'tolerated'
  | 'policy-violation'
  | 'unsorted'
  | 'duplicate'
  | 'unknown-instance'
  | 'unknown-section'
  | 'section-version'
  | 'section-layout'
  | 'section-only-on-destination'
  | 'unknown-subsection'
  | 'subsection-version'
  | 'machine-type'
  | 'capabilities'
  | 'kvm-refused';

/** The policy rule an anomaly refers to. */
export interface PolicyRef {
  /** Policy name (preset, file, `qemu-11.1 (built-in)`, …). */
  source: string;
  kind: PolicyKind;
  mask?: bigint;
  value?: bigint;
}

/** One finding. */
export interface Anomaly {
  kind: AnomalyKind;
  /** True when the destination would refuse the stream because of it. */
  fatal: boolean;
  /** The register as `0x` + 16 lowercase hex digits; null when not about one register. */
  id: string | null;
  /** The register id itself; null when {@link id} is null. */
  reg: bigint | null;
  /** Canonical register name, or null when unnamed / not about a register. */
  name: string | null;
  /** Explanation in this tool's words. */
  message: string;
  /**
   * What QEMU prints for it under the chosen loader (lines joined by `\n`, without the
   * `qemu-system-aarch64: ` prefix); null when QEMU prints nothing for it.
   */
  qemuText: string | null;
  /** `cpu` instance (vCPU index), when about one vCPU. */
  instance?: number;
  /** The device section a finding is about (its idstr and instance), for section and subsection findings. */
  device?: { idstr: string; instance: number };
  /**
   * For subsection findings: the subsection, the description whose list QEMU looks it up in
   * (`parent`), and the struct fields it is nested in (`place`, e.g. `cpu[0]`; empty at the
   * section's own level).
   */
  subsection?: { name: string; version: number; parent: string; place: string };
  /** Position in the incoming arrays. */
  index?: number;
  /** Incoming value. */
  value?: bigint;
  /** Destination value (the constant it must read back as, for `value-mismatch`). */
  expected?: bigint;
  /** ID register fields that differ (`a` incoming, `b` destination). */
  fields?: FieldDiff[];
  /** The policy involved (tolerating, violated, or not honoured). */
  policy?: PolicyRef;
  /** For `unsorted`/`duplicate`: whether the destination has the id at all. */
  knownToDestination?: boolean;
  /** Extra context (QEMU quirks, assumptions). */
  note?: string;
  /** Kind-specific numbers (counts, bounds, subsection versions). */
  detail?: Record<string, number | string>;
}

/** The JSON form: bigints as `0x` + 16 hex digits, field values as numbers. */
export type AnomalyJson = Omit<Anomaly, 'reg' | 'value' | 'expected' | 'fields' | 'policy'> & {
  value?: string;
  expected?: string;
  fields?: { field: string; a: number; b: number }[];
  policy?: Omit<PolicyRef, 'mask' | 'value'> & { mask?: string; value?: string };
};

/** Converts an anomaly to plain JSON data (see {@link AnomalyJson}). */
export function anomalyToJson(a: Anomaly): AnomalyJson {
  const { reg: _reg, value, expected, fields, policy, ...rest } = a;
  const out: AnomalyJson = { ...rest };
  if (value !== undefined) out.value = hex64(value);
  if (expected !== undefined) out.expected = hex64(expected);
  if (fields) out.fields = fields.map((f) => ({ field: f.field, a: Number(f.a), b: Number(f.b) }));
  if (policy) {
    const p: NonNullable<AnomalyJson['policy']> = { source: policy.source, kind: policy.kind };
    if (policy.mask !== undefined) p.mask = hex64(policy.mask);
    if (policy.value !== undefined) p.value = hex64(policy.value);
    out.policy = p;
  }
  return out;
}

/** Number of anomalies per kind (kinds with none are left out). */
export function countByKind(list: readonly Anomaly[]): Partial<Record<AnomalyKind, number>> {
  const out: Partial<Record<AnomalyKind, number>> = {};
  for (const a of list) out[a.kind] = (out[a.kind] ?? 0) + 1;
  return out;
}
