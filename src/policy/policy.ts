/**
 * Register policies: what a destination is configured to tolerate or demand for single cpreg
 * ids, as data. A policy is a named list of rules; rules address a register by id or by name.
 * Policies combine by union into a {@link PolicySet}, which the matcher consults.
 * @module
 */
import { hex64, lookupRegs, type Accel } from '../regs/index.js';
import { policyError } from './errors.js';

/**
 * What a rule says about its register.
 *
 * - `safe-missing`: the register may be in the incoming stream although the destination lacks
 *   it (the January 2026 series' `x-mig-safe-missing-regs`).
 * - `hidden`: the destination leaves the register out of its own list, so it is neither expected
 *   nor accepted (the series' `x-mig-hidden-regs`).
 * - `require-value`: the incoming value, masked, must equal `value` (a check of this tool; no
 *   QEMU enforces it).
 * - `not-on-both-ends`: the register may be present on one side only, either one (QEMU 11.1's
 *   `ToleranceNotOnBothEnds`).
 * - `only-src-test-value`: the register may be in the stream without being on the destination
 *   if its value masked with `mask` equals `value` (QEMU 11.1's `ToleranceOnlySrcTestValue`).
 */
export type PolicyKind = 'safe-missing' | 'hidden' | 'require-value' | 'not-on-both-ends' | 'only-src-test-value';

/** Every policy kind, in documentation order. */
export const POLICY_KINDS: readonly PolicyKind[] = [
  'safe-missing',
  'hidden',
  'require-value',
  'not-on-both-ends',
  'only-src-test-value',
];

/** The kinds whose rules carry a mask and a value. */
export type MaskedPolicyKind = 'require-value' | 'only-src-test-value';

/** A register reference: an id, or a string `lookupRegs` understands (name, `0x…` id, …). */
export type RegRef = bigint | string;

/** A rule without parameters. */
export interface FlagRule {
  kind: Exclude<PolicyKind, MaskedPolicyKind>;
  reg: RegRef;
  /** Free text kept with the rule (why it exists). */
  note?: string;
}

/** A rule comparing the incoming value under a mask. */
export interface MaskedRule {
  kind: MaskedPolicyKind;
  reg: RegRef;
  mask: bigint;
  value: bigint;
  note?: string;
}

/** One rule of a policy. */
export type PolicyRule = FlagRule | MaskedRule;

/** A named list of rules. */
export interface Policy {
  /** Shown in reports as the origin of a tolerance (preset name, file path, …). */
  name: string;
  description?: string;
  rules: PolicyRule[];
}

/** A rule after its register reference was resolved to one id. */
export interface ResolvedRule {
  kind: PolicyKind;
  id: bigint;
  /** Only for the masked kinds. */
  mask?: bigint;
  value?: bigint;
  /** Name of the policy the rule came from. */
  source: string;
  note?: string;
}

/** Everything the combined policies say about one register. */
export interface RegisterRules {
  id: bigint;
  safeMissing?: ResolvedRule;
  hidden?: ResolvedRule;
  requireValue?: ResolvedRule;
  notOnBothEnds?: ResolvedRule;
  onlySrcTestValue?: ResolvedRule;
}

const SLOT: Record<PolicyKind, keyof Omit<RegisterRules, 'id'>> = {
  'safe-missing': 'safeMissing',
  hidden: 'hidden',
  'require-value': 'requireValue',
  'not-on-both-ends': 'notOnBothEnds',
  'only-src-test-value': 'onlySrcTestValue',
};

const U64 = (1n << 64n) - 1n;

/** True for the kinds that carry mask and value. */
export function isMaskedKind(kind: PolicyKind): kind is MaskedPolicyKind {
  return kind === 'require-value' || kind === 'only-src-test-value';
}

/** `kind`, or `kind(mask=…, value=…)`, for messages. */
export function describeRule(r: Pick<ResolvedRule, 'kind' | 'mask' | 'value'>): string {
  return r.mask === undefined ? r.kind : `${r.kind}(mask=${hex64(r.mask)}, value=${hex64(r.value ?? 0n)})`;
}

/**
 * The ids a register reference stands for. A bigint is taken as is; a string goes through
 * `lookupRegs` and must match at least one id.
 * @throws UsageError (`data.reason` `unknown-register`) when a name matches nothing.
 */
export function resolveRegRef(reg: RegRef, accel?: Accel, where = ''): bigint[] {
  if (typeof reg === 'bigint') {
    if (reg < 0n || reg > U64) throw policyError('schema', `${where}register id ${reg} is not a 64-bit value`);
    return [reg];
  }
  const ids = lookupRegs(reg, accel);
  if (ids.length === 0) {
    throw policyError('unknown-register', `${where}unknown register '${reg}' (give a name or a 0x… id)`, {
      reg,
    });
  }
  return ids;
}

function checkMasked(r: MaskedRule, where: string): void {
  for (const [k, v] of [
    ['mask', r.mask],
    ['value', r.value],
  ] as const) {
    if (typeof v !== 'bigint' || v < 0n || v > U64) {
      throw policyError('schema', `${where}${k} must be a 64-bit unsigned value`);
    }
  }
  // QEMU compares (incoming & mask) == value; a value bit outside the mask could never match.
  if ((r.value & ~r.mask) !== 0n) {
    throw policyError('schema', `${where}value ${hex64(r.value)} has bits outside mask ${hex64(r.mask)}`);
  }
}

const sameParams = (a: ResolvedRule, b: ResolvedRule): boolean => a.mask === b.mask && a.value === b.value;

/**
 * The union of several policies, indexed by register id. Lookups are one `Map` access; the
 * hidden ids are also kept as a sorted array so a merge can walk them with a cursor.
 */
export class PolicySet {
  /** The policies combined, in order (as given; register names unresolved). */
  readonly policies: readonly Policy[];
  /** Names of the policies combined, in order. */
  readonly names: readonly string[];
  private readonly byId: ReadonlyMap<bigint, RegisterRules>;
  private readonly hiddenSorted: readonly bigint[];
  private readonly counts: Readonly<Record<PolicyKind, number>>;

  private constructor(policies: readonly Policy[], byId: Map<bigint, RegisterRules>) {
    this.policies = policies;
    this.names = policies.map((p) => p.name);
    this.byId = byId;
    const counts = Object.fromEntries(POLICY_KINDS.map((k) => [k, 0])) as Record<PolicyKind, number>;
    const hidden: bigint[] = [];
    for (const r of byId.values()) {
      for (const k of POLICY_KINDS) if (r[SLOT[k]]) counts[k]++;
      if (r.hidden) hidden.push(r.id);
    }
    this.counts = counts;
    this.hiddenSorted = hidden.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  }

  /** A set with no rules. */
  static readonly EMPTY: PolicySet = new PolicySet([], new Map());

  /**
   * Resolves and combines policies. Identical rules for one register merge (the first source
   * is kept); a second rule of one kind with other parameters, or both `not-on-both-ends` and
   * `only-src-test-value` for one register (QEMU 11.1 allows one tolerance per register), is a
   * conflict.
   * @param accel - passed to name lookup (it only changes the two timer names).
   * @throws UsageError (`data.reason`: `conflict`, `schema`, `unknown-register`)
   */
  static of(policies: readonly Policy[], accel?: Accel): PolicySet {
    const byId = new Map<bigint, RegisterRules>();
    for (const p of policies) {
      p.rules.forEach((rule, n) => {
        const where = `${p.name}: rule ${n + 1}: `;
        if (isMaskedKind(rule.kind)) checkMasked(rule as MaskedRule, where);
        for (const id of resolveRegRef(rule.reg, accel, where)) {
          const resolved: ResolvedRule = { kind: rule.kind, id, source: p.name };
          if (isMaskedKind(rule.kind)) {
            resolved.mask = (rule as MaskedRule).mask;
            resolved.value = (rule as MaskedRule).value;
          }
          if (rule.note !== undefined) resolved.note = rule.note;
          add(byId, resolved);
        }
      });
    }
    return new PolicySet([...policies], byId);
  }

  /** The rules for one register, or undefined. */
  get(id: bigint): RegisterRules | undefined {
    return this.byId.get(id);
  }

  /** True when the set has no rules at all. */
  get isEmpty(): boolean {
    return this.byId.size === 0;
  }

  /** How many registers carry a rule of `kind`. */
  count(kind: PolicyKind): number {
    return this.counts[kind];
  }

  /** Hidden ids, ascending. */
  hiddenIds(): readonly bigint[] {
    return this.hiddenSorted;
  }

  /** Every resolved rule, by ascending id then kind order. */
  rules(): ResolvedRule[] {
    const out: ResolvedRule[] = [];
    const ids = [...this.byId.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    for (const id of ids) {
      const r = this.byId.get(id)!;
      for (const k of POLICY_KINDS) {
        const rule = r[SLOT[k]];
        if (rule) out.push(rule);
      }
    }
    return out;
  }
}

function add(byId: Map<bigint, RegisterRules>, rule: ResolvedRule): void {
  let entry = byId.get(rule.id);
  if (!entry) byId.set(rule.id, (entry = { id: rule.id }));
  const slot = SLOT[rule.kind];
  const prev = entry[slot];
  const conflict = (other: ResolvedRule): never => {
    const id = hex64(rule.id);
    const a = `${describeRule(other)} from ${other.source}`;
    const b = `${describeRule(rule)} from ${rule.source}`;
    throw policyError('conflict', `conflicting policies for register ${id}: ${a} vs ${b}`, { id, rules: [a, b] });
  };
  if (prev) {
    if (!sameParams(prev, rule)) conflict(prev);
    return;
  }
  // QEMU 11.1 asserts that a register has at most one tolerance.
  const rival =
    rule.kind === 'not-on-both-ends'
      ? entry.onlySrcTestValue
      : rule.kind === 'only-src-test-value'
        ? entry.notOnBothEnds
        : undefined;
  if (rival) conflict(rival);
  entry[slot] = rule;
}

/**
 * Combines policies (see {@link PolicySet.of}).
 * @throws UsageError (`data.reason`: `conflict`, `schema`, `unknown-register`)
 */
export function combinePolicies(policies: readonly Policy[], accel?: Accel): PolicySet {
  return PolicySet.of(policies, accel);
}
